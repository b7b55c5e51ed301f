package otelmsig_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

func TestMiddlewareSpan(t *testing.T) {
	sr, tp := recorder(t)
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("w1", "pw"))
	defer s.Close()
	_ = s.OpenWallet("w1")
	c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(otelmsig.NewTracker())))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t, 10*time.Second)
	parentCtx, parent := tp.Tracer("test").Start(ctx, "parent")
	wctx := otelmsig.ContextWithWallet(parentCtx, otelmsig.Wallet{Role: "buyer", ID: "b-1", Filename: "w1", Password: "pw"})
	if _, err := c.GetBalance(wctx); err != nil {
		t.Fatal(err)
	}
	// Params and result hold secrets: never recorded.
	r, err := c.PrepareMultisig(wctx, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
	if err != nil || !strings.HasPrefix(r.MultisigInfo, "Multisig") {
		t.Fatal(r, err)
	}
	if err := c.Call(wctx, "nope", map[string]string{"password": "pw-secret-param"}, nil); err == nil {
		t.Fatal("unknown method succeeded")
	}
	parent.End()

	spans := sr.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	bal := spans[0]
	if bal.Name() != "get_balance" || bal.SpanKind() != trace.SpanKindClient || bal.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("span %s kind %v parent %v", bal.Name(), bal.SpanKind(), bal.Parent())
	}
	a := attrMap(bal.Attributes())
	for k, v := range map[string]string{
		"rpc.system.name": "jsonrpc", "rpc.method": "get_balance", "server.address": "127.0.0.1",
		"jsonrpc.protocol.version": "2.0", "wallet.role": "buyer", "wallet.id": "b-1",
	} {
		if got := attrStr(bal.Attributes(), attrKey(k)); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if a[semconv.ServerPortKey].AsInt64() != int64(s.Port()) || hasAttr(bal.Attributes(), escrowconv.EscrowID) ||
		hasAttr(bal.Attributes(), escrowconv.AttrSnapshotCall) {
		t.Errorf("attributes %v", bal.Attributes())
	}
	failed := spans[2]
	fa := attrMap(failed.Attributes())
	if failed.Status().Code != codes.Error || fa[semconv.RPCResponseStatusCodeKey].AsString() != "-32601" ||
		fa[semconv.ErrorTypeKey].AsString() != "-32601" || !hasException(failed) {
		t.Errorf("failed span: %v %v", failed.Status(), failed.Attributes())
	}
	assertNoSecrets(t, spans, "pw-secret-param", "\"pw\"")
}

func attrKey(k string) attribute.Key { return attribute.Key(k) }

// Error messages that quote multisig key material are recorded redacted.
func TestMiddlewareRedactsKeyMaterialInErrors(t *testing.T) {
	sr, tp := recorder(t)
	s := fakewalletrpc.New()
	defer s.Close()
	secret := "MultisigxV2R1" + strings.Repeat("Ab3", 30)
	s.InjectFault(fakewalletrpc.Fault{Code: -30, Message: "bad info: " + secret + " rejected"})
	c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp)))
	err := c.Call(testCtx(t, 5*time.Second), "exchange_multisig_keys", nil, nil)
	if err == nil || !strings.Contains(err.Error(), secret) {
		t.Fatalf("the caller's error is the original: %v", err)
	}
	spans := sr.Ended()
	assertNoSecrets(t, spans)
	if d := spans[0].Status().Description; !strings.Contains(d, "[redacted] rejected") {
		t.Errorf("status %q", d)
	}
}

func TestSecretScanCatchesLeaks(t *testing.T) {
	sr, tp := recorder(t)
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	// The shape of a real round-1 info: the prefix and a long base58 run.
	info := "MultisigxV2R1" + strings.Repeat("9fKq3Z", 20)
	s.AddEvent("e", trace.WithAttributes(escrowconv.WalletAddress.String("got "+info)))
	s.End()
	ft := &fakeT{}
	assertNoSecrets(ft, sr.Ended())
	if ft.errors == 0 {
		t.Fatal("assertNoSecrets missed a multisig string in an event")
	}

	// wallet-rpc's own words about multisig (its -48 text) and our hint are
	// not key material.
	sr2, tp2 := recorder(t)
	_, s2 := tp2.Tracer("t").Start(context.Background(), "x")
	s2.SetStatus(codes.Error, "walletrpc: json-rpc error -48: This wallet is multisig, and multisig is disabled. "+
		"Multisig is an experimental feature and may have bugs; SetupMultisig switches it on unless WithoutEnablingMultisig")
	s2.End()
	ft = &fakeT{}
	assertNoSecrets(ft, sr2.Ended())
	if ft.errors != 0 {
		t.Fatal("assertNoSecrets took wallet-rpc's own -48 message for key material")
	}
}

type fakeT struct {
	testing.TB
	errors int
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.errors++ }
func (f *fakeT) Fatal(...any)          { f.errors++ }

// With no SDK installed the middleware records nothing and the call
// works; the global provider is looked up at call time.
func TestMiddlewareGlobalProviderAtCallTime(t *testing.T) {
	s := fakewalletrpc.New()
	defer s.Close()
	c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing())
	ctx := testCtx(t, 5*time.Second)
	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatal(err)
	}
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sr.Ended()) != 1 || sr.Ended()[0].Name() != "get_version" {
		t.Fatalf("after installing a provider: %d spans", len(sr.Ended()))
	}
	// A span in the context wins over the global provider.
	sr2, tp2 := recorder(t)
	pctx, p := tp2.Tracer("t").Start(ctx, "p")
	if _, err := c.GetVersion(pctx); err != nil {
		t.Fatal(err)
	}
	p.End()
	if len(sr2.Ended()) != 2 || len(sr.Ended()) != 1 {
		t.Fatalf("parent's provider: %d spans there, %d in the global one", len(sr2.Ended()), len(sr.Ended()))
	}
}

func TestTrackerFollowsOpenWallet(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("a", ""), fakewalletrpc.WithWallet("b", ""))
	defer s.Close()
	mk := func() *walletrpc.Client {
		c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := mk(), mk()
	ctx := testCtx(t, 10*time.Second)
	wa := otelmsig.Wallet{Role: "buyer", ID: "wa", Filename: "a"}
	wb := otelmsig.Wallet{Role: "buyer", ID: "wb", Filename: "b"}
	ctx1, e1 := otelmsig.StartEscrow(ctx, "E1", otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	ctx2, e2 := otelmsig.StartEscrow(ctx, "E2", otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	ctx1 = otelmsig.ContextWithWallet(ctx1, wa)
	ctx2 = otelmsig.ContextWithWallet(ctx2, wb)

	if _, ok := tracker.Open(s.Endpoint()); ok {
		t.Fatal("tracker knows something before any call")
	}
	if err := c1.OpenWallet(ctx1, walletrpc.OpenWalletParams{Filename: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.GetBalance(ctx1); err != nil { // a is open: fine
		t.Fatal(err)
	}
	// Call users passing a map are seen too.
	if err := c2.Call(ctx2, "open_wallet", map[string]any{"filename": "b"}, nil); err != nil {
		t.Fatal(err)
	}
	if ow, _ := tracker.Open(s.Endpoint()); ow.Filename != "b" || ow.EscrowID != "E2" || !ow.Opener.IsValid() {
		t.Fatalf("tracker: %+v", ow)
	}
	if _, err := c1.GetBalance(ctx1); err != nil { // b is open: pollution
		t.Fatal(err)
	}
	// A failed open leaves b open.
	if err := c1.OpenWallet(ctx1, walletrpc.OpenWalletParams{Filename: "a", Password: "wrong"}); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := c1.IsMultisig(ctx1); err != nil { // still b: pollution again
		t.Fatal(err)
	}
	if err := c2.CloseWallet(ctx2); err != nil {
		t.Fatal(err)
	}
	if ow, ok := tracker.Open(s.Endpoint()); !ok || ow.Filename != "" {
		t.Fatalf("after close: %+v %v", ow, ok)
	}
	// create_wallet and restore_deterministic_wallet open what they make,
	// whether typed methods or Call with a params value made them.
	if err := c1.Call(ctx1, "create_wallet", walletrpc.CreateWalletParams{Filename: "c", Language: "English"}, nil); err != nil {
		t.Fatal(err)
	}
	if ow, _ := tracker.Open(s.Endpoint()); ow.Filename != "c" || ow.EscrowID != "E1" {
		t.Fatalf("after create_wallet: %+v", ow)
	}
	if _, err := c2.RestoreDeterministicWallet(ctx2, walletrpc.RestoreDeterministicWalletParams{Filename: "r", Seed: "s e e d"}); err != nil {
		t.Fatal(err)
	}
	if ow, _ := tracker.Open(s.Endpoint()); ow.Filename != "r" || ow.EscrowID != "E2" {
		t.Fatalf("after restore: %+v", ow)
	}
	// An existing name is refused: r stays open.
	if err := c1.CreateWallet(ctx1, walletrpc.CreateWalletParams{Filename: "a"}); err == nil {
		t.Fatal("create over an existing wallet succeeded")
	}
	if ow, _ := tracker.Open(s.Endpoint()); ow.Filename != "r" {
		t.Fatalf("after a refused create: %+v", ow)
	}
	e1.End(nil)
	e2.End(nil)

	pol, on := events(sr.Ended(), escrowconv.EventCachePollution)
	if len(pol) != 2 || on[0].Name() != "get_balance" || on[1].Name() != "is_multisig" {
		t.Fatalf("%d pollution events", len(pol))
	}
	a := attrMap(pol[0].Attributes)
	for k, v := range map[string]string{
		string(escrowconv.PollutionReason):         escrowconv.ReasonWrongWalletOpen,
		string(escrowconv.PollutionExpectedWallet): "a",
		string(escrowconv.PollutionActualWallet):   "b",
		string(escrowconv.PollutionEndpoint):       s.Endpoint(),
		string(escrowconv.PollutionOtherEscrowID):  "E2",
		string(escrowconv.WalletRole):              "buyer",
		string(escrowconv.WalletID):                "wa",
		string(escrowconv.EscrowID):                "E1",
	} {
		if got := a[attrKey(k)].Emit(); got != v {
			t.Errorf("pollution %s = %q, want %q", k, got, v)
		}
	}
	if a[escrowconv.WalletRPCPort].AsInt64() != int64(s.Port()) {
		t.Errorf("pollution port %v", a[escrowconv.WalletRPCPort])
	}
	if got := e1.Pollution(); len(got) != 2 || got[0].OtherEscrowID != "E2" || got[0].Endpoint != s.Endpoint() {
		t.Errorf("Escrow.Pollution() = %+v", got)
	}
	if len(e2.Pollution()) != 0 {
		t.Errorf("E2 saw pollution: %+v", e2.Pollution())
	}
}

// A transport error on open_wallet makes the tracker forget the endpoint:
// the wallet may or may not have been opened.
func TestTrackerForgetsOnTransportError(t *testing.T) {
	tracker := otelmsig.NewTracker()
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("a", ""))
	defer s.Close()
	c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
	ctx := testCtx(t, 10*time.Second)
	if err := c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := tracker.Open(s.Endpoint()); !ok {
		t.Fatal("open not tracked without an SDK installed")
	}
	s.InjectFault(fakewalletrpc.Fault{Method: "open_wallet", HTTPStatus: 502})
	if err := c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "a"}); err == nil {
		t.Fatal("no error")
	}
	if ow, ok := tracker.Open(s.Endpoint()); ok {
		t.Fatalf("tracker still claims %+v", ow)
	}
}

func TestSnapshotPollutionBeforeRound1(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-first", tracker)
	ctx := testCtx(t, 30*time.Second)
	opts := []otelmsig.Option{otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)}
	if _, err := otelmsig.SetupMultisig(ctx, "esc-first", fe.wallets, opts...); err != nil {
		t.Fatal(err)
	}
	// Reusing the wallets: they are multisig before round 1, and
	// prepare_multisig fails.
	sr2, tp2 := recorder(t)
	_, err := otelmsig.SetupMultisig(ctx, "esc-again", fe.wallets, otelmsig.WithTracerProvider(tp2), otelmsig.WithTracker(tracker))
	if code, _ := walletrpc.ErrorCode(err); code != fakewalletrpc.CodeAlreadyMultisig {
		t.Fatalf("second setup on the same wallets: %v", err)
	}
	pol, _ := events(sr2.Ended(), escrowconv.EventCachePollution)
	n := 0
	for _, e := range pol {
		if attrStr(e.Attributes, escrowconv.PollutionReason) == escrowconv.ReasonMultisigTooEarly {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d multisig_too_early events, want 3", n)
	}
	for _, sp := range sr2.Ended() {
		a := attrMap(sp.Attributes())
		polluted := len(sp.Events()) > 0 && slices.ContainsFunc(sp.Events(), func(e sdktrace.Event) bool { return e.Name == escrowconv.EventCachePollution })
		if polluted != a[escrowconv.CachePollution].AsBool() || polluted && (sp.Status().Code != codes.Error ||
			!strings.HasPrefix(sp.Status().Description, "cache pollution: ") || !hasAttr(sp.Attributes(), escrowconv.SnapshotPoint)) {
			t.Errorf("span %s: polluted %v, attributes %v, status %v", sp.Name(), polluted, a, sp.Status())
		}
		// 3 multisig_too_early, and the three wallets, now multisig, show
		// one shared address: 2 duplicate_address.
		if sp.Name() == escrowconv.SpanEscrow && (a[escrowconv.EscrowPollutionCount].AsInt64() != 5 || a[escrowconv.EscrowResult].AsString() != escrowconv.ResultFailed) {
			t.Errorf("root outcome %v", a)
		}
	}
	_ = sr

	// Two roles on one wallet: duplicate address.
	sr3, tp3 := recorder(t)
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("one", ""))
	defer s.Close()
	_ = s.OpenWallet("one")
	c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracker(tracker)))
	ctx3, esc := otelmsig.StartEscrow(ctx, "esc-dup", otelmsig.WithTracerProvider(tp3), otelmsig.WithTracker(tracker))
	snaps := esc.Snapshot(ctx3, escrowconv.PointPreRound1,
		otelmsig.Wallet{Role: "buyer", ID: "b", Client: c}, otelmsig.Wallet{Role: "vendor", ID: "v", Client: c})
	esc.End(nil)
	if len(snaps) != 2 || snaps[0].Address == "" || snaps[0].Address != snaps[1].Address {
		t.Fatalf("snapshots %+v", snaps)
	}
	pol, _ = events(sr3.Ended(), escrowconv.EventCachePollution)
	if len(pol) != 1 || attrStr(pol[0].Attributes, escrowconv.PollutionReason) != escrowconv.ReasonDuplicateAddress ||
		attrStr(pol[0].Attributes, escrowconv.PollutionActualWallet) != "b" || attrStr(pol[0].Attributes, escrowconv.WalletID) != "v" {
		t.Fatalf("pollution %v", pol)
	}
}

// A JSON-RPC error is an answer: the snapshot reads on. A transport error
// stops it (the next read would fail the same way, or wait as long).
func TestSnapshotReadsOnAfterRPCError(t *testing.T) {
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("w", ""))
	defer s.Close()
	_ = s.OpenWallet("w")
	s.InjectFault(fakewalletrpc.Fault{Method: "get_balance", Code: -99, Message: "boom"})
	_, tp := recorder(t)
	c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing())
	ctx, esc := otelmsig.StartEscrow(testCtx(t, 10*time.Second), "esc-snap-rpc", otelmsig.WithTracerProvider(tp))
	sn := esc.Snapshot(ctx, escrowconv.PointPreRound2, otelmsig.Wallet{Role: "buyer", ID: "b", Client: c})[0]
	esc.End(nil)
	if sn.Err == nil || !strings.Contains(sn.Err.Error(), "boom") || sn.Multisig == nil || sn.Balance != nil || sn.Address == "" {
		t.Fatalf("snapshot %+v", sn)
	}
	if got := strings.Join(s.CallLog(), " "); got != "is_multisig get_balance get_address" {
		t.Fatalf("calls %q", got)
	}
}

func TestSnapshotPartialFailure(t *testing.T) {
	sr, tp := recorder(t)
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("w", ""))
	defer s.Close()
	_ = s.OpenWallet("w")
	s.InjectFault(fakewalletrpc.Fault{Method: "get_balance", HTTPStatus: 503})
	c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing())
	ctx, esc := otelmsig.StartEscrow(testCtx(t, 10*time.Second), "esc-snap", otelmsig.WithTracerProvider(tp))
	snaps := esc.Snapshot(ctx, escrowconv.PointPreRound2, otelmsig.Wallet{Role: "buyer", ID: "b", Client: c, Path: "/nonexistent/w"})
	esc.End(nil)
	sn := snaps[0]
	// The reads stop at the transport error: no get_address.
	if sn.Err == nil || !strings.Contains(sn.Err.Error(), "get_balance") || !strings.Contains(sn.Err.Error(), "later reads skipped") ||
		sn.Multisig == nil || sn.Address != "" || sn.Balance != nil || sn.FileExists {
		t.Fatalf("snapshot %+v", sn)
	}
	if n := s.Calls("get_address"); n != 0 {
		t.Errorf("get_address called %d times after a transport error", n)
	}
	evs, on := events(sr.Ended(), escrowconv.EventSnapshot)
	if len(evs) != 1 || on[0].Name() != "buyer "+escrowconv.PointPreRound2 ||
		byID(sr.Ended(), on[0].Parent().SpanID()).Name() != escrowconv.SpanEscrow {
		t.Fatalf("%d snapshot events, on %v", len(evs), on)
	}
	a := evs[0].Attributes
	if !strings.Contains(attrStr(a, escrowconv.SnapshotError), "HTTP 503") || hasAttr(a, escrowconv.WalletAddress) ||
		hasAttr(a, escrowconv.WalletBalance) || hasAttr(a, escrowconv.WalletFilePerms) || attrStr(a, escrowconv.WalletFileExists) != "false" {
		t.Errorf("event %v", a)
	}
	// The escrow did not fail because of it.
	root := rootsNamed(sr.Ended(), escrowconv.SpanEscrow)[0]
	if root.Status().Code == codes.Error {
		t.Error("a failed snapshot failed the escrow")
	}
	// Snapshot calls are marked.
	for _, s := range sr.Ended() {
		if s.SpanKind() == trace.SpanKindClient && !isSnapshotCall(s) {
			t.Errorf("snapshot call %s not marked", s.Name())
		}
	}
}

// The manual API, in the order an orchestrator would call it.
func TestManualAPI(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-man", tracker)
	ctx := testCtx(t, 10*time.Second)
	ctx, esc := otelmsig.StartEscrow(ctx, "esc-man", otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	if otelmsig.EscrowFromContext(ctx) != esc || !esc.Recording() || !strings.HasPrefix(esc.TraceID(), "esc-man-") {
		t.Fatal("escrow context")
	}
	rctx, round := esc.StartRound(ctx, 1, "make_multisig")
	esc.Snapshot(rctx, escrowconv.PointPreRound1, fe.wallets...)
	w := fe.wallets[0]
	_, err := w.Client.ExchangeMultisigKeys(otelmsig.ContextWithWallet(rctx, w), walletrpc.ExchangeMultisigKeysParams{})
	if err == nil {
		t.Fatal("exchange before make_multisig succeeded")
	}
	esc.Fail(rctx, err, otelmsig.ErrorContext{Round: 1, Operation: "exchange_multisig_keys", Role: w.Role, WalletID: w.ID})
	esc.Fail(rctx, err, otelmsig.ErrorContext{Round: 1, Operation: "again"}) // ignored
	round.End(err)
	round.End(nil) // ignored
	esc.End(err)
	esc.End(nil) // ignored

	spans := sr.Ended()
	// root, round, exchange_multisig_keys, 3 snapshot spans, their 9 reads
	if len(spans) != 2+1+3+9 {
		t.Fatalf("%d spans", len(spans))
	}
	checkReadsUnderSnapshots(t, spans)
	ra := attrMap(rootsNamed(spans, escrowconv.SpanEscrow)[0].Attributes())
	if ra[escrowconv.EscrowResult].AsString() != escrowconv.ResultFailed || ra[escrowconv.EscrowRoundsCompleted].AsInt64() != 0 {
		t.Errorf("root outcome %v", ra)
	}
	errs, _ := events(spans, escrowconv.EventError)
	if len(errs) != 1 || attrStr(errs[0].Attributes, escrowconv.ErrorOperation) != "exchange_multisig_keys" {
		t.Fatalf("escrow.error events: %v", errs)
	}
	r := rootsNamed(spans, escrowconv.SpanRound)[0]
	exc := 0
	for _, e := range r.Events() {
		if e.Name == semconv.ExceptionEventName {
			exc++
		}
	}
	if r.Status().Code != codes.Error || exc != 1 {
		t.Errorf("round: status %v, %d exception events (want 1)", r.Status(), exc)
	}
}

// Snapshots go only where they are recorded: with a non-recording span
// (no SDK, instrumentation off, not sampled) they make no calls.
func TestSnapshotMakesNoCallsWhenNotRecording(t *testing.T) {
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "esc-nr", tracker)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	defer tp.Shutdown(context.Background())
	ctx, esc := otelmsig.StartEscrow(testCtx(t, 5*time.Second), "esc-nr", otelmsig.WithTracerProvider(tp))
	if got := esc.Snapshot(ctx, escrowconv.PointFinal, fe.wallets...); got != nil {
		t.Fatalf("snapshot returned %v", got)
	}
	esc.End(nil)
	for _, s := range fe.servers {
		if s.TotalCalls() != 0 {
			t.Fatalf("calls: %v", s.CallLog())
		}
	}
}

// An open_wallet of another client still in flight when a call is sent
// counts: wallet-rpc serves requests in order, so the call will act on it.
func TestPollutionFromOpenInFlight(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("a", ""), fakewalletrpc.WithWallet("b", ""),
		fakewalletrpc.WithLatency("open_wallet", 300*time.Millisecond))
	defer s.Close()
	c, _ := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)))
	ctx := testCtx(t, 10*time.Second)
	ctxA, escA := otelmsig.StartEscrow(ctx, "EA", otelmsig.WithTracerProvider(tp))
	ctxB, escB := otelmsig.StartEscrow(ctx, "EB", otelmsig.WithTracerProvider(tp))
	ctxA = otelmsig.ContextWithWallet(ctxA, otelmsig.Wallet{Role: "buyer", ID: "wa", Filename: "a"})
	if err := c.OpenWallet(ctxA, walletrpc.OpenWalletParams{Filename: "a"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- c.OpenWallet(ctxB, walletrpc.OpenWalletParams{Filename: "b"}) }()
	time.Sleep(100 * time.Millisecond) // b's open is at the server, taking 300ms
	if ow, _ := tracker.Open(s.Endpoint()); ow.Filename != "a" {
		t.Fatalf("open wallet %+v before b's open completed", ow)
	}
	addr, err := c.GetAddress(ctxA)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Address("b"); addr.Address != b {
		t.Fatal("the call did not act on b: the premise of the test is wrong")
	}
	escA.End(nil)
	escB.End(nil)
	pol, on := events(sr.Ended(), escrowconv.EventCachePollution)
	if len(pol) != 1 || on[0].Name() != "get_address" || attrStr(pol[0].Attributes, escrowconv.PollutionActualWallet) != "b" ||
		attrStr(pol[0].Attributes, escrowconv.PollutionOtherEscrowID) != "EB" {
		t.Fatalf("pollution events %v", pol)
	}
}
