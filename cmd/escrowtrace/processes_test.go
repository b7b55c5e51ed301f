package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelmsig"
)

// collectorBinary is the built escrowtrace-collector the demo's --processes
// runs: $ESCROWTRACE_COLLECTOR (the Makefile sets it), else the
// repository's bin/. The test fails, saying how to build it, without one.
func collectorBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(envCollectorBin)
	if bin == "" {
		bin, _ = filepath.Abs(filepath.Join("..", "..", "bin", collectorName))
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no %s at %s: build it with `make collector` (a few minutes the first time), or set %s", collectorName, bin, envCollectorBin)
	}
	return bin
}

// Hostile and odd input for --processes: nothing starts, the message says
// what is wrong, and a collector that is not there fails at once.
func TestDemoProcessesUsage(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{"zero", nil, []string{"--processes", "0"}, exitUsage,
			[]string{"--processes 0: want 1 to --escrows (1)"}},
		{"negative", nil, []string{"--processes", "-2", "--escrows", "3"}, exitUsage,
			[]string{"--processes -2: want 1 to --escrows (3)"}},
		{"more than escrows", nil, []string{"--processes", "3", "--escrows", "2"}, exitUsage,
			[]string{"--processes 3: want 1 to --escrows (2); each process runs at least one escrow"}},
		{"not a number", nil, []string{"--processes", "two"}, exitUsage,
			[]string{`invalid value "two" for flag -processes`}},
		{"no collector binary", []string{envCollectorBin + "=" + filepath.Join(t.TempDir(), "nope")}, []string{"--processes", "1"}, exitFailure,
			[]string{"there is no escrowtrace-collector at", "nothing was started", "make collector", envCollectorBin, "OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{"dead collector", []string{fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", deadPort)}, []string{"--processes", "1"}, exitFailure,
			[]string{fmt.Sprintf("nothing was started: no collector answers at http://127.0.0.1:%d/v1/traces", deadPort), "connection refused",
				"unset OTEL_EXPORTER_OTLP_ENDPOINT and the demo starts its own"}},
		{"dead collector, gRPC", []string{fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", deadPort), "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"},
			[]string{"--processes", "1"}, exitFailure, []string{fmt.Sprintf("no collector answers at http://127.0.0.1:%d ", deadPort)}},
		{"no OTLP", []string{"OTEL_TRACES_EXPORTER=console"}, []string{"--processes", "1"}, exitUsage,
			[]string{"--processes sends every process's traces to a collector over OTLP, and OTEL_TRACES_EXPORTER=console would not"}},
		{"instrumentation off", []string{"ENABLE_INSTRUMENTATION=0"}, []string{"--processes", "1"}, exitUsage,
			[]string{"ENABLE_INSTRUMENTATION=0 turns the instrumentation off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := execDemo(t, time.Minute, tc.env, append([]string{"demo", "--out", t.TempDir()}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if strings.Contains(r.stderr, "monero-wallet-rpc pid") || strings.Contains(r.stderr, "started: escrow") {
				t.Error("processes were started")
			}
			// The checks come before anything starts, and a dead
			// collector is one refused connection.
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// A run of the demo with --processes and what its output says.
type procRun struct {
	execResult
	out       string
	collector int                   // the collector's pid
	workers   map[int]int           // process number → pid
	ranBy     map[string]int        // escrow id → process number, from "process N (pid P) started: escrows ..."
	files     map[string]escrowFile // by escrow id, _PARTIAL files too
}

var (
	collectorUpLine = regexp.MustCompile(`escrowtrace-collector pid (\d+) up in `)
	workerLine      = regexp.MustCompile(`(?m)process (\d+) \(pid (\d+)\) started: escrows? (.+)$`)
)

// runProcesses runs `demo --processes ...` with the demo's own collector
// exporting to jaeger, and reads what it said and wrote.
func runProcesses(t *testing.T, jaeger *jaegertest.Instance, extraEnv []string, args ...string) procRun {
	t.Helper()
	mustBinaries(t)
	out := t.TempDir()
	// Where the workers would write files of their own: they must not.
	ownDir := t.TempDir()
	env := append([]string{
		envCollectorBin + "=" + collectorBinary(t),
		envCollectorJaeger + "=" + jaeger.OTLPGRPC,
		"JAEGER_UI_URL=" + jaeger.QueryURL,
		"OTEL_SERVICE_NAME=escrowtrace-processes-test",
		"ESCROW_TRACE_DIR=" + ownDir,
	}, extraEnv...)
	start := time.Now()
	r := procRun{execResult: execDemo(t, 8*time.Minute, env, append([]string{"demo", "--out", out}, args...)...), out: out,
		workers: map[int]int{}, ranBy: map[string]int{}, files: map[string]escrowFile{}}
	t.Logf("demo took %v", time.Since(start).Round(100*time.Millisecond))
	checkNothingLeft(t, r.execResult)
	if strings.Contains(r.stderr, "DATA RACE") {
		t.Error("the race detector fired")
	}
	if m := collectorUpLine.FindStringSubmatch(r.stderr); m != nil {
		r.collector, _ = strconv.Atoi(m[1])
	} else {
		t.Error("stderr does not say the collector started")
	}
	for _, m := range workerLine.FindAllStringSubmatch(r.stderr, -1) {
		n, _ := strconv.Atoi(m[1])
		pid, _ := strconv.Atoi(m[2])
		r.workers[n] = pid
		for id := range strings.SplitSeq(m[3], ", ") {
			r.ranBy[id] = n
		}
	}
	// Nothing the demo started runs on: workers, collector.
	for _, pid := range append(slices.Collect(maps.Values(r.workers)), r.collector) {
		if pid != 0 && syscall.Kill(pid, 0) == nil {
			if stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(stat), ") Z ") {
				t.Errorf("pid %d still runs after the demo exited", pid)
			}
		}
	}
	if left, _ := os.ReadDir(ownDir); len(left) > 0 {
		t.Errorf("the worker processes wrote files of their own into ESCROW_TRACE_DIR: %v", left)
	}
	names, _ := filepath.Glob(filepath.Join(out, "escrow_*.json"))
	for _, path := range names {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := escrowjson.Validate(data); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if km := keyMaterialIn(string(data)); len(km) > 0 {
			t.Errorf("%s holds multisig key material", path)
		}
		events, err := escrowjson.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(filepath.Base(path), "escrow_")
		for _, suffix := range []string{".json", "_FAILED", "_PARTIAL"} {
			id = strings.TrimSuffix(id, suffix)
		}
		if _, dup := r.files[id]; dup {
			t.Errorf("escrow %s has two files", id)
		}
		r.files[id] = escrowFile{name: filepath.Base(path), path: path, events: events}
	}
	return r
}

// summaryRow returns the summary's fields for an escrow: number, process,
// result, rounds, pollution, file, and how many of the pollution events
// the collector found.
func summaryRow(t *testing.T, stdout, id string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*(\d+)\s+` + regexp.QuoteMeta(id) + `\s+(\d+)\s+(ok|failed[^\n]*?|lost[^\n]*?)\s+(\d)/3\s+(\d+)\s+(\d+)\s+\S+\s+(escrow_\S+) ✓ \d+ events`).FindStringSubmatch(stdout)
	if m == nil {
		t.Errorf("no summary row for escrow %s", id)
		return make([]string, 7)
	}
	return []string{m[1], m[2], m[3], m[4], m[5], m[7], m[6]}
}

// jaegerTrace returns the escrow's one trace in Jaeger, waiting for it.
func jaegerTrace(t *testing.T, j *jaegertest.Instance, service, id string) jaegertest.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		traces, err := j.FindTraces(ctx, service, map[string]string{string(escrowconv.EscrowID): id})
		if err == nil && len(traces) == 1 {
			tr, err := j.Trace(ctx, traces[0].TraceID)
			if err == nil {
				return tr
			}
		}
		if len(traces) > 1 {
			t.Fatalf("Jaeger has %d traces of escrow %s", len(traces), id)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Jaeger has no trace of escrow %s (%v)", id, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// pidOf returns the process.pid of the process the trace's spans ran in
// (one for all).
func pidOf(t *testing.T, tr jaegertest.Trace) int {
	t.Helper()
	pids := map[int]bool{}
	for _, s := range tr.Spans {
		v, _ := tr.Processes[s.ProcessID].Tag("process.pid")
		n, _ := v.(float64)
		pids[int(n)] = true
	}
	if len(pids) != 1 {
		t.Errorf("trace %s: spans from processes %v, want one", tr.TraceID, pids)
	}
	for p := range pids {
		return p
	}
	return 0
}

// Escrows in OS processes of their own, each with its own SDK exporting
// OTLP to the escrowtrace collector the demo runs, which writes the files
// into --out and forwards the traces to Jaeger.
func TestDemoProcesses(t *testing.T) {
	t.Parallel()
	jaeger := jaegertest.Start(t)
	const service = "escrowtrace-processes-test"

	// Dedicated wallet-rpcs: every escrow succeeds, its one 45-event file
	// written by the collector, its trace in Jaeger from the worker
	// process the demo says ran it.
	t.Run("dedicated", func(t *testing.T) {
		t.Parallel()
		r := runProcesses(t, jaeger, nil, "--processes", "2", "--escrows", "2")
		if r.code != exitOK {
			t.Fatalf("exit %d", r.code)
		}
		if len(r.workers) != 2 || len(r.ranBy) != 2 {
			t.Fatalf("stderr names workers %v running escrows %v; want 2 processes with one escrow each", r.workers, r.ranBy)
		}
		if n := len(startedPIDs(r.stderr)); n != 6 {
			t.Errorf("%d wallet-rpcs started, want 6", n)
		}
		if len(r.files) != 2 {
			t.Fatalf("%d files in --out, want 2", len(r.files))
		}
		for id, proc := range r.ranBy {
			f := r.files[id]
			if f.name != escrowjson.FileName(id, false) || len(f.events) != 45 {
				t.Errorf("escrow %s: file %q with %d events, want %s with 45", id, f.name, len(f.events), escrowjson.FileName(id, false))
			}
			if !regexp.MustCompile(regexp.QuoteMeta("escrow "+id) + ` after \S+: ok, in ` + fmt.Sprintf(`process %d \(pid %d\)`, proc, r.workers[proc])).MatchString(r.stderr) {
				t.Errorf("stderr does not say that process %d ran escrow %s", proc, id)
			}
			row := summaryRow(t, r.stdout, id)
			if row[1] != fmt.Sprint(proc) || row[2] != "ok" || row[3] != "3" || row[4] != "0" || row[6] != "0" {
				t.Errorf("summary row of escrow %s: %v; want process %d, ok, 3 rounds, no pollution, none by the collector", id, row, proc)
			}
			// In Jaeger, from that worker's SDK: the whole escrow.
			tr := jaegerTrace(t, jaeger, service, id)
			if pid := pidOf(t, tr); pid != r.workers[proc] {
				t.Errorf("escrow %s: spans from pid %d, want process %d's pid %d", id, pid, proc, r.workers[proc])
			}
			ops := map[string]int{}
			for _, s := range tr.Spans {
				ops[s.OperationName]++
			}
			if ops[escrowconv.SpanEscrow] != 1 || ops[escrowconv.RoundSpanName(3)] != 1 || ops["exchange_multisig_keys"] != 6 || ops["make_multisig"] != 3 {
				t.Errorf("escrow %s in Jaeger: spans %v", id, ops)
			}
		}
		for _, want := range []string{"All 2 escrows ok, no cache pollution.", "Race report:      " + filepath.Join(r.out, raceReportName)} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q", want)
			}
		}
		for _, want := range []string{"the collector wrote 2 files in", "stopped escrowtrace-collector pid", "traces to Jaeger at " + jaeger.OTLPGRPC,
			"no files of their own (otelsetup.WithoutFiles)"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if n := strings.Count(r.stdout, jaeger.QueryURL+"/search?"); n != 2 {
			t.Errorf("%d Jaeger URLs on stdout, want 2", n)
		}
	})

	// Shared wallet-rpcs: three for both processes; every escrow ends with
	// its own final file (the processes race on the open wallets, so some
	// may fail), and the verdict says why the lock cannot help.
	t.Run("shared", func(t *testing.T) {
		t.Parallel()
		r := runProcesses(t, jaeger, nil, "--processes", "2", "--escrows", "2", "--rpc", "shared", "--safe")
		if r.code != exitOK {
			t.Fatalf("exit %d", r.code)
		}
		if n := len(startedPIDs(r.stderr)); n != 3 {
			t.Errorf("%d wallet-rpcs started, want 3 shared by both processes", n)
		}
		if len(r.ranBy) != 2 || len(r.files) != 2 {
			t.Fatalf("escrows %v, files %d; want 2 and 2", r.ranBy, len(r.files))
		}
		for id, proc := range r.ranBy {
			f := r.files[id]
			if f.name != escrowjson.FileName(id, false) && f.name != escrowjson.FileName(id, true) {
				t.Errorf("escrow %s: file %q, want its final file", id, f.name)
			}
			if row := summaryRow(t, r.stdout, id); row[1] != fmt.Sprint(proc) {
				t.Errorf("summary says process %s ran escrow %s, stderr process %d", row[1], id, proc)
			}
		}
		if !strings.Contains(r.stderr, "per-endpoint lock on in each process (--safe; it does not hold across processes)") ||
			!strings.Contains(r.stdout, "--safe's lock holds within a process only") {
			t.Error("the demo does not say that the lock does not hold across processes")
		}
		// What the collector found (the race decides how much) is told
		// apart from what the processes found, as the files say.
		var inFiles, byCollector int
		for _, f := range r.files {
			for _, ev := range f.events {
				if p, ok := ev.Details.(*escrowjson.CachePollution); ok {
					inFiles++
					if p.DetectedBy == escrowconv.DetectedByCollector {
						byCollector++
					}
				}
			}
		}
		column := 0
		for id := range r.ranBy {
			n, _ := strconv.Atoi(summaryRow(t, r.stdout, id)[6])
			column += n
		}
		for _, want := range []string{
			fmt.Sprintf("  found in the processes:  %d ", inFiles-byCollector),
			fmt.Sprintf("  found by the collector:  %d (no process saw them", byCollector),
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q", want)
			}
		}
		if column != byCollector {
			t.Errorf("the summary's column says the collector found %d, the files %d", column, byCollector)
		}
		// Each of them names the other process: one escrow per process.
		if byCollector > 0 {
			listed := regexp.MustCompile(`(?m)^  escrow \d \w+: .*\(opened by escrow \d in process \d\)$`).FindAllString(r.stdout, -1)
			if len(listed) == 0 || !strings.Contains(r.stdout, "Cache pollution found by the collector (another process switched the wallet") {
				t.Errorf("%d findings of the collector, none listed with its process", byCollector)
			}
		}
		t.Logf("%d pollution events, %d found by the collector", inFiles, byCollector)
	})

	// A worker that dies mid-escrow (ESCROWTRACE_DEMO_CRASH: SIGKILL right
	// after its first make_multisig, once what it had was exported): the
	// demo names it, its escrow ends as _PARTIAL in the collector's
	// directory with the spans exported before it died, and the other
	// process's escrow is whole.
	t.Run("a process dies", func(t *testing.T) {
		t.Parallel()
		r := runProcesses(t, jaeger, []string{envCrash + "=2:make_multisig"}, "--processes", "2", "--escrows", "2")
		if r.code != exitFailure {
			t.Errorf("exit %d, want %d", r.code, exitFailure)
		}
		if len(r.ranBy) != 2 {
			t.Fatalf("escrows %v, want 2", r.ranBy)
		}
		for id, proc := range r.ranBy {
			f := r.files[id]
			row := summaryRow(t, r.stdout, id)
			if proc == 1 {
				if f.name != escrowjson.FileName(id, false) || len(f.events) != 45 || row[2] != "ok" {
					t.Errorf("escrow %s of the surviving process: file %q, %d events, %v", id, f.name, len(f.events), row)
				}
				continue
			}
			if f.name != escrowjson.PartialFileName(id) {
				t.Fatalf("escrow %s of the dead process: file %q, want %s", id, f.name, escrowjson.PartialFileName(id))
			}
			n := countTypes(f.events)
			starts := map[string]int{}
			for _, ev := range f.events {
				if d, ok := ev.Details.(*escrowjson.RPCCallStart); ok {
					starts[d.Method]++
				}
			}
			// Round 1 up to the first make_multisig, and no ERROR_FINAL:
			// the process died, nothing failed.
			if n[escrowconv.PointPreRound1] != 3 || starts["make_multisig"] < 1 || n[escrowjson.TypeErrorFinal] != 0 || len(f.events) >= 45 {
				t.Errorf("escrow %s's _PARTIAL file: %v, calls %v", id, n, starts)
			}
			if row[2] != "lost: process 2 died" || row[5] != f.name {
				t.Errorf("summary row of escrow %s: %v", id, row)
			}
			for _, want := range []string{
				fmt.Sprintf("process 2 (pid %d) died (signal: killed)", r.workers[2]),
				fmt.Sprintf("escrow %s: process 2 (pid %d) died (signal: killed) before the escrow ended", id, r.workers[2]),
				envCrash + "=2:make_multisig: killing this process after make_multisig",
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			// Jaeger has what the process exported, without the root.
			tr := jaegerTrace(t, jaeger, service, id)
			for _, s := range tr.Spans {
				if s.OperationName == escrowconv.SpanEscrow {
					t.Error("Jaeger has the root span of an escrow whose process died before it ended")
				}
			}
		}
	})
}

// A worker's result crosses the pipe as JSON and comes back as the error
// the summary reads: a StepError with its round, step and role.
func TestWorkerResultRoundTrip(t *testing.T) {
	step := &otelmsig.StepError{EscrowID: "e1", Round: 2, Operation: "exchange_multisig_keys", Role: "vendor", WalletID: "w-v",
		Err: errors.New("walletrpc: json-rpc error -1: boom")}
	for _, in := range []result{
		{plan: escrowPlan{id: "e1"}, address: "9xyz", start: time.Unix(1700000000, 5), took: 1234 * time.Millisecond},
		{plan: escrowPlan{id: "e1"}, err: step, took: time.Second},
		{plan: escrowPlan{id: "e1"}, err: errors.New("context canceled")},
	} {
		data, err := json.Marshal(workerMsg{Result: newWorkerResult(in)})
		if err != nil {
			t.Fatal(err)
		}
		var m workerMsg
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		got := m.Result
		if got.ID != in.plan.id || got.Address != in.address || !got.Start.Equal(in.start) || got.Took != in.took {
			t.Errorf("%s: came back as %+v", data, got)
		}
		if (got.err() == nil) != (in.err == nil) || (in.err != nil && got.err().Error() != in.err.Error()) {
			t.Errorf("%s: error %v, want %v", data, got.err(), in.err)
		}
		var se *otelmsig.StepError
		if errors.As(in.err, new(*otelmsig.StepError)) {
			if !errors.As(got.err(), &se) || *se != (otelmsig.StepError{EscrowID: "e1", Round: 2, Operation: "exchange_multisig_keys",
				Role: "vendor", WalletID: "w-v", Err: se.Err}) {
				t.Errorf("%s: step error %#v", data, got.err())
			}
		}
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318/v1/traces": "127.0.0.1:4318",
		"http://127.0.0.1:4317":           "127.0.0.1:4317",
		"https://c.example/":              "c.example:443",
		"http://c.example/v1/traces":      "c.example:80",
		"http://[::1]:4318/v1/traces":     "[::1]:4318",
	} {
		host, port, err := hostPort(in)
		if got := net.JoinHostPort(host, port); err != nil || got != want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
