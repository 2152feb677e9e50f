//go:build ignore

// Validates the collector configuration with the ADOT collector's own
// components, as `awscollector` loads it from AOT_CONFIG_CONTENT: the awsemf
// exporter, the cumulativetodelta and batch processors, the collector's
// config loader and validation (unknown keys, bad values, pipelines). It is
// not part of the deploy checks: it builds only inside a checkout of
// github.com/aws-observability/aws-otel-collector at the pinned release,
// with that release's vendored sources:
//
//	git clone --branch v0.49.0 https://github.com/aws-observability/aws-otel-collector
//	mkdir aws-otel-collector/cmd/cfgcheck && cp main.go aws-otel-collector/cmd/cfgcheck/
//	(cd aws-otel-collector && go build -mod=vendor -o /tmp/cfgcheck ./cmd/cfgcheck)
//	AOT_CONFIG_CONTENT="$(cat rendered.yaml)" /tmp/cfgcheck
//
// where rendered.yaml is deploy/terraform/observability-collector.yaml.tftpl
// with its ${...} placeholders filled in (it prints "valid: ..." or the error).
//
// The prometheus receiver is a stand-in with the real one's top-level keys
// (the real one pulls in every Prometheus service discovery); the embedded
// Prometheus configuration is checked by `promtool check config` in the
// deploy checks. Run it again when metrics_collector_image changes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsemfexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/cumulativetodeltaprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

func main() {
	factories := func() (otelcol.Factories, error) {
		return otelcol.Factories{
			Receivers:  map[component.Type]receiver.Factory{component.MustNewType("prometheus"): stubPrometheus()},
			Processors: map[component.Type]processor.Factory{component.MustNewType("batch"): batchprocessor.NewFactory(), component.MustNewType("cumulativetodelta"): cumulativetodeltaprocessor.NewFactory()},
			Exporters:  map[component.Type]exporter.Factory{component.MustNewType("awsemf"): awsemfexporter.NewFactory()},
			Telemetry:  otelconftelemetry.NewFactory(),
		}, nil
	}
	f, _ := factories()
	// As awscollector: AOT_CONFIG_CONTENT through the env provider.
	cp, err := otelcol.NewConfigProvider(otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
		URIs:              []string{"env:AOT_CONFIG_CONTENT"},
		ProviderFactories: []confmap.ProviderFactory{envprovider.NewFactory(), fileprovider.NewFactory()},
		DefaultScheme:     "env",
	}})
	if err != nil {
		fmt.Println("provider:", err)
		os.Exit(1)
	}
	cfg, err := cp.Get(context.Background(), f)
	if err != nil {
		fmt.Println("load:", err)
		os.Exit(1)
	}
	if err := xconfmap.Validate(cfg); err != nil {
		fmt.Println("validate:", err)
		os.Exit(1)
	}
	emf := cfg.Exporters[component.MustNewID("awsemf")]
	fmt.Printf("valid: %v\nreceivers %d, processors %d, exporters %d, pipelines %d\nawsemf: %+v\n", cfg.Processors, len(cfg.Receivers), len(cfg.Processors), len(cfg.Exporters), len(cfg.Service.Pipelines), emf)
}

// The real prometheus receiver needs every Prometheus service discovery
// (EC2's generated code is missing from the snapshot): a stand-in with the
// receiver's top-level keys; its embedded Prometheus configuration is checked
// by promtool instead.
type promConfig struct {
	Config             map[string]any `mapstructure:"config"`
	TrimMetricSuffixes bool           `mapstructure:"trim_metric_suffixes"`
}

func stubPrometheus() receiver.Factory {
	return receiver.NewFactory(component.MustNewType("prometheus"), func() component.Config { return &promConfig{} },
		receiver.WithMetrics(func(context.Context, receiver.Settings, component.Config, consumer.Metrics) (receiver.Metrics, error) {
			return nil, nil
		}, component.StabilityLevelBeta))
}
