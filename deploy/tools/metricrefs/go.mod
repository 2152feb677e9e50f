// A separate module, so the service's go.mod does not depend on a PromQL parser.
module github.com/resend-worker/resend-worker/deploy/tools/metricrefs

go 1.26.8

require (
	github.com/VictoriaMetrics/metricsql v0.87.3
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/VictoriaMetrics/metrics v1.35.3 // indirect
	github.com/valyala/fastrand v1.1.0 // indirect
	github.com/valyala/histogram v1.2.0 // indirect
	golang.org/x/sys v0.32.0 // indirect
)
