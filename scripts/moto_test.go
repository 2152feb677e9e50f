package scripts

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fakes: a python3 whose "-m venv DIR" makes DIR/bin/python, and that
// python's "-m pip install ..." records its arguments and installs a
// moto_server, or fails as pip does without PyPI (FAKE_PIP=fail).
const (
	fakePython3 = `#!/bin/sh
[ "$1" = -m ] && [ "$2" = venv ] || exit 3
if [ "$FAKE_VENV" = fail ]; then echo "Error: ensurepip is not available" >&2; exit 1; fi
mkdir -p "$3/bin" && cp "$FAKE_DIR/venvpython" "$3/bin/python"
`
	fakeVenvPython = `#!/bin/sh
bin="${0%/*}"
echo "$*" >> "$bin/../pip-args"
if [ "$FAKE_PIP" = fail ]; then
  echo "ERROR: Could not find a version that satisfies the requirement moto[server]==5.2.1"
  exit 1
fi
printf '#!/bin/sh\n' > "$bin/moto_server" && chmod +x "$bin/moto_server"
echo "Successfully installed moto-5.2.1"
`
)

// sandbox is a PATH without moto_server: a directory of the few tools the
// script and the fakes use, and one of fakes.
type sandbox struct {
	t          *testing.T
	bash       string
	tools, bin string
	venv       string
	env        []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	s := &sandbox{t: t, bash: bash, tools: filepath.Join(dir, "tools"), bin: filepath.Join(dir, "bin"), venv: filepath.Join(dir, "venv")}
	for _, d := range []string{s.tools, s.bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"rm", "mkdir", "cp", "chmod"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s", tool)
		}
		if err := os.Symlink(p, filepath.Join(s.tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	s.env = []string{"PATH=" + s.bin + ":" + s.tools, "HOME=" + dir, "MOTO_VENV=" + s.venv, "FAKE_DIR=" + s.bin}
	return s
}

func (s *sandbox) write(name, text string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.bin, name), []byte(text), 0o755); err != nil {
		s.t.Fatal(err)
	}
}

// fakePython installs the fake python3 and its venv python.
func (s *sandbox) fakePython() {
	s.write("python3", fakePython3)
	s.write("venvpython", fakeVenvPython)
}

// run runs moto.sh in the sandbox with extra environment.
func (s *sandbox) run(extra ...string) (stdout string, stderrLines []string, code int) {
	s.t.Helper()
	cmd := exec.Command(s.bash, "moto.sh")
	cmd.Env = append(append([]string{}, s.env...), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		s.t.Fatal(err)
	}
	if e := strings.TrimRight(errb.String(), "\n"); e != "" {
		stderrLines = strings.Split(e, "\n")
	}
	return strings.TrimRight(out.String(), "\n"), stderrLines, code
}

func TestMotoOnPath(t *testing.T) {
	s := newSandbox(t)
	s.write("moto_server", "#!/bin/sh\n")
	s.fakePython() // not used: PATH comes first
	out, errl, code := s.run()
	if code != 0 || out != filepath.Join(s.bin, "moto_server") || len(errl) != 0 {
		t.Fatalf("got %q, stderr %q, exit %d; want the moto_server on PATH, silently", out, errl, code)
	}
	if _, err := os.Stat(s.venv); err == nil {
		t.Error("a venv was made although moto_server is on PATH")
	}
}

func TestMotoInstallsIntoVenvThenReusesIt(t *testing.T) {
	s := newSandbox(t)
	s.fakePython()
	out, errl, code := s.run()
	want := filepath.Join(s.venv, "bin", "moto_server")
	if code != 0 || out != want {
		t.Fatalf("got %q, exit %d, stderr %q; want %q", out, code, errl, want)
	}
	if len(errl) != 1 || !strings.Contains(errl[0], "installing moto[server]==5.2.1 into "+s.venv) {
		t.Errorf("stderr %q: want one line saying it installs the pinned moto into the venv", errl)
	}
	args, err := os.ReadFile(filepath.Join(s.venv, "pip-args"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(args)); got != "-m pip install --disable-pip-version-check moto[server]==5.2.1" {
		t.Errorf("the venv's python ran with %q; want pip installing the pinned moto[server]", got)
	}
	if log, _ := os.ReadFile(filepath.Join(s.venv, "install.log")); !strings.Contains(string(log), "Successfully installed") {
		t.Errorf("install.log %q: want pip's output", log)
	}

	// Again, even without python3: the venv's moto_server, silently.
	if err := os.Remove(filepath.Join(s.bin, "python3")); err != nil {
		t.Fatal(err)
	}
	out, errl, code = s.run()
	if code != 0 || out != want || len(errl) != 0 {
		t.Fatalf("second run: got %q, stderr %q, exit %d; want %q silently", out, errl, code, want)
	}
}

func TestMotoVersionPin(t *testing.T) {
	s := newSandbox(t)
	s.fakePython()
	if _, _, code := s.run("MOTO_VERSION=5.1.0"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	args, _ := os.ReadFile(filepath.Join(s.venv, "pip-args"))
	if !strings.HasSuffix(strings.TrimSpace(string(args)), " moto[server]==5.1.0") {
		t.Errorf("pip ran with %q; want MOTO_VERSION's pin", args)
	}
}

// TestMotoCannotBeHad: each way of failing exits 1 with one line that says
// what to install, and prints no path.
func TestMotoCannotBeHad(t *testing.T) {
	cases := []struct {
		name   string
		python bool
		extra  []string
		want   []string // in the last stderr line
		lines  int      // stderr lines
		venv   bool     // the venv is left (with pip's log)
	}{
		{"no python3", false, nil, []string{"python3 is missing", "install Python 3", "apt-get install python3 python3-venv", "pip install 'moto[server]==5.2.1'"}, 1, false},
		{"no venv module", true, []string{"FAKE_VENV=fail"}, []string{"python3 -m venv", "apt-get install python3-venv", "pip install 'moto[server]==5.2.1'"}, 2, false},
		{"pip fails", true, []string{"FAKE_PIP=fail"}, []string{"pip could not install moto[server]==5.2.1", "no network or no PyPI", "install.log", "pip install 'moto[server]==5.2.1'"}, 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSandbox(t)
			if c.python {
				s.fakePython()
			}
			out, errl, code := s.run(c.extra...)
			if code != 1 || out != "" {
				t.Fatalf("got %q, exit %d; want no path and exit 1", out, code)
			}
			if len(errl) != c.lines {
				t.Fatalf("stderr %q: want %d line(s)", errl, c.lines)
			}
			for _, w := range c.want {
				if !strings.Contains(errl[len(errl)-1], w) {
					t.Errorf("message %q lacks %q", errl[len(errl)-1], w)
				}
			}
			_, err := os.Stat(s.venv)
			if (err == nil) != c.venv {
				t.Errorf("venv left: %v, want %v", err == nil, c.venv)
			}
			if c.venv {
				if log, _ := os.ReadFile(filepath.Join(s.venv, "install.log")); !strings.Contains(string(log), "Could not find a version") {
					t.Errorf("install.log %q: want pip's output", log)
				}
			}
		})
	}
}

// TestMotoRealPipNoPyPI runs the real python3, venv and pip against an
// index that refuses connections, as on a machine without PyPI.
func TestMotoRealPipNoPyPI(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real venv (a few seconds)")
	}
	s := newSandbox(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	// The interpreter itself, not a shim (pyenv's need their own PATH).
	real, err := exec.Command(py, "-c", "import ensurepip, sys; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 has no venv/ensurepip")
	}
	if err := os.Symlink(strings.TrimSpace(string(real)), filepath.Join(s.bin, "python3")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	out, errl, code := s.run("PIP_INDEX_URL=http://"+closed+"/simple/", "PIP_RETRIES=0", "PIP_NO_CACHE_DIR=1", "PIP_CONFIG_FILE=/dev/null")
	if code != 1 || out != "" || len(errl) != 2 || !strings.Contains(errl[1], "pip could not install moto[server]==5.2.1") {
		t.Fatalf("got %q, exit %d, stderr %q; want the one-line pip failure", out, code, errl)
	}
	if _, err := os.Stat(filepath.Join(s.venv, "bin", "python")); err != nil {
		t.Errorf("the real venv was not made: %v", err)
	}
}
