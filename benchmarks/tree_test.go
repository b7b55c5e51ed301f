package benchmarks

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// BenchmarkEscrowTrace: one 2-of-3 SetupMultisig after another on the
// in-process fake wallet-rpc (one per role, dedicated layout), recorded by
// an SDK provider whose exporter counts and drops the spans (synchronous,
// so every span is counted in its escrow): what the trace's shape costs
// per escrow, and spans/escrow. The same file runs on an older otelmsig
// for a before/after (see BENCHMARKS.md).
func BenchmarkEscrowTrace(b *testing.B) {
	var spans atomic.Int64
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(countingExporter{&spans}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracker := otelmsig.NewTracker()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		id := fmt.Sprintf("bench-tree-%d", i)
		var wallets []otelmsig.Wallet
		var servers []*fakewalletrpc.Server
		for _, role := range roles {
			name := id + "-" + role
			s := fakewalletrpc.New(fakewalletrpc.WithWallet(name, ""))
			servers = append(servers, s)
			if err := s.OpenWallet(name); err != nil {
				b.Fatal(err)
			}
			c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker), otelmsig.WithTracerProvider(tp)))
			if err != nil {
				b.Fatal(err)
			}
			wallets = append(wallets, otelmsig.Wallet{Role: role, ID: "w-" + name, Filename: name, Client: c})
		}
		b.StartTimer()
		if _, err := otelmsig.SetupMultisig(ctx, id, wallets, otelmsig.WithTracker(tracker), otelmsig.WithTracerProvider(tp)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for _, s := range servers {
			s.Close()
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(spans.Load())/float64(b.N), "spans/escrow")
}

type countingExporter struct{ n *atomic.Int64 }

func (e countingExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.n.Add(int64(len(s)))
	return nil
}
func (countingExporter) Shutdown(context.Context) error { return nil }

var _ sdktrace.SpanExporter = countingExporter{}
