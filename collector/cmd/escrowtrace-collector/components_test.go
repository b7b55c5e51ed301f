package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/otelcol/otelcoltest"
	"go.opentelemetry.io/collector/pipeline"
)

// The distribution has the components the README and the shipped config
// name, each mapped to its module at the one release all Collector modules
// share.
func TestComponents(t *testing.T) {
	f, err := components()
	if err != nil {
		t.Fatal(err)
	}
	check := func(kind string, got map[component.Type]string, want map[string]string) {
		t.Helper()
		for typ, mod := range want {
			if got[component.MustNewType(typ)] != mod {
				t.Errorf("%s %s: module %q, want %q", kind, typ, got[component.MustNewType(typ)], mod)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", kind, got, want)
		}
	}
	const core, contrib = "go.opentelemetry.io/collector/", "github.com/open-telemetry/opentelemetry-collector-contrib/"
	// Our components come from the main module, built from this tree.
	const ours = "github.com/escrowtrace/escrowtrace/collector (devel)"
	check("receiver", f.ReceiverModules, map[string]string{
		"otlp": core + "receiver/otlpreceiver v0.165.0",
	})
	check("processor", f.ProcessorModules, map[string]string{
		"batch":           core + "processor/batchprocessor v0.165.0",
		"groupbytrace":    contrib + "processor/groupbytraceprocessor v0.165.1",
		"walletpollution": ours,
	})
	check("exporter", f.ExporterModules, map[string]string{
		"debug":      core + "exporter/debugexporter v0.165.0",
		"otlp_grpc":  core + "exporter/otlpexporter v0.165.0",
		"otlp":       core + "exporter/otlpexporter v0.165.0", // otlp_grpc's deprecated alias
		"otlp_http":  core + "exporter/otlphttpexporter v0.165.0",
		"otlphttp":   core + "exporter/otlphttpexporter v0.165.0",
		"escrowjson": ours,
	})
	check("extension", f.ExtensionModules, map[string]string{
		"health_check": contrib + "extension/healthcheckextension v0.165.1",
	})
	check("connector", f.ConnectorModules, map[string]string{})
	// The exporters' deprecated aliases are types of their own.
	if len(f.Receivers) != 1 || len(f.Processors) != 3 || len(f.Exporters) != 6 || len(f.Extensions) != 1 || f.Telemetry == nil {
		t.Errorf("factories: %d receivers, %d processors, %d exporters, %d extensions, telemetry %v",
			len(f.Receivers), len(f.Processors), len(f.Exporters), len(f.Extensions), f.Telemetry)
	}
	if got := module(fileprovider.NewFactory); got != core+"confmap/provider/fileprovider v1.71.0" {
		t.Errorf("fileprovider's module = %q", got)
	}
}

func TestFuncPackage(t *testing.T) {
	for _, tc := range []struct {
		f    any
		want string
	}{
		{fileprovider.NewFactory, "go.opentelemetry.io/collector/confmap/provider/fileprovider"},
		{strings.Cut, "strings"},
	} {
		if got := funcPackage(tc.f); got != tc.want {
			t.Errorf("funcPackage(%T) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

// The shipped config is valid for this distribution: whole traces
// (groupbytrace) before batch, after the cross-process detector, to the
// legacy files, Jaeger and the debug exporter.
func TestShippedConfig(t *testing.T) {
	f, err := components()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := otelcoltest.LoadConfigAndValidate(shippedConfig, f)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Service.Pipelines[pipeline.NewID(pipeline.SignalTraces)]
	if p == nil {
		t.Fatal("no traces pipeline")
	}
	if got := fmt.Sprint(p.Receivers, p.Processors, p.Exporters); got != "[otlp] [walletpollution groupbytrace batch] [escrowjson otlp_grpc/jaeger debug]" {
		t.Errorf("traces pipeline: %s", got)
	}
}

// Everything the collector listens on is on loopback, with the defaults
// and with every variable set: receivers, extensions, its own metrics.
func TestShippedConfigLoopback(t *testing.T) {
	for _, env := range []map[string]string{
		nil,
		{
			"ESCROWTRACE_COLLECTOR_OTLP_GRPC":    "127.0.0.1:1",
			"ESCROWTRACE_COLLECTOR_OTLP_HTTP":    "127.0.0.1:2",
			"ESCROWTRACE_COLLECTOR_HEALTH":       "127.0.0.1:3",
			"ESCROWTRACE_COLLECTOR_METRICS_PORT": "4",
		},
	} {
		for k, v := range env {
			t.Setenv(k, v)
		}
		conf := resolve(t)
		var binds []string
		for _, section := range []string{"receivers", "extensions", "service::telemetry"} {
			walk(conf.Get(section), section, func(path string, v any) {
				key := path[strings.LastIndex(path, "::")+2:]
				if key != "endpoint" && key != "host" {
					return
				}
				binds = append(binds, path)
				if s, _ := v.(string); !strings.HasPrefix(s, "127.0.0.1") {
					t.Errorf("%s = %v, want 127.0.0.1", path, v)
				}
			})
		}
		slices.Sort(binds)
		want := []string{
			"extensions::health_check::endpoint",
			"receivers::otlp::protocols::grpc::endpoint",
			"receivers::otlp::protocols::http::endpoint",
			"service::telemetry::metrics::readers::0::pull::exporter::prometheus::host",
		}
		if !slices.Equal(binds, want) {
			t.Errorf("listening addresses found: %v, want %v", binds, want)
		}
	}
}

var shippedConfig = filepath.Join("..", "..", "..", "deploy", "collector", "config.yaml")

// resolve reads the shipped config as the binary does, ${env:...} expanded.
func resolve(t *testing.T) *confmap.Conf {
	t.Helper()
	r, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + shippedConfig},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
	})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := r.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// walk calls fn for each leaf of a decoded YAML tree, with its path.
func walk(v any, path string, fn func(string, any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			walk(c, path+"::"+k, fn)
		}
	case []any:
		for i, c := range v {
			walk(c, fmt.Sprintf("%s::%d", path, i), fn)
		}
	default:
		fn(path, v)
	}
}
