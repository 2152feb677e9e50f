// Package scripts holds the project's shell scripts (moto.sh: the
// moto_server that `make demo`, `make test` and CI use, installed into a
// project-local venv when it is not on PATH) and the Go tests that run them.
package scripts
