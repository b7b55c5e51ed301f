package escrowjson_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
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
		b[i] = byte('a' + r.IntN(26))
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
	switch r.IntN(5) {
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
	}
	return ev
}

// What Encode writes reads back as the same events, for every details type
// and hostile strings; the output is valid UTF-8 and keeps <, > and & as
// they are.
func TestEncodeRoundTrip(t *testing.T) {
	if got, err := escrowjson.Encode(nil); err != nil || string(got) != "[]\n" {
		t.Errorf("Encode(nil) = %q, %v; want \"[]\\n\"", got, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		evs := make([]escrowjson.Event, 1+r.IntN(6))
		for i := range evs {
			evs[i] = randEvent(r)
		}
		data, err := escrowjson.Encode(evs)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(data) || !bytes.HasSuffix(data, []byte("}\n]\n")) || !bytes.HasPrefix(data, []byte("[\n  {\n    \"trace_id\": ")) {
			t.Fatalf("case %d: not a 2-space indented array with a trailing newline:\n%s", n, data)
		}
		if bytes.Contains(data, []byte(`\u003c`)) || bytes.Contains(data, []byte(`\u0026`)) {
			t.Fatalf("case %d: HTML-escaped", n)
		}
		back, err := escrowjson.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		// Invalid UTF-8 comes back as U+FFFD: compare with the strings made valid.
		want, _ := escrowjson.Decode(bytes.NewReader(mustEncode(t, evs)))
		if !reflect.DeepEqual(back, want) || len(back) != len(evs) {
			t.Fatalf("case %d: round trip differs", n)
		}
		for i := range evs {
			if back[i].EventType != evs[i].EventType || back[i].Timestamp != evs[i].Timestamp {
				t.Fatalf("case %d event %d: %+v, want %+v", n, i, back[i], evs[i])
			}
		}
	}
}

func mustEncode(t *testing.T, evs []escrowjson.Event) []byte {
	t.Helper()
	data, err := escrowjson.Encode(evs)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
