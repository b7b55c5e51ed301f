package escrowjson_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

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

func randEvent(r *rand.Rand) escrowjson.Event {
	ptr := func() *int {
		if r.IntN(2) == 0 {
			return nil
		}
		v := r.IntN(70000) - 100
		return &v
	}
	ev := escrowjson.Event{TraceID: randString(r), Timestamp: r.Int64N(1 << 50), Role: escrowjson.RoleBuyer, RPCPort: ptr()}
	switch r.IntN(6) {
	case 0:
		ev.EventType = escrowjson.TypeRPCCallStart
		ev.Details = &escrowjson.RPCCallStart{Method: randString(r), Timestamp: r.Int64()}
	case 1:
		ev.EventType = escrowjson.TypeRPCCallError
		ev.Details = &escrowjson.RPCCallEnd{Method: randString(r), DurationMs: r.Int64N(1e6), Error: randString(r), Code: ptr()}
	case 2:
		perms := "rw-"
		ev.EventType = "SNAPSHOT_FINAL"
		ev.Details = &escrowjson.Snapshot{
			Timestamp: r.Int64(), WalletID: randString(r), Role: randString(r), IsMultisig: r.IntN(2) == 0,
			Balance: [2]uint64{r.Uint64(), r.Uint64()}, Address: randString(r), AddressHash: randString(r),
			FilePerms: &perms, RPCPort: ptr(), OpenWalletsCount: ptr(), Threshold: ptr(), WalletFilename: randString(r),
		}
	case 3:
		ev.EventType = escrowjson.TypeErrorFinal
		ev.Details = &escrowjson.ErrorFinal{Error: randString(r), Context: escrowjson.ErrorContext{Round: r.IntN(4), Operation: randString(r)}}
	case 4:
		ev.EventType = escrowjson.TypeCachePollution
		ev.Details = &escrowjson.CachePollution{Reason: randString(r), ExpectedWallet: randString(r),
			OtherServiceInstanceID: randString(r), DetectedBy: randString(r)}
	case 5:
		ev.EventType = escrowjson.TypeCustom
		ev.Details = map[string]any{"free": randString(r), "n": r.IntN(9), "nested": map[string]any{"a": []int{1, 2}}}
	}
	return ev
}

// referenceEncode is what Encode must equal: encoding/json with a 2-space
// indent and no HTML escaping.
func referenceEncode(t testing.TB, evs []escrowjson.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(evs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The hand-written encoder writes exactly what encoding/json writes, for
// every details type, optional fields present or not, free-form details
// and hostile strings; and what it writes reads back.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	if got, err := escrowjson.Encode(nil); err != nil || string(got) != "[]\n" {
		t.Errorf("Encode(nil) = %q, %v; want \"[]\\n\"", got, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 500 {
		evs := make([]escrowjson.Event, 1+r.IntN(6))
		for i := range evs {
			evs[i] = randEvent(r)
		}
		got, err := escrowjson.Encode(evs)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceEncode(t, evs); !bytes.Equal(got, want) {
			t.Fatalf("case %d differs:\n got %s\nwant %s", n, got, want)
		}
		if !utf8.Valid(got) {
			t.Fatalf("case %d: invalid UTF-8 written", n)
		}
		back, err := escrowjson.Decode(bytes.NewReader(got))
		if err != nil || len(back) != len(evs) {
			t.Fatalf("case %d: read back %d events, %v", n, len(back), err)
		}
		for i := range evs {
			if back[i].EventType != evs[i].EventType || back[i].Timestamp != evs[i].Timestamp {
				t.Fatalf("case %d event %d: %+v, want %+v", n, i, back[i], evs[i])
			}
		}
	}
	if _, err := escrowjson.Encode([]escrowjson.Event{{EventType: escrowjson.TypeCustom, Details: map[string]any{"f": func() {}}}}); err == nil {
		t.Error("Encode of details encoding/json cannot write succeeded")
	}
}

// A 45-event file as the exporters write it (exporter/jsonfile's golden
// successful setup): the hand-written encoder beside encoding/json, which
// TestEncodeMatchesEncodingJSON holds it to.
func BenchmarkEncode(b *testing.B) {
	evs, err := escrowjson.Load(filepath.Join("..", "exporter", "jsonfile", "testdata", "escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70.json"))
	if err != nil || len(evs) != 45 {
		b.Fatalf("golden file: %d events, %v", len(evs), err)
	}
	b.Run("escrowjson", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = escrowjson.Append(buf[:0], evs)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			_ = enc.Encode(evs)
		}
	})
}
