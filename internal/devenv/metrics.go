package devenv

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// metricLine is one sample of the Prometheus text format: name{labels} value.
var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// ScrapeMetrics reads a worker's /metrics at addr (host:port) into
// "name{labels}" → value, with the lane label summed away: the totals over
// the interactive and bulk lanes, under the names they had before lanes
// (resend_jobs_total{outcome="resent"}, resend_inflight_jobs).
func ScrapeMetrics(addr string) (map[string]float64, error) { return scrape(addr, true) }

// ScrapeLanes reads a worker's /metrics with the lane label kept, e.g.
// resend_jobs_total{lane="bulk",outcome="resent"}.
func ScrapeLanes(addr string) (map[string]float64, error) { return scrape(addr, false) }

// laneLabel is the lane label and the comma that joins it to the next.
var laneLabel = regexp.MustCompile(`lane="[^"]*",?`)

// withoutLane is a "name{labels}" key without its lane label.
func withoutLane(key string) string {
	key = strings.Replace(laneLabel.ReplaceAllString(key, ""), ",}", "}", 1)
	return strings.TrimSuffix(key, "{}")
}

func scrape(addr string, foldLanes bool) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := metricLine.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			key := m[1]
			if foldLanes {
				key = withoutLane(key)
			}
			out[key] += v
		}
	}
	return out, sc.Err()
}

// SumMetrics adds up the samples whose "name{labels}" starts with prefix,
// e.g. "resend_jobs_total{" for the jobs of every outcome.
func SumMetrics(m map[string]float64, prefix string) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}
