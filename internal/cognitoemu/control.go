package cognitoemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// controlPrefix is where the control API lives; the AWS API only uses "/".
const controlPrefix = "/_emu/"

// Config is the runtime configuration, as served by /_emu/config.
type Config struct {
	// Quota is ResendConfirmationCode's requests per second; 0 = unlimited.
	Quota float64 `json:"quota"`
	// Burst is the token bucket's capacity in effect.
	Burst int `json:"burst"`
	// LatencyMs is the latency added to ResendConfirmationCode, in milliseconds.
	LatencyMs float64 `json:"latencyMs"`
	// ResendLimitPerHour is the per-user resend limit; 0 = disabled.
	ResendLimitPerHour int `json:"resendLimitPerHour"`
}

// configUpdate is a POST /_emu/config body: members left out are unchanged.
type configUpdate struct {
	Quota              *float64 `json:"quota"`
	Burst              *int     `json:"burst"` // 0 = derived from quota
	LatencyMs          *float64 `json:"latencyMs"`
	ResendLimitPerHour *int     `json:"resendLimitPerHour"` // 0 = disabled
}

// Config returns the configuration in effect.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configLocked()
}

func (s *Server) configLocked() Config {
	return Config{
		Quota:              s.quota,
		Burst:              burstFor(s.quota, s.burst),
		LatencyMs:          float64(s.latency) / float64(time.Millisecond),
		ResendLimitPerHour: max(s.resendLimit, 0),
	}
}

func (s *Server) updateConfig(u configUpdate) (Config, error) {
	switch {
	case u.Quota != nil && *u.Quota < 0:
		return Config{}, errors.New("quota must not be negative")
	case u.Burst != nil && *u.Burst < 0:
		return Config{}, errors.New("burst must not be negative")
	case u.LatencyMs != nil && *u.LatencyMs < 0:
		return Config{}, errors.New("latencyMs must not be negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Quota != nil {
		s.quota = *u.Quota
	}
	if u.Burst != nil {
		s.burst = *u.Burst
	}
	if u.Quota != nil || u.Burst != nil {
		s.bucket.configure(s.quota, s.burst)
	}
	if u.LatencyMs != nil {
		s.latency = time.Duration(*u.LatencyMs * float64(time.Millisecond))
	}
	if u.ResendLimitPerHour != nil {
		s.resendLimit = *u.ResendLimitPerHour
		if s.resendLimit <= 0 {
			s.resendLimit = -1
		}
	}
	return s.configLocked(), nil
}

// serveControl serves the /_emu/ control API:
//
//	GET    /_emu/health                → 200 "ok"
//	GET    /_emu/calls                 → []Call
//	GET    /_emu/deliveries[?username=] → []Delivery
//	GET    /_emu/faults                → []Fault
//	POST   /_emu/faults   (Fault)      → []Fault  ({"for":"60s","code":"InternalErrorException"}: an outage)
//	DELETE /_emu/faults                → []Fault (empty)
//	GET    /_emu/config                → Config
//	POST   /_emu/config   (partial)    → Config
//	POST   /_emu/seed     (SeedSpec)   → {"status":"ok"}
//	POST   /_emu/reset                 → {"status":"ok"}
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, controlPrefix)
	allowed := map[string][]string{
		"health": {http.MethodGet}, "calls": {http.MethodGet}, "deliveries": {http.MethodGet},
		"faults": {http.MethodGet, http.MethodPost, http.MethodDelete},
		"config": {http.MethodGet, http.MethodPost},
		"seed":   {http.MethodPost}, "reset": {http.MethodPost},
	}[name]
	if allowed == nil {
		controlError(w, http.StatusNotFound, fmt.Errorf("no control endpoint %s", r.URL.Path))
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if !slices.Contains(allowed, method) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		controlError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s does not allow %s", r.URL.Path, r.Method))
		return
	}

	ok := map[string]string{"status": "ok"}
	switch name + " " + method {
	case "health GET":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	case "calls GET":
		controlJSON(w, http.StatusOK, s.Calls())
	case "deliveries GET":
		controlJSON(w, http.StatusOK, s.deliveriesFiltered(r.URL.Query().Get("username")))
	case "faults GET":
		controlJSON(w, http.StatusOK, s.Faults())
	case "faults POST":
		var f Fault
		if !decodeControl(w, r, &f) {
			return
		}
		if err := s.AddFault(f); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		controlJSON(w, http.StatusOK, s.Faults())
	case "faults DELETE":
		s.ClearFaults()
		controlJSON(w, http.StatusOK, []Fault{})
	case "config GET":
		controlJSON(w, http.StatusOK, s.Config())
	case "config POST":
		var u configUpdate
		if !decodeControl(w, r, &u) {
			return
		}
		cfg, err := s.updateConfig(u)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		controlJSON(w, http.StatusOK, cfg)
	case "seed POST":
		var spec SeedSpec
		if !decodeControl(w, r, &spec) {
			return
		}
		if err := s.Seed(spec); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		controlJSON(w, http.StatusOK, ok)
	case "reset POST":
		s.Reset()
		controlJSON(w, http.StatusOK, ok)
	}
}

// decodeControl decodes a JSON request body strictly, answering 400 if it
// cannot.
func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("bad JSON body: %w", err))
		return false
	}
	return true
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, "application/json", v)
}

func controlError(w http.ResponseWriter, status int, err error) {
	controlJSON(w, status, map[string]string{"error": err.Error()})
}
