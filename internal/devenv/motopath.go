package devenv

import (
	"os"
	"os/exec"
	"path/filepath"
)

// MotoPath finds moto_server: on PATH, else in the .venv of the module
// holding the working directory, where scripts/moto.sh (run by `make demo`,
// `make test` and CI) installs it when it is not on PATH. So a `go test` or
// `go run` after one of those finds it too.
func MotoPath() (string, error) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", ErrNoMoto
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".venv", "bin", "moto_server")
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
			return "", ErrNoMoto
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoMoto
		}
		dir = parent
	}
}
