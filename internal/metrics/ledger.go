package metrics

import "github.com/prometheus/client_golang/prometheus"

// Ledger counts requests to the COOLDOWN_TABLE (claims, sent-marks,
// releases, renewals, the fleet's heartbeats): a ledger.Observer.
type Ledger struct {
	Requests *prometheus.CounterVec // resend_ledger_requests_total{op,result}
}

// LedgerOps and LedgerResults are the label values, registered at zero.
var (
	LedgerOps     = []string{"claim", "sent", "release", "renew", "heartbeat", "leave"}
	LedgerResults = []string{"ok", "conditional_failed", "error"}
)

// NewLedger registers resend_ledger_requests_total with reg.
func NewLedger(reg prometheus.Registerer) *Ledger {
	l := &Ledger{Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "resend_ledger_requests_total",
		Help: "Requests to the COOLDOWN_TABLE, by purpose (claim, sent, release, renew, heartbeat, leave) and result (ok, conditional_failed, error).",
	}, []string{"op", "result"})}
	reg.MustRegister(l.Requests)
	for _, op := range LedgerOps {
		for _, r := range LedgerResults {
			l.Requests.WithLabelValues(op, r)
		}
	}
	return l
}

// Request adds one to resend_ledger_requests_total{op,result}.
func (l *Ledger) Request(op, result string) { l.Requests.WithLabelValues(op, result).Inc() }
