package devenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMotoPath(t *testing.T) {
	mod := t.TempDir()
	empty := t.TempDir()
	t.Setenv("PATH", empty) // moto_server hidden
	sub := filepath.Join(mod, "integration")
	if err := os.MkdirAll(filepath.Join(mod, ".venv", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)

	// Not a module: nothing.
	if p, err := MotoPath(); !errors.Is(err, ErrNoMoto) {
		t.Fatalf("outside a module: %q, %v; want ErrNoMoto", p, err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A module without the venv's moto_server: nothing.
	if p, err := MotoPath(); !errors.Is(err, ErrNoMoto) {
		t.Fatalf("no .venv/bin/moto_server: %q, %v; want ErrNoMoto", p, err)
	}
	venvMoto := filepath.Join(mod, ".venv", "bin", "moto_server")
	if err := os.WriteFile(venvMoto, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := MotoPath(); !errors.Is(err, ErrNoMoto) {
		t.Fatalf("not executable: %q, %v; want ErrNoMoto", p, err)
	}
	if err := os.Chmod(venvMoto, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := MotoPath(); err != nil || p != venvMoto {
		t.Fatalf("got %q, %v; want the module's %s", p, err, venvMoto)
	}
	// PATH comes first.
	onPath := filepath.Join(empty, "moto_server")
	if err := os.WriteFile(onPath, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := MotoPath(); err != nil || p != onPath {
		t.Fatalf("got %q, %v; want PATH's %s", p, err, onPath)
	}
}
