package otelmsig_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// testPassword is the wallets' password in fake setups: it must never show
// up in a span.
const testPassword = "pw-Hunter2-do-not-record"

var roles = []string{"buyer", "vendor", "arbiter"}

func recorder(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return sr, tp
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fakeEscrow is three fake wallet-rpcs, one per role, each with its wallet
// open: the dedicated layout.
type fakeEscrow struct {
	servers []*fakewalletrpc.Server
	wallets []otelmsig.Wallet
}

func newFakeEscrow(t *testing.T, escrowID string, tracker *otelmsig.Tracker, copts ...walletrpc.Option) *fakeEscrow {
	t.Helper()
	fe := &fakeEscrow{}
	for _, role := range roles {
		dir := t.TempDir()
		name := escrowID + "-" + role
		s := fakewalletrpc.New(fakewalletrpc.WithWalletDir(dir), fakewalletrpc.WithWallet(name, testPassword))
		t.Cleanup(s.Close)
		if err := s.OpenWallet(name); err != nil {
			t.Fatal(err)
		}
		opts := append([]walletrpc.Option{otelmsig.WithTracing(otelmsig.WithTracker(tracker))}, copts...)
		c, err := walletrpc.New(s.URL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		fe.servers = append(fe.servers, s)
		fe.wallets = append(fe.wallets, otelmsig.Wallet{
			Role: role, ID: "wallet-" + name, Filename: name, Path: s.WalletPath(name),
			Password: testPassword, Client: c,
		})
	}
	return fe
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func attrStr(kvs []attribute.KeyValue, k attribute.Key) string {
	return attrMap(kvs)[k].Emit()
}

func hasAttr(kvs []attribute.KeyValue, k attribute.Key) bool {
	_, ok := attrMap(kvs)[k]
	return ok
}

func isSnapshotCall(s sdktrace.ReadOnlySpan) bool {
	return attrMap(s.Attributes())[escrowconv.AttrSnapshotCall].AsBool()
}

// spanTree renders the spans as an indented tree of "name [key attrs]",
// children sorted, leaving out snapshot calls (counted separately).
func spanTree(spans []sdktrace.ReadOnlySpan) string {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	var roots []sdktrace.ReadOnlySpan
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext().SpanID()] = true
	}
	for _, s := range spans {
		if isSnapshotCall(s) {
			continue
		}
		if p := s.Parent(); p.IsValid() && ids[p.SpanID()] {
			children[p.SpanID()] = append(children[p.SpanID()], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(ss []sdktrace.ReadOnlySpan, depth int)
	walk = func(ss []sdktrace.ReadOnlySpan, depth int) {
		lines := make([]string, 0, len(ss))
		byLine := map[string][]sdktrace.ReadOnlySpan{}
		for _, s := range ss {
			l := label(s)
			if _, ok := byLine[l]; !ok {
				lines = append(lines, l)
			}
			byLine[l] = append(byLine[l], s)
		}
		sort.Strings(lines)
		for _, l := range lines {
			for _, s := range byLine[l] {
				fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), l)
				walk(children[s.SpanContext().SpanID()], depth+1)
			}
		}
	}
	walk(roots, 0)
	return b.String()
}

func label(s sdktrace.ReadOnlySpan) string {
	a := attrMap(s.Attributes())
	l := s.Name()
	switch {
	case isRoundSpan(s):
		if want := escrowconv.RoundSpanName(int(a[escrowconv.Round].AsInt64())); l != want {
			l += " (want " + want + ")"
		}
		l += " " + a[escrowconv.RoundMethod].AsString()
	case s.SpanKind() == trace.SpanKindClient:
		l += " " + a[escrowconv.WalletRole].AsString()
	}
	if a[escrowconv.CachePollution].AsBool() {
		l += " polluted"
	}
	if s.Status().Code != 0 {
		l += " " + s.Status().Code.String()
	}
	return l
}

// events returns the events named name on all spans, with their spans.
func events(spans []sdktrace.ReadOnlySpan, name string) (evs []sdktrace.Event, on []sdktrace.ReadOnlySpan) {
	for _, s := range spans {
		for _, e := range s.Events() {
			if e.Name == name {
				evs = append(evs, e)
				on = append(on, s)
			}
		}
	}
	return evs, on
}

// keyMaterial matches a multisig_info (MultisigV1…, MultisigxV2R1…,
// MultisigxV2Rn… followed by hundreds of base58 characters), not wallet-rpc's
// own words about multisig ("Multisig is an experimental feature", in its
// -48 message) nor the hint naming WithoutEnablingMultisig.
var keyMaterial = regexp.MustCompile(`Multisig[1-9A-HJ-NP-Za-km-z]{40,}`)

// assertNoSecrets scans every string the spans carry (names, status,
// attributes, events, links, resource) for multisig key material and the
// given secrets.
func assertNoSecrets(t testing.TB, spans []sdktrace.ReadOnlySpan, secrets ...string) {
	t.Helper()
	scanned := 0
	check := func(where, s string) {
		scanned++
		if keyMaterial.MatchString(s) {
			t.Errorf("%s carries multisig key material: %.40q", where, s)
		}
		for _, sec := range secrets {
			if sec != "" && strings.Contains(s, sec) {
				t.Errorf("%s carries a secret", where)
			}
		}
	}
	checkAttrs := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			check(where+" key "+string(kv.Key), string(kv.Key))
			check(where+" "+string(kv.Key), kv.Value.Emit())
		}
	}
	for _, s := range spans {
		where := "span " + s.Name()
		check(where+" name", s.Name())
		check(where+" status", s.Status().Description)
		checkAttrs(where, s.Attributes())
		for _, e := range s.Events() {
			check(where+" event name", e.Name)
			checkAttrs(where+" event "+e.Name, e.Attributes)
		}
		for _, l := range s.Links() {
			checkAttrs(where+" link", l.Attributes)
		}
		checkAttrs(where+" resource", s.Resource().Attributes())
	}
	if len(spans) > 0 && scanned == 0 {
		t.Fatal("scanned nothing")
	}
}

func countPoints(evs []sdktrace.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[attrStr(e.Attributes, escrowconv.SnapshotPoint)]++
	}
	return m
}

func wantAllPoints(t *testing.T, evs []sdktrace.Event, perPoint int) {
	t.Helper()
	got := countPoints(evs)
	for _, p := range escrowconv.Points {
		if got[p] != perPoint {
			t.Errorf("snapshot point %s: %d events, want %d (all: %v)", p, got[p], perPoint, got)
		}
	}
	if len(evs) != perPoint*len(escrowconv.Points) {
		t.Errorf("%d snapshot events, want %d", len(evs), perPoint*len(escrowconv.Points))
	}
}

// isRoundSpan reports whether s is a round span ("multisig.round N").
func isRoundSpan(s sdktrace.ReadOnlySpan) bool {
	return strings.HasPrefix(s.Name(), escrowconv.SpanRound+" ") && hasAttr(s.Attributes(), escrowconv.Round) &&
		!hasAttr(s.Attributes(), escrowconv.WalletStep)
}

// rootsNamed returns the spans named name; escrowconv.SpanRound stands
// for every round span.
func rootsNamed(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name || name == escrowconv.SpanRound && isRoundSpan(s) {
			out = append(out, s)
		}
	}
	return out
}

func spansOfTrace(spans []sdktrace.ReadOnlySpan, id trace.TraceID) []sdktrace.ReadOnlySpan {
	return slices.DeleteFunc(slices.Clone(spans), func(s sdktrace.ReadOnlySpan) bool {
		return s.SpanContext().TraceID() != id
	})
}

func byID(spans []sdktrace.ReadOnlySpan, id trace.SpanID) sdktrace.ReadOnlySpan {
	for _, s := range spans {
		if s.SpanContext().SpanID() == id {
			return s
		}
	}
	return nil
}

// checkReadsUnderSnapshots checks that every instrumentation call is a
// child of a snapshot span (a snapshot's reads and its re-open), or, for
// get_version, of the root: none sits directly under a round or a step.
func checkReadsUnderSnapshots(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, s := range spans {
		if !isSnapshotCall(s) {
			continue
		}
		p := byID(spans, s.Parent().SpanID())
		switch {
		case p == nil:
			t.Errorf("%s %s has no parent", s.Name(), attrStr(s.Attributes(), escrowconv.WalletRole))
		case s.Name() == walletrpc.MethodGetVersion && p.Name() == escrowconv.SpanEscrow:
		case !hasAttr(p.Attributes(), escrowconv.SnapshotPoint):
			t.Errorf("%s %s under %s, want a snapshot span", s.Name(), attrStr(s.Attributes(), escrowconv.WalletRole), p.Name())
		}
	}
}

// loadValidFile reads the successful escrow's legacy file from dir, checks
// it against the contract (escrowjson.Validate) and that it has n events. It
// returns the events and the file's bytes.
func loadValidFile(t *testing.T, dir, escrowID string, n int) ([]escrowjson.Event, []byte) {
	t.Helper()
	path := filepath.Join(dir, escrowjson.FileName(escrowID, false))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := escrowjson.Validate(data); err != nil {
		t.Fatal(err)
	}
	evs, err := escrowjson.Load(path)
	if err != nil || len(evs) != n {
		t.Fatalf("%d events, %v; want %d", len(evs), err, n)
	}
	return evs, data
}
