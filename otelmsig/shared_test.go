package otelmsig_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// fakeShared is one fake wallet-rpc per role holding the wallets of that
// role for the given escrows. open_wallet takes a while, as on the real one.
func fakeShared(t *testing.T, ids []string, tracker *otelmsig.Tracker) (servers []*fakewalletrpc.Server, wallets map[string][]otelmsig.Wallet) {
	wallets = map[string][]otelmsig.Wallet{}
	for _, role := range roles {
		opts := []fakewalletrpc.Option{fakewalletrpc.WithLatency("open_wallet", 20*time.Millisecond)}
		for _, id := range ids {
			opts = append(opts, fakewalletrpc.WithWallet(id+"-"+role, testPassword))
		}
		s := fakewalletrpc.New(opts...)
		t.Cleanup(s.Close)
		c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
		for _, id := range ids {
			wallets[id] = append(wallets[id], otelmsig.Wallet{
				Role: role, ID: "wid-" + id + "-" + role, Filename: id + "-" + role, Password: testPassword, Client: c,
			})
		}
	}
	return servers, wallets
}

func runShared(t *testing.T, ids []string, wallets map[string][]otelmsig.Wallet, opts ...otelmsig.Option) ([]string, []error) {
	ctx := testCtx(t, 60*time.Second)
	addrs, errs := make([]string, len(ids)), make([]error, len(ids))
	barrier := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			<-barrier
			addrs[i], errs[i] = otelmsig.SetupMultisig(ctx, id, wallets[id], opts...)
		})
	}
	close(barrier)
	wg.Wait()
	return addrs, errs
}

func TestSharedEndpointsWithLock(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	ids := []string{"s1", "s2", "s3", "s4"}
	servers, wallets := fakeShared(t, ids, tracker)
	addrs, errs := runShared(t, ids, wallets, otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker),
		otelmsig.WithSharedEndpoints(), otelmsig.WithEndpointLock())
	seen := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("escrow %s: %v", ids[i], err)
		}
		if seen[addrs[i]] {
			t.Fatalf("addresses %q", addrs)
		}
		seen[addrs[i]] = true
	}
	spans := sr.Ended()
	if pol, _ := events(spans, escrowconv.EventCachePollution); len(pol) != 0 {
		t.Fatalf("%d pollution events with the lock", len(pol))
	}
	for _, root := range rootsNamed(spans, escrowconv.SpanEscrow) {
		snaps, _ := events(spansOfTrace(spans, root.SpanContext().TraceID()), escrowconv.EventSnapshot)
		wantAllPoints(t, snaps, 3)
		for _, e := range snaps {
			if hasAttr(e.Attributes, escrowconv.SnapshotError) {
				t.Errorf("snapshot error %v", attrStr(e.Attributes, escrowconv.SnapshotError))
			}
		}
	}
	opens := 0
	for _, s := range servers {
		opens += s.Calls("open_wallet")
	}
	// At most one open per wallet per step (4) and for FINAL; fewer when
	// the wallet was still open.
	t.Logf("%d open_wallet calls for %d escrows", opens, len(ids))
	if opens > len(ids)*3*5 {
		t.Errorf("%d open_wallet calls", opens)
	}
	assertNoSecrets(t, spans, testPassword)
}

func TestSharedEndpointsWithoutLock(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	ids := []string{"u1", "u2", "u3"}
	servers, wallets := fakeShared(t, ids, tracker)
	_, errs := runShared(t, ids, wallets, otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints())
	t.Logf("errors without the lock: %v", errs)
	ports := map[string]string{}
	for i, s := range servers {
		ports[roles[i]] = s.Endpoint()
	}
	pol, on := events(sr.Ended(), escrowconv.EventCachePollution)
	wrong := 0
	for i, e := range pol {
		a := attrMap(e.Attributes)
		if a[escrowconv.PollutionReason].AsString() != escrowconv.ReasonWrongWalletOpen {
			continue
		}
		wrong++
		own, role, other := a[escrowconv.EscrowID].AsString(), a[escrowconv.WalletRole].AsString(), a[escrowconv.PollutionOtherEscrowID].AsString()
		if a[escrowconv.PollutionEndpoint].AsString() != ports[role] || a[escrowconv.PollutionExpectedWallet].AsString() != own+"-"+role {
			t.Errorf("pollution %v", e.Attributes)
		}
		if !namesOtherEscrowWallet(a, ids, own, role) {
			t.Errorf("pollution on %s names %q of escrow %q", on[i].Name(), a[escrowconv.PollutionActualWallet].AsString(), other)
		}
	}
	if wrong == 0 {
		t.Fatal("no wrong_wallet_open without the lock")
	}
	snapshots := 0
	for i := range pol {
		if hasAttr(on[i].Attributes(), escrowconv.SnapshotPoint) {
			snapshots++
		}
	}
	t.Logf("%d wrong_wallet_open events, %d of them on snapshot spans", wrong, snapshots)

}

// namesOtherEscrowWallet reports whether a wrong_wallet_open event of escrow
// own names the wallet of role of another of the escrows ids, with that
// escrow; a snapshot's identity check may instead say that it cannot name
// the wallet (otelmsig.UnknownWallet).
func namesOtherEscrowWallet(a map[attribute.Key]attribute.Value, ids []string, own, role string) bool {
	actual, other := a[escrowconv.PollutionActualWallet].AsString(), a[escrowconv.PollutionOtherEscrowID].AsString()
	if strings.HasPrefix(actual, "unknown (address_hash ") {
		return other == ""
	}
	return other != own && contains(ids, other) && actual == other+"-"+role
}
