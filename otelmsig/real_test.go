package otelmsig_test

// Tests against real monero-wallet-rpc 0.18 processes (Debian package
// monero). They fail, with the install command, when the binaries are
// missing.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// Wallets made over RPC alone (create_wallet; no monero-wallet-cli), each
// open on its own wallet-rpc: SetupMultisig switches multisig on in round 1
// and completes in the rounds wallet-rpc 0.18.0.0 needs, recording its
// version on the RPC spans, the snapshots and in the legacy file.
func TestRealDedicatedSetup(t *testing.T) {
	procs := wallettest.StartDedicated(t, wallettest.Config{}, roles...)
	dir := t.TempDir()
	exp, err := jsonfile.New(jsonfile.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracker := otelmsig.NewTracker()
	wallets := dedicatedWallets(t, procs, "real-", tracker)
	start := time.Now()
	addr, err := otelmsig.SetupMultisig(testCtx(t, 2*time.Minute), "real-dedicated", wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("2-of-3 setup with 21 snapshots took %v; address %.12s...", time.Since(start), addr)
	if addr == "" || fakewalletrpc.IsPlaceholder(addr) {
		t.Fatalf("address %q", addr)
	}
	ctx := testCtx(t, 30*time.Second)
	for _, w := range wallets {
		a, err := w.Client.GetAddress(ctx)
		if err != nil || a.Address != addr {
			t.Fatalf("%s: get_address %v %v", w.Role, a, err)
		}
		m, err := w.Client.IsMultisig(ctx)
		if err != nil || !m.Ready || m.Threshold != 2 || m.Total != 3 {
			t.Fatalf("%s: is_multisig %+v %v", w.Role, m, err)
		}
	}
	spans := sr.Ended()
	if got := spanTree(spans); got != successTree {
		t.Fatalf("span tree:\n%s\nwant:\n%s", got, successTree)
	}
	snaps, _ := events(spans, escrowconv.EventSnapshot)
	wantAllPoints(t, snaps, 3)
	sum := sha256.Sum256([]byte(addr))
	for _, e := range snaps {
		a := attrMap(e.Attributes)
		if hasAttr(e.Attributes, escrowconv.SnapshotError) {
			t.Errorf("snapshot error: %v", a[escrowconv.SnapshotError].AsString())
		}
		if a[escrowconv.WalletFilePerms].AsString() != "rw-" || !a[escrowconv.WalletFileExists].AsBool() {
			t.Errorf("file: %v", e.Attributes)
		}
		if a[escrowconv.SnapshotPoint].AsString() == escrowconv.PointFinal &&
			(!a[escrowconv.WalletIsMultisig].AsBool() || a[escrowconv.WalletAddressHash].AsString() != hex.EncodeToString(sum[:])) {
			t.Errorf("FINAL snapshot %v", e.Attributes)
		}
		if a[escrowconv.SnapshotPoint].AsString() == escrowconv.PointPreRound1 && a[escrowconv.WalletIsMultisig].AsBool() {
			t.Errorf("PRE_ROUND1 snapshot is multisig")
		}
	}
	// No pollution: the snapshots' identity check follows the addresses
	// through make_multisig and the exchanges.
	if pol, _ := events(spans, escrowconv.EventCachePollution); len(pol) != 0 {
		t.Errorf("%d pollution events on dedicated endpoints", len(pol))
	}
	if calls, reads, _, _ := checkClientFilenames(t, spans, map[string]string{"buyer": "buyer", "vendor": "vendor", "arbiter": "arbiter"}); calls != 12 || reads != 63 {
		t.Errorf("wallet.filename checked on %d calls and %d snapshot reads, want 12 and 63", calls, reads)
	}
	assertNoSecrets(t, spans)

	// The version and the rounds, as 0.18.0.0 answers them.
	root := rootsNamed(spans, escrowconv.SpanEscrow)[0]
	ra := attrMap(root.Attributes())
	if ra[escrowconv.EscrowRPCVersion].AsInt64() != int64(walletrpc.RPCVersion0_18_0) || ra[escrowconv.EscrowRounds].AsInt64() != 3 {
		t.Errorf("root: version %s, rounds %s; want 65561, 3", ra[escrowconv.EscrowRPCVersion].Emit(), ra[escrowconv.EscrowRounds].Emit())
	}
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindClient && s.Name() != "get_version" &&
			attrMap(s.Attributes())[escrowconv.WalletRPCVersion].AsInt64() != int64(walletrpc.RPCVersion0_18_0) {
			t.Errorf("RPC span %s without wallet.rpc_version 65561", s.Name())
		}
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := loadValidFile(t, dir, "real-dedicated", 45)
	for _, ev := range evs {
		if sn, ok := ev.Details.(*escrowjson.Snapshot); ok && (sn.RPCVersion == nil || *sn.RPCVersion != 65561) {
			t.Errorf("%s of %s: rpc_version %v, want 65561", ev.EventType, ev.Role, sn.RPCVersion)
		}
	}

	// A participant that repeats the final exchange (a retry after a lost
	// reply) is told the exchange is complete: -28 on 0.18.0.0.
	_, err = wallets[0].Client.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{
		MultisigInfo: []string{"MultisigxV2Rn", "MultisigxV2Rn"}})
	if code, _ := walletrpc.ErrorCode(err); !walletrpc.KexComplete(err) || code != walletrpc.CodeAlreadyMultisig {
		t.Errorf("repeated final exchange: %v, want -28 already finalized", err)
	}
	if m, err := wallets[0].Client.IsMultisig(ctx); err != nil || !m.Ready {
		t.Errorf("after the refused repeat: %+v %v", m, err)
	}
}

// Wallets made over RPC and SetupMultisig told not to switch multisig on:
// round 2 fails with -48, and the error says what to do.
func TestRealMultisigSwitchOff(t *testing.T) {
	procs := wallettest.StartDedicated(t, wallettest.Config{}, roles...)
	_, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	wallets := dedicatedWallets(t, procs, "off-", tracker)
	_, err := otelmsig.SetupMultisig(testCtx(t, 2*time.Minute), "real-switch-off", wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithoutEnablingMultisig())
	var se *otelmsig.StepError
	if !errors.As(err, &se) || se.Round != 2 || !errors.Is(err, otelmsig.ErrMultisigDisabled) {
		t.Fatalf("%v, want ErrMultisigDisabled in round 2", err)
	}
	if code, _ := walletrpc.ErrorCode(err); code != walletrpc.CodeMultisigDisabled || !strings.Contains(err.Error(), "WithoutEnablingMultisig") {
		t.Errorf("%v: want -48 with the hint", err)
	}
	// Too late now, as the hint says: the flag is refused after make_multisig.
	_, err = wallets[0].Client.PrepareMultisig(testCtx(t, time.Minute), walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
	if code, _ := walletrpc.ErrorCode(err); code != walletrpc.CodeAlreadyMultisig {
		t.Errorf("prepare_multisig with the flag after make_multisig: %v, want -28", err)
	}
}

// The old way still works: wallets made with monero-wallet-cli and
// "set enable-multisig-experimental 1", SetupMultisig leaving the switch
// alone.
func TestRealCLIMadeWallets(t *testing.T) {
	procs := wallettest.StartDedicated(t, wallettest.Config{CLIWallets: true}, roles...)
	_, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	wallets := dedicatedWallets(t, procs, "cli-", tracker)
	addr, err := otelmsig.SetupMultisig(testCtx(t, 2*time.Minute), "real-cli", wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithoutEnablingMultisig())
	if err != nil || addr == "" {
		t.Fatalf("%q %v", addr, err)
	}
}

// sharedLayout is one wallet-rpc per role, each holding the wallets of that
// role for several escrows: how escrow services share wallet-rpc.
type sharedLayout struct {
	procs []*wallettest.Process
}

func escrowWallets(t *testing.T, l *sharedLayout, escrowID string, tracker *otelmsig.Tracker, clients []*walletrpc.Client) []otelmsig.Wallet {
	var ws []otelmsig.Wallet
	for i, p := range l.procs {
		name := escrowID + "-" + roles[i]
		ws = append(ws, otelmsig.Wallet{
			Role: roles[i], ID: "wid-" + name, Filename: name,
			Path: filepath.Join(p.WalletDir, name), Client: clients[i],
		})
	}
	return ws
}

// runConcurrently starts one SetupMultisig per escrow id at the same
// instant and waits for all of them.
func runConcurrently(t *testing.T, l *sharedLayout, ids []string, tracker *otelmsig.Tracker, opts ...otelmsig.Option) (addrs []string, errs []error) {
	t.Helper()
	clients := make([]*walletrpc.Client, len(l.procs))
	for i, p := range l.procs {
		c, err := p.Client(otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	// A bound, not a measurement: with the lock the escrows take turns on
	// each endpoint, and on a loaded 2-core machine (load 15-20 while other
	// work runs) three of them took over 3 minutes.
	ctx := testCtx(t, 10*time.Minute)
	addrs, errs = make([]string, len(ids)), make([]error, len(ids))
	barrier := make(chan struct{})
	var ready, wg sync.WaitGroup
	for i, id := range ids {
		ws := escrowWallets(t, l, id, tracker, clients)
		ready.Add(1)
		wg.Go(func() {
			ready.Done()
			<-barrier
			addrs[i], errs[i] = otelmsig.SetupMultisig(ctx, id, ws, opts...)
		})
	}
	ready.Wait()
	close(barrier)
	wg.Wait()
	return addrs, errs
}

func TestRealSharedEndpoints(t *testing.T) {
	procs := wallettest.Start(t, len(roles), wallettest.Config{})
	l := &sharedLayout{procs: procs}
	off := []string{"off-1", "off-2", "off-3"}
	on := []string{"on-1", "on-2", "on-3"}
	ctx := testCtx(t, 3*time.Minute)
	start := time.Now()
	var wg sync.WaitGroup
	perr := make([]error, len(procs))
	for i, p := range procs {
		var names []string
		for _, id := range off {
			names = append(names, id+"-"+roles[i])
		}
		wg.Go(func() { perr[i] = p.CreateWallets(ctx, names...) })
	}
	wg.Wait()
	for _, err := range perr {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The lock-on escrows need fresh wallets too. create_wallet costs
	// wallet-rpc seconds, one at a time per process, so they are copies of
	// the lock-off ones taken before use, combined so that each escrow gets
	// a new set of keys: escrow on-k takes role i from off-((k+i) mod 3).
	for i, p := range procs {
		for k, id := range on {
			src := off[(k+i)%len(off)] + "-" + roles[i]
			copyWallet(t, p.WalletDir, src, id+"-"+roles[i])
		}
	}
	t.Logf("provisioned 9 wallets (and 9 copies) in %v", time.Since(start))
	endpointOf := map[string]string{}
	for i, p := range procs {
		endpointOf[roles[i]] = fmt.Sprintf("127.0.0.1:%d", p.Port)
	}

	t.Run("lock off", func(t *testing.T) {
		sr, tp := recorder(t)
		tracker := otelmsig.NewTracker()
		start := time.Now()
		addrs, errs := runConcurrently(t, l, off, tracker,
			otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints())
		t.Logf("3 escrows without the lock took %v; addresses %q; errors %v", time.Since(start), shortAll(addrs), errs)
		spans := sr.Ended()
		pol, polOn := events(spans, escrowconv.EventCachePollution)
		wrong := 0
		for i, e := range pol {
			a := attrMap(e.Attributes)
			if a[escrowconv.PollutionReason].AsString() != escrowconv.ReasonWrongWalletOpen {
				continue
			}
			wrong++
			own, role := a[escrowconv.EscrowID].AsString(), a[escrowconv.WalletRole].AsString()
			other := a[escrowconv.PollutionOtherEscrowID].AsString()
			// The middleware marks RPC spans and links them to the other
			// escrow's open; a snapshot's identity check marks the
			// snapshot span, linked when this process made the open.
			snapshot := hasAttr(polOn[i].Attributes(), escrowconv.SnapshotPoint)
			if polOn[i].SpanKind() != trace.SpanKindClient && !snapshot {
				t.Errorf("wrong_wallet_open on %s, want an RPC or a snapshot span", polOn[i].Name())
			}
			// Marked for Jaeger, and linked to the other escrow's open.
			if !attrMap(polOn[i].Attributes())[escrowconv.CachePollution].AsBool() || polOn[i].Status().Code != codes.Error {
				t.Errorf("polluted %s not marked: %v", polOn[i].Name(), polOn[i].Status())
			}
			for _, l := range polOn[i].Links() {
				if o := byID(spans, l.SpanContext.SpanID()); o == nil || o.Name() != walletrpc.MethodOpenWallet ||
					attrMap(o.Attributes())[escrowconv.EscrowID].AsString() != other {
					t.Errorf("polluted %s links to %v, want escrow %s's open_wallet", polOn[i].Name(), o, other)
				}
			}
			if n := len(polOn[i].Links()); n > 1 || n == 0 && !snapshot {
				t.Errorf("polluted %s has %d links, want 1", polOn[i].Name(), n)
			}
			if a[escrowconv.PollutionEndpoint].AsString() != endpointOf[role] ||
				a[escrowconv.WalletRPCPort].Emit() != strings.TrimPrefix(endpointOf[role], "127.0.0.1:") {
				t.Errorf("pollution for %s points at %s, want %s", role, a[escrowconv.PollutionEndpoint].AsString(), endpointOf[role])
			}
			if a[escrowconv.PollutionExpectedWallet].AsString() != own+"-"+role {
				t.Errorf("expected wallet %q for escrow %s role %s", a[escrowconv.PollutionExpectedWallet].AsString(), own, role)
			}
			if !namesOtherEscrowWallet(a, off, own, role) || other == "" && !snapshot {
				t.Errorf("pollution of %s (%s): actual %q, other escrow %q", own, role, a[escrowconv.PollutionActualWallet].AsString(), other)
			}
		}
		t.Logf("%d cache_pollution events, %d wrong_wallet_open", len(pol), wrong)
		if wrong == 0 {
			t.Fatal("no wrong_wallet_open recorded although three escrows shared the endpoints without a lock")
		}
		assertNoSecrets(t, spans)
	})

	t.Run("lock on", func(t *testing.T) {
		sr, tp := recorder(t)
		tracker := otelmsig.NewTracker()
		start := time.Now()
		addrs, errs := runConcurrently(t, l, on, tracker,
			otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints(), otelmsig.WithEndpointLock())
		t.Logf("3 escrows with the lock took %v", time.Since(start))
		seen := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("escrow %s: %v", on[i], err)
			}
			if addrs[i] == "" || seen[addrs[i]] {
				t.Fatalf("addresses %q: want three distinct", addrs)
			}
			seen[addrs[i]] = true
		}
		spans := sr.Ended()
		if pol, _ := events(spans, escrowconv.EventCachePollution); len(pol) != 0 {
			t.Fatalf("%d pollution events with the lock: %v", len(pol), pol[0].Attributes)
		}
		// Each escrow's trace is complete: 3 rounds and 21 snapshots.
		for _, root := range rootsNamed(spans, escrowconv.SpanEscrow) {
			mine := spansOfTrace(spans, root.SpanContext().TraceID())
			if r := len(rootsNamed(mine, escrowconv.SpanRound)); r != 3 {
				t.Errorf("escrow %s: %d rounds", attrStr(root.Attributes(), escrowconv.EscrowID), r)
			}
			snaps, _ := events(mine, escrowconv.EventSnapshot)
			wantAllPoints(t, snaps, 3)
		}
		assertNoSecrets(t, spans)
	})
}

func copyWallet(t *testing.T, dir, from, to string) {
	t.Helper()
	for _, suffix := range []string{"", ".keys"} {
		b, err := os.ReadFile(filepath.Join(dir, from+suffix))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func shortAll(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		if len(a) > 12 {
			a = a[:12] + "..."
		}
		out[i] = a
	}
	return out
}

// dedicatedWallets gives each role's process (its wallet, named after the
// role, open there) a client traced with tracker; wallet ids are
// idPrefix+role.
func dedicatedWallets(t *testing.T, procs []*wallettest.Process, idPrefix string, tracker *otelmsig.Tracker) []otelmsig.Wallet {
	t.Helper()
	var wallets []otelmsig.Wallet
	for i, p := range procs {
		c, err := p.Client(otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
		if err != nil {
			t.Fatal(err)
		}
		wallets = append(wallets, otelmsig.Wallet{
			Role: roles[i], ID: idPrefix + roles[i], Filename: roles[i],
			Path: filepath.Join(p.WalletDir, roles[i]), Client: c,
		})
	}
	return wallets
}
