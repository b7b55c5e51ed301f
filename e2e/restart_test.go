package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelmsig"
)

// deploy/jaeger/config-local.yaml as users run it keeps traces in Badger: a
// real 2-of-3 setup's trace is still found by escrow.id, whole, after Jaeger
// stops and a new Jaeger starts on the same data directory.
func TestTraceSurvivesJaegerRestart(t *testing.T) {
	data := t.TempDir()
	first := jaegertest.StartConfig(t, jaegertest.Config{DataDir: data})
	escrowID := "e2e-restart-" + fmt.Sprint(time.Now().UnixNano())
	wallets := dedicatedWallets(t, escrowID)
	shutdown := instrument(t, map[string]string{
		"ENABLE_INSTRUMENTATION":      "1",
		"ESCROW_TRACE_DIR":            t.TempDir(),
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + first.OTLPHTTP, // OTLP/HTTP, the default protocol
		"OTEL_EXPORTER_OTLP_INSECURE": "true",
		"OTEL_SERVICE_NAME":           service,
	})
	ctx := ctxTimeout(t, 2*time.Minute)
	addr, err := otelmsig.SetupMultisig(ctx, escrowID, wallets)
	if err != nil {
		t.Fatalf("SetupMultisig: %v", err)
	}
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	before := findEscrowTrace(t, ctx, first, escrowID)
	if err := first.Stop(); err != nil {
		t.Fatalf("stop the first Jaeger: %v", err)
	}
	for _, sub := range []string{"keys", "values"} {
		if entries, err := os.ReadDir(filepath.Join(data, sub)); err != nil || len(entries) == 0 {
			t.Fatalf("Badger %s directory: %d entries, %v", sub, len(entries), err)
		}
	}

	second := jaegertest.StartConfig(t, jaegertest.Config{DataDir: data})
	after := findEscrowTrace(t, ctx, second, escrowID)
	if after.TraceID != before.TraceID || len(after.Spans) != len(before.Spans) {
		t.Fatalf("after the restart: trace %s with %d spans, want %s with %d",
			after.TraceID, len(after.Spans), before.TraceID, len(before.Spans))
	}
	c := classify(t, after)
	root, rounds := c.root, c.rounds
	if v, _ := root.Tag(string(escrowconv.EscrowAddress)); v != addr {
		t.Errorf("root %s = %v, want %s", escrowconv.EscrowAddress, v, addr)
	}
	if len(rounds) != 3 {
		t.Errorf("%d round spans after the restart, want 3", len(rounds))
	}
	t.Logf("trace %s: %d spans before and after the restart", after.TraceID, len(after.Spans))
}
