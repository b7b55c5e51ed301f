package otelmsig_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// The shared layout with pollution, made deterministic: escrow A runs on
// shared endpoints; right before A's vendor make_multisig goes out, escrow
// B's client opens B's vendor wallet on the vendor endpoint. The
// make_multisig span is marked (status Error, escrow.cache_pollution) and
// links to B's open_wallet span; the legacy reading of the call is not an
// error.
func TestSharedPollutionTreeAndLink(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	ids := []string{"A", "B"}
	var intruder *walletrpc.Client
	fired := false
	hook := func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			if req.Method == walletrpc.MethodMakeMultisig && !fired {
				fired = true
				bctx, b := otelmsig.StartEscrow(context.Background(), "B", otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
				w := otelmsig.Wallet{Role: "vendor", ID: "wid-B-vendor", Filename: "B-vendor"}
				err := intruder.OpenWallet(otelmsig.ContextWithWallet(bctx, w), walletrpc.OpenWalletParams{Filename: w.Filename, Password: testPassword})
				b.End(err)
			}
			return next(ctx, req)
		}
	}
	wallets := map[string][]otelmsig.Wallet{}
	for _, role := range roles {
		var opts []fakewalletrpc.Option
		for _, id := range ids {
			opts = append(opts, fakewalletrpc.WithWallet(id+"-"+role, testPassword))
		}
		s := fakewalletrpc.New(opts...)
		t.Cleanup(s.Close)
		copts := []walletrpc.Option{otelmsig.WithTracing(otelmsig.WithTracker(tracker))}
		if role == "vendor" {
			// The hook is outside the tracing: B's open is done when A's
			// make_multisig span starts.
			copts = append([]walletrpc.Option{walletrpc.WithMiddleware(hook)}, copts...)
			c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
			if err != nil {
				t.Fatal(err)
			}
			intruder = c
		}
		c, err := walletrpc.New(s.URL(), copts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			wallets[id] = append(wallets[id], otelmsig.Wallet{
				Role: role, ID: "wid-" + id + "-" + role, Filename: id + "-" + role, Password: testPassword, Client: c,
			})
		}
	}
	_, err := otelmsig.SetupMultisig(testCtx(t, 30*time.Second), "A", wallets["A"], otelmsig.WithTracerProvider(tp),
		otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints())
	if !fired {
		t.Fatal("the hook did not run")
	}
	t.Logf("escrow A: %v", err)
	spans := sr.Ended()
	// Escrow A's vendor make_multisig met B's wallet: round 1 still ends
	// (the fake makes B's wallet multisig instead), and round 2 fails for
	// everyone: the vendor's round-1 info came from B's wallet.
	const want = `escrow.setup
  open_wallet vendor
escrow.setup Error
  multisig.round 1 make_multisig
    arbiter make_multisig
      arbiter SNAPSHOT_POST_MAKE_MULTISIG
      make_multisig arbiter
      open_wallet arbiter
      prepare_multisig arbiter
    arbiter prepare_multisig
      arbiter SNAPSHOT_PRE_ROUND1
      open_wallet arbiter
      prepare_multisig arbiter
    buyer make_multisig
      buyer SNAPSHOT_POST_MAKE_MULTISIG
      make_multisig buyer
      open_wallet buyer
      prepare_multisig buyer
    buyer prepare_multisig
      buyer SNAPSHOT_PRE_ROUND1
      open_wallet buyer
      prepare_multisig buyer
    vendor make_multisig
      make_multisig vendor polluted Error
      open_wallet vendor
      prepare_multisig vendor
      vendor SNAPSHOT_POST_MAKE_MULTISIG polluted Error
    vendor prepare_multisig
      open_wallet vendor
      prepare_multisig vendor
      vendor SNAPSHOT_PRE_ROUND1
  multisig.round 2 exchange_multisig_keys Error
    arbiter exchange_multisig_keys Error
      arbiter SNAPSHOT_PRE_ROUND2
      exchange_multisig_keys arbiter Error
      open_wallet arbiter
    buyer exchange_multisig_keys Error
      buyer SNAPSHOT_PRE_ROUND2
      exchange_multisig_keys buyer Error
      open_wallet buyer
    vendor exchange_multisig_keys Error
      exchange_multisig_keys vendor Error
      open_wallet vendor
      vendor SNAPSHOT_PRE_ROUND2
`
	if got := spanTree(spans); got != want {
		t.Fatalf("span tree:\n%s\nwant:\n%s", got, want)
	}
	checkReadsUnderSnapshots(t, spans)

	// Marked: the make_multisig, the four reads of the vendor's
	// POST_MAKE_MULTISIG snapshot, taken in the same re-open, and that
	// snapshot itself: it read B's placeholder, not the one A's other
	// participants show.
	var polluted, opener, snapshot sdktrace.ReadOnlySpan
	var marked []sdktrace.ReadOnlySpan
	for _, s := range spans {
		a := attrMap(s.Attributes())
		if a[escrowconv.CachePollution].AsBool() {
			marked = append(marked, s)
			switch p := byID(spans, s.Parent().SpanID()); {
			case s.Name() == walletrpc.MethodMakeMultisig:
				polluted = s
			case s.Name() == "vendor "+escrowconv.PointPostMakeMultisig:
				snapshot = s
			case !isSnapshotCall(s) || p.Name() != "vendor "+escrowconv.PointPostMakeMultisig:
				t.Errorf("%s under %s marked as polluted", s.Name(), p.Name())
			}
		}
		if s.Name() == walletrpc.MethodOpenWallet && a[escrowconv.EscrowID].AsString() == "B" {
			opener = s
		}
	}
	if polluted == nil || opener == nil || snapshot == nil {
		t.Fatalf("polluted span %v, snapshot %v, B's open_wallet %v", polluted, snapshot, opener)
	}
	for _, s := range []sdktrace.ReadOnlySpan{polluted, snapshot} {
		if s.Status().Code != codes.Error || s.Status().Description !=
			"cache pollution: wrong_wallet_open: B-vendor met instead of A-vendor (opened by escrow B)" {
			t.Errorf("polluted %s status %v", s.Name(), s.Status())
		}
	}
	if hasException(polluted) {
		t.Error("the polluted call did not fail: no exception event")
	}
	if len(marked) != 6 {
		t.Errorf("%d spans marked as polluted, want 6", len(marked))
	}
	for _, s := range marked {
		links := s.Links()
		if len(links) != 1 || links[0].SpanContext.SpanID() != opener.SpanContext().SpanID() ||
			links[0].SpanContext.TraceID() != opener.SpanContext().TraceID() ||
			attrStr(links[0].Attributes, escrowconv.PollutionOtherEscrowID) != "B" {
			t.Errorf("%s: links %+v, want one to B's open_wallet %v", s.Name(), links, opener.SpanContext())
		}
	}
	root := rootsNamed(spansOfTrace(spans, polluted.SpanContext().TraceID()), escrowconv.SpanEscrow)[0]
	ra := attrMap(root.Attributes())
	if ra[escrowconv.EscrowPollutionCount].AsInt64() != 6 || ra[escrowconv.EscrowResult].AsString() != escrowconv.ResultFailed ||
		ra[escrowconv.EscrowRoundsCompleted].AsInt64() != 1 {
		t.Errorf("root outcome %v", ra)
	}
	assertNoSecrets(t, spans, testPassword)
}
