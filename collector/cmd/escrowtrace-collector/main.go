// Program escrowtrace-collector is an OpenTelemetry Collector binary: the
// standard OTLP receiver, batch and groupbytrace processors and OTLP/debug
// exporters, plus escrowtrace's own components (components.go).
//
// main.go and main_others.go are what the Collector Builder (ocb) v0.165.0
// generates for this distribution; components.go has ocb's shape with one
// line per component.
package main

import (
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	envprovider "go.opentelemetry.io/collector/confmap/provider/envprovider"
	fileprovider "go.opentelemetry.io/collector/confmap/provider/fileprovider"
	yamlprovider "go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

// version is the distribution's version, reported by --version and as the
// collector's own service.version. Set it at link time:
// go build -ldflags "-X main.version=v1.2.3".
var version = "0.1.0-dev"

func main() {
	info := component.BuildInfo{
		Command:     "escrowtrace-collector",
		Description: "escrowtrace OpenTelemetry Collector (collector v0.165.0, contrib v0.165.1)",
		Version:     version,
	}

	set := otelcol.CollectorSettings{
		BuildInfo: info,
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
		ProviderModules: map[string]string{
			envprovider.NewFactory().Create(confmap.ProviderSettings{}).Scheme():  module(envprovider.NewFactory),
			fileprovider.NewFactory().Create(confmap.ProviderSettings{}).Scheme(): module(fileprovider.NewFactory),
			yamlprovider.NewFactory().Create(confmap.ProviderSettings{}).Scheme(): module(yamlprovider.NewFactory),
		},
		ConverterModules: []string{},
	}

	if err := run(set); err != nil {
		// The error message is logged by cobra, so we intentionally
		// avoid logging it again here to prevent duplicate output.
		os.Exit(1)
	}
}

func runInteractive(params otelcol.CollectorSettings) error {
	cmd := otelcol.NewCommand(params)
	if err := cmd.Execute(); err != nil {
		return err
	}

	return nil
}
