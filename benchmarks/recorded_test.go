package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// memReply is what memTransport answers to is_multisig.
const memReply = `{"id":"0","jsonrpc":"2.0","result":{"multisig":false,"ready":false,"threshold":0,"total":0}}`

// BenchmarkRecordedCall: what recording one call costs the calling
// goroutine, three ways on the same client and in-memory transport, all
// with the same SDK provider (a batch processor feeding a discarding
// exporter; sampled, recorded, exported):
//   - mode=raw: no span (the baseline);
//   - mode=bare-span: the floor, a CLIENT span started and ended around the
//     call by hand with the attributes otelmsig records (rpc.system.name,
//     jsonrpc.protocol.version, server.address, server.port, rpc.method,
//     wallet.role, wallet.id), computed once;
//   - mode=otelmsig: otelmsig.WithTracing on the client, the wallet in the
//     context (pollution check included);
//   - mode=otelhttp: otelhttp.NewTransport around the transport, what a user
//     would otherwise reach for (HTTP attributes, no RPC method, no wallet).
//
// Budget: otelmsig's extra over raw ≤ 1.3× bare-span's extra over raw.
func BenchmarkRecordedCall(b *testing.B) {
	ep := "http://127.0.0.1:18083"
	wallet := otelmsig.Wallet{Role: "buyer", ID: "wallet-bench-rec", Filename: "bench-rec"}
	newClient := func(b *testing.B, opts ...walletrpc.Option) *walletrpc.Client {
		c, err := walletrpc.New(ep, opts...)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	mem := walletrpc.WithTransport(memTransport{reply: []byte(memReply)})
	provider := func(b *testing.B) *sdktrace.TracerProvider {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return tp
	}
	run := func(b *testing.B, ctx context.Context, c *walletrpc.Client, around func(context.Context, func(context.Context) error) error) sample {
		w := newStopwatch(b)
		w.start()
		for range b.N {
			if err := around(ctx, func(ctx context.Context) error { _, err := c.IsMultisig(ctx); return err }); err != nil {
				b.Fatal(err)
			}
		}
		w.stop()
		return w.finish()
	}
	plain := func(ctx context.Context, call func(context.Context) error) error { return call(ctx) }

	base := &baseline{name: "raw"}
	b.Run("mode=raw", func(b *testing.B) {
		base.set(run(b, context.Background(), newClient(b, mem), plain))
	})
	b.Run("mode=bare-span", func(b *testing.B) {
		tracer := provider(b).Tracer(escrowconv.ScopeName)
		attrs := []attribute.KeyValue{
			semconv.RPCSystemNameJSONRPC, semconv.JSONRPCProtocolVersion("2.0"),
			semconv.ServerAddress("127.0.0.1"), semconv.ServerPort(18083),
			semconv.RPCMethod("is_multisig"),
			escrowconv.WalletRole.String(wallet.Role), escrowconv.WalletID.String(wallet.ID),
		}
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
		base.report(b, run(b, context.Background(), newClient(b, mem), func(ctx context.Context, call func(context.Context) error) error {
			ctx, span := tracer.Start(ctx, "is_multisig", opts...)
			err := call(ctx)
			span.End()
			return err
		}))
	})
	b.Run("mode=otelmsig", func(b *testing.B) {
		tp := provider(b)
		c := newClient(b, mem, otelmsig.WithTracing(otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(otelmsig.NewTracker())))
		ctx := otelmsig.ContextWithWallet(context.Background(), wallet)
		if err := c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: wallet.Filename}); err != nil {
			b.Fatal(err)
		}
		base.report(b, run(b, ctx, c, plain))
	})
	b.Run("mode=otelhttp", func(b *testing.B) {
		tp := provider(b)
		c := newClient(b, walletrpc.WithTransport(otelhttp.NewTransport(memTransport{reply: []byte(memReply)},
			otelhttp.WithTracerProvider(tp))))
		base.report(b, run(b, context.Background(), c, plain))
	})
}

// BenchmarkBurst: escrows per second through the default pipeline
// (otelsetup.Setup with ENABLE_INSTRUMENTATION=1 alone: legacy files, no
// exporter, default OTEL_BSP_* and queues) when N 2-of-3 setups on the
// in-process fake wallet-rpc run at once, shutdown (every file written)
// included; and how many escrows lost an event (lost-escrows, must be 0).
// escrows=100, and escrows=260: about 20,500 spans, 10x the default batch
// queue (2048; spans/escrow is reported).
func BenchmarkBurst(b *testing.B) {
	for _, n := range []int{100, 260} {
		b.Run(fmt.Sprintf("escrows=%d", n), func(b *testing.B) {
			var took time.Duration
			var lost, spans int64
			for range b.N {
				d, l, s := burst(b, n)
				took += d
				lost += l
				spans += s
			}
			b.ReportMetric(float64(n*b.N)/took.Seconds(), "escrows/s")
			b.ReportMetric(float64(lost)/float64(b.N), "lost-escrows")
			b.ReportMetric(float64(spans)/float64(n*b.N), "spans/escrow")
		})
	}
}

// burst runs n setups at once with a fresh pipeline and returns the time
// from their start to shutdown's end, the escrows whose file is missing or
// short, and the spans that ended.
func burst(b *testing.B, n int) (time.Duration, int64, int64) {
	b.StopTimer()
	b.Setenv(otelsetup.EnvEnable, "1")
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_BSP_MAX_QUEUE_SIZE"} {
		b.Setenv(k, "")
	}
	dir := b.TempDir()
	b.Setenv(otelsetup.EnvTraceDir, dir)
	shutdown, err := otelsetup.Setup(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var ended atomic.Int64
	otel.GetTracerProvider().(*sdktrace.TracerProvider).RegisterSpanProcessor(endCounter{&ended})
	tracker := otelmsig.NewTracker()
	ids := make([]string, n)
	wallets := make([][]otelmsig.Wallet, n)
	var servers []*fakewalletrpc.Server
	for i := range ids {
		ids[i] = fmt.Sprintf("burst-%d-%d", n, i)
		for _, role := range roles {
			name := ids[i] + "-" + role
			s := fakewalletrpc.New(fakewalletrpc.WithWallet(name, ""))
			servers = append(servers, s)
			if err := s.OpenWallet(name); err != nil {
				b.Fatal(err)
			}
			c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
			if err != nil {
				b.Fatal(err)
			}
			wallets[i] = append(wallets[i], otelmsig.Wallet{Role: role, ID: "w-" + name, Filename: name, Client: c})
		}
	}
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	ctx := context.Background()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	b.StartTimer()
	for i := range ids {
		wg.Go(func() { _, errs[i] = otelmsig.SetupMultisig(ctx, ids[i], wallets[i], otelmsig.WithTracker(tracker)) })
	}
	wg.Wait()
	serr := shutdown(ctx)
	b.StopTimer()
	took := time.Since(start)
	otel.SetTracerProvider(noop.NewTracerProvider())
	if err := errors.Join(append(errs, serr)...); err != nil {
		b.Fatal(err)
	}
	var lost int64
	for _, id := range ids {
		evs, err := escrowjson.Load(filepath.Join(dir, escrowjson.FileName(id, false)))
		if err != nil || len(evs) != eventsPerSetup {
			lost++
		}
	}
	_ = os.RemoveAll(dir)
	return took, lost, ended.Load()
}

type endCounter struct{ n *atomic.Int64 }

func (endCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c endCounter) OnEnd(sdktrace.ReadOnlySpan)                   { c.n.Add(1) }
func (endCounter) Shutdown(context.Context) error                  { return nil }
func (endCounter) ForceFlush(context.Context) error                { return nil }
