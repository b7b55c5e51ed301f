package otelsetup_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
)

// Over OTLP/HTTP and OTLP/gRPC to the real Jaeger, chosen by
// OTEL_EXPORTER_OTLP_PROTOCOL alone: every escrow arrives, including those
// exported in one batch with an escrow whose wallet id and role had invalid
// UTF-8 (one bad string used to fail the whole gRPC batch), and shutdown
// reports no loss.
func TestSetupExportsToJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			keepGlobal(t)
			clearEnv(t)
			endpoint := j.OTLPHTTP
			if proto == "grpc" {
				endpoint = j.OTLPGRPC
			}
			service := "otelsetup-test-" + strings.ReplaceAll(proto, "/", "-")
			dir := t.TempDir()
			t.Setenv(otelsetup.EnvEnable, "1")
			t.Setenv(otelsetup.EnvTraceDir, dir)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+endpoint)
			t.Setenv("OTEL_SERVICE_NAME", service)
			// One batch for everything: the bad strings share it.
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
			ctx := testCtx(t, time.Minute)
			plan, err := otelsetup.PlanSetup(ctx)
			if err != nil || !plan.OTLP() || plan.OTLPProtocol != proto {
				t.Fatalf("plan %+v, %v", plan, err)
			}
			shutdown, err := otelsetup.Setup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tracker := otelmsig.NewTracker()
			ids := []string{"jaeger-a", "jaeger-bad-bytes", "jaeger-b"}
			for _, id := range ids {
				ws := fakeWallets(t, id, tracker)
				if id == "jaeger-bad-bytes" {
					ws[0].ID = "buyer-\xff\xfe"
					ws[1].Role = "vendor\xc3"
				}
				if _, err := otelmsig.SetupMultisig(ctx, id, ws, otelmsig.WithTracker(tracker)); err != nil {
					t.Fatal(err)
				}
			}
			if err := shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			for _, id := range ids {
				checkFile(t, dir, id, eventsPerSetup)
				traces, err := j.FindTraces(ctx, service, map[string]string{string(escrowconv.EscrowID): id})
				if err != nil || len(traces) != 1 {
					t.Fatalf("Jaeger: escrow %s: %d traces, %v; want 1", id, len(traces), err)
				}
				tr, err := j.Trace(ctx, traces[0].TraceID)
				if err != nil {
					t.Fatal(err)
				}
				var rpc, version int
				for _, s := range tr.Spans {
					if _, ok := s.Tag("rpc.method"); ok {
						rpc++
					}
					if v, _ := s.Tag("otel.scope.version"); fmt.Sprint(v) == otelmsig.Version() {
						version++
					}
				}
				if rpc < 12 || version != len(tr.Spans) {
					t.Errorf("escrow %s in Jaeger: %d spans, %d RPC spans (want >= 12), %d with scope version %s",
						id, len(tr.Spans), rpc, version, otelmsig.Version())
				}
			}
		})
	}
}
