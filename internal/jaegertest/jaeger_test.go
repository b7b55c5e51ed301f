package jaegertest_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
)

// The harness itself against the real Jaeger: a span exported over OTLP/gRPC
// is found by service and tag, with its parent link, and the process is gone
// after Stop.
func TestRoundTripThroughRealJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(j.OTLPGRPC), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("jaegertest-selftest"))),
	)
	tr := tp.Tracer("selftest")
	pctx, parent := tr.Start(ctx, "parent", trace.WithAttributes(attribute.String("probe.id", "p-1")))
	_, child := tr.Start(pctx, "child")
	child.End()
	parent.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	services, err := j.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(services, "jaegertest-selftest") {
		t.Fatalf("services = %v, want jaegertest-selftest", services)
	}
	traces, err := j.FindTraces(ctx, "jaegertest-selftest", map[string]string{"probe.id": "p-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 1 {
		t.Fatalf("found %d traces by tag, want 1", len(traces))
	}
	tr1, err := j.Trace(ctx, traces[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr1.Spans) != 2 {
		t.Fatalf("trace has %d spans, want 2", len(tr1.Spans))
	}
	var p, c jaegertest.Span
	for _, s := range tr1.Spans {
		switch s.OperationName {
		case "parent":
			p = s
		case "child":
			c = s
		}
	}
	if c.Parent() != p.SpanID || p.SpanID == "" {
		t.Fatalf("child's parent = %q, want %q", c.Parent(), p.SpanID)
	}
	if _, err := j.Trace(ctx, "00000000000000000000000000000abc"); err == nil {
		t.Fatal("unknown trace id: want an error (HTTP 404)")
	}

	pid := j.PID()
	if err := j.Stop(); err != nil {
		t.Fatal(err)
	}
	if processExists(pid) {
		t.Fatalf("jaeger pid %d still running after Stop", pid)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
