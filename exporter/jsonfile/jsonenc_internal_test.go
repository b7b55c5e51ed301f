package jsonfile

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceEncode is what encode must equal: encoding/json, 2-space indent,
// no HTML escaping.
func referenceEncode(t *testing.T, traceID string, recs []record) []byte {
	t.Helper()
	events := make([]Event, len(recs))
	for i, r := range recs {
		events[i] = Event{TraceID: traceID, Timestamp: msOf(r.at), EventType: r.typ, Role: r.role, Details: r.details}
		if r.port != 0 {
			p := int(r.port)
			events[i].RPCPort = &p
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(events); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var tricky = []string{
	"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x07\b\f\n\r\t\x1f\x7f end", "<html> & 'x'",
	"bad utf8 \xff\xfe\xc3", "sep \u2028 \u2029", "é ü 日本 🙂", "\xed\xa0\x80 surrogate", strings.Repeat("x", 300),
}

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return tricky[r.IntN(len(tricky))]
	}
	b := make([]byte, r.IntN(24))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randRecord(r *rand.Rand, i int) record {
	ptr := func() *int {
		if r.IntN(2) == 0 {
			return nil
		}
		v := r.IntN(70000) - 100
		return &v
	}
	rec := record{at: r.Int64N(1 << 50), seq: uint32(i), role: randString(r), typ: randString(r)}
	if r.IntN(2) == 0 {
		rec.port = int32(1 + r.IntN(65535))
	}
	switch r.IntN(6) {
	case 0:
		rec.details = &RPCCallStart{Method: randString(r), Timestamp: r.Int64()}
	case 1:
		rec.details = &RPCCallEnd{Method: randString(r), DurationMs: r.Int64N(1e6), Success: r.IntN(2) == 0, Error: randString(r), Code: ptr()}
	case 2:
		var perms *string
		if r.IntN(2) == 0 {
			p := randString(r)
			perms = &p
		}
		var ready *bool
		if r.IntN(2) == 0 {
			b := r.IntN(2) == 0
			ready = &b
		}
		rec.details = &Snapshot{
			Timestamp: r.Int64() - r.Int64(), WalletID: randString(r), Role: randString(r), IsMultisig: r.IntN(2) == 0,
			Balance: [2]uint64{r.Uint64(), r.Uint64()}, Address: randString(r), AddressHash: randString(r),
			FilePerms: perms, FileExists: r.IntN(2) == 0, RPCPort: ptr(), CollectionTimeMs: r.Int64N(1000),
			OpenWalletsCount: ptr(), MultisigReady: ready, Threshold: ptr(), Total: ptr(),
			WalletFilename: randString(r), Error: randString(r), Point: randString(r),
		}
	case 3:
		rec.details = &ErrorFinal{Error: randString(r), Context: ErrorContext{Round: r.IntN(5) - 1, Operation: randString(r),
			WalletID: randString(r), EscrowID: randString(r), Timestamp: randString(r)}}
	case 4:
		rec.details = &CachePollution{Reason: randString(r), WalletID: randString(r), ExpectedWallet: randString(r),
			ActualWallet: randString(r), Endpoint: randString(r), OtherEscrowID: randString(r)}
	case 5:
		rec.details = map[string]any{"free": randString(r), "n": r.IntN(9), "nested": map[string]any{"a": []int{1, 2}}}
	}
	return rec
}

// The hand-written encoder writes exactly what encoding/json writes, for
// every details type, optional fields present or not, and hostile strings.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	if got := encode("x", nil); string(got) != "[]\n" {
		t.Errorf("encode(no events) = %q", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		recs := make([]record, 1+r.IntN(8))
		for i := range recs {
			recs[i] = randRecord(r, i)
		}
		traceID := randString(r)
		got := encode(traceID, recs) // sorts recs
		want := referenceEncode(t, traceID, recs)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d differs:\n got %s\nwant %s", n, got, want)
		}
	}
	for _, s := range tricky {
		want, _ := json.Marshal(s)
		want = bytes.ReplaceAll(want, []byte(`\u003c`), []byte("<"))
		want = bytes.ReplaceAll(want, []byte(`\u003e`), []byte(">"))
		want = bytes.ReplaceAll(want, []byte(`\u0026`), []byte("&"))
		if got := appendString(nil, s); !bytes.Equal(got, want) || !utf8.Valid(got) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestText(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	if got := text(long); len(got) != 1024 || !utf8.ValidString(got) {
		t.Errorf("text(long) is %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	bad := "x\xffy" + strings.Repeat("z", 2000)
	if got := text(bad); len(got) != 1024 || got[:3] != "x\xffy" {
		t.Errorf("text cut an invalid string short: %d bytes", len(got))
	}
	info := "MultisigxV2R1" + strings.Repeat("abc+/=", 20)
	if got := text("err: " + info + " rest " + info); got != "err: [redacted] rest [redacted]" {
		t.Errorf("redaction: %q", got)
	}
	// Material that straddles the 1 KiB cut is still redacted whole.
	if got := text(strings.Repeat("x", 1000) + info); strings.Contains(got, "Multisig") {
		t.Errorf("a cut left key material: …%q", got[990:])
	}
	// wallet-rpc's own words are not material.
	if msg := "multisig is disabled. Multisig is an experimental feature"; text(msg) != msg {
		t.Errorf("text(%q) = %q", msg, text(msg))
	}
}
