package report_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/internal/synth"
)

// The shared race of 3 escrows, from a real run of
// `escrowtrace demo --escrows 3 --rpc shared` (monero-wallet-rpc 0.18.0.0).
const sharedRun = "testdata/shared3"

func load(t *testing.T, paths ...string) *report.Report {
	t.Helper()
	in, err := report.Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return report.Build(in)
}

func TestRealSharedRace(t *testing.T) {
	r := load(t, sharedRun)
	s := r.Summary
	if s.Escrows != 3 || s.Failed != 3 || s.OK != 0 || s.Pollution != 48 || s.Polluted != 3 || s.Calls != 36 || s.FailedCalls != 5 {
		t.Errorf("summary %+v", s)
	}
	if s.Rounds[0] != 3 {
		t.Errorf("rounds %v, want all three escrows at 0/3 (make_multisig failed)", s.Rounds)
	}
	if len(r.Endpoints) != 3 {
		t.Fatalf("%d endpoints, want 3 shared wallet-rpcs", len(r.Endpoints))
	}
	total := 0
	for _, ep := range r.Endpoints {
		if !strings.HasPrefix(ep.Name, "127.0.0.1:") || len(ep.Escrows) != 3 || len(ep.Calls) != 12 {
			t.Errorf("endpoint %s: %d escrows, %d calls", ep.Name, len(ep.Escrows), len(ep.Calls))
		}
		if len(ep.Open) < 3 {
			t.Errorf("endpoint %s: %d open intervals, want the wallets of several escrows", ep.Name, len(ep.Open))
		}
		for i, iv := range ep.Open {
			if iv.End < iv.Start || (i > 0 && iv.Start < ep.Open[i-1].Start) {
				t.Errorf("endpoint %s: interval %d %+v out of order", ep.Name, i, iv)
			}
		}
		for _, p := range ep.Pollution {
			total++
			if p.Port != ep.Port {
				t.Errorf("pollution on port %d listed under %d", p.Port, ep.Port)
			}
			// Every event of the real run names the other escrow, which is
			// in the report, and a call of it that opened the wallet.
			if p.Other == nil || p.Other == p.Escrow {
				t.Errorf("pollution %+v: other escrow %v", p, p.Other)
				continue
			}
			if p.CauseTime == 0 || p.CauseTime > p.Time {
				t.Errorf("pollution at %d: cause at %d", p.Time, p.CauseTime)
			}
			if p.Cause != nil && (p.Cause.Escrow != p.Other || p.Cause.Method != "open_wallet" || p.Cause.Port != p.Port) {
				t.Errorf("cause %+v", p.Cause)
			}
			if p.Call == nil && p.Snapshot == nil {
				t.Errorf("pollution at %d on %s: neither the call nor the snapshot it hit", p.Time, ep.Name)
			}
			if w := p.Other.Wallets[p.Actual]; w == "" {
				t.Errorf("actual wallet %s is not one of escrow #%d's", p.Actual, p.Other.N)
			}
		}
	}
	if total != 48 {
		t.Errorf("%d pollution events on the lanes, want 48", total)
	}
	// Rows: calls on one lane never overlap within a row.
	for _, ep := range r.Endpoints {
		last := map[int]int64{}
		for _, c := range ep.Calls {
			if end, ok := last[c.Row]; ok && c.Start < end {
				t.Errorf("%s row %d: call at %d overlaps one ending at %d", ep.Name, c.Row, c.Start, end)
			}
			last[c.Row] = max(c.End, c.Start+1)
		}
	}
}

func TestSuccessAndFailure(t *testing.T) {
	r := load(t, "testdata/single")
	if len(r.Escrows) != 2 {
		t.Fatalf("%d escrows", len(r.Escrows))
	}
	var ok, bad *report.Escrow
	for _, e := range r.Escrows {
		if e.Failed {
			bad = e
		} else {
			ok = e
		}
	}
	if ok == nil || bad == nil {
		t.Fatal("want one ok and one failed escrow")
	}
	if ok.EventCount != 45 || len(ok.Calls) != 12 || len(ok.Snapshots) != 21 || ok.Rounds != 3 || ok.FailedCalls != 0 {
		t.Errorf("ok escrow: %d events, %d calls, %d snapshots, %d rounds", ok.EventCount, len(ok.Calls), len(ok.Snapshots), ok.Rounds)
	}
	if ok.ID != "7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70" {
		t.Errorf("id %q", ok.ID)
	}
	changed := 0
	for _, s := range ok.Snapshots {
		if s.HashChanged {
			changed++
			if s.Point != "SNAPSHOT_POST_IMPORT_MULTISIG" || !s.IsMultisig {
				t.Errorf("address changed at %s", s.Point)
			}
		}
	}
	if changed != 3 {
		t.Errorf("%d address changes, want 3 (each role gets the shared address after round 3)", changed)
	}
	if bad.Rounds != 1 || len(bad.Errors) != 1 || bad.Errors[0].Round != 2 || bad.Errors[0].Operation != "exchange_multisig_keys" || bad.FailedCalls != 1 {
		t.Errorf("failed escrow: rounds %d, errors %+v", bad.Rounds, bad.Errors)
	}
	var got []string
	for _, m := range r.Methods {
		got = append(got, fmt.Sprintf("%s %d/%d p50=%d max=%d", m.Method, m.Count, m.Failed, m.P50, m.Max))
	}
	want := []string{"make_multisig 6/0 p50=310 max=310", "exchange_multisig_keys 7/1 p50=60 max=60", "prepare_multisig 6/0 p50=1 max=1"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("methods\n got %q\nwant %q", got, want)
	}
	c := report.Compare(ok, bad)
	if c.Differences == 0 || c.FirstDiff < 0 {
		t.Fatal("no difference found")
	}
	first := c.Lines[c.FirstDiff]
	// Both start exchange_multisig_keys for the buyer in round 2; one ends,
	// the other fails.
	if first.Op == report.Same || !strings.Contains(keyOf(first), "exchange_multisig_keys") {
		t.Errorf("first difference %c %q", first.Op, keyOf(first))
	}
	if same := report.Compare(ok, ok); same.Differences != 0 || len(same.Lines) != 45 {
		t.Errorf("an escrow against itself: %d differences", same.Differences)
	}
}

func keyOf(l report.DiffLine) string {
	if l.A != nil {
		return l.A.Key
	}
	return l.B.Key
}

func TestEscrowRefs(t *testing.T) {
	r := load(t, sharedRun)
	for ref, n := range map[string]int{"1": 1, "#2": 2, "cf59039f": r.Escrows[2].N, "a948985c-9d2a-4098-b951-3b8dd16a2e7b": 0} {
		e, err := r.Escrow(ref)
		if err != nil {
			t.Errorf("%q: %v", ref, err)
			continue
		}
		if n != 0 && e.N != n {
			t.Errorf("%q: escrow #%d, want #%d", ref, e.N, n)
		}
	}
	for _, ref := range []string{"#9", "zzz", ""} {
		if _, err := r.Escrow(ref); err == nil {
			t.Errorf("%q: no error", ref)
		}
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	good, _ := os.ReadFile("testdata/single/escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70.json")
	cases := []struct {
		name, content, want string
	}{
		{"escrow_notjson.json", "hello, world", "not JSON"},
		{"escrow_trunc.json", string(good[:len(good)/2]), "truncated"},
		{"escrow_zero.json", "", "empty file"},
		{"escrow_object.json", `{"trace_id":"x"}`, "not a legacy escrow file"},
		{"escrow_null.json", `null`, "null"},
		{"escrow_badtype.json", `[{"event_type":"RPC_CALL_START","timestamp":"soon","details":{}}]`, "not a legacy escrow file"},
	}
	for _, tc := range cases {
		p := write(t, dir, tc.name, tc.content)
		in, err := report.Load(p)
		if err == nil || len(in) != 0 {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want it to say %q and name the file", tc.name, err, tc.want)
		}
	}
	if _, err := report.Load(empty); err == nil || !strings.Contains(err.Error(), "no escrow_*.json") {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := report.Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path: no error")
	}
	if _, err := report.Load(); err == nil {
		t.Error("no paths: no error")
	}
	// One bad file among good ones: the good ones are read, the bad one named.
	mixed := filepath.Join(dir, "mixed")
	os.Mkdir(mixed, 0o755)
	write(t, mixed, "escrow_good.json", string(good))
	write(t, mixed, "escrow_bad.json", "[{")
	in, err := report.Load(mixed)
	if len(in) != 1 || err == nil || !strings.Contains(err.Error(), "escrow_bad.json") {
		t.Errorf("mixed: %d inputs, %v", len(in), err)
	}
}

func TestUnknownFieldsAreIgnored(t *testing.T) {
	var evs []map[string]any
	b, _ := os.ReadFile("testdata/single/escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70.json")
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		ev["x_extra"] = map[string]any{"nested": []int{1, 2}}
		ev["details"].(map[string]any)["x_more"] = "yes"
	}
	out, _ := json.Marshal(evs)
	p := write(t, t.TempDir(), "escrow_extra.json", string(out))
	r := load(t, p)
	if e := r.Escrows[0]; e.EventCount != 45 || len(e.Calls) != 12 || e.Rounds != 3 {
		t.Errorf("with extra fields: %d events, %d calls, rounds %d", e.EventCount, len(e.Calls), e.Rounds)
	}
}

func TestTenThousandEvents(t *testing.T) {
	evs := make([]escrowjson.Event, 0, 10000)
	port := 18083
	for i := range 5000 {
		at := synth.T0 + int64(i)*3
		evs = append(evs,
			escrowjson.Event{TraceID: "big-1", Timestamp: at, EventType: escrowjson.TypeRPCCallStart, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallStart{Method: "get_balance", Timestamp: at}},
			escrowjson.Event{TraceID: "big-1", Timestamp: at + 2, EventType: escrowjson.TypeRPCCallEnd, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallEnd{Method: "get_balance", DurationMs: 2, Success: true}})
	}
	b, _ := json.Marshal(evs)
	p := write(t, t.TempDir(), "escrow_big.json", string(b))
	other := "testdata/single/escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70.json"
	r := load(t, p, other)
	big, err := r.Escrow("big")
	if err != nil {
		t.Fatal(err)
	}
	if big.EventCount != 10000 || len(big.Calls) != 5000 {
		t.Errorf("%d events, %d calls", big.EventCount, len(big.Calls))
	}
	ok, _ := r.Escrow("7f3c")
	if c := report.Compare(big, ok); c.Differences == 0 {
		t.Error("no differences")
	}
	if c := report.Compare(big, big); c.Differences != 0 {
		t.Errorf("%d differences with itself", c.Differences)
	}
}

func TestSyntheticRace(t *testing.T) {
	r := report.Build(synth.Escrows(20, 1))
	if len(r.Escrows) != 20 || len(r.Endpoints) != 3 || r.Summary.Pollution == 0 {
		t.Fatalf("%d escrows, %d endpoints, %d pollution", len(r.Escrows), len(r.Endpoints), r.Summary.Pollution)
	}
	for _, e := range r.Escrows {
		for _, p := range e.Pollution {
			if p.Other == nil || p.Cause == nil || p.Cause.Escrow != p.Other {
				t.Fatalf("pollution of #%d not joined to its cause: %+v", e.N, p)
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	v := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]int64{50: 5, 95: 10, 100: 10, 10: 1, 11: 2} {
		if got := report.Percentile(v, p); got != want {
			t.Errorf("p%v = %d, want %d", p, got, want)
		}
	}
	if report.Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

// TestRealDedicatedRun reads two escrows of a real `escrowtrace demo
// --escrows 2` (each with its own three wallet-rpcs): no race to see.
func TestRealDedicatedRun(t *testing.T) {
	r := load(t, "testdata/dedicated2")
	if s := r.Summary; s.Escrows != 2 || s.OK != 2 || s.Pollution != 0 || s.Rounds[3] != 2 || s.Calls != 24 {
		t.Errorf("summary %+v", s)
	}
	if len(r.Endpoints) != 6 {
		t.Fatalf("%d endpoints, want 6 (three per escrow)", len(r.Endpoints))
	}
	for _, ep := range r.Endpoints {
		if len(ep.Escrows) != 1 || len(ep.Open) != 1 || ep.Open[0].Source != "only user" || ep.Open[0].Escrow != ep.Escrows[0] || ep.Rows != 1 {
			t.Errorf("endpoint %s: %d escrows, open %+v, %d rows", ep.Name, len(ep.Escrows), ep.Open, ep.Rows)
		}
	}
	for _, e := range r.Escrows {
		final := map[string]bool{}
		for _, s := range e.Snapshots {
			if s.Point == "SNAPSHOT_FINAL" {
				final[s.AddressHash] = s.IsMultisig
			}
		}
		if len(final) != 1 {
			t.Errorf("escrow #%d: %d final addresses, want one shared", e.N, len(final))
		}
	}
}

func TestComparisonShown(t *testing.T) {
	// ops: 7 same (folded), 1 only-A, 6 same (kept whole), 1 only-B, 3 same.
	ops := "=======-======+==="
	c := &report.Comparison{}
	for i, op := range ops {
		s := &report.Step{Key: fmt.Sprint(i)}
		l := report.DiffLine{Op: report.Op(op)}
		if op != '+' {
			l.A = s
		}
		if op != '-' {
			l.B = s
		}
		c.Lines = append(c.Lines, l)
	}
	var got []string
	for _, l := range c.Shown() {
		if l.Skipped > 0 {
			if l.Op != report.Same || l.A != nil || l.B != nil {
				t.Errorf("elided line %+v", l)
			}
			got = append(got, fmt.Sprintf("…%d", l.Skipped))
			continue
		}
		got = append(got, fmt.Sprintf("%c%s", l.Op, keyOf(l.DiffLine)))
	}
	want := "=0 =1 …3 =5 =6 -7 =8 =9 =10 =11 =12 =13 +14 =15 =16 =17"
	if strings.Join(got, " ") != want {
		t.Errorf("shown\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if n := len((&report.Comparison{}).Shown()); n != 0 {
		t.Errorf("empty comparison shows %d lines", n)
	}
}

func TestRoundTracker(t *testing.T) {
	var rt report.RoundTracker
	var got []int
	got = append(got, rt.Call("buyer", "open_wallet"), rt.Call("buyer", "prepare_multisig"), rt.Snapshot(escrowconv.PointPostMakeMultisig))
	got = append(got, rt.Call("buyer", "exchange_multisig_keys"), rt.Call("vendor", "exchange_multisig_keys"), rt.Call("buyer", "exchange_multisig_keys"))
	got = append(got, rt.Call("buyer", "get_address"), rt.Snapshot(escrowconv.PointPreRound3), rt.Snapshot(escrowconv.PointFinal), rt.Call("buyer", "get_address"), rt.Round())
	want := []int{0, 1, 1, 2, 2, 3, 1, 3, 0, 3, 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rounds %v, want %v", got, want)
	}
}

// Files the collector wrote for escrows of two processes (synthetic):
// each pollution event says who found it, the collector's naming the other
// process, and both are joined to the escrow and the open that caused them.
func TestCrossProcessFindings(t *testing.T) {
	paths, err := synth.WriteFiles(t.TempDir(), synth.CrossProcess())
	if err != nil {
		t.Fatal(err)
	}
	r := load(t, paths...)
	if r.Summary.Pollution != 2 || r.Summary.ByCollector != 1 || r.Summary.Polluted != 1 {
		t.Fatalf("summary %+v; want 2 pollution events in 1 escrow, 1 by the collector", r.Summary)
	}
	a, err := r.Escrow(synth.ProcA)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Pollution) != 2 {
		t.Fatalf("escrow A: %d pollution events", len(a.Pollution))
	}
	byCollector, own := a.Pollution[0], a.Pollution[1]
	if !byCollector.ByCollector() || byCollector.DetectedBy != escrowconv.DetectedByCollector || byCollector.OtherInstance != synth.Instance2 {
		t.Errorf("the collector's finding: detected by %q, other instance %q", byCollector.DetectedBy, byCollector.OtherInstance)
	}
	if own.ByCollector() || own.DetectedBy != "" || own.OtherInstance != "" {
		t.Errorf("the process's own finding: detected by %q, other instance %q", own.DetectedBy, own.OtherInstance)
	}
	for _, tc := range []struct {
		p     *report.Pollution
		other string
		hit   string
	}{{byCollector, synth.ProcB, "prepare_multisig"}, {own, synth.ProcC, "make_multisig"}} {
		if tc.p.Other == nil || tc.p.Other.ID != tc.other || tc.p.Cause == nil || tc.p.Cause.Escrow != tc.p.Other ||
			tc.p.Cause.Method != "open_wallet" || tc.p.Call == nil || tc.p.Call.Method != tc.hit {
			t.Errorf("finding on %s not joined to escrow %s's open: %+v", tc.hit, tc.other, tc.p)
		}
	}
	// A process's own files say nothing of a collector.
	if s := load(t, sharedRun).Summary; s.ByCollector != 0 || s.Pollution == 0 {
		t.Errorf("a process's own files: %d pollution events, %d by the collector", s.Pollution, s.ByCollector)
	}
}

// A real run of 2 processes × 2 escrows on shared wallet-rpcs, files
// written by the escrowtrace collector: the collector's 26 findings name the
// other process (one of two) and are joined to the other escrow and to the
// call or snapshot they hit.
func TestRealProcessesRun(t *testing.T) {
	r := load(t, "testdata/processes2")
	if s := r.Summary; s.Escrows != 4 || s.Pollution != 77 || s.ByCollector != 26 || s.Polluted != 4 {
		t.Fatalf("summary %+v; want 4 escrows, 77 pollution events, 26 by the collector", s)
	}
	instances := map[string]bool{}
	for _, e := range r.Escrows {
		for _, p := range e.Pollution {
			if !p.ByCollector() {
				continue
			}
			instances[p.OtherInstance] = true
			// Many hit a snapshot's reads, which the file does not list
			// as calls; the other escrow's open is often a snapshot's
			// re-open, not in its file either.
			if p.Other == nil || p.Other == e || (p.Call == nil && p.Snapshot == nil) {
				t.Errorf("escrow #%d: the collector's finding not joined to the escrow that opened %s and to what it hit: %+v", e.N, p.Actual, p)
			}
		}
	}
	if len(instances) != 2 || instances[""] {
		t.Errorf("the collector's findings name service instances %v, want the two processes'", instances)
	}
}
