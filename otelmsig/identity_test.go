package otelmsig_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
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
)

// intrusion is a walletrpc middleware for the escrow's buyer client that
// runs do once, right before (or, with after, right after) the first call
// of method goes out: another process acting on the shared wallet-rpc at
// the worst moment.
type intrusion struct {
	method string
	after  bool
	do     func() error
	once   sync.Once
	err    error
	fired  bool
}

func (in *intrusion) middleware(next walletrpc.Invoker) walletrpc.Invoker {
	return func(ctx context.Context, req *walletrpc.Request) error {
		if req.Method != in.method {
			return next(ctx, req)
		}
		if !in.after {
			in.once.Do(func() { in.fired, in.err = true, in.do() })
			return next(ctx, req)
		}
		err := next(ctx, req)
		in.once.Do(func() { in.fired, in.err = true, in.do() })
		return err
	}
}

func (in *intrusion) check(t *testing.T) {
	t.Helper()
	if !in.fired || in.err != nil {
		t.Fatalf("the other process's %s: fired %v, %v", in.method, in.fired, in.err)
	}
}

// crossProcess is escrow wallets on three fake wallet-rpcs, one per role,
// used as shared endpoints. The buyer's also holds the wallets named in
// extra, and plain is a client of it that is not instrumented and shares
// no Tracker: another process. The escrow's buyer client runs hook
// (inside the tracing, so right before the request is sent).
type crossProcess struct {
	servers []*fakewalletrpc.Server
	wallets []otelmsig.Wallet
	plain   *walletrpc.Client
}

func newCrossProcess(t *testing.T, escrowID string, tracker *otelmsig.Tracker, hook walletrpc.Middleware, extra ...string) *crossProcess {
	t.Helper()
	cp := &crossProcess{}
	for i, role := range roles {
		name := escrowID + "-" + role
		opts := []fakewalletrpc.Option{fakewalletrpc.WithWallet(name, testPassword)}
		copts := []walletrpc.Option{otelmsig.WithTracing(otelmsig.WithTracker(tracker))}
		if i == 0 {
			for _, x := range extra {
				opts = append(opts, fakewalletrpc.WithWallet(x, testPassword))
			}
			copts = append(copts, walletrpc.WithMiddleware(hook))
		}
		s := fakewalletrpc.New(opts...)
		t.Cleanup(s.Close)
		c, err := walletrpc.New(s.URL(), copts...)
		if err != nil {
			t.Fatal(err)
		}
		cp.servers = append(cp.servers, s)
		cp.wallets = append(cp.wallets, otelmsig.Wallet{
			Role: role, ID: "wid-" + name, Filename: name, Password: testPassword, Client: c,
		})
	}
	plain, err := walletrpc.New(cp.servers[0].URL())
	if err != nil {
		t.Fatal(err)
	}
	cp.plain = plain
	return cp
}

func (cp *crossProcess) open(name string) func() error {
	return func() error {
		return cp.plain.OpenWallet(context.Background(), walletrpc.OpenWalletParams{Filename: name, Password: testPassword})
	}
}

// recorderWithFiles records spans and writes the legacy files into a
// temporary directory, which it returns.
func recorderWithFiles(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider, string) {
	t.Helper()
	dir := t.TempDir()
	exp, err := jsonfile.New(jsonfile.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return sr, tp, dir
}

// legacyPollution returns the CACHE_POLLUTION_DETECTED events of an
// escrow's legacy file, which must be valid.
func legacyPollution(t *testing.T, tp *sdktrace.TracerProvider, dir, escrowID string, failed bool) (evs []escrowjson.Event, details []*escrowjson.CachePollution) {
	t.Helper()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, escrowjson.FileName(escrowID, failed))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := escrowjson.Validate(data); err != nil {
		t.Fatal(err)
	}
	all, err := escrowjson.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range all {
		if ev.EventType == escrowjson.TypeCachePollution {
			evs = append(evs, ev)
			details = append(details, ev.Details.(*escrowjson.CachePollution))
		}
	}
	return evs, details
}

// The case: another process opens a wallet on the shared buyer
// endpoint right before the escrow's make_multisig, which turns that wallet
// multisig. The process saw no open, so the call is not marked; the
// snapshot right after it reads the other wallet (its placeholder address
// belongs to another group than the one the vendor and arbiter show) and
// records the pollution; the escrow fails in round 2 with -31 on its own,
// untouched, wallet.
func TestSnapshotCatchesOtherProcessOpenBeforeMakeMultisig(t *testing.T) {
	sr, tp, dir := recorderWithFiles(t)
	tracker := otelmsig.NewTracker()
	in := &intrusion{method: walletrpc.MethodMakeMultisig}
	cp := newCrossProcess(t, "X", tracker, in.middleware, "intruder")
	in.do = cp.open("intruder")
	_, err := otelmsig.SetupMultisig(testCtx(t, 30*time.Second), "X", cp.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints())
	in.check(t)
	var se *otelmsig.StepError
	if code, _ := walletrpc.ErrorCode(err); !errors.As(err, &se) || se.Round != 2 || se.Role != "buyer" || code != walletrpc.CodeNotMultisig {
		t.Fatalf("%v, want -31 for the buyer in round 2", err)
	}
	intruderAddr, _ := cp.servers[0].Address("intruder")
	if !fakewalletrpc.IsPlaceholder(intruderAddr) {
		t.Fatalf("the intruder wallet shows %q: make_multisig did not reach it", intruderAddr)
	}

	spans := sr.Ended()
	pol, on := events(spans, escrowconv.EventCachePollution)
	if len(pol) != 1 {
		t.Fatalf("%d cache_pollution events, want 1", len(pol))
	}
	if on[0].Name() != "buyer "+escrowconv.PointPostMakeMultisig {
		t.Fatalf("pollution on %s, want the buyer's POST_MAKE_MULTISIG snapshot", on[0].Name())
	}
	wantPollution(t, pol[0].Attributes, map[string]string{
		"pollution.reason":          escrowconv.ReasonWrongWalletOpen,
		"pollution.endpoint":        cp.servers[0].Endpoint(),
		"pollution.expected_wallet": "X-buyer",
		"pollution.actual_wallet":   otelmsig.UnknownWallet(intruderAddr),
		"wallet.role":               "buyer",
		"wallet.id":                 "wid-X-buyer",
		"escrow.id":                 "X",
	})
	if hasAttr(pol[0].Attributes, escrowconv.PollutionOtherEscrowID) || len(on[0].Links()) != 0 {
		t.Errorf("an open this process never saw has no escrow and no span: %v, links %v", pol[0].Attributes, on[0].Links())
	}
	if !attrMap(on[0].Attributes())[escrowconv.CachePollution].AsBool() || on[0].Status().Code != codes.Error ||
		!strings.Contains(on[0].Status().Description, "met instead of X-buyer") {
		t.Errorf("snapshot span not marked: %v %v", on[0].Status(), on[0].Attributes())
	}
	// The raw address is not in the event: only its hash, as snapshots have it.
	if strings.Contains(attrStr(pol[0].Attributes, escrowconv.PollutionActualWallet), intruderAddr) {
		t.Error("raw address in the pollution event")
	}
	root := rootsNamed(spans, escrowconv.SpanEscrow)[0]
	if n := attrMap(root.Attributes())[escrowconv.EscrowPollutionCount].AsInt64(); n != 1 {
		t.Errorf("escrow.pollution_count %d, want 1", n)
	}
	// The call itself met the intruder too, but nothing in this process
	// could tell: it carries the wallet it was meant for.
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindClient && s.Name() == walletrpc.MethodMakeMultisig && attrStr(s.Attributes(), escrowconv.WalletRole) == "buyer" {
			if attrMap(s.Attributes())[escrowconv.CachePollution].AsBool() || attrStr(s.Attributes(), escrowconv.WalletFilename) != "X-buyer" {
				t.Errorf("buyer make_multisig: %v", s.Attributes())
			}
		}
	}

	evs, details := legacyPollution(t, tp, dir, "X", true)
	if len(details) != 1 {
		t.Fatalf("%d CACHE_POLLUTION_DETECTED in the legacy file, want 1", len(details))
	}
	d := details[0]
	if evs[0].Role != "buyer" || d.Reason != escrowconv.ReasonWrongWalletOpen || d.ExpectedWallet != "X-buyer" ||
		d.ActualWallet != otelmsig.UnknownWallet(intruderAddr) || d.Endpoint != cp.servers[0].Endpoint() || d.OtherEscrowID != "" {
		t.Errorf("legacy event %+v %+v", evs[0], d)
	}
	assertNoSecrets(t, spans, testPassword)
}

// A wallet this process knows (a snapshot of another escrow read it) is
// named, with that escrow: here another process opens it right after the
// buyer's make_multisig, so the snapshot after the call reads it. The
// escrow's own wallet went multisig properly and the setup completes. A
// manual escrow's first snapshot is checked the same way against the
// wallets this process knows.
func TestSnapshotNamesKnownWallet(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	ctx := testCtx(t, 30*time.Second)
	in := &intrusion{method: walletrpc.MethodMakeMultisig, after: true}
	cp := newCrossProcess(t, "Y", tracker, in.middleware, "known")
	in.do = cp.open("known")
	buyerClient := cp.wallets[0].Client
	known := otelmsig.Wallet{Role: "buyer", ID: "wid-known", Filename: "known", Client: buyerClient}

	// Escrow E0 has a snapshot of "known" (opened by the other process).
	if err := cp.open("known")(); err != nil {
		t.Fatal(err)
	}
	e0ctx, e0 := otelmsig.StartEscrow(ctx, "E0", otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	if snaps := e0.Snapshot(e0ctx, escrowconv.PointPreRound1, known); len(snaps) != 1 || snaps[0].Err != nil {
		t.Fatalf("E0's snapshot: %+v", snaps)
	}
	e0.End(nil)

	// A manual escrow whose wallet "mine" is not the one open: the other
	// process left "known" open. (This process has opened nothing there
	// yet, so the middleware has nothing to say.)
	e1ctx, e1 := otelmsig.StartEscrow(ctx, "E1", otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker))
	e1.Snapshot(e1ctx, escrowconv.PointPreRound1, otelmsig.Wallet{Role: "buyer", ID: "wid-mine", Filename: "mine", Client: buyerClient})
	e1.End(nil)

	if _, err := otelmsig.SetupMultisig(ctx, "Y", cp.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker), otelmsig.WithSharedEndpoints()); err != nil {
		t.Fatal(err)
	}
	in.check(t)

	pol, on := events(sr.Ended(), escrowconv.EventCachePollution)
	if len(pol) != 2 {
		dumpPollution(t, sr.Ended())
		t.Fatalf("%d cache_pollution events, want 2", len(pol))
	}
	if on[0].Name() != "buyer "+escrowconv.PointPreRound1 || on[1].Name() != "buyer "+escrowconv.PointPostMakeMultisig {
		t.Errorf("pollution on %s and %s", on[0].Name(), on[1].Name())
	}
	for i, want := range []map[string]string{
		{"escrow.id": "E1", "pollution.expected_wallet": "mine", "wallet.id": "wid-mine"},
		{"escrow.id": "Y", "pollution.expected_wallet": "Y-buyer", "wallet.id": "wid-Y-buyer"},
	} {
		want["pollution.reason"] = escrowconv.ReasonWrongWalletOpen
		want["pollution.actual_wallet"] = "known"
		want["pollution.other_escrow_id"] = "E0"
		want["pollution.endpoint"] = cp.servers[0].Endpoint()
		wantPollution(t, pol[i].Attributes, want)
	}
}

func wantPollution(t *testing.T, attrs []attribute.KeyValue, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := attrStr(attrs, attrKey(k)); got != v {
			t.Errorf("pollution %s = %q, want %q", k, got, v)
		}
	}
}

func dumpPollution(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	pol, on := events(spans, escrowconv.EventCachePollution)
	for i, e := range pol {
		t.Logf("%s: %v", on[i].Name(), e.Attributes)
	}
}
