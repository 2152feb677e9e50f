#!/usr/bin/env bash
# Prints the path of a moto_server to use, for `make demo`, `make test` and
# .ci/run:
#   1. moto_server on PATH;
#   2. else the project's virtual environment (.venv, or $MOTO_VENV), if a
#      previous run installed moto there;
#   3. else it creates that venv with `python3 -m venv` and installs
#      moto[server]==$MOTO_VERSION into it with pip, saying so in one line.
# When none of that works (no python3, no venv module, no network or no PyPI)
# it exits 1 with one line on stderr that says what to install.
# pip's own output goes to .venv/install.log.
set -uo pipefail

version="${MOTO_VERSION:-5.2.1}"
case "$0" in */*) here="${0%/*}" ;; *) here=. ;; esac
root="$(cd "$here/.." && pwd)"
venv="${MOTO_VENV:-$root/.venv}"
pin="moto[server]==$version"
yourself="or put moto_server on PATH yourself (pip install '$pin' where PyPI is reachable; Debian has no moto package)"

if found="$(command -v moto_server)"; then
  echo "$found"
  exit 0
fi
if [ -x "$venv/bin/moto_server" ]; then
  echo "$venv/bin/moto_server"
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "moto_server is not on PATH and python3 is missing: install Python 3 with its venv module (Debian: apt-get install python3 python3-venv), $yourself" >&2
  exit 1
fi

echo "moto_server is not on PATH: installing $pin into $venv (python3 -m venv, pip; log $venv/install.log)" >&2
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    echo "python3 -m venv $venv failed: install Python 3's venv module (Debian: apt-get install python3-venv), $yourself" >&2
    exit 1
  fi
fi
if ! "$venv/bin/python" -m pip install --disable-pip-version-check "$pin" >"$venv/install.log" 2>&1 ||
  [ ! -x "$venv/bin/moto_server" ]; then
  echo "pip could not install $pin into $venv (no network or no PyPI? see $venv/install.log): check the network and run again, $yourself" >&2
  exit 1
fi
echo "$venv/bin/moto_server"
