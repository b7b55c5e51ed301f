package otelsetup_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// testPassword is the wallets' password in fake setups: it must never show
// up in a span or a file.
const testPassword = "pw-Hunter2-do-not-record"

var roles = []string{"buyer", "vendor", "arbiter"}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// keepGlobal restores the global provider after a test that calls Setup.
func keepGlobal(t testing.TB) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() {
		if otel.GetTracerProvider() != prev {
			otel.SetTracerProvider(prev)
		}
	})
}

// clearEnv unsets every variable Setup, autoexport and the SDK read, so that
// the machine's environment does not leak into a test.
func clearEnv(t testing.TB) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_") || k == otelsetup.EnvEnable || k == otelsetup.EnvTraceDir {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// keepingExporter keeps what it got across Shutdown.
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

// fakeWallets starts one fake wallet-rpc per role with the role's wallet of
// escrowID open, and returns wallets with instrumented clients using the
// global provider and tracker.
func fakeWallets(t testing.TB, escrowID string, tracker *otelmsig.Tracker) []otelmsig.Wallet {
	t.Helper()
	ws, _ := fakeEscrow(t, escrowID, tracker)
	return ws
}

// fakeEscrow is fakeWallets with the fake servers.
func fakeEscrow(t testing.TB, escrowID string, tracker *otelmsig.Tracker) ([]otelmsig.Wallet, []*fakewalletrpc.Server) {
	t.Helper()
	var ws []otelmsig.Wallet
	var servers []*fakewalletrpc.Server
	for _, role := range roles {
		name := escrowID + "-" + role
		s := fakewalletrpc.New(fakewalletrpc.WithWalletDir(t.TempDir()), fakewalletrpc.WithWallet(name, testPassword))
		t.Cleanup(s.Close)
		servers = append(servers, s)
		if err := s.OpenWallet(name); err != nil {
			t.Fatal(err)
		}
		c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, otelmsig.Wallet{Role: role, ID: "wallet-" + name, Filename: name, Path: s.WalletPath(name),
			Password: testPassword, Client: c})
	}
	return ws, servers
}
