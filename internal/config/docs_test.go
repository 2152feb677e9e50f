package config

import (
	"os"
	"strings"
	"testing"
)

// TestContractDocListsEverySetting keeps docs/contract.md in step with the
// settings: each has a row with its flag and, where it has one, its default
// as this package prints it.
func TestContractDocListsEverySetting(t *testing.T) {
	raw, err := os.ReadFile("../../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) > 4 {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = cells[2:]
		}
	}
	d := Default()
	for _, s := range settings() {
		row, ok := rows[s.env]
		if !ok {
			t.Errorf("docs/contract.md has no row for %s", s.env)
			continue
		}
		flagCell, defCell := strings.TrimSpace(row[0]), strings.Trim(strings.TrimSpace(row[1]), "`")
		if s.flag != "" && flagCell != "`--"+s.flag+"`" {
			t.Errorf("%s: flag cell %q, want `--%s`", s.env, flagCell, s.flag)
		}
		if s.flag == "" && flagCell != "none" {
			t.Errorf("%s has no flag; the doc says %q", s.env, flagCell)
		}
		if def := s.get(d); def != "" && !strings.HasPrefix(defCell, def) {
			t.Errorf("%s: default cell %q, want %s", s.env, defCell, def)
		}
		if s.get(d) == "" && !strings.HasPrefix(defCell, "required") && !strings.HasPrefix(defCell, "empty") {
			t.Errorf("%s: default cell %q, want required or empty", s.env, defCell)
		}
	}
}
