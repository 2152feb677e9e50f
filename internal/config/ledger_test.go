package config_test

import (
	"errors"
	"testing"

	"github.com/resend-worker/resend-worker/internal/config"
)

func TestLoadLedgerSettings(t *testing.T) {
	c, err := load(with(base(), "COOLDOWN_TABLE", "resend-ledger", "LOG_USER_HASH_KEY", "k3y"), nil, config.NeedAll)
	if err != nil || c.CooldownTable != "resend-ledger" || c.LogUserHashKey != "k3y" {
		t.Errorf("Load = %q, %q, %v", c.CooldownTable, c.LogUserHashKey, err)
	}
	c, err = load(with(base(), "LOG_USER_HASH_KEY", "k3y"), []string{"--cooldown-table=other.table"}, config.NeedAll)
	if err != nil || c.CooldownTable != "other.table" {
		t.Errorf("--cooldown-table: %q, %v", c.CooldownTable, err)
	}
	if c, err := load(base(), nil, config.NeedAll); err != nil || c.CooldownTable != "" || c.LogUserHashKey != "" {
		t.Errorf("defaults: %q, %q, %v; want both empty", c.CooldownTable, c.LogUserHashKey, err)
	}
	for _, bad := range []string{"ab", "has space", "arn:aws:dynamodb:us-east-1:1:table/x"} {
		_, err := load(with(base(), "COOLDOWN_TABLE", bad), nil, config.NeedAll)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Name != "COOLDOWN_TABLE" {
			t.Errorf("COOLDOWN_TABLE=%q: %v, want an error naming COOLDOWN_TABLE", bad, err)
		}
	}
	if _, err := load(base(), []string{"--log-user-hash-key=x"}, config.NeedAll); err == nil {
		t.Error("the hash key was taken from a flag (it would show in ps)")
	}
}
