package benchmarks

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// BenchmarkMiddleware: the otelmsig middleware alone, around an invoker
// that returns at once, so that ns/op and allocs/op are exactly what the
// middleware adds to a call, free of the round trip's noise. mode=none
// calls the invoker directly. mode=disabled has what otelsetup.Setup
// installs when ENABLE_INSTRUMENTATION is unset; mode=enabled the SDK with
// a batch processor and a discarding exporter, the calls inside escrows of
// 12 calls (escrow and round spans included), ForceFlush included.
// Divide by a call's time (BenchmarkRPCDisabled/mode=raw) for the ratio.
func BenchmarkMiddleware(b *testing.B) {
	ep := walletrpc.Endpoint{URL: "http://127.0.0.1:18084/json_rpc", Host: "127.0.0.1", Port: 18084}
	next := func(context.Context, *walletrpc.Request) error { return nil }
	wallet := otelmsig.Wallet{Role: "buyer", ID: "wallet-bench-mw", Filename: "bench-mw"}
	// open tells the pollution tracker which wallet is open, so that the
	// calls take the full path (the open-wallet check).
	open := func(b *testing.B, ctx context.Context, inv walletrpc.Invoker) {
		if err := inv(ctx, &walletrpc.Request{Method: "open_wallet", Params: &walletrpc.OpenWalletParams{Filename: wallet.Filename}, Endpoint: ep}); err != nil {
			b.Fatal(err)
		}
	}
	call := func(b *testing.B, ctx context.Context, inv walletrpc.Invoker) {
		if err := inv(ctx, &walletrpc.Request{Method: "is_multisig", Endpoint: ep}); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("mode=none", func(b *testing.B) {
		ctx := context.Background()
		w := newStopwatch(b)
		w.start()
		for range b.N {
			call(b, ctx, next)
		}
		w.stop()
		w.finish()
	})
	b.Run("mode=disabled", func(b *testing.B) {
		disabled(b)
		inv := otelmsig.Middleware()(next)
		ctx := otelmsig.ContextWithWallet(context.Background(), wallet)
		open(b, ctx, inv)
		w := newStopwatch(b)
		w.start()
		for range b.N {
			call(b, ctx, inv)
		}
		w.stop()
		w.finish()
	})
	b.Run("mode=enabled", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
		otel.SetTracerProvider(tp)
		in := &instrumentation{tp: tp, shutdown: tp.Shutdown}
		b.Cleanup(func() { _ = in.stop() })
		inv := otelmsig.Middleware()(next)
		es := &escrows{prefix: "bench-mw-", wallet: wallet}
		open(b, es.next(context.Background()), inv)
		w := newStopwatch(b)
		w.start()
		for range b.N {
			call(b, es.next(context.Background()), inv)
		}
		es.end()
		in.flush(b)
		w.stop()
		w.finish()
	})
}
