package otelsetup_test

import (
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/escrowtrace/escrowtrace/otelsetup"
)

// resourceOfSetup runs Setup, ends one span and returns the span's resource.
func resourceOfSetup(t *testing.T) *resource.Resource {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	mem := &keepingExporter{}
	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithEnabled(true), otelsetup.WithTraceDir(t.TempDir()),
		otelsetup.WithSpanExporter(mem), otelsetup.WithoutEnvExporter())
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(ctx, "probe")
	span.End()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := mem.Spans()
	if len(spans) != 1 {
		t.Fatalf("%d spans exported", len(spans))
	}
	return spans[0].Resource()
}

// Every process's resource identifies it for a collector that sees
// several (issue 13): service.instance.id, a fresh UUID per Setup, so that
// two replicas of one service on one host stay apart, and process.pid.
// OTEL_RESOURCE_ATTRIBUTES can set the instance id (a deployment's own
// replica name).
func TestSetupResourceIdentifiesProcess(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	ids := map[string]bool{}
	for range 2 {
		res := resourceOfSetup(t).Set()
		id, _ := res.Value(semconv.ServiceInstanceIDKey)
		if _, err := uuid.Parse(id.AsString()); err != nil {
			t.Errorf("service.instance.id %q is not a UUID: %v", id.AsString(), err)
		}
		ids[id.AsString()] = true
		if pid, _ := res.Value(semconv.ProcessPIDKey); pid.AsInt64() != int64(os.Getpid()) {
			t.Errorf("process.pid %d, want %d", pid.AsInt64(), os.Getpid())
		}
	}
	if len(ids) != 2 {
		t.Errorf("two Setups share service.instance.id %v", ids)
	}

	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=replica-7")
	if id, _ := resourceOfSetup(t).Set().Value(semconv.ServiceInstanceIDKey); id.AsString() != "replica-7" {
		t.Errorf("service.instance.id %q, want replica-7 from OTEL_RESOURCE_ATTRIBUTES", id.AsString())
	}
}
