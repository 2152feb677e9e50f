# Checks of the observability files (issue 12), sourced by
# deploy/check-deploy.sh, which provides WORK, ROOT, die and run_check.
# Everything that names a metric is compared with the list the code exports:
# `go run ./cmd/metricnames`, plus deploy/metrics-pending.txt while it exists.
#
# Needs: go, promtool (Debian's prometheus package), docker-compose, PyYAML.

METRIC_LIST="$WORK/metricnames.json"

# metric_list: writes $METRIC_LIST once (the checks run in subshells).
metric_list() {
  [ -s "$METRIC_LIST" ] && return 0
  local pending=()
  if [ -f deploy/metrics-pending.txt ]; then pending=(-pending deploy/metrics-pending.txt); fi
  go run ./cmd/metricnames "${pending[@]}" >"$METRIC_LIST.tmp" || die "go run ./cmd/metricnames failed"
  mv "$METRIC_LIST.tmp" "$METRIC_LIST"
}

# The families every dashboard must show (CloudWatch: tests/observability.tftest.hcl).
DASHBOARD_FAMILIES=resend_jobs_total,resend_cognito_requests_total,resend_cognito_rate_limit,resend_cognito_outage,resend_ledger_requests_total,resend_inflight_jobs,resend_enqueue_to_call_seconds

check_metric_refs() {
  metric_list
  echo "exported families: $(grep -c '"name"' "$METRIC_LIST") ($METRIC_LIST)"
  (cd deploy/tools/metricrefs && go test -count=1 . && go run . -list "$METRIC_LIST" \
    -collector "$ROOT/deploy/terraform/observability-collector.yaml.tftpl" \
    -grafana "$ROOT/deploy/grafana/dashboards/resend-worker.json" \
    -rules "$ROOT/deploy/prometheus/alerts.yml" \
    -require "$DASHBOARD_FAMILIES" -grafana-rules-out "$WORK/grafana-rules.yml" \
    -collector-prometheus-out "$WORK/collector-prometheus.yml")
  # Prometheus's own parser on the dashboard's expressions and on the
  # collector's scrape configuration.
  command -v promtool >/dev/null || die "promtool is not installed: apt-get install prometheus (Debian) ships it"
  promtool check rules "$WORK/grafana-rules.yml"
  promtool check config "$WORK/collector-prometheus.yml"
}

check_promtool() {
  command -v promtool >/dev/null || die "promtool is not installed: apt-get install prometheus (Debian) ships it"
  promtool --version | head -n 1
  promtool check config deploy/prometheus/prometheus.yml
  promtool check rules deploy/prometheus/alerts.yml
  (cd deploy/prometheus && promtool test rules alerts_test.yml)
}

check_monitoring_compose() {
  find_compose || die "docker-compose is not installed"
  local cfg="$WORK/compose-monitoring.yml"
  "${COMPOSE[@]}" -f docker-compose.yml --profile monitoring config -q
  "${COMPOSE[@]}" -f docker-compose.yml --profile monitoring config >"$cfg"
  python3 deploy/checks/monitoring_check.py "$cfg"
}
