package otelmsig_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// rpcEscrow is three fake wallet-rpcs whose wallets were made over RPC
// (create_wallet), as escrow servers make them: multisig is off in them
// until prepare_multisig switches it on.
func rpcEscrow(t *testing.T, escrowID string, tracker *otelmsig.Tracker, releases [3]fakewalletrpc.Release, copts ...walletrpc.Option) *fakeEscrow {
	t.Helper()
	fe := &fakeEscrow{}
	for i, role := range roles {
		s := fakewalletrpc.New(fakewalletrpc.WithRelease(releases[i]))
		t.Cleanup(s.Close)
		name := escrowID + "-" + role
		plain, err := walletrpc.New(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		if err := plain.CreateWallet(testCtx(t, 10*time.Second), walletrpc.CreateWalletParams{Filename: name, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		s.ResetCalls()
		opts := append([]walletrpc.Option{otelmsig.WithTracing(otelmsig.WithTracker(tracker))}, copts...)
		c, err := walletrpc.New(s.URL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		fe.servers = append(fe.servers, s)
		fe.wallets = append(fe.wallets, otelmsig.Wallet{
			Role: role, ID: "wallet-" + name, Filename: name, Password: testPassword, Client: c,
		})
	}
	return fe
}

var (
	all018  = [3]fakewalletrpc.Release{fakewalletrpc.Release0_18_0, fakewalletrpc.Release0_18_0, fakewalletrpc.Release0_18_0}
	all0173 = [3]fakewalletrpc.Release{fakewalletrpc.Release0_17_3, fakewalletrpc.Release0_17_3, fakewalletrpc.Release0_17_3}
)

// Wallets made with create_wallet: SetupMultisig switches multisig on in
// round 1 by default; with WithoutEnablingMultisig they fail round 2 with
// -48, and the error says how to avoid it.
func TestSetupMultisigSwitchesMultisigOn(t *testing.T) {
	tracker := otelmsig.NewTracker()
	_, tp := recorder(t)
	fe := rpcEscrow(t, "esc-on", tracker, all018)
	addr, err := otelmsig.SetupMultisig(testCtx(t, 20*time.Second), "esc-on", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	if err != nil || addr == "" {
		t.Fatalf("default (switch on): %q %v", addr, err)
	}

	sr, tp := recorder(t)
	fe = rpcEscrow(t, "esc-off", tracker, all018)
	_, err = otelmsig.SetupMultisig(testCtx(t, 20*time.Second), "esc-off", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithoutEnablingMultisig())
	var se *otelmsig.StepError
	if !errors.As(err, &se) || se.Round != 2 || se.Operation != "exchange_multisig_keys" {
		t.Fatalf("switch off: %v, want a round-2 exchange_multisig_keys StepError", err)
	}
	if code, _ := walletrpc.ErrorCode(err); code != walletrpc.CodeMultisigDisabled || !errors.Is(err, otelmsig.ErrMultisigDisabled) {
		t.Fatalf("switch off: %v, want -48 and ErrMultisigDisabled", err)
	}
	for _, want := range []string{"WithoutEnablingMultisig", "enable_multisig_experimental", "create new wallets"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the -48 error does not say %q: %v", want, err)
		}
	}
	evs, _ := events(sr.Ended(), escrowconv.EventError)
	if len(evs) != 1 || !strings.Contains(attrStr(evs[0].Attributes, escrowconv.ErrorMessage), "WithoutEnablingMultisig") {
		t.Errorf("escrow.error events %v", evs)
	}
}

// 0.17.3 finishes a 2-of-3 after one exchange round: the setup follows
// wallet-rpc, completes with the shared address and records two rounds.
func TestSetupMultisigEarlyFinish0173(t *testing.T) {
	tracker := otelmsig.NewTracker()
	sr, tp := recorder(t)
	fe := rpcEscrow(t, "esc-old", tracker, all0173)
	addr, err := otelmsig.SetupMultisig(testCtx(t, 20*time.Second), "esc-old", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range fe.servers {
		if a, _ := s.Address(fe.wallets[i].Filename); a != addr || addr == "" {
			t.Fatalf("%s has address %q, setup returned %q", roles[i], a, addr)
		}
		if n := s.Calls("exchange_multisig_keys"); n != 1 {
			t.Errorf("%s: %d exchange rounds, want 1", roles[i], n)
		}
	}
	spans := sr.Ended()
	root := rootsNamed(spans, escrowconv.SpanEscrow)[0]
	a := attrMap(root.Attributes())
	if a[escrowconv.EscrowRounds].AsInt64() != 2 || a[escrowconv.EscrowRPCVersion].AsInt64() != 65560 {
		t.Errorf("root: rounds %v, version %v; want 2, 65560", a[escrowconv.EscrowRounds].Emit(), a[escrowconv.EscrowRPCVersion].Emit())
	}
	if n := countNamed(spans, escrowconv.SpanRound); n != 2 {
		t.Errorf("%d round spans, want 2", n)
	}
	snaps, _ := events(spans, escrowconv.EventSnapshot)
	got := countPoints(snaps)
	for _, p := range []string{escrowconv.PointPreRound1, escrowconv.PointPostMakeMultisig, escrowconv.PointPreRound2,
		escrowconv.PointPostExportMultisig, escrowconv.PointFinal} {
		if got[p] != 3 {
			t.Errorf("%s: %d snapshots, want 3", p, got[p])
		}
	}
	if got[escrowconv.PointPreRound3]+got[escrowconv.PointPostImportMultisig] != 0 {
		t.Errorf("round-3 snapshots without a round 3: %v", got)
	}
}

func countNamed(spans []sdktrace.ReadOnlySpan, name string) int {
	n := 0
	for _, s := range spans {
		if (s.Name() == name || name == escrowconv.SpanRound && isRoundSpan(s)) && s.Parent().IsValid() {
			n++
		}
	}
	return n
}

// Mixed versions are refused after get_version, before any multisig call
// (and before any snapshot).
func TestSetupMultisigRefusesMixedVersions(t *testing.T) {
	tracker := otelmsig.NewTracker()
	sr, tp := recorder(t)
	fe := rpcEscrow(t, "esc-mixed", tracker,
		[3]fakewalletrpc.Release{fakewalletrpc.Release0_18_0, fakewalletrpc.Release0_17_3, fakewalletrpc.Release0_18_0})
	_, err := otelmsig.SetupMultisig(testCtx(t, 20*time.Second), "esc-mixed", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	var se *otelmsig.StepError
	if !errors.Is(err, otelmsig.ErrVersionMismatch) || !errors.As(err, &se) || se.Round != 0 || se.Role != "vendor" {
		t.Fatalf("%v, want ErrVersionMismatch for the vendor before round 1", err)
	}
	if !strings.Contains(err.Error(), "1.25") || !strings.Contains(err.Error(), "1.24") {
		t.Errorf("the error does not name both versions: %v", err)
	}
	for i, s := range fe.servers {
		if got := strings.Join(s.CallLog(), " "); got != "get_version" {
			t.Errorf("%s got %q, want only get_version", roles[i], got)
		}
	}
	spans := sr.Ended()
	if countNamed(spans, escrowconv.SpanRound) != 0 {
		t.Error("a round started")
	}
	evs, _ := events(spans, escrowconv.EventError)
	if len(evs) != 1 || attrStr(evs[0].Attributes, escrowconv.ErrorOperation) != "get_version" {
		t.Errorf("escrow.error %v", evs)
	}
}

// The version goes on the escrow's RPC spans, on the snapshot events and
// into the legacy file's snapshots, which stay valid at 45 events.
func TestSetupMultisigRecordsVersion(t *testing.T) {
	dir := t.TempDir()
	exp, err := jsonfile.New(jsonfile.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	sr, _ := recorder(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSyncer(exp))
	tracker := otelmsig.NewTracker()
	fe := rpcEscrow(t, "esc-ver", tracker, all018)
	if _, err := otelmsig.SetupMultisig(testCtx(t, 20*time.Second), "esc-ver", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)); err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	rpc, withVersion := 0, 0
	for _, s := range sr.Ended() {
		if s.SpanKind().String() != "client" {
			continue
		}
		rpc++
		if attrMap(s.Attributes())[escrowconv.WalletRPCVersion].AsInt64() == 65561 {
			withVersion++
		} else if s.Name() != "get_version" {
			t.Errorf("RPC span %s without wallet.rpc_version", s.Name())
		}
	}
	if rpc == 0 || withVersion != rpc-3 {
		t.Errorf("%d of %d RPC spans carry the version; want all but the 3 get_version", withVersion, rpc)
	}
	snaps, _ := events(sr.Ended(), escrowconv.EventSnapshot)
	for _, e := range snaps {
		if attrMap(e.Attributes)[escrowconv.WalletRPCVersion].AsInt64() != 65561 {
			t.Fatalf("snapshot without the version: %v", e.Attributes)
		}
	}
	evs, data := loadValidFile(t, dir, "esc-ver", 45)
	n := 0
	for _, ev := range evs {
		if s, ok := ev.Details.(*escrowjson.Snapshot); ok {
			if s.RPCVersion == nil || *s.RPCVersion != 65561 {
				t.Fatalf("%s snapshot rpc_version %v", ev.EventType, s.RPCVersion)
			}
			n++
		}
	}
	if n != 21 || !strings.Contains(string(data), `"rpc_version": 65561`) {
		t.Errorf("%d snapshots with rpc_version", n)
	}
}

// A wallet-rpc that stops answering fails the escrow after one timed-out
// call to it, wherever in the setup it stops: every call that can hang is
// tried as the first one to hang. Counted at the fake, not timed.
func TestSetupMultisigHungEndpoint(t *testing.T) {
	// A normal run makes 26 calls per endpoint: get_version, 4 protocol
	// calls, 7 snapshots x 3 reads.
	const perEndpoint = 26
	for skip := 0; skip < perEndpoint; skip++ {
		t.Run(fmt.Sprintf("hang from call %d", skip+1), func(t *testing.T) {
			t.Parallel()
			tracker := otelmsig.NewTracker()
			_, tp := recorder(t)
			// Long enough that no call to a fake that answers times out on a loaded
			// machine: only the hung one does.
			fe := rpcEscrow(t, "esc-hang", tracker, all018, walletrpc.WithTimeout(time.Second))
			hung := fe.servers[1].InjectFault(fakewalletrpc.Fault{Skip: skip, Hang: true})
			_, err := otelmsig.SetupMultisig(testCtx(t, 60*time.Second), "esc-hang", fe.wallets,
				otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
			if n := hung.Fired(); n != 1 {
				t.Fatalf("%d calls hung at the vendor's wallet-rpc, want exactly 1 (calls there: %v)", n, fe.servers[1].CallLog())
			}
			if err != nil {
				var te *walletrpc.TransportError
				if !errors.Is(err, otelmsig.ErrEndpointHung) && !(errors.As(err, &te) && te.Kind == walletrpc.KindTimeout) {
					t.Fatalf("escrow error %v, want a timeout or ErrEndpointHung", err)
				}
				var se *otelmsig.StepError
				if !errors.As(err, &se) || se.Role != "vendor" {
					t.Errorf("failed for %v, want the vendor", err)
				}
			}
			calls := fe.servers[1].CallLog()
			if len(calls) != skip+1 {
				t.Errorf("%d calls reached the vendor, want %d (the hung one last): %v", len(calls), skip+1, calls)
			}
		})
	}
}

// A snapshot whose reads met different wallets says so: here another
// client of this process opens another wallet on the endpoint between the
// snapshot's reads.
func TestSnapshotMixedWallets(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			tracker := otelmsig.NewTracker()
			sr, tp := recorder(t)
			s := fakewalletrpc.New(fakewalletrpc.WithWallet("mine", ""), fakewalletrpc.WithWallet("other", ""))
			defer s.Close()
			_ = s.OpenWallet("mine")
			intruder, _ := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
			var switched atomic.Bool
			sneak := func(next walletrpc.Invoker) walletrpc.Invoker {
				return func(ctx context.Context, req *walletrpc.Request) error {
					if req.Method == walletrpc.MethodGetBalance && switched.CompareAndSwap(false, true) {
						if err := intruder.OpenWallet(context.Background(), walletrpc.OpenWalletParams{Filename: "other"}); err != nil {
							return err
						}
					}
					return next(ctx, req)
				}
			}
			c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)), walletrpc.WithMiddleware(sneak))
			opts := []otelmsig.Option{otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)}
			if shared {
				opts = append(opts, otelmsig.WithSharedEndpoints())
			}
			ctx, esc := otelmsig.StartEscrow(testCtx(t, 10*time.Second), "esc-mix", opts...)
			snap := esc.Snapshot(ctx, escrowconv.PointPreRound1, otelmsig.Wallet{Role: "buyer", ID: "b", Filename: "mine", Client: c})[0]
			esc.End(nil)
			if !snap.MixedWallets || snap.Err == nil || !strings.Contains(snap.Err.Error(), "different wallets") {
				t.Fatalf("snapshot %+v, want MixedWallets", snap)
			}
			if shared && !strings.Contains(snap.Err.Error(), "get_address answered differently") {
				t.Errorf("shared: the address change is not named: %v", snap.Err)
			}
			evs, _ := events(sr.Ended(), escrowconv.EventSnapshot)
			if len(evs) != 1 || !attrMap(evs[0].Attributes)[escrowconv.SnapshotMixedWallets].AsBool() {
				t.Errorf("event %v", evs)
			}

			// Without a switch in between, no such claim.
			_ = s.OpenWallet("mine")
			ctx, esc = otelmsig.StartEscrow(testCtx(t, 10*time.Second), "esc-clean", opts...)
			snap = esc.Snapshot(ctx, escrowconv.PointPreRound1, otelmsig.Wallet{Role: "buyer", ID: "b", Filename: "mine", Client: c})[0]
			esc.End(nil)
			if snap.MixedWallets || snap.Err != nil {
				t.Errorf("clean snapshot %+v", snap)
			}
		})
	}
}

// A snapshot's reads have their own deadline, shorter than the client's
// timeout: a wallet-rpc that hangs on a snapshot read fails the escrow
// without the step's call ever being sent there.
func TestSnapshotDeadline(t *testing.T) {
	tracker := otelmsig.NewTracker()
	_, tp := recorder(t)
	fe := rpcEscrow(t, "esc-snapdl", tracker, all018, walletrpc.WithTimeout(10*time.Minute))
	hung := fe.servers[2].InjectFault(fakewalletrpc.Fault{Method: "is_multisig", Hang: true})
	_, err := otelmsig.SetupMultisig(testCtx(t, 5*time.Minute), "esc-snapdl", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSnapshotTimeout(200*time.Millisecond))
	var se *otelmsig.StepError
	if !errors.Is(err, otelmsig.ErrEndpointHung) || !errors.As(err, &se) || se.Role != "arbiter" || se.Round != 1 {
		t.Fatalf("%v, want ErrEndpointHung for the arbiter in round 1", err)
	}
	if hung.Fired() != 1 || fe.servers[2].Calls("prepare_multisig") != 0 {
		t.Errorf("arbiter: %d hung reads, calls %v; want 1 and no prepare_multisig", hung.Fired(), fe.servers[2].CallLog())
	}
	if !strings.Contains(err.Error(), "is_multisig") {
		t.Errorf("the error does not name the read that timed out: %v", err)
	}
}

// On a shared endpoint every step re-opens its wallet, and wallet-rpc
// forgets prepare_multisig's switch when the wallet is closed before
// make_multisig (the fake does as 0.18.0.0): SetupMultisig sends it again
// in make_multisig's re-open, and wallets made over RPC still make it.
func TestSharedEndpointsKeepMultisigSwitch(t *testing.T) {
	tracker := otelmsig.NewTracker()
	_, tp := recorder(t)
	servers, wallets := make([]*fakewalletrpc.Server, 3), make([]otelmsig.Wallet, 3)
	for i, role := range roles {
		servers[i] = fakewalletrpc.New()
		t.Cleanup(servers[i].Close)
		plain, _ := walletrpc.New(servers[i].URL())
		// This escrow's wallet, then another one that stays open: every
		// step must re-open.
		for _, name := range []string{"mine-" + role, "other-" + role} {
			if err := plain.CreateWallet(testCtx(t, 10*time.Second), walletrpc.CreateWalletParams{Filename: name}); err != nil {
				t.Fatal(err)
			}
		}
		c, _ := walletrpc.New(servers[i].URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)),
			walletrpc.WithMiddleware(reopenOther(plain, "other-"+role)))
		wallets[i] = otelmsig.Wallet{Role: role, ID: "mine-" + role, Filename: "mine-" + role, Client: c}
	}
	addr, err := otelmsig.SetupMultisig(testCtx(t, 20*time.Second), "esc-shared-switch", wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints())
	if err != nil || addr == "" {
		t.Fatalf("%q %v", addr, err)
	}
	for i, s := range servers {
		if n := s.Calls("prepare_multisig"); n != 2 {
			t.Errorf("%s: %d prepare_multisig, want 2 (round 1 and again before make_multisig)", roles[i], n)
		}
	}
}

// reopenOther opens wallet other right after the client's first
// prepare_multisig: someone else's escrow switching the endpoint between
// this escrow's prepare_multisig and make_multisig steps.
func reopenOther(plain *walletrpc.Client, other string) walletrpc.Middleware {
	var done atomic.Bool
	return func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			err := next(ctx, req)
			if req.Method == walletrpc.MethodPrepareMultisig && done.CompareAndSwap(false, true) {
				_ = plain.OpenWallet(context.Background(), walletrpc.OpenWalletParams{Filename: other})
			}
			return err
		}
	}
}
