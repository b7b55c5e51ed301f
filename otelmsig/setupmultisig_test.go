package otelmsig_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

const successTree = `escrow.setup
  arbiter SNAPSHOT_FINAL
  buyer SNAPSHOT_FINAL
  multisig.round 1 make_multisig
    arbiter make_multisig
      arbiter SNAPSHOT_POST_MAKE_MULTISIG
      make_multisig arbiter
    arbiter prepare_multisig
      arbiter SNAPSHOT_PRE_ROUND1
      prepare_multisig arbiter
    buyer make_multisig
      buyer SNAPSHOT_POST_MAKE_MULTISIG
      make_multisig buyer
    buyer prepare_multisig
      buyer SNAPSHOT_PRE_ROUND1
      prepare_multisig buyer
    vendor make_multisig
      make_multisig vendor
      vendor SNAPSHOT_POST_MAKE_MULTISIG
    vendor prepare_multisig
      prepare_multisig vendor
      vendor SNAPSHOT_PRE_ROUND1
  multisig.round 2 exchange_multisig_keys
    arbiter exchange_multisig_keys
      arbiter SNAPSHOT_POST_EXPORT_MULTISIG
      arbiter SNAPSHOT_PRE_ROUND2
      exchange_multisig_keys arbiter
    buyer exchange_multisig_keys
      buyer SNAPSHOT_POST_EXPORT_MULTISIG
      buyer SNAPSHOT_PRE_ROUND2
      exchange_multisig_keys buyer
    vendor exchange_multisig_keys
      exchange_multisig_keys vendor
      vendor SNAPSHOT_POST_EXPORT_MULTISIG
      vendor SNAPSHOT_PRE_ROUND2
  multisig.round 3 exchange_multisig_keys
    arbiter exchange_multisig_keys
      arbiter SNAPSHOT_POST_IMPORT_MULTISIG
      arbiter SNAPSHOT_PRE_ROUND3
      exchange_multisig_keys arbiter
    buyer exchange_multisig_keys
      buyer SNAPSHOT_POST_IMPORT_MULTISIG
      buyer SNAPSHOT_PRE_ROUND3
      exchange_multisig_keys buyer
    vendor exchange_multisig_keys
      exchange_multisig_keys vendor
      vendor SNAPSHOT_POST_IMPORT_MULTISIG
      vendor SNAPSHOT_PRE_ROUND3
  vendor SNAPSHOT_FINAL
`

func TestSetupMultisigTraceShape(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-ok", tracker)
	ctx := testCtx(t, 30*time.Second)

	before := time.Now().UnixMilli()
	addr, err := otelmsig.SetupMultisig(ctx, "esc-ok", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range fe.servers {
		if got, _ := s.Address(fe.wallets[i].Filename); got != addr {
			t.Fatalf("wallet %d address %q, SetupMultisig returned %q", i, got, addr)
		}
	}
	spans := sr.Ended()
	if got := spanTree(spans); got != successTree {
		t.Fatalf("span tree:\n%s\nwant:\n%s", got, successTree)
	}
	if len(sr.Started()) != len(spans) {
		t.Fatalf("%d spans started, %d ended", len(sr.Started()), len(spans))
	}

	root := rootsNamed(spans, escrowconv.SpanEscrow)[0]
	ra := attrMap(root.Attributes())
	if root.Parent().IsValid() || root.SpanKind() != trace.SpanKindInternal || root.Status().Code == codes.Error {
		t.Errorf("root: parent %v kind %v status %v", root.Parent(), root.SpanKind(), root.Status())
	}
	tid := ra[escrowconv.EscrowTraceID].AsString()
	if m := regexp.MustCompile(`^esc-ok-(\d+)$`).FindStringSubmatch(tid); m == nil {
		t.Errorf("escrow.trace_id %q", tid)
	} else if ms, _ := strconv.ParseInt(m[1], 10, 64); ms < before || ms != root.StartTime().UnixMilli() {
		t.Errorf("escrow.trace_id ms %d: want the root's start %d", ms, root.StartTime().UnixMilli())
	}
	if ra[escrowconv.EscrowID].AsString() != "esc-ok" || ra[escrowconv.EscrowThreshold].AsInt64() != 2 ||
		ra[escrowconv.EscrowParticipants].AsInt64() != 3 || ra[escrowconv.EscrowAddress].AsString() != addr {
		t.Errorf("root attributes %v", root.Attributes())
	}
	addrSum := sha256.Sum256([]byte(addr))
	if ra[escrowconv.EscrowResult].AsString() != escrowconv.ResultOK || ra[escrowconv.EscrowRoundsCompleted].AsInt64() != 3 ||
		ra[escrowconv.EscrowRounds].AsInt64() != 3 || ra[escrowconv.EscrowPollutionCount].AsInt64() != 0 ||
		!hasAttr(root.Attributes(), escrowconv.EscrowPollutionCount) ||
		ra[escrowconv.EscrowAddressHash].AsString() != hex.EncodeToString(addrSum[:]) {
		t.Errorf("root outcome %v", root.Attributes())
	}
	// 1 root + 3 rounds + 12 wallet steps + 21 snapshot spans + 12
	// protocol calls + 3 get_version + 63 reads.
	if len(spans) != 1+3+12+21+12+3+63 {
		t.Errorf("%d spans per escrow, want 115", len(spans))
	}
	checkReadsUnderSnapshots(t, spans)

	// Every span is in the root's trace; RPC spans carry the semconv set.
	ports := map[string]int{}
	for i, w := range fe.wallets {
		ports[w.Role] = fe.servers[i].Port()
	}
	rpcSpans, snapCalls := 0, 0
	for _, s := range spans {
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %s in another trace", s.Name())
		}
		a := attrMap(s.Attributes())
		if a[escrowconv.EscrowID].AsString() != "esc-ok" {
			t.Errorf("span %s: escrow.id %q", s.Name(), a[escrowconv.EscrowID].AsString())
		}
		if s.SpanKind() != trace.SpanKindClient {
			continue
		}
		rpcSpans++
		if isSnapshotCall(s) {
			snapCalls++
		}
		role := a[escrowconv.WalletRole].AsString()
		want := map[string]string{
			string(semconv.RPCSystemNameKey):          "jsonrpc",
			string(semconv.RPCMethodKey):              s.Name(),
			string(semconv.ServerAddressKey):          "127.0.0.1",
			string(semconv.ServerPortKey):             strconv.Itoa(ports[role]),
			string(semconv.JSONRPCProtocolVersionKey): "2.0",
			string(escrowconv.WalletID):               "wallet-esc-ok-" + role,
		}
		for k, v := range want {
			if got := a[attribute.Key(k)].Emit(); got != v {
				t.Errorf("span %s (%s): %s = %q, want %q", s.Name(), role, k, got, v)
			}
		}
		if s.Status().Code != codes.Unset || hasAttr(s.Attributes(), semconv.ErrorTypeKey) {
			t.Errorf("span %s: status %v on success", s.Name(), s.Status())
		}
	}
	// 12 protocol calls + 3 get_version + 7 points x 3 wallets x 3 reads;
	// get_version is the instrumentation's own call, as the reads are.
	if rpcSpans != 12+3+63 || snapCalls != 3+63 {
		t.Errorf("%d RPC spans, %d instrumentation calls; want 78, 66", rpcSpans, snapCalls)
	}

	snaps, on := events(spans, escrowconv.EventSnapshot)
	wantAllPoints(t, snaps, 3)
	sum := addrSum
	for i, e := range snaps {
		a := attrMap(e.Attributes)
		point := a[escrowconv.SnapshotPoint].AsString()
		if on[i].Name() != a[escrowconv.WalletRole].AsString()+" "+point || !hasAttr(on[i].Attributes(), escrowconv.SnapshotPoint) {
			t.Errorf("%s snapshot on %s, want its own snapshot span", point, on[i].Name())
		}
		parent := byID(spans, on[i].Parent().SpanID())
		if point == escrowconv.PointFinal {
			if parent != root {
				t.Errorf("FINAL snapshot span under %v, want the root", parent)
			}
			if !a[escrowconv.WalletIsMultisig].AsBool() || !a[escrowconv.WalletMultisigReady].AsBool() ||
				a[escrowconv.WalletAddressHash].AsString() != hex.EncodeToString(sum[:]) ||
				a[escrowconv.WalletThreshold].AsInt64() != 2 || a[escrowconv.WalletTotal].AsInt64() != 3 {
				t.Errorf("FINAL snapshot %v", e.Attributes)
			}
		} else if parent == nil || !hasAttr(parent.Attributes(), escrowconv.WalletStep) {
			t.Errorf("%s snapshot span under %v, want a wallet step", point, parent)
		}
		if point == escrowconv.PointPreRound1 && a[escrowconv.WalletIsMultisig].AsBool() {
			t.Errorf("PRE_ROUND1 snapshot says multisig")
		}
		if a[escrowconv.WalletFilePerms].AsString() != "rw-" || !a[escrowconv.WalletFileExists].AsBool() {
			t.Errorf("%s snapshot file: %v", point, e.Attributes)
		}
		if a[escrowconv.WalletRPCPort].AsInt64() != int64(ports[a[escrowconv.WalletRole].AsString()]) {
			t.Errorf("%s snapshot port %v", point, a[escrowconv.WalletRPCPort])
		}
		// Collection start = the span's start; the event is stamped when
		// the values were read, the span's end.
		if ts := a[escrowconv.SnapshotTimeMs].AsInt64(); ts != on[i].StartTime().UnixMilli() || ts < before ||
			!e.Time.Equal(on[i].EndTime()) || e.Time.Before(on[i].StartTime()) ||
			e.Time.Sub(on[i].StartTime()).Milliseconds() != a[escrowconv.SnapshotDurationMs].AsInt64() {
			t.Errorf("snapshot time %d, span %v..%v, event time %v", ts, on[i].StartTime(), on[i].EndTime(), e.Time)
		}
		if !hasAttr(e.Attributes, escrowconv.SnapshotDurationMs) || hasAttr(e.Attributes, escrowconv.SnapshotError) {
			t.Errorf("snapshot %v", e.Attributes)
		}
	}
	if pol, _ := events(spans, escrowconv.EventCachePollution); len(pol) != 0 {
		t.Errorf("%d pollution events on a clean dedicated setup", len(pol))
	}
	if errs, _ := events(spans, escrowconv.EventError); len(errs) != 0 {
		t.Errorf("escrow.error on success")
	}
	assertNoSecrets(t, spans, testPassword)
}

func TestSetupMultisigFailsInRound2(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-r2", tracker)
	fault := fe.servers[1].InjectFault(fakewalletrpc.Fault{Method: "exchange_multisig_keys", Times: 1,
		Code: fakewalletrpc.CodeBadMultisigInfo, Message: "Invalid multisig info"})

	_, err := otelmsig.SetupMultisig(testCtx(t, 30*time.Second), "esc-r2", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	var se *otelmsig.StepError
	if !errors.As(err, &se) || se.Round != 2 || se.Operation != "exchange_multisig_keys" ||
		se.Role != "vendor" || se.WalletID != "wallet-esc-r2-vendor" || se.EscrowID != "esc-r2" {
		t.Fatalf("error %#v", err)
	}
	if code, ok := walletrpc.ErrorCode(err); !ok || code != fakewalletrpc.CodeBadMultisigInfo {
		t.Fatalf("error does not wrap the JSON-RPC error: %v", err)
	}
	if fault.Fired() != 1 {
		t.Fatal("fault did not fire")
	}
	spans := sr.Ended()
	const want = `escrow.setup Error
  multisig.round 1 make_multisig
    arbiter make_multisig
      arbiter SNAPSHOT_POST_MAKE_MULTISIG
      make_multisig arbiter
    arbiter prepare_multisig
      arbiter SNAPSHOT_PRE_ROUND1
      prepare_multisig arbiter
    buyer make_multisig
      buyer SNAPSHOT_POST_MAKE_MULTISIG
      make_multisig buyer
    buyer prepare_multisig
      buyer SNAPSHOT_PRE_ROUND1
      prepare_multisig buyer
    vendor make_multisig
      make_multisig vendor
      vendor SNAPSHOT_POST_MAKE_MULTISIG
    vendor prepare_multisig
      prepare_multisig vendor
      vendor SNAPSHOT_PRE_ROUND1
  multisig.round 2 exchange_multisig_keys Error
    arbiter exchange_multisig_keys
      arbiter SNAPSHOT_POST_EXPORT_MULTISIG
      arbiter SNAPSHOT_PRE_ROUND2
      exchange_multisig_keys arbiter
    buyer exchange_multisig_keys
      buyer SNAPSHOT_POST_EXPORT_MULTISIG
      buyer SNAPSHOT_PRE_ROUND2
      exchange_multisig_keys buyer
    vendor exchange_multisig_keys Error
      exchange_multisig_keys vendor Error
      vendor SNAPSHOT_PRE_ROUND2
`
	if got := spanTree(spans); got != want {
		t.Fatalf("span tree:\n%s\nwant:\n%s", got, want)
	}
	for _, s := range spans {
		if s.Status().Code != codes.Error {
			continue
		}
		if !hasException(s) {
			t.Errorf("%s has status Error but no exception event", s.Name())
		}
		if s.SpanKind() == trace.SpanKindClient {
			a := attrMap(s.Attributes())
			if a[semconv.RPCResponseStatusCodeKey].AsString() != "-30" || a[semconv.ErrorTypeKey].AsString() != "-30" {
				t.Errorf("failed RPC span attributes %v", s.Attributes())
			}
		}
	}
	checkReadsUnderSnapshots(t, spans)
	root := rootsNamed(spans, escrowconv.SpanEscrow)[0]
	ra := attrMap(root.Attributes())
	if ra[escrowconv.EscrowResult].AsString() != escrowconv.ResultFailed || ra[escrowconv.EscrowRoundsCompleted].AsInt64() != 1 ||
		ra[escrowconv.EscrowRounds].AsInt64() != 2 || !hasAttr(root.Attributes(), escrowconv.EscrowPollutionCount) ||
		hasAttr(root.Attributes(), escrowconv.EscrowAddressHash) {
		t.Errorf("root outcome %v", root.Attributes())
	}
	errs, on := events(spans, escrowconv.EventError)
	if len(errs) != 1 || on[0].Name() != escrowconv.SpanEscrow {
		t.Fatalf("%d escrow.error events", len(errs))
	}
	a := attrMap(errs[0].Attributes)
	if a[escrowconv.ErrorRound].AsInt64() != 2 || a[escrowconv.ErrorOperation].AsString() != "exchange_multisig_keys" ||
		a[escrowconv.WalletID].AsString() != "wallet-esc-r2-vendor" || a[escrowconv.EscrowID].AsString() != "esc-r2" ||
		a[escrowconv.WalletRole].AsString() != "vendor" || a[escrowconv.ErrorMessage].AsString() != err.Error() {
		t.Errorf("escrow.error %v", errs[0].Attributes)
	}
	snaps, _ := events(spans, escrowconv.EventSnapshot)
	got := countPoints(snaps)
	// The two wallets whose exchange went through get their post-round
	// snapshot; the vendor's failed, so it gets none.
	if len(snaps) != 11 || got[escrowconv.PointPreRound1] != 3 || got[escrowconv.PointPostMakeMultisig] != 3 ||
		got[escrowconv.PointPreRound2] != 3 || got[escrowconv.PointPostExportMultisig] != 2 {
		t.Errorf("snapshots %v", got)
	}
	assertNoSecrets(t, spans, testPassword)
}

func hasException(s sdktrace.ReadOnlySpan) bool {
	for _, e := range s.Events() {
		if e.Name == semconv.ExceptionEventName {
			return true
		}
	}
	return false
}

func TestSetupMultisigTransportFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   fakewalletrpc.Fault
		errType string
		round   int
	}{
		{"timeout in round 1", fakewalletrpc.Fault{Method: "make_multisig", Hang: true}, "timeout", 1},
		{"http 500 in round 3", fakewalletrpc.Fault{Method: "exchange_multisig_keys", Skip: 1, HTTPStatus: 500}, "http", 3},
		{"malformed reply", fakewalletrpc.Fault{Method: "prepare_multisig", Body: `{"result":{"multisig_info":`}, "malformed", 1},
		{"dropped connection", fakewalletrpc.Fault{Method: "exchange_multisig_keys", DropConnection: true}, "connect", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr, tp := recorder(t)
			tracker := otelmsig.NewTracker()
			fe := newFakeEscrow(t, "esc-tx", tracker, walletrpc.WithTimeout(300*time.Millisecond))
			fe.servers[2].InjectFault(tc.fault)
			start := time.Now()
			_, err := otelmsig.SetupMultisig(testCtx(t, 30*time.Second), "esc-tx", fe.wallets,
				otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
			var se *otelmsig.StepError
			var te *walletrpc.TransportError
			if !errors.As(err, &se) || se.Round != tc.round || se.Role != "arbiter" || !errors.As(err, &te) || string(te.Kind) != tc.errType {
				t.Fatalf("error %v", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("failure took %v", d)
			}
			var failed int
			for _, s := range sr.Ended() {
				if s.SpanKind() == trace.SpanKindClient && s.Status().Code == codes.Error {
					failed++
					a := attrMap(s.Attributes())
					if a[semconv.ErrorTypeKey].AsString() != tc.errType || hasAttr(s.Attributes(), semconv.RPCResponseStatusCodeKey) {
						t.Errorf("failed span %s: %v", s.Name(), s.Attributes())
					}
				}
			}
			if failed != 1 {
				t.Errorf("%d failed RPC spans, want 1", failed)
			}
			if errs, _ := events(sr.Ended(), escrowconv.EventError); len(errs) != 1 {
				t.Errorf("%d escrow.error events", len(errs))
			}
			assertNoSecrets(t, sr.Ended(), testPassword)
		})
	}
}

func TestSetupMultisigBadInput(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-bad", tracker)
	ctx := testCtx(t, 10*time.Second)
	noClient := append([]otelmsig.Wallet(nil), fe.wallets...)
	noClient[1].Client = nil
	dup := append([]otelmsig.Wallet(nil), fe.wallets...)
	dup[2].ID = dup[0].ID
	noFile := append([]otelmsig.Wallet(nil), fe.wallets...)
	noFile[0].Filename = ""
	for _, tc := range []struct {
		name    string
		id      string
		wallets []otelmsig.Wallet
		opts    []otelmsig.Option
	}{
		{"empty id", "", fe.wallets, nil},
		{"path in id", "../../etc/passwd", fe.wallets, nil},
		{"control char in id", "a\nb", fe.wallets, nil},
		{"long id", string(make([]byte, 200)), fe.wallets, nil},
		{"one wallet", "x", fe.wallets[:1], nil},
		{"threshold 4 of 3", "x", fe.wallets, []otelmsig.Option{otelmsig.WithThreshold(4)}},
		{"threshold 1", "x", fe.wallets, []otelmsig.Option{otelmsig.WithThreshold(1)}},
		{"no client", "x", noClient, nil},
		{"duplicate wallet id", "x", dup, nil},
		{"shared without filename", "x", noFile, []otelmsig.Option{otelmsig.WithSharedEndpoints()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]otelmsig.Option{otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)}, tc.opts...)
			if _, err := otelmsig.SetupMultisig(ctx, tc.id, tc.wallets, opts...); err == nil {
				t.Fatal("no error")
			}
		})
	}
	for _, s := range fe.servers {
		if s.TotalCalls() != 0 {
			t.Errorf("bad input made %d calls: %v", s.TotalCalls(), s.CallLog())
		}
	}
	if len(sr.Ended()) != 0 {
		t.Errorf("bad input made %d spans", len(sr.Ended()))
	}
}

func TestSetupMultisigOtherThresholds(t *testing.T) {
	for _, tc := range []struct{ m, n, rounds int }{{2, 2, 2}, {3, 3, 2}, {2, 4, 4}, {3, 4, 3}} {
		t.Run(strconv.Itoa(tc.m)+"of"+strconv.Itoa(tc.n), func(t *testing.T) {
			sr, tp := recorder(t)
			tracker := otelmsig.NewTracker()
			var wallets []otelmsig.Wallet
			for i := range tc.n {
				name := "w" + strconv.Itoa(i)
				s := fakewalletrpc.New(fakewalletrpc.WithWallet(name, ""))
				t.Cleanup(s.Close)
				_ = s.OpenWallet(name)
				c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
				wallets = append(wallets, otelmsig.Wallet{Role: "p" + strconv.Itoa(i), ID: name, Filename: name, Client: c})
			}
			addr, err := otelmsig.SetupMultisig(testCtx(t, 30*time.Second), "esc-mn", wallets,
				otelmsig.WithThreshold(tc.m), otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
			if err != nil || addr == "" {
				t.Fatalf("%q %v", addr, err)
			}
			if r := len(rootsNamed(sr.Ended(), escrowconv.SpanRound)); r != tc.rounds {
				t.Errorf("%d rounds, want %d", r, tc.rounds)
			}
			root := rootsNamed(sr.Ended(), escrowconv.SpanEscrow)[0]
			a := attrMap(root.Attributes())
			if a[escrowconv.EscrowThreshold].AsInt64() != int64(tc.m) || a[escrowconv.EscrowParticipants].AsInt64() != int64(tc.n) {
				t.Errorf("root %v", root.Attributes())
			}
		})
	}
}
