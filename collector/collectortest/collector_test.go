package collectortest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/escrowtrace/escrowtrace/collector/collectortest"
)

// The harness against the built collector: both receivers take spans, the
// caller's Env reaches the collector (the debug exporter prints every span
// at verbosity detailed), the metrics say what went through, Restart brings
// the same endpoints back in a new process, and Stop leaves nothing
// running.
func TestStartExportRestartStop(t *testing.T) {
	c := collectortest.Start(t, collectortest.Config{
		GroupWait: 200 * time.Millisecond,
		Env:       []string{collectortest.EnvVerbosity + "=detailed"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	export(ctx, t, "grpc", c.OTLPGRPC, "probe-grpc-1")
	export(ctx, t, "http", c.OTLPHTTP, "probe-http-1")
	waitMetric(ctx, t, c, "otelcol_receiver_accepted_spans", map[string]string{"transport": "grpc"}, 1)
	waitMetric(ctx, t, c, "otelcol_receiver_accepted_spans", map[string]string{"transport": "http"}, 1)
	// groupbytrace releases them after GroupWait, to the debug exporter.
	waitMetric(ctx, t, c, "otelcol_exporter_sent_spans", map[string]string{"exporter": "debug"}, 2)
	for _, name := range []string{"probe-grpc-1", "probe-http-1"} {
		if !strings.Contains(c.Log(), name) {
			t.Errorf("the debug exporter (verbosity detailed, from Config.Env) did not print span %q", name)
		}
	}
	// Nothing listens where the harness points the Jaeger exporter.
	if n, err := c.Metric(ctx, "otelcol_exporter_sent_spans", map[string]string{"exporter": "otlp_grpc/jaeger"}); err == nil && n > 0 {
		t.Errorf("the otlp_grpc/jaeger exporter sent %v spans to a port where nothing listens", n)
	}
	if _, err := c.Metric(ctx, "otelcol_no_such_metric", nil); !errors.Is(err, collectortest.ErrNoSeries) {
		t.Errorf("unknown metric: err = %v, want ErrNoSeries", err)
	}

	pid := c.PID()
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if c.PID() == pid {
		t.Fatalf("Restart kept pid %d", pid)
	}
	if processExists(pid) {
		t.Fatalf("the first collector (pid %d) still runs after Restart", pid)
	}
	// The new process counts from zero on the same endpoints.
	export(ctx, t, "http", c.OTLPHTTP, "probe-http-2")
	waitMetric(ctx, t, c, "otelcol_receiver_accepted_spans", map[string]string{"transport": "http"}, 1)
	if got := strings.Count(c.Log(), "collectortest: restart"); got != 1 {
		t.Errorf("log has %d restart marks, want 1", got)
	}

	pid = c.PID()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if processExists(pid) {
		t.Fatalf("collector pid %d still running after Stop", pid)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// A collector that died is reported by Stop, not taken for a clean stop.
func TestStopReportsDeath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := collectortest.StartInstance(ctx, collectortest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(c.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = c.Stop()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Stop after SIGKILL: err = %v, want one saying it was killed", err)
	}
}

// A config the collector refuses fails Start with the collector's own words.
func TestBadConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	conf := "receivers:\n  nosuchreceiver:\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [nosuchreceiver]\n      exporters: [debug]\n"
	if err := os.WriteFile(bad, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := collectortest.StartInstance(ctx, collectortest.Config{ConfigFile: bad})
	if err == nil {
		c.Stop()
		t.Fatal("a config with an unknown receiver started")
	}
	for _, want := range []string{"exited during start-up", "nosuchreceiver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %q", err, want)
		}
	}
}

// Without the binary, the error says how to build it.
func TestMissingBinary(t *testing.T) {
	t.Setenv(collectortest.EnvBinary, filepath.Join(t.TempDir(), "escrowtrace-collector"))
	_, err := collectortest.StartInstance(context.Background(), collectortest.Config{})
	if err == nil || !strings.Contains(err.Error(), "make collector") || !strings.Contains(err.Error(), collectortest.EnvBinary) {
		t.Fatalf("err = %v, want one naming `make collector` and %s", err, collectortest.EnvBinary)
	}
}

// export sends one span named name over OTLP (protocol "grpc" or "http")
// and fails the test if the collector does not take it.
func export(ctx context.Context, t *testing.T, protocol, endpoint, name string) {
	t.Helper()
	var exp sdktrace.SpanExporter
	var err error
	if protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	}
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("collectortest-selftest"))),
	)
	_, span := tp.Tracer("selftest").Start(ctx, name)
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export over %s: %v", protocol, err)
	}
}

// waitMetric waits until the collector's metric reaches want.
func waitMetric(ctx context.Context, t *testing.T, c *collectortest.Instance, name string, labels map[string]string, want float64) {
	t.Helper()
	for {
		got, err := c.Metric(ctx, name, labels)
		if err != nil && !errors.Is(err, collectortest.ErrNoSeries) {
			t.Fatal(err)
		}
		if got >= want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s%v = %v (%v), want %v", name, labels, got, err, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func processExists(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
