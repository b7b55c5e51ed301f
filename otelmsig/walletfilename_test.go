package otelmsig_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// checkClientFilenames checks wallet.filename on every wallet RPC CLIENT
// span: the wallet's file (by role) on the calls made for it, snapshot
// reads and failed calls included, and on opens the file opened; none on
// get_version. It returns how many spans it checked by kind of call.
func checkClientFilenames(t *testing.T, spans []sdktrace.ReadOnlySpan, fileOf map[string]string) (calls, reads, opens, failed int) {
	t.Helper()
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindClient {
			continue
		}
		a := attrMap(s.Attributes())
		got, has := a[escrowconv.WalletFilename]
		if s.Name() == walletrpc.MethodGetVersion {
			if has {
				t.Errorf("get_version carries wallet.filename %q", got.AsString())
			}
			continue
		}
		want := fileOf[a[escrowconv.WalletRole].AsString()]
		if !has || got.AsString() != want {
			t.Errorf("%s of %s: wallet.filename %q, want %q", s.Name(), a[escrowconv.WalletRole].AsString(), got.AsString(), want)
		}
		switch {
		case s.Status().Code == codes.Error:
			failed++
		case s.Name() == walletrpc.MethodOpenWallet:
			opens++
		case isSnapshotCall(s):
			reads++
		default:
			calls++
		}
	}
	return calls, reads, opens, failed
}

// Dedicated layout on the fake, which changes the wallets' addresses as
// wallet-rpc 0.18.0.0 does (own address, group placeholder after
// make_multisig, shared address after the first exchange): no pollution
// (the identity check follows the changes), and wallet.filename on every
// call. Then a setup that fails on a call: the failed span has it too.
func TestClientSpansCarryWalletFilename(t *testing.T) {
	sr, tp := recorder(t)
	tracker := otelmsig.NewTracker()
	fe := newFakeEscrow(t, "fn", tracker)
	fileOf := map[string]string{}
	for _, w := range fe.wallets {
		fileOf[w.Role] = w.Filename
	}
	if _, err := otelmsig.SetupMultisig(testCtx(t, 30*time.Second), "fn", fe.wallets,
		otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)); err != nil {
		t.Fatal(err)
	}
	spans := sr.Ended()
	if pol, _ := events(spans, escrowconv.EventCachePollution); len(pol) != 0 {
		t.Fatalf("%d pollution events on dedicated endpoints: %v", len(pol), pol[0].Attributes)
	}
	calls, reads, _, _ := checkClientFilenames(t, spans, fileOf)
	// prepare, make and two exchanges per wallet; 7 snapshots of 3 reads.
	if calls != 3*4 || reads != 3*7*3 {
		t.Errorf("%d calls and %d snapshot reads checked, want 12 and 63", calls, reads)
	}

	// Shared endpoints: the re-opens name the file they open; a call
	// that fails still names its wallet.
	sr2, tp2 := recorder(t)
	tracker2 := otelmsig.NewTracker()
	servers, wallets := fakeShared(t, []string{"f1"}, tracker2)
	servers[2].InjectFault(fakewalletrpc.Fault{Method: walletrpc.MethodExchangeMultisigKeys, Code: fakewalletrpc.CodeBadMultisigInfo, Message: "Invalid multisig info"})
	if _, err := otelmsig.SetupMultisig(testCtx(t, 30*time.Second), "f1", wallets["f1"],
		otelmsig.WithTracerProvider(tp2), otelmsig.WithTracker(tracker2), otelmsig.WithSharedEndpoints()); err == nil {
		t.Fatal("the injected fault did not fail the setup")
	}
	for _, w := range wallets["f1"] {
		fileOf[w.Role] = w.Filename
	}
	_, reads, opens, failed := checkClientFilenames(t, sr2.Ended(), fileOf)
	if opens == 0 || reads == 0 || failed != 1 {
		t.Errorf("%d opens, %d reads, %d failed calls checked, want some, some, 1", opens, reads, failed)
	}
}

// Opens name the file they open, whatever the context says; other calls
// the context's wallet; get_version none. Hostile names are recorded as
// valid UTF-8 of at most 255 bytes, and two of them stay two.
func TestMiddlewareWalletFilename(t *testing.T) {
	sr, tp := recorder(t)
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("a", ""), fakewalletrpc.WithWallet("b", ""))
	defer s.Close()
	c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(otelmsig.NewTracker())))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t, 10*time.Second)
	wa := otelmsig.ContextWithWallet(ctx, otelmsig.Wallet{Role: "buyer", ID: "wa", Filename: "a"})
	long := strings.Repeat("é", 200) // 400 bytes
	bad1, bad2 := "bad\xff1", "bad\xfe1"
	type call struct {
		name string
		do   func() error
		want string // "-": no wallet.filename
	}
	for _, tc := range []call{
		{"open own", func() error { return c.OpenWallet(wa, walletrpc.OpenWalletParams{Filename: "a"}) }, "a"},
		{"open other", func() error { return c.OpenWallet(wa, walletrpc.OpenWalletParams{Filename: "b"}) }, "b"},
		{"read", func() error { _, err := c.GetBalance(wa); return err }, "a"},
		{"version", func() error { _, err := c.GetVersion(wa); return err }, "-"},
		{"create, no wallet in ctx", func() error {
			return c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "c", Language: "English"})
		}, "c"},
		{"open by map", func() error { return c.Call(ctx, "open_wallet", map[string]any{"filename": "a"}, nil) }, "a"},
		{"read, no wallet in ctx", func() error { _, err := c.GetBalance(ctx); return err }, "-"},
		{"close", func() error { return c.CloseWallet(wa) }, "a"},
	} {
		sr.Reset()
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		spans := sr.Ended()
		if len(spans) != 1 {
			t.Fatalf("%s: %d spans", tc.name, len(spans))
		}
		got, has := attrMap(spans[0].Attributes())[escrowconv.WalletFilename]
		if tc.want == "-" && has || tc.want != "-" && got.AsString() != tc.want {
			t.Errorf("%s: wallet.filename %q (set %v), want %q", tc.name, got.AsString(), has, tc.want)
		}
		if tc.name == "open other" && attrStr(spans[0].Attributes(), escrowconv.WalletRole) != "buyer" {
			t.Errorf("open other: lost the role: %v", spans[0].Attributes())
		}
	}

	// Hostile names: the opens fail (no such wallet) and are recorded.
	recorded := map[string]string{}
	for _, name := range []string{long, bad1, bad2} {
		sr.Reset()
		if err := c.OpenWallet(otelmsig.ContextWithWallet(ctx, otelmsig.Wallet{Role: "buyer", ID: "x", Filename: name}),
			walletrpc.OpenWalletParams{Filename: name}); err == nil {
			t.Fatalf("opening %q worked", name)
		}
		v := attrStr(sr.Ended()[0].Attributes(), escrowconv.WalletFilename)
		if !utf8.ValidString(v) || len(v) > 255 || !strings.Contains(v, "~") {
			t.Errorf("%q recorded as %q (%d bytes)", name, v, len(v))
		}
		recorded[name] = v
	}
	if recorded[bad1] == recorded[bad2] {
		t.Errorf("two hostile names recorded as one: %q", recorded[bad1])
	}
	if !strings.HasPrefix(recorded[long], strings.Repeat("é", 100)) {
		t.Errorf("long name recorded as %q", recorded[long])
	}
}
