// Command metricnames prints, as JSON, every metric family `worker run`
// exports (name, type, labels, sample names), read from the code: it wires a
// worker exactly as `worker run` does into a fresh registry and lists what
// was registered. Dashboards, alert rules and the collector configuration
// under deploy/ are checked against this list (deploy/check-deploy.sh).
//
//	go run ./cmd/metricnames [-pending deploy/metrics-pending.txt]
//
// -pending adds the families and labels other branches are adding (marked
// "pending"); a pending line the code already exports is an error.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/resend-worker/resend-worker/internal/app"
	"github.com/resend-worker/resend-worker/internal/metrics"
)

// List is the printed document.
type List struct {
	Metrics []metrics.Family `json:"metrics"`
}

func main() {
	pending := flag.String("pending", "", "file of pending families (NAME TYPE [LABEL,...] per line)")
	flag.Parse()
	if err := run(os.Stdout, *pending); err != nil {
		fmt.Fprintln(os.Stderr, "metricnames:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, pendingFile string) error {
	fams, err := app.MetricFamilies()
	if err != nil {
		return err
	}
	if pendingFile != "" {
		f, err := os.Open(pendingFile)
		if err != nil {
			return err
		}
		defer f.Close()
		pending, err := metrics.ReadPending(f)
		if err != nil {
			return fmt.Errorf("%s: %w", pendingFile, err)
		}
		if fams, err = metrics.MergePending(fams, pending); err != nil {
			return fmt.Errorf("%s: %w", pendingFile, err)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(List{Metrics: fams})
}
