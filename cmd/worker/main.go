// Command worker drains the resend job queue into Cognito's
// ResendConfirmationCode; see the README for its subcommands and settings.
package main

import (
	"os"

	"github.com/resend-worker/resend-worker/internal/app"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	os.Exit(app.Main(os.Args[1:], app.OSIO(), app.Build{Version: version, Commit: commit}))
}
