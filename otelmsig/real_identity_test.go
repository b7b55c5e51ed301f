package otelmsig_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// The case on real wallet-rpc 0.18.0.0: each role's wallet on its
// own process, used as shared endpoints; a plain client (another process:
// not instrumented, no shared Tracker) opens another wallet on the buyer's
// process right before the escrow's make_multisig. make_multisig turns
// that wallet multisig; the snapshot after it reads that wallet's
// placeholder address, which is not the one the vendor and arbiter show,
// and records the pollution, in the trace and in the legacy file. The
// escrow then fails in round 2 with -31 on its own wallet, which is still
// not multisig.
func TestRealSnapshotCatchesOtherProcessOpen(t *testing.T) {
	procs := wallettest.StartDedicated(t, wallettest.Config{}, roles...)
	// A bound, not a measurement: every step re-opens its wallet, and
	// on a loaded 2-core machine one open_wallet took 10-19 s.
	ctx := testCtx(t, 6*time.Minute)
	if err := procs[0].CreateWallets(ctx, "intruder"); err != nil {
		t.Fatal(err)
	}
	plain, err := procs[0].Client()
	if err != nil {
		t.Fatal(err)
	}
	in := &intrusion{method: walletrpc.MethodMakeMultisig, do: func() error {
		return plain.OpenWallet(context.Background(), walletrpc.OpenWalletParams{Filename: "intruder"})
	}}
	sr, tp, dir := recorderWithFiles(t)
	tracker := otelmsig.NewTracker()
	var wallets []otelmsig.Wallet
	for i, p := range procs {
		opts := []walletrpc.Option{otelmsig.WithTracing(otelmsig.WithTracker(tracker))}
		if i == 0 {
			opts = append(opts, walletrpc.WithMiddleware(in.middleware))
		}
		c, err := p.Client(opts...)
		if err != nil {
			t.Fatal(err)
		}
		wallets = append(wallets, otelmsig.Wallet{Role: roles[i], ID: "wid-" + roles[i], Filename: roles[i], Client: c})
	}
	_, err = otelmsig.SetupMultisig(ctx, "real-intruded", wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints())
	in.check(t)
	var se *otelmsig.StepError
	if code, _ := walletrpc.ErrorCode(err); !errors.As(err, &se) || se.Round != 2 || se.Role != "buyer" || code != walletrpc.CodeNotMultisig {
		t.Fatalf("%v, want -31 for the buyer in round 2", err)
	}

	// What the other process's wallet shows now: make_multisig's
	// placeholder, for a group of its own.
	if err := plain.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "intruder"}); err != nil {
		t.Fatal(err)
	}
	ia, err := plain.GetAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	im, err := plain.IsMultisig(ctx)
	if err != nil || !im.Multisig || !strings.HasPrefix(ia.Address, "9sCrDesy9LK11") {
		t.Fatalf("intruder: is_multisig %+v %v, address %.16s...", im, err, ia.Address)
	}
	endpoint := wallets[0].Client.Endpoint().String()

	spans := sr.Ended()
	pol, on := events(spans, escrowconv.EventCachePollution)
	if len(pol) != 1 {
		dumpPollution(t, spans)
		t.Fatalf("%d cache_pollution events, want 1", len(pol))
	}
	if on[0].Name() != "buyer "+escrowconv.PointPostMakeMultisig {
		t.Fatalf("pollution on %s, want the buyer's POST_MAKE_MULTISIG snapshot", on[0].Name())
	}
	wantPollution(t, pol[0].Attributes, map[string]string{
		"pollution.reason":          escrowconv.ReasonWrongWalletOpen,
		"pollution.endpoint":        endpoint,
		"pollution.expected_wallet": "buyer",
		"pollution.actual_wallet":   otelmsig.UnknownWallet(ia.Address),
		"wallet.role":               "buyer",
		"escrow.id":                 "real-intruded",
	})
	if on[0].Status().Code != codes.Error || !attrMap(on[0].Attributes())[escrowconv.CachePollution].AsBool() {
		t.Errorf("snapshot span not marked: %v", on[0].Status())
	}
	// The snapshot event itself: the intruder's state, read as the buyer's.
	snaps, snapOn := events(spans, escrowconv.EventSnapshot)
	for i, e := range snaps {
		if snapOn[i].SpanContext().SpanID() == on[0].SpanContext().SpanID() {
			a := attrMap(e.Attributes)
			if !a[escrowconv.WalletIsMultisig].AsBool() || a[escrowconv.WalletAddress].AsString() != ia.Address {
				t.Errorf("POST_MAKE_MULTISIG of the buyer: %v", e.Attributes)
			}
		}
	}

	// wallet.filename on the CLIENT spans: re-opens, calls (the failed
	// round-2 exchange too) and snapshot reads.
	_, reads, opens, failed := checkClientFilenames(t, spans, map[string]string{"buyer": "buyer", "vendor": "vendor", "arbiter": "arbiter"})
	if reads == 0 || opens == 0 || failed == 0 {
		t.Errorf("%d reads, %d opens, %d failed calls checked", reads, opens, failed)
	}

	evs, details := legacyPollution(t, tp, dir, "real-intruded", true)
	if len(details) != 1 {
		t.Fatalf("%d CACHE_POLLUTION_DETECTED in the legacy file, want 1", len(details))
	}
	if d := details[0]; evs[0].Role != "buyer" || d.Reason != escrowconv.ReasonWrongWalletOpen || d.ExpectedWallet != "buyer" ||
		d.ActualWallet != otelmsig.UnknownWallet(ia.Address) || d.Endpoint != endpoint {
		t.Errorf("legacy event %+v %+v", evs[0], d)
	}
	assertNoSecrets(t, spans)
}
