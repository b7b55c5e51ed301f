package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/collector/collectortest"
	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelsetup"
)

// The path of every escrow server process: otelsetup's SDK exports over
// OTLP/HTTP and OTLP/gRPC (OTEL_EXPORTER_OTLP_* alone choose) to the built
// collector, which groups each trace and forwards it to a real Jaeger. Each
// span goes in an OTLP request of its own, as spans end during a long
// escrow; groupbytrace joins them into one release; Jaeger has the whole
// escrow, found by escrow.id; and the collector's metrics say nothing was
// evicted, dropped or failed on the way.
func TestThroughCollectorToJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	c := collectortest.Start(t, collectortest.Config{Jaeger: j.OTLPGRPC, GroupWait: time.Second})
	ctx := testCtx(t, 2*time.Minute)

	var sent float64
	for i, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			endpoint := c.OTLPHTTP
			if proto == "grpc" {
				endpoint = c.OTLPGRPC
			}
			service := "collector-e2e-" + strings.ReplaceAll(proto, "/", "-")
			sdkEnv(t, proto, endpoint, service)
			t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1") // one span per request
			id := fmt.Sprintf("escrow-through-collector-%d", i)

			shutdown, err := otelsetup.Setup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := escrowTrace(ctx, id)
			if err := shutdown(ctx); err != nil {
				t.Fatalf("SDK shutdown (what the exporters lost): %v", err)
			}
			sent += float64(len(want))

			tr := waitTrace(ctx, t, j, service, id, len(want))
			for _, s := range tr.Spans {
				parent := ""
				for _, p := range tr.Spans {
					if p.SpanID == s.Parent() {
						parent = p.OperationName
					}
				}
				if want[s.OperationName] != parent {
					t.Errorf("span %q has parent %q, want %q", s.OperationName, parent, want[s.OperationName])
				}
			}

			// groupbytrace released the escrow once, whole, and lost nothing.
			wantMetric(ctx, t, c, "otelcol_processor_groupbytrace_spans_released", nil, sent)
			wantMetric(ctx, t, c, "otelcol_processor_groupbytrace_traces_released", nil, float64(i+1))
			wantMetric(ctx, t, c, "otelcol_processor_groupbytrace_traces_evicted", nil, 0)
			wantMetric(ctx, t, c, "otelcol_processor_groupbytrace_incomplete_releases", nil, 0)
			jaeger := map[string]string{"exporter": "otlp_grpc/jaeger"}
			wantMetric(ctx, t, c, "otelcol_exporter_sent_spans", jaeger, sent)
			wantMetric(ctx, t, c, "otelcol_exporter_send_failed_spans", jaeger, 0)
			wantMetric(ctx, t, c, "otelcol_receiver_refused_spans", nil, 0)
		})
	}
}

// A collector that stops, as on a restart, first releases what groupbytrace
// holds (emit_strategy service flushes at shutdown; trace would drop it),
// so an escrow exported just before reaches Jaeger whole. After the
// restart the same endpoints take the next escrow.
func TestRestartReleasesHeldTraces(t *testing.T) {
	j := jaegertest.Start(t)
	// Held far longer than the test: only the shutdown can release it.
	c := collectortest.Start(t, collectortest.Config{Jaeger: j.OTLPGRPC, GroupWait: time.Hour})
	ctx := testCtx(t, 2*time.Minute)
	const service = "collector-e2e-restart"
	sdkEnv(t, "http/protobuf", c.OTLPHTTP, service)

	shutdown, err := otelsetup.Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := escrowTrace(ctx, "escrow-held-at-restart")
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wantMetric(ctx, t, c, "otelcol_receiver_accepted_spans", nil, float64(len(want)))
	if n, err := c.Metric(ctx, "otelcol_processor_groupbytrace_spans_released", nil); err == nil && n > 0 {
		t.Fatalf("groupbytrace released %v spans before the restart; the test needs them held", n)
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitTrace(ctx, t, j, service, "escrow-held-at-restart", len(want))

	shutdown, err = otelsetup.Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	escrowTrace(ctx, "escrow-after-restart")
	if err := shutdown(ctx); err != nil {
		t.Fatalf("export to the restarted collector: %v", err)
	}
	wantMetric(ctx, t, c, "otelcol_receiver_accepted_spans", nil, float64(len(want)))
}

// With the collector down, the SDK says so: shutdown returns an error
// naming what was not exported, on its own and well before its context
// ends, over either protocol; the application never waits for it.
func TestCollectorDown(t *testing.T) {
	c := collectortest.Start(t, collectortest.Config{})
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			endpoint := c.OTLPHTTP
			if proto == "grpc" {
				endpoint = c.OTLPGRPC
			}
			sdkEnv(t, proto, endpoint, "collector-e2e-down")
			t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1000") // ms per export, retries included
			ctx := testCtx(t, 2*time.Minute)
			shutdown, err := otelsetup.Setup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := escrowTrace(ctx, "escrow-collector-down")
			err = shutdown(ctx)
			if ctx.Err() != nil {
				t.Fatalf("shutdown ran out its context (%v): %v", ctx.Err(), err)
			}
			wantLoss := fmt.Sprintf("%d of %d spans not exported", len(want), len(want))
			if err == nil || !strings.Contains(err.Error(), wantLoss) {
				t.Fatalf("shutdown with the collector down: err = %v, want one saying %q", err, wantLoss)
			}
		})
	}
}

// escrowTrace records a small escrow-shaped trace through the global
// provider — the root span with escrow.id, a round, two wallet RPC calls —
// and returns each span's name mapped to its parent's ("" for the root).
func escrowTrace(ctx context.Context, id string) map[string]string {
	tr := otel.Tracer("github.com/escrowtrace/escrowtrace/collector/e2e")
	ctx, root := tr.Start(ctx, escrowconv.SpanEscrow, trace.WithAttributes(escrowconv.EscrowID.String(id)))
	rctx, round := tr.Start(ctx, "multisig.round 1", trace.WithAttributes(escrowconv.EscrowID.String(id)))
	for _, m := range []string{"prepare_multisig", "make_multisig"} {
		_, call := tr.Start(rctx, m, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(escrowconv.EscrowID.String(id)))
		call.End()
	}
	round.End()
	root.End()
	return map[string]string{
		escrowconv.SpanEscrow: "",
		"multisig.round 1":    escrowconv.SpanEscrow,
		"prepare_multisig":    "multisig.round 1",
		"make_multisig":       "multisig.round 1",
	}
}

// waitTrace waits until Jaeger has the escrow's trace with n spans.
func waitTrace(ctx context.Context, t *testing.T, j *jaegertest.Instance, service, id string, n int) jaegertest.Trace {
	t.Helper()
	tags := map[string]string{string(escrowconv.EscrowID): id}
	var last string
	for {
		traces, err := j.FindTraces(ctx, service, tags)
		switch {
		case err != nil:
			last = err.Error()
		case len(traces) > 1:
			t.Fatalf("Jaeger has %d traces for escrow %s, want 1", len(traces), id)
		case len(traces) == 1:
			tr, err := j.Trace(ctx, traces[0].TraceID)
			if err == nil && len(tr.Spans) == n {
				return tr
			}
			last = fmt.Sprintf("trace %s: %d spans (%v), want %d", traces[0].TraceID, len(tr.Spans), err, n)
		default:
			last = "no trace"
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Jaeger: escrow %s (service %s): %s", id, service, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// wantMetric waits until the collector's metric equals want (a missing
// counter is 0), and fails when it passes want or ctx ends.
func wantMetric(ctx context.Context, t *testing.T, c *collectortest.Instance, name string, labels map[string]string, want float64) {
	t.Helper()
	for {
		got, err := c.Metric(ctx, name, labels)
		if err != nil && !errors.Is(err, collectortest.ErrNoSeries) {
			t.Fatal(err)
		}
		switch {
		case got == want:
			return
		case got > want:
			t.Fatalf("collector metric %s%v = %v, want %v", name, labels, got, want)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("collector metric %s%v = %v, want %v", name, labels, got, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sdkEnv sets what an escrow server process sets to export to a collector,
// and nothing else of the machine's OTEL_* reaches otelsetup. The global
// provider Setup installs is put back when the test ends.
func sdkEnv(t *testing.T, protocol, endpoint, service string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv(otelsetup.EnvEnable, "1")
	t.Setenv(otelsetup.EnvTraceDir, t.TempDir())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+endpoint)
	t.Setenv("OTEL_SERVICE_NAME", service)
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
