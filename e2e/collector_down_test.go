package e2e

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/otelmsig"
)

// With OTLP pointed at a port nobody listens on, the escrow setup still
// succeeds, the legacy JSON file is still written, and shutdown gives up
// within its deadline with an error instead of hanging.
func TestCollectorDown(t *testing.T) {
	dir := t.TempDir()
	escrowID := "e2e-down-" + fmt.Sprint(time.Now().UnixNano())
	wallets := dedicatedWallets(t, escrowID)
	shutdown := instrument(t, map[string]string{
		"ENABLE_INSTRUMENTATION":      "1",
		"ESCROW_TRACE_DIR":            dir,
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + closedPort(t),
		"OTEL_EXPORTER_OTLP_INSECURE": "true",
		"OTEL_SERVICE_NAME":           service,
	})
	ctx := ctxTimeout(t, 2*time.Minute)

	t0 := time.Now()
	addr, err := otelmsig.SetupMultisig(ctx, escrowID, wallets)
	t.Logf("setup with the collector down took %v", time.Since(t0).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("SetupMultisig with the collector down: %v", err)
	}
	if addr == "" {
		t.Fatal("no multisig address")
	}

	const deadline = 3 * time.Second
	sctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err = shutdown(sctx)
	took := time.Since(start)
	if err == nil {
		t.Error("shutdown with the collector down returned no error")
	}
	if took > deadline+time.Second {
		t.Errorf("shutdown took %v, past its %v deadline", took, deadline)
	}
	t.Logf("shutdown: %v after %v", err, took.Round(time.Millisecond))

	events := loadEscrowFile(t, dir, "escrow_"+escrowID+".json")
	if len(events) != 45 {
		t.Errorf("legacy file has %d events, want 45", len(events))
	}
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
