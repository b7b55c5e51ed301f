package otelmsig_test

import (
	"context"
	"fmt"
	"sort"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// exampleWallets starts one fake wallet-rpc per role with the role's wallet
// open, and returns instrumented wallets for them.
func exampleWallets(escrowID string) ([]otelmsig.Wallet, func()) {
	var ws []otelmsig.Wallet
	var servers []*fakewalletrpc.Server
	for _, role := range []string{"buyer", "vendor", "arbiter"} {
		name := escrowID + "-" + role
		s := fakewalletrpc.New(fakewalletrpc.WithWallet(name, ""))
		_ = s.OpenWallet(name)
		servers = append(servers, s)
		c, err := walletrpc.New(s.URL(), otelmsig.WithTracing())
		if err != nil {
			panic(err)
		}
		ws = append(ws, otelmsig.Wallet{Role: role, ID: "wallet-" + name, Filename: name, Client: c})
	}
	return ws, func() {
		for _, s := range servers {
			s.Close()
		}
	}
}

// The one-call setup: SetupMultisig runs round 1 (prepare_multisig,
// make_multisig) and the exchange_multisig_keys rounds on instrumented
// clients, with snapshots at the seven points, and returns the shared
// address.
func ExampleSetupMultisig() {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(ctx)

	wallets, stop := exampleWallets("example-escrow")
	defer stop()
	addr, err := otelmsig.SetupMultisig(ctx, "example-escrow", wallets, otelmsig.WithTracerProvider(tp))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("shared address:", len(addr), "characters")

	rounds, snapshots := 0, 0
	for _, s := range rec.Ended() {
		if strings.HasPrefix(s.Name(), escrowconv.SpanRound+" ") { // "multisig.round 1"
			rounds++
		}
		for _, e := range s.Events() {
			if e.Name == escrowconv.EventSnapshot {
				snapshots++
			}
		}
	}
	fmt.Println("rounds:", rounds, "snapshot events:", snapshots)
	// Output:
	// shared address: 95 characters
	// rounds: 3 snapshot events: 21
}

// An existing orchestrator keeps its own steps and marks them: the escrow,
// its rounds, snapshots where it wants them, and the failure with its
// context. RPC spans of instrumented clients called with the round's
// context land under the round; each wallet's snapshot is a span of its
// own, its reads under it.
func ExampleStartEscrow() {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(ctx)
	wallets, stop := exampleWallets("manual")
	defer stop()

	ctx, esc := otelmsig.StartEscrow(ctx, "manual", otelmsig.WithTracerProvider(tp))
	rctx, round := esc.StartRound(ctx, 1, "make_multisig")
	esc.Snapshot(rctx, escrowconv.PointPreRound1, wallets...)
	var err error
	for _, w := range wallets {
		if _, err = w.Client.PrepareMultisig(otelmsig.ContextWithWallet(rctx, w), walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true}); err != nil {
			esc.Fail(rctx, err, otelmsig.ErrorContext{Round: 1, Operation: "prepare_multisig", Role: w.Role, WalletID: w.ID})
			break
		}
	}
	round.End(err)
	// ... make_multisig, the exchange rounds, more snapshots ...
	esc.End(err)

	var names []string
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindClient && s.Name() != "prepare_multisig" {
			continue // leave the snapshot reads out
		}
		names = append(names, s.Name())
	}
	sort.Strings(names)
	fmt.Println(strings.Join(names, "\n"))
	// Output:
	// arbiter SNAPSHOT_PRE_ROUND1
	// buyer SNAPSHOT_PRE_ROUND1
	// escrow.setup
	// multisig.round 1
	// prepare_multisig
	// prepare_multisig
	// prepare_multisig
	// vendor SNAPSHOT_PRE_ROUND1
}

// Only wrapping a client: every call gets a CLIENT span named by the
// method, with the semconv RPC attributes, under the span in the context.
func ExampleWithTracing() {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(ctx)
	srv := fakewalletrpc.New()
	defer srv.Close()

	c, err := walletrpc.New(srv.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp)))
	if err != nil {
		panic(err)
	}
	ctx = otelmsig.ContextWithWallet(ctx, otelmsig.Wallet{Role: "buyer", ID: "w-1"})
	if _, err := c.GetVersion(ctx); err != nil {
		panic(err)
	}
	s := rec.Ended()[0]
	fmt.Println(s.Name(), s.SpanKind())
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case "rpc.system.name", "rpc.method", "wallet.role", "wallet.id":
			fmt.Printf("%s=%s\n", kv.Key, kv.Value.Emit())
		}
	}
	// Output:
	// get_version client
	// rpc.system.name=jsonrpc
	// rpc.method=get_version
	// wallet.role=buyer
	// wallet.id=w-1
}
