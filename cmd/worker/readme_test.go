package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEMapsEveryPackage: the README's map of packages names every
// directory of the module that holds Go code, and nothing that is gone.
func TestREADMEMapsEveryPackage(t *testing.T) {
	root := "../.."
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	dirs := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// Other modules (their own go.mod), test data and hidden directories are no packages of this module.
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || fileExists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			dirs[filepath.ToSlash(filepath.Dir(rel))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range dirs {
		if !strings.Contains(readme, "| `"+dir+"`") && !strings.Contains(readme, "`"+dir+"` |") && !strings.Contains(readme, ", `"+dir+"`") {
			t.Errorf("README's package map does not name %s", dir)
		}
	}
	for _, line := range strings.Split(readme, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		for _, name := range strings.Split(strings.SplitN(line, "|", 3)[1], ",") {
			name = strings.Trim(strings.TrimSpace(name), "`")
			if (strings.HasPrefix(name, "internal/") || strings.HasPrefix(name, "cmd/")) && !dirs[name] {
				t.Errorf("README's package map names %s, which holds no Go code", name)
			}
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
