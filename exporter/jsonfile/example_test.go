package jsonfile_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

// The legacy files are written beside any other exporter (OTLP to Jaeger in
// production; an in-memory one here) from one TracerProvider.
func Example() {
	dir, err := os.MkdirTemp("", "escrows")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	legacy, err := jsonfile.New(jsonfile.WithDir(dir), jsonfile.WithOnWrite(func(escrowID, path string) {
		fmt.Println("wrote", filepath.Base(path))
	}))
	if err != nil {
		log.Fatal(err)
	}
	other := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(other),
		sdktrace.WithBatcher(legacy),
	)
	tracer := tp.Tracer(escrowconv.ScopeName)

	// What otelmsig records for an escrow setup, in short: the root span and
	// one wallet RPC call.
	ctx, root := tracer.Start(context.Background(), escrowconv.SpanEscrow,
		trace.WithAttributes(escrowconv.EscrowID.String("e-42"), escrowconv.EscrowTraceID.String("e-42-1700000000000")))
	_, call := tracer.Start(ctx, "prepare_multisig", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.RPCMethodKey.String("prepare_multisig"), semconv.RPCSystemNameJSONRPC,
			semconv.ServerPortKey.Int(18083), escrowconv.EscrowID.String("e-42"), escrowconv.WalletRole.String("buyer")))
	call.End()
	root.End()

	// ForceFlush sends the batches to both exporters; Shutdown would too
	// (and write every escrow still buffered, as _PARTIAL when unfinished).
	if err := tp.ForceFlush(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	events, err := escrowjson.Load(filepath.Join(dir, escrowjson.FileName("e-42", false)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(events), "events:", events[0].EventType, events[1].EventType)
	fmt.Println("spans seen by the other exporter:", len(other.GetSpans()))
	// Output:
	// wrote escrow_e-42.json
	// 2 events: RPC_CALL_START RPC_CALL_END
	// spans seen by the other exporter: 2
}
