package otelsetup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_") || k == EnvEnable || k == EnvTraceDir {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// built describes the exporters a pipeline has, in the Plan's terms.
func built(p *pipeline) (exporter, client string, extra int) {
	for i, b := range p.batchers {
		if i == 0 && p.plan.Exporter != "" {
			desc := fmt.Sprint(b.exp.MarshalLog())
			switch {
			case strings.Contains(desc, "otlptracegrpc"):
				return "otlp", "grpc", len(p.batchers) - 1
			case strings.Contains(desc, "otlptracehttp"):
				return "otlp", "http/protobuf", len(p.batchers) - 1
			default:
				return "console", "", len(p.batchers) - 1
			}
		}
	}
	return "", "", len(p.batchers)
}

// What PlanSetup says is what Setup builds: exporter and protocol, for each
// way the environment can ask for them.
func TestPlanIsWhatIsBuilt(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		exporter string
		protocol string
		endpoint string
	}{
		{nil, "", "", ""},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none"}, "", "", ""},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", envEndpoint: "http://c:4318"}, "", "", ""},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, "console", "", ""},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, "otlp", "http/protobuf", "https://localhost:4318/v1/traces"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", envInsecure: "true"}, "otlp", "http/protobuf", "http://localhost:4318/v1/traces"},
		{map[string]string{envEndpoint: "http://127.0.0.1:4318"}, "otlp", "http/protobuf", "http://127.0.0.1:4318/v1/traces"},
		{map[string]string{envEndpoint: "http://127.0.0.1:4318/base/"}, "otlp", "http/protobuf", "http://127.0.0.1:4318/base/v1/traces"},
		{map[string]string{envTracesEndpoint: "https://c.example:443"}, "otlp", "http/protobuf", "https://c.example:443/"},
		{map[string]string{envEndpoint: "http://127.0.0.1:4317", envProtocol: "grpc"}, "otlp", "grpc", "http://127.0.0.1:4317"},
		{map[string]string{envEndpoint: "http://127.0.0.1:4317", envProtocol: "http/protobuf", envTracesProtocol: "grpc"}, "otlp", "grpc", "http://127.0.0.1:4317"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", envProtocol: "grpc"}, "otlp", "grpc", "https://localhost:4317"},
	} {
		t.Run(fmt.Sprint(tc.env), func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ctx := context.Background()
			cfg := newConfig([]Option{WithEnabled(true), WithTraceDir(t.TempDir()), WithSpanExporter(nopExporter{})})
			plan, err := cfg.plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Exporter != tc.exporter || plan.OTLPProtocol != tc.protocol || plan.OTLPEndpoint != tc.endpoint || plan.Extra != 1 {
				t.Errorf("plan %+v; want exporter %q, protocol %q, endpoint %q, 1 extra", plan, tc.exporter, tc.protocol, tc.endpoint)
			}
			p, err := build(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.shutdown(ctx)
			exp, proto, extra := built(p)
			if exp != plan.Exporter || proto != plan.OTLPProtocol || extra != plan.Extra {
				t.Errorf("built exporter %q, protocol %q, %d extra; the plan says %q, %q, %d", exp, proto, extra, plan.Exporter, plan.OTLPProtocol, plan.Extra)
			}
		})
	}
}

// otelmsig imports the OpenTelemetry API only: no SDK, no gRPC.
func TestOtelmsigImportsAPIOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/escrowtrace/escrowtrace/otelmsig").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(dep, "google.golang.org/grpc") ||
			strings.HasPrefix(dep, "go.opentelemetry.io/otel/exporters") || strings.HasSuffix(dep, "/exporter/jsonfile") {
			t.Errorf("otelmsig depends on %s", dep)
		}
	}
}

type nopExporter struct{}

func (nopExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (nopExporter) Shutdown(context.Context) error                             { return nil }
