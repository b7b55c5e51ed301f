package escrowspans

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// ServiceName is the service.name of the recorded spans' resource.
const ServiceName = "escrowtrace-bench"

// Record runs one successful 2-of-3 escrow setup through otelmsig on three
// fake wallet-rpcs and returns its ended spans in end order: children
// before their parents, the escrow's root span last. It fails when the
// setup does, or when the spans have no escrow root.
func Record(ctx context.Context) ([]sdktrace.ReadOnlySpan, error) {
	dir, err := os.MkdirTemp("", "escrowspans-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(ServiceName))),
	)
	defer tp.Shutdown(context.Background())

	const id = "escrowspans-template"
	var wallets []otelmsig.Wallet
	for _, role := range []string{"buyer", "vendor", "arbiter"} {
		name := id + "-" + role
		s := fakewalletrpc.New(fakewalletrpc.WithWalletDir(dir), fakewalletrpc.WithWallet(name, ""))
		defer s.Close()
		if err := s.OpenWallet(name); err != nil {
			return nil, err
		}
		c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp)))
		if err != nil {
			return nil, err
		}
		wallets = append(wallets, otelmsig.Wallet{Role: role, ID: name, Filename: name, Path: s.WalletPath(name), Client: c})
	}
	if _, err := otelmsig.SetupMultisig(ctx, id, wallets, otelmsig.WithTracerProvider(tp)); err != nil {
		return nil, fmt.Errorf("escrowspans: recording a setup: %w", err)
	}
	spans := rec.Ended()
	if len(spans) == 0 || spans[len(spans)-1].Name() != escrowconv.SpanEscrow {
		return nil, fmt.Errorf("escrowspans: the recorded setup's %d spans do not end with its %s root", len(spans), escrowconv.SpanEscrow)
	}
	return spans, nil
}

// Template is one escrow recorded by Record, once per test binary and
// shared, so that the benchmarks that clone it record it once. It fails the
// test when the recording did.
func Template(tb testing.TB) []sdktrace.ReadOnlySpan {
	tb.Helper()
	spans, err := recordOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return spans
}

var recordOnce = sync.OnceValues(func() ([]sdktrace.ReadOnlySpan, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Record(ctx)
})

// WithoutRoot returns spans without the escrow's root span: an escrow in
// flight, whose root has not arrived (or a process that died mid-escrow).
func WithoutRoot(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	out := make([]sdktrace.ReadOnlySpan, 0, len(spans))
	for _, s := range spans {
		if s.Name() != escrowconv.SpanEscrow {
			out = append(out, s)
		}
	}
	return out
}
