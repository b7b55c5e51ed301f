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
	events, err := jsonfile.Load(filepath.Join(dir, jsonfile.FileName("e-42", false)))
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

// FileName tells where an escrow's file is (or will be) written.
func ExampleFileName() {
	fmt.Println(jsonfile.FileName("7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70", false))
	fmt.Println(jsonfile.FileName("7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70", true))
	fmt.Println(jsonfile.FileName("../etc/passwd", false))
	// Output:
	// escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70.json
	// escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70_FAILED.json
	// escrow_.._etc_passwd_7fef78f53440346c.json
}

// Validate is the schema check other packages' tests run on the files.
func ExampleValidate() {
	err := jsonfile.Validate([]byte(`[{"trace_id": "e-1", "timestamp": 1, "event_type": "RPC_CALL_START",
		"role": "buyer", "rpc_port": null, "details": {"method": "prepare_multisig", "timestamp": 1}}]`))
	fmt.Println(err)
	// Output:
	// jsonfile: invalid escrow file: event 0 (RPC_CALL_START): rpc_port: null: omit the field when the port is unknown
}
