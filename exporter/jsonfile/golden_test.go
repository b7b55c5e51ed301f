package jsonfile_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// exportInOrder records s through a TracerProvider with a synchronous span
// processor around a new exporter, as an application would, and returns the
// path of the file written.
func exportInOrder(t *testing.T, s setup) (string, *jsonfile.Exporter, int) {
	t.Helper()
	var paths []string
	exp, dir := newExporter(t, jsonfile.WithOnWrite(func(id, path string) {
		if id != s.escrowID {
			t.Errorf("OnWrite escrow id %q, want %q", id, s.escrowID)
		}
		paths = append(paths, path)
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	n := s.record(tp)
	if err := tp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, escrowjson.FileName(s.escrowID, s.failRound2))
	if len(paths) != 1 || paths[0] != want {
		t.Fatalf("files written %q, want just %q", paths, want)
	}
	if got := listFiles(t, dir); len(got) != 1 {
		t.Fatalf("directory holds %q, want one file", got)
	}
	return want, exp, n
}

func compareGolden(t *testing.T, path string) []byte {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", filepath.Base(path))
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", path, golden, firstDiff(got, want))
	}
	return got
}

func firstDiff(got, want []byte) string {
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range max(len(gl), len(wl)) {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) {
			return "line " + itoa(i+1) + ":\n got: " + string(g) + "\nwant: " + string(w)
		}
	}
	return ""
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestGoldenSuccessfulSetup(t *testing.T) {
	path, exp, n := exportInOrder(t, goldenOK)
	if n != 45 {
		t.Fatalf("the recorded setup should make 45 events, the recorder says %d", n)
	}
	compareGolden(t, path)

	evs := load(t, path)
	if len(evs) != 45 {
		t.Fatalf("%d events, want 45", len(evs))
	}
	types := countTypes(evs)
	want := map[string]int{escrowjson.TypeRPCCallStart: 12, escrowjson.TypeRPCCallEnd: 12}
	for _, p := range escrowconv.Points {
		want[p] = 3
	}
	if len(types) != len(want) {
		t.Errorf("event types %v, want %v", types, want)
	}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("%s: %d events, want %d", k, types[k], v)
		}
	}
	methods := map[string]int{}
	finalHashes := map[string]bool{}
	traceID := goldenOK.escrowID + "-1773500966535"
	for i, e := range evs {
		if e.TraceID != traceID {
			t.Errorf("event %d trace_id %q, want %q", i, e.TraceID, traceID)
		}
		switch d := e.Details.(type) {
		case *escrowjson.RPCCallStart:
			methods[d.Method]++
			if e.RPCPort == nil || e.Role == escrowjson.RoleCoordinator {
				t.Errorf("event %d: RPC event without port or wallet role: %+v", i, e)
			}
		case *escrowjson.Snapshot:
			if e.EventType == escrowconv.PointFinal {
				if !d.IsMultisig {
					t.Errorf("SNAPSHOT_FINAL of %s: is_multisig false", e.Role)
				}
				finalHashes[d.AddressHash] = true
			}
			if d.FilePerms == nil || *d.FilePerms != "rw-" || !d.FileExists || d.RPCPort == nil || d.OpenWalletsCount != nil {
				t.Errorf("event %d: snapshot fields %+v", i, d)
			}
		}
	}
	if len(finalHashes) != 1 {
		t.Errorf("SNAPSHOT_FINAL shows %d address hashes, want one shared", len(finalHashes))
	}
	wantMethods := map[string]int{"prepare_multisig": 3, "make_multisig": 3, "exchange_multisig_keys": 6}
	if len(methods) != len(wantMethods) {
		t.Errorf("RPC calls %v, want %v (snapshot-only calls must be left out)", methods, wantMethods)
	}
	for m, c := range wantMethods {
		if methods[m] != c {
			t.Errorf("%s: %d calls, want %d", m, methods[m], c)
		}
	}
	if st := exp.Stats(); st.FilesWritten != 1 || st.PartialFiles != 0 || st.LateRewrites != 0 || st.WriteErrors != 0 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestGoldenFailedSetup(t *testing.T) {
	path, _, n := exportInOrder(t, goldenFail)
	if filepath.Base(path) != "escrow_"+goldenFail.escrowID+"_FAILED.json" {
		t.Fatalf("file %s", path)
	}
	compareGolden(t, path)
	evs := load(t, path)
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	types := countTypes(evs)
	if types[escrowjson.TypeRPCCallError] != 1 || types[escrowjson.TypeErrorFinal] != 1 {
		t.Fatalf("event types %v: want one RPC_CALL_ERROR and one ERROR_FINAL", types)
	}
	for _, e := range evs {
		switch d := e.Details.(type) {
		case *escrowjson.RPCCallEnd:
			if e.EventType != escrowjson.TypeRPCCallError {
				continue
			}
			if d.Code == nil || *d.Code != -48 || d.Success || d.Error != "This wallet is not multisig" ||
				d.Method != "exchange_multisig_keys" || e.Role != "buyer" || e.RPCPort == nil || *e.RPCPort != 18083 {
				t.Errorf("RPC_CALL_ERROR %+v details %+v", e, d)
			}
		case *escrowjson.ErrorFinal:
			c := d.Context
			if c.Round != 2 || c.Operation != "exchange_multisig_keys" || c.WalletID != goldenFail.escrowID+"-buyer" ||
				c.EscrowID != goldenFail.escrowID || d.Error == "" || c.Timestamp == "" {
				t.Errorf("ERROR_FINAL %+v", d)
			}
			if e != evs[len(evs)-1] {
				t.Errorf("ERROR_FINAL is not the last event")
			}
		}
	}
}

// The same spans delivered out of order, in random batches, the root
// anywhere, give the same file.
func TestOutOfOrderDelivery(t *testing.T) {
	for _, s := range []setup{goldenOK, goldenFail} {
		spans, _ := spansOf(s)
		want, err := os.ReadFile(filepath.Join("testdata", escrowjson.FileName(s.escrowID, s.failRound2)))
		if err != nil {
			t.Fatal(err)
		}
		for seed := range uint64(20) {
			r := rand.New(rand.NewPCG(seed, 7))
			shuffled := append([]sdktrace.ReadOnlySpan(nil), spans...)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			exp, dir := newExporter(t)
			for len(shuffled) > 0 {
				k := min(len(shuffled), 1+r.IntN(30))
				if err := exp.ExportSpans(ctxT(t), shuffled[:k]); err != nil {
					t.Fatal(err)
				}
				shuffled = shuffled[k:]
			}
			got, err := os.ReadFile(filepath.Join(dir, escrowjson.FileName(s.escrowID, s.failRound2)))
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("seed %d: file differs from the in-order one:\n%s", seed, firstDiff(got, want))
			}
			if st := exp.Stats(); st.Pending != 0 || st.WriteErrors != 0 {
				t.Fatalf("seed %d: stats %+v", seed, st)
			}
			if err := exp.Shutdown(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if got := listFiles(t, dir); len(got) != 1 {
				t.Fatalf("seed %d: files %q", seed, got)
			}
		}
	}
}

// Decode gives typed events that encode back to the same bytes: the types
// hold every field the exporter writes.
func TestDecodeRoundTrip(t *testing.T) {
	for _, name := range []string{escrowjson.FileName(goldenOK.escrowID, false), escrowjson.FileName(goldenFail.escrowID, true)} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := escrowjson.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(evs); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("%s: decode+encode differs:\n%s", name, firstDiff(buf.Bytes(), data))
		}
	}
	if _, err := escrowjson.Decode(bytes.NewReader([]byte("null"))); err == nil {
		t.Error("Decode(null) succeeded")
	}
	if _, err := escrowjson.Decode(bytes.NewReader([]byte(`[{"event_type":"RPC_CALL_END","details":{"duration_ms":"x"}}]`))); err == nil {
		t.Error("Decode accepted a string duration")
	}
	evs, err := escrowjson.Decode(bytes.NewReader([]byte("[]\n")))
	if err != nil || evs == nil || len(evs) != 0 {
		t.Errorf("Decode([]) = %v, %v", evs, err)
	}
	if _, err := escrowjson.Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
