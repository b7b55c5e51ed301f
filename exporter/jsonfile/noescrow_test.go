package jsonfile_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// Wallet calls of an instrumented client made outside any escrow (the
// "only wrap a client" use) belong to no escrow file: they must not pile up
// in memory nor come out as _PARTIAL files at shutdown.
func TestTracesWithoutEscrowWriteNothing(t *testing.T) {
	exp, dir := newExporter(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("test")
	ctx := context.Background()
	rpc := func(ctx context.Context, method string, extra ...attribute.KeyValue) {
		_, s := tr.Start(ctx, method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(append([]attribute.KeyValue{
			semconv.RPCSystemNameJSONRPC, semconv.RPCMethod(method), semconv.ServerPort(18083),
		}, extra...)...))
		s.End()
	}

	// A bare call: the RPC span is its trace's root.
	rpc(ctx, "get_balance")
	// Calls under the application's own request span.
	rctx, req := tr.Start(ctx, "HTTP POST /orders")
	rpc(rctx, "get_address")
	rpc(rctx, "is_multisig")
	req.End()
	// An escrow inside a request span still gets its file.
	rctx, req = tr.Start(ctx, "HTTP POST /escrows")
	ectx, root := tr.Start(rctx, escrowconv.SpanEscrow, trace.WithAttributes(
		escrowconv.EscrowID.String("inside-request"), escrowconv.EscrowTraceID.String("inside-request-1")))
	rpc(ectx, "prepare_multisig", escrowconv.EscrowID.String("inside-request"), escrowconv.WalletRole.String("buyer"))
	root.End()
	req.End()

	st := exp.Stats()
	if st.Pending != 0 || st.NoEscrowTraces != 2 {
		t.Errorf("stats after the traces ended: %+v; want nothing pending and 2 traces without escrow", st)
	}
	if err := tp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	files := listFiles(t, dir)
	if len(files) != 1 || files[0] != "escrow_inside-request.json" {
		t.Fatalf("files = %v, want only escrow_inside-request.json", files)
	}
	if evs := load(t, dir+"/"+files[0]); len(evs) != 2 {
		t.Errorf("escrow file has %d events, want 2 (start + end)", len(evs))
	}
}
