package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// target is what the RPC benchmarks call.
type target struct {
	url    string
	opts   []walletrpc.Option // client options besides the middleware
	method string             // "is_multisig" or "get_version"
	wallet otelmsig.Wallet    // who the calls are for; Filename is opened first when set
}

func (tg target) client(b *testing.B, instrumented bool) *walletrpc.Client {
	b.Helper()
	opts := append([]walletrpc.Option(nil), tg.opts...)
	if instrumented {
		opts = append(opts, otelmsig.WithTracing())
	}
	c, err := walletrpc.New(tg.url, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// open opens the target's wallet, if it has one, through c with ctx: an
// instrumented client tells the pollution tracker, so that the calls take
// the full middleware path (the open-wallet check).
func (tg target) open(b *testing.B, ctx context.Context, c *walletrpc.Client) {
	b.Helper()
	if tg.wallet.Filename == "" {
		return
	}
	if err := c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: tg.wallet.Filename}); err != nil {
		b.Fatalf("open_wallet %s: %v", tg.wallet.Filename, err)
	}
}

func (tg target) call(ctx context.Context, c *walletrpc.Client) error {
	switch tg.method {
	case "get_version":
		_, err := c.GetVersion(ctx)
		return err
	case "is_multisig":
		_, err := c.IsMultisig(ctx)
		return err
	}
	return fmt.Errorf("no such benchmark method %q", tg.method)
}

// rawCalls: b.N calls through a client without middleware.
func rawCalls(b *testing.B, tg target, server ...int) sample {
	c := tg.client(b, false)
	ctx := context.Background()
	tg.open(b, ctx, c)
	w := newStopwatch(b)
	if len(server) > 0 {
		w.watch("wallet-rpc", server...)
	}
	w.start()
	for range b.N {
		if err := tg.call(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	w.stop()
	return w.finish()
}

// disabledCalls: b.N calls through the otelmsig middleware with
// instrumentation disabled the way otelsetup.Setup disables it. With
// inEscrow, the calls are made inside escrows as the enabled benchmarks
// make them (StartEscrow and StartRound with the no-op provider).
func disabledCalls(b *testing.B, tg target, inEscrow bool) sample {
	disabled(b)
	c := tg.client(b, true)
	ctx := otelmsig.ContextWithWallet(context.Background(), tg.wallet)
	tg.open(b, ctx, c)
	es := &escrows{prefix: "bench-off-", wallet: tg.wallet}
	w := newStopwatch(b)
	w.start()
	for range b.N {
		if inEscrow {
			ctx = es.next(context.Background())
		}
		if err := tg.call(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	es.end()
	w.stop()
	if inEscrow && len(es.ids) != (b.N+callsPerEscrow-1)/callsPerEscrow {
		b.Fatalf("%d escrows for %d calls", len(es.ids), b.N)
	}
	return w.finish()
}

// enabledCalls: b.N calls through the otelmsig middleware with in's
// provider installed, inside escrows (a new one every callsPerEscrow
// calls). The timed part ends when everything the calls produced has been
// exported (ForceFlush). Afterwards the JSON files are checked (escrows
// whose spans the SDK dropped are reported as lost-escrow-%), and, when j
// is given, that the last escrow reached Jaeger. server lists the
// processes whose CPU time is reported besides Jaeger's (the wallet-rpc).
func enabledCalls(b *testing.B, tg target, in *instrumentation, j *jaegertest.Instance, server ...int) sample {
	c := tg.client(b, true)
	es := &escrows{prefix: fmt.Sprintf("bench-on-%d-", time.Now().UnixNano()), wallet: tg.wallet}
	// The open is the first call of the first escrow, untimed.
	tg.open(b, es.next(context.Background()), c)
	w := newStopwatch(b)
	if j != nil {
		w.watch("jaeger", j.PID())
	}
	if len(server) > 0 {
		w.watch("wallet-rpc", server...)
	}
	w.start()
	for range b.N {
		if err := tg.call(es.next(context.Background()), c); err != nil {
			b.Fatal(err)
		}
	}
	es.end()
	in.flush(b)
	w.stop()

	if n, first := exportErrors.get(); n > 0 {
		b.Fatalf("%d export errors with the collector up; first: %v", n, first)
	}
	if j != nil {
		waitForTrace(b, j, es.ids[len(es.ids)-1])
	}
	if err := in.stop(); err != nil {
		b.Fatalf("shutdown: %v", err)
	}
	if in.dir != "" {
		lost := in.checkFiles(b, es.ids, 0)
		b.ReportMetric(100*float64(lost)/float64(len(es.ids)), "lost-escrow-%")
	}
	return w.finish()
}

// waitForTrace checks that Jaeger has the trace of escrow id, so that the
// enabled figures are known to include a working OTLP export.
func waitForTrace(b *testing.B, j *jaegertest.Instance, id string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		trs, err := j.FindTraces(ctx, benchService, map[string]string{string(escrowconv.EscrowID): id})
		if err == nil && len(trs) == 1 {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("Jaeger has no trace of escrow %s (%d traces, err %v)", id, len(trs), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// fakeTarget starts the in-process fake wallet-rpc with one wallet.
func fakeTarget(b *testing.B) target {
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("bench-buyer", ""))
	b.Cleanup(s.Close)
	return target{
		url:    s.URL(),
		method: "is_multisig",
		wallet: otelmsig.Wallet{Role: "buyer", ID: "wallet-bench-buyer", Filename: "bench-buyer"},
	}
}

// BenchmarkRPCDisabled: one is_multisig call to the in-process fake
// wallet-rpc, raw versus through the middleware with instrumentation
// disabled (what otelsetup.Setup installs when ENABLE_INSTRUMENTATION is
// unset), and the same inside escrows. Budget: ≤ 1.01× time, ≤ 1 extra
// allocation (mode=disabled).
func BenchmarkRPCDisabled(b *testing.B) {
	tg := fakeTarget(b)
	base := &baseline{name: "raw"}
	b.Run("mode=raw", func(b *testing.B) { base.set(rawCalls(b, tg)) })
	b.Run("mode=disabled", func(b *testing.B) { base.report(b, disabledCalls(b, tg, false)) })
	b.Run("mode=disabled-in-escrow", func(b *testing.B) { base.report(b, disabledCalls(b, tg, true)) })
}

// BenchmarkRPCEnabled: one is_multisig call to the in-process fake
// wallet-rpc, raw versus enabled (otelsetup.Setup: SDK, batch processors,
// legacy JSON files and OTLP/gRPC to a real Jaeger), inside escrows of 12
// calls, export included. Budget: ≤ 1.05×.
func BenchmarkRPCEnabled(b *testing.B) {
	j := jaegertest.Start(b)
	tg := fakeTarget(b)
	base := &baseline{name: "raw"}
	b.Run("mode=raw", func(b *testing.B) { base.set(rawCalls(b, tg)) })
	b.Run("mode=enabled", func(b *testing.B) {
		base.report(b, enabledCalls(b, tg, enabled(b, j.OTLPGRPC), j))
	})
}

// BenchmarkRPCReal: get_version on a real monero-wallet-rpc process, raw
// versus enabled as in BenchmarkRPCEnabled. Budget: ≤ 1.03×.
func BenchmarkRPCReal(b *testing.B) {
	j := jaegertest.Start(b)
	p := wallettest.Start(b, 1, wallettest.Config{})[0]
	tg := target{
		url:    p.URL,
		method: "get_version",
		wallet: otelmsig.Wallet{Role: "buyer", ID: "wallet-bench-real"},
	}
	base := &baseline{name: "raw"}
	b.Run("mode=raw", func(b *testing.B) { base.set(rawCalls(b, tg, p.PID())) })
	b.Run("mode=enabled", func(b *testing.B) {
		base.report(b, enabledCalls(b, tg, enabled(b, j.OTLPGRPC), j, p.PID()))
	})
}

// memTransport answers every request with the same is_multisig reply, from
// memory: what is left of a call is the client, the middleware and the SDK.
type memTransport struct{ reply []byte }

func (t memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(t.reply)),
		ContentLength: int64(len(t.reply)),
		Request:       r,
	}, nil
}

// discardExporter drops what it is given.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

var _ sdktrace.SpanExporter = discardExporter{}

// BenchmarkCallHotPath: the client-side cost of a call alone, the reply
// coming from memory: raw, disabled (as BenchmarkRPCDisabled), and enabled
// with the SDK and a batch processor feeding a discarding exporter, inside
// escrows of 12 calls. The difference to raw is what the instrumentation
// adds to every call, in ns and allocations.
func BenchmarkCallHotPath(b *testing.B) {
	tg := target{
		url:    "http://127.0.0.1:18083",
		opts:   []walletrpc.Option{walletrpc.WithTransport(memTransport{reply: []byte(`{"id":"0","jsonrpc":"2.0","result":{"multisig":false,"ready":false,"threshold":0,"total":0}}`)})},
		method: "is_multisig",
		wallet: otelmsig.Wallet{Role: "buyer", ID: "wallet-bench-mem", Filename: "bench-mem"},
	}
	base := &baseline{name: "raw"}
	b.Run("mode=raw", func(b *testing.B) { base.set(rawCalls(b, tg)) })
	b.Run("mode=disabled", func(b *testing.B) { base.report(b, disabledCalls(b, tg, false)) })
	b.Run("mode=enabled", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
		otel.SetTracerProvider(tp)
		exportErrors.reset()
		in := &instrumentation{tp: tp, shutdown: tp.Shutdown}
		b.Cleanup(func() { _ = in.stop() })
		base.report(b, enabledCalls(b, tg, in, nil))
	})
}
