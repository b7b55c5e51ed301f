package otelmsig_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
	"github.com/escrowtrace/escrowtrace/otelmsig"
)

// keepGlobal restores the global provider after a test that calls Setup.
func keepGlobal(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() {
		if otel.GetTracerProvider() != prev {
			otel.SetTracerProvider(prev)
		}
	})
}

// keepingExporter keeps what it got across Shutdown (tracetest's
// InMemoryExporter forgets).
type keepingExporter struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (k *keepingExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.spans = append(k.spans, s...)
	return nil
}

func (k *keepingExporter) Shutdown(context.Context) error { return nil }

func (k *keepingExporter) Spans() []sdktrace.ReadOnlySpan {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), k.spans...)
}

func clearEnv(t *testing.T) {
	for _, k := range []string{otelmsig.EnvEnable, otelmsig.EnvTraceDir, "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// Disabled (ENABLE_INSTRUMENTATION unset): no spans, no files, and the
// setup makes exactly its own calls (the get_version check and the
// protocol calls); no snapshot calls at all.
func TestSetupDisabledMakesNoSnapshotCalls(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	dir := t.TempDir()
	t.Setenv(otelmsig.EnvTraceDir, dir)
	ctx := testCtx(t, 30*time.Second)
	shutdown, err := otelmsig.Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-off", tracker) // clients use the global provider
	ectx, esc := otelmsig.StartEscrow(ctx, "probe")
	if esc.Recording() || trace.SpanFromContext(ectx).IsRecording() {
		t.Fatal("disabled, yet the escrow records")
	}
	esc.End(nil)
	addr, err := otelmsig.SetupMultisig(ctx, "esc-off", fe.wallets, otelmsig.WithTracker(tracker))
	if err != nil || addr == "" {
		t.Fatal(addr, err)
	}
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, s := range fe.servers {
		log := s.CallLog()
		want := "get_version prepare_multisig make_multisig exchange_multisig_keys exchange_multisig_keys"
		if got := strings.Join(log, " "); got != want {
			t.Errorf("server %d got calls %q, want exactly %q", i, got, want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("disabled, yet files were written: %v", ents)
	}
}

// Enabled: the legacy file lands in ESCROW_TRACE_DIR, valid, with the 45
// events of a 2-of-3 setup, and nothing secret in it.
func TestSetupWritesLegacyFileToTraceDir(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	dir := filepath.Join(t.TempDir(), "traces")
	t.Setenv(otelmsig.EnvEnable, "yes")
	t.Setenv(otelmsig.EnvTraceDir, dir)
	t.Setenv("OTEL_SERVICE_NAME", "escrow-svc")
	mem := &keepingExporter{}
	ctx := testCtx(t, 30*time.Second)
	shutdown, err := otelmsig.Setup(ctx, otelmsig.WithSpanExporter(mem))
	if err != nil {
		t.Fatal(err)
	}
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-file", tracker)
	if _, err := otelmsig.SetupMultisig(ctx, "esc-file", fe.wallets, otelmsig.WithTracker(tracker)); err != nil {
		t.Fatal(err)
	}
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, jsonfile.FileName("esc-file", false))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonfile.Validate(data); err != nil {
		t.Fatal(err)
	}
	evs, err := jsonfile.Load(path)
	if err != nil || len(evs) != 45 {
		t.Fatalf("%d events, %v; want 45", len(evs), err)
	}
	if bytes.Contains(data, []byte("Multisig")) || bytes.Contains(data, []byte(testPassword)) {
		t.Fatal("secret in the legacy file")
	}
	// The extra exporter got the same spans, with the resource from the env.
	spans := mem.Spans()
	if len(spans) == 0 {
		t.Fatal("extra exporter got nothing")
	}
	var svc string
	for _, kv := range spans[0].Resource().Attributes() {
		if kv.Key == semconv.ServiceNameKey {
			svc = kv.Value.AsString()
		}
	}
	if svc != "escrow-svc" {
		t.Errorf("service.name %q, want escrow-svc from OTEL_SERVICE_NAME", svc)
	}
	assertNoSecrets(t, spans, testPassword)
}

func TestSetupDefaultServiceNameAndConsole(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	var out bytes.Buffer
	ctx := testCtx(t, 10*time.Second)
	shutdown, err := otelmsig.Setup(ctx, otelmsig.WithEnabled(true), otelmsig.WithTraceDir(t.TempDir()),
		otelmsig.WithConsole(true, &out))
	if err != nil {
		t.Fatal(err)
	}
	_, esc := otelmsig.StartEscrow(ctx, "esc-console")
	esc.End(nil)
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"escrow.setup"`) || !strings.Contains(out.String(), `"Value":"escrowtrace"`) {
		t.Fatalf("console output lacks the span or the default service name:\n%.600s", out.String())
	}
}

func TestSetupRejectsBadEnvironment(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	before := otel.GetTracerProvider()
	for k, v := range map[string]string{otelmsig.EnvEnable: "perhaps", "OTEL_TRACES_EXPORTER": "zipkin"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(otelmsig.EnvEnable, "1")
			t.Setenv(k, v)
			if _, err := otelmsig.Setup(context.Background(), otelmsig.WithTraceDir(t.TempDir())); err == nil {
				t.Fatalf("%s=%s accepted", k, v)
			}
			if otel.GetTracerProvider() != before {
				t.Fatal("a provider was installed despite the error")
			}
		})
	}
	// A trace dir that is a file.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := otelmsig.Setup(context.Background(), otelmsig.WithEnabled(true), otelmsig.WithTraceDir(f)); err == nil {
		t.Fatal("a file as trace dir accepted")
	}
}

// A collector that is down neither blocks the calls nor hangs shutdown
// beyond the OTLP timeout, and the legacy file is still written.
func TestSetupCollectorDown(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close() // nothing listens there now
	dir := t.TempDir()
	ctx := testCtx(t, 30*time.Second)
	shutdown, err := otelmsig.Setup(ctx, otelmsig.WithEnabled(true), otelmsig.WithTraceDir(dir),
		otelmsig.WithOTLPEndpoint("http://"+down), otelmsig.WithOTLPTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-down", tracker)
	start := time.Now()
	if _, err := otelmsig.SetupMultisig(ctx, "esc-down", fe.wallets, otelmsig.WithTracker(tracker)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("setup took %v with the collector down", d)
	}
	start = time.Now()
	serr := shutdown(ctx)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v, the OTLP timeout is 500ms", d)
	}
	t.Logf("shutdown with the collector down: %v", serr)
	if serr == nil {
		t.Error("shutdown reported no error although the collector is down")
	}
	if _, err := os.Stat(filepath.Join(dir, jsonfile.FileName("esc-down", false))); err != nil {
		t.Fatalf("legacy file: %v", err)
	}
	// Shutdown honours its context.
	shutdown2, err := otelmsig.Setup(ctx, otelmsig.WithEnabled(true), otelmsig.WithTraceDir(dir),
		otelmsig.WithOTLPEndpoint("http://"+down), otelmsig.WithOTLPTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	_, esc := otelmsig.StartEscrow(ctx, "esc-down-2")
	esc.End(nil)
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = shutdown2(sctx)
	if d := time.Since(start); d > 2*time.Second || err == nil {
		t.Errorf("shutdown with a 300ms context took %v, err %v", d, err)
	}
}

func TestPlanSetup(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER",
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", otelmsig.EnvTraceDir} {
		t.Setenv(k, "")
	}
	t.Setenv(otelmsig.EnvEnable, "")
	ctx := t.Context()
	if p, err := otelmsig.PlanSetup(ctx); err != nil || p.Enabled || p.OTLP {
		t.Errorf("disabled: %+v, %v", p, err)
	}

	t.Setenv(otelmsig.EnvEnable, "yes")
	t.Setenv(otelmsig.EnvTraceDir, "/var/escrows")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317")
	t.Setenv("OTEL_SERVICE_NAME", "escrow-api")
	p, err := otelmsig.PlanSetup(ctx)
	want := otelmsig.SetupPlan{Enabled: true, TraceDir: "/var/escrows", OTLP: true,
		OTLPEndpoint: "http://traces:4317", ServiceName: "escrow-api"}
	if err != nil || p != want {
		t.Errorf("from env: %+v, %v; want %+v", p, err, want)
	}

	// Options override the environment, as in Setup.
	p, err = otelmsig.PlanSetup(ctx, otelmsig.WithOTLPEndpoint("127.0.0.1:14317"), otelmsig.WithServiceName("opt"),
		otelmsig.WithTraceDir("out"), otelmsig.WithConsole(true, nil))
	want = otelmsig.SetupPlan{Enabled: true, TraceDir: "out", OTLP: true, OTLPEndpoint: "127.0.0.1:14317",
		Console: true, ServiceName: "opt"}
	if err != nil || p != want {
		t.Errorf("with options: %+v, %v; want %+v", p, err, want)
	}

	// The exporter's default endpoint when only OTEL_TRACES_EXPORTER asks for OTLP.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	if p, err := otelmsig.PlanSetup(ctx); err != nil || !p.OTLP || p.OTLPEndpoint != "" {
		t.Errorf("OTEL_TRACES_EXPORTER=otlp: %+v, %v", p, err)
	}

	t.Setenv(otelmsig.EnvEnable, "maybe")
	if _, err := otelmsig.PlanSetup(ctx); err == nil {
		t.Error("ENABLE_INSTRUMENTATION=maybe: no error")
	}
}
