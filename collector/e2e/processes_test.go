package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/collector/collectortest"
	"github.com/escrowtrace/escrowtrace/collector/walletpollutionprocessor"
	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
)

// workerLine is the demo's progress line for a worker process.
var workerLine = regexp.MustCompile(`(?m)process (\d+) \(pid (\d+)\) started: escrows? (.+)$`)

// workers reads, from the demo's stderr, each worker's pid and which
// escrows it ran.
func workers(stderr string) (pids map[int]int, ranBy map[string]int) {
	pids, ranBy = map[int]int{}, map[string]int{}
	for _, m := range workerLine.FindAllStringSubmatch(stderr, -1) {
		n, _ := strconv.Atoi(m[1])
		pid, _ := strconv.Atoi(m[2])
		pids[n] = pid
		for id := range strings.SplitSeq(m[3], ", ") {
			ranBy[id] = n
		}
	}
	return pids, ranBy
}

// escrowFiles reads every escrow_*.json in dir, each checked against the
// contract, by file name.
func escrowFiles(t *testing.T, dir string) map[string][]escrowjson.Event {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "escrow_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]escrowjson.Event{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := escrowjson.Validate(data); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		evs, err := escrowjson.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = evs
	}
	return files
}

// otlpEnv is what an escrow server process sets to export to collector c
// over OTLP/HTTP.
func otlpEnv(c *collectortest.Instance, service string) []string {
	return []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + c.OTLPHTTP,
		"OTEL_SERVICE_NAME=" + service,
	}
}

// The real thing: 2 OS processes × 2 escrows on real monero-wallet-rpcs
// (dedicated layout), each process with its own SDK (otelsetup) exporting
// OTLP to the built collector, which writes 4 legacy files of 45 events
// that pass Validate (the processes write none) and forwards every span to
// a real Jaeger, where each escrow is found by escrow.id, whole, from the
// process that ran it.
func TestRealProcesses(t *testing.T) {
	j := jaegertest.Start(t)
	c := collectortest.Start(t, collectortest.Config{Jaeger: j.OTLPGRPC, GroupWait: 2 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	const service = "escrowtrace-e2e-processes"
	ownDir := t.TempDir() // where the processes would write files of their own
	start := time.Now()
	r := startDemo(t, append(otlpEnv(c, service), "ESCROW_TRACE_DIR="+ownDir),
		"demo", "--processes", "2", "--escrows", "4", "--out", c.Dir)
	if code := r.wait(ctx); code != 0 {
		t.Fatalf("exit %d", code)
	}
	t.Logf("demo took %v", time.Since(start).Round(100*time.Millisecond))
	pids, ranBy := workers(r.stderr.String())
	if len(pids) != 2 || len(ranBy) != 4 {
		t.Fatalf("the demo reports processes %v running escrows %v; want 2 processes, 4 escrows", pids, ranBy)
	}
	for n, pid := range pids {
		if processAlive(pid) {
			t.Errorf("worker process %d (pid %d) still runs", n, pid)
		}
	}
	if left, _ := os.ReadDir(ownDir); len(left) > 0 {
		t.Errorf("the processes wrote files of their own: %v", left)
	}

	// The files: the collector's, one per escrow, whole.
	files := escrowFiles(t, c.Dir)
	if len(files) != 4 {
		t.Errorf("%d files in the collector's directory, want 4", len(files))
	}
	for id := range ranBy {
		evs, ok := files[escrowjson.FileName(id, false)]
		if !ok {
			t.Errorf("escrow %s: no %s", id, escrowjson.FileName(id, false))
			continue
		}
		if len(evs) != 45 {
			t.Errorf("escrow %s: %d events, want 45", id, len(evs))
		}
	}
	// Dedicated wallet-rpcs: no wallet is ever switched, so neither the
	// processes nor the collector's walletpollution processor, which saw
	// every call, found pollution.
	if found, inProcess := collectorFindings(files); len(found)+inProcess != 0 {
		t.Errorf("dedicated wallet-rpcs, yet %d pollution events found in the processes and %d by the collector: %+v", inProcess, len(found), found)
	}
	if n := metric(ctx, t, c, walletpollutionprocessor.MetricFindings, nil); n != 0 {
		t.Errorf("the collector counted %v findings on dedicated wallet-rpcs", n)
	}

	// Jaeger: every span the collector took went on, and each escrow's
	// trace is there, whole, from the process that ran it.
	accepted := metric(ctx, t, c, "otelcol_receiver_accepted_spans", nil)
	jaeger := map[string]string{"exporter": "otlp_grpc/jaeger"}
	waitMetric(ctx, t, c, "otelcol_exporter_sent_spans", jaeger, accepted)
	if n := metric(ctx, t, c, "otelcol_exporter_send_failed_spans", jaeger); n != 0 {
		t.Errorf("%v spans failed to reach Jaeger", n)
	}
	if n := metric(ctx, t, c, "otelcol_receiver_refused_spans", nil); n != 0 {
		t.Errorf("the collector refused %v spans", n)
	}
	// Jaeger stores the spans as they come: wait for all of them.
	var traces map[string]jaegertest.Trace
	var inJaeger int
	for {
		traces, inJaeger = map[string]jaegertest.Trace{}, 0
		for id := range ranBy {
			traces[id] = findTrace(ctx, t, j, service, id, hasRoot)
			inJaeger += len(traces[id].Spans)
		}
		if float64(inJaeger) >= accepted || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if float64(inJaeger) != accepted {
		t.Errorf("Jaeger has %d spans of the 4 escrows; the collector took %v", inJaeger, accepted)
	}
	instances := map[string]bool{}
	for id, proc := range ranBy {
		tr := traces[id]
		ops := map[string]int{}
		for _, s := range tr.Spans {
			ops[s.OperationName]++
			p := tr.Processes[s.ProcessID]
			if pid, _ := p.Tag("process.pid"); fmt.Sprint(pid) != fmt.Sprint(pids[proc]) {
				t.Fatalf("escrow %s: span %s from pid %v, want process %d's pid %d", id, s.OperationName, pid, proc, pids[proc])
			}
			inst, _ := p.Tag("service.instance.id")
			instances[fmt.Sprint(proc, "/", inst)] = true
		}
		if ops[escrowconv.SpanEscrow] != 1 || ops[escrowconv.RoundSpanName(1)] != 1 || ops[escrowconv.RoundSpanName(3)] != 1 ||
			ops["make_multisig"] != 3 || ops["exchange_multisig_keys"] != 6 {
			t.Errorf("escrow %s in Jaeger: %v", id, ops)
		}
	}
	if len(instances) != 2 {
		t.Errorf("service.instance.id per process: %v; want one each, two in all", instances)
	}
	t.Logf("4 files × 45 events; %d spans through the collector into Jaeger", inJaeger)
}

// A collector restarted while the processes export (collectortest's
// Restart: SIGTERM, then the same ports again). The SDKs retry what fails
// while it is down, so no span is lost. The escrows that were running are
// cut in two: the stopped collector writes the part it had as
// escrow_<id>_PARTIAL.json (groupbytrace releases what it holds at
// shutdown, and escrowjson writes every escrow whose root has not come as
// _PARTIAL), and the new one, which starts empty, has the rest. When the
// root arrives it merges the partial file into the final one and removes
// it: each escrow ends in one complete file of 45 events, each once.
func TestCollectorRestartMidRun(t *testing.T) {
	c := collectortest.Start(t, collectortest.Config{GroupWait: time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	// Spans leave the processes every 200 ms, so that the collector has
	// some of every escrow when it restarts, long before the escrows end.
	r := startDemo(t, append(otlpEnv(c, "escrowtrace-e2e-restart"), "OTEL_BSP_SCHEDULE_DELAY=200"),
		"demo", "--processes", "2", "--escrows", "2", "--out", c.Dir)
	r.waitStderr(ctx, "starting 2 escrow setups together")
	waitMetric(ctx, t, c, "otelcol_receiver_accepted_spans", nil, 1)
	before := time.Now()
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("collector restarted in %v", time.Since(before).Round(time.Millisecond))
	code := r.wait(ctx)

	_, ranBy := workers(r.stderr.String())
	// The new collector counts the partial files it merged: one per escrow
	// the restart cut in two.
	merged, err := c.Metric(ctx, "escrowjson_merged_partials", nil)
	if err != nil {
		t.Fatal(err)
	}
	if merged == 0 {
		t.Fatalf("no escrow cut by a restart made while both ran: the restart came too late to test anything")
	}
	files := escrowFiles(t, c.Dir)
	for id := range ranBy {
		if _, ok := files[escrowjson.PartialFileName(id)]; ok {
			t.Errorf("escrow %s: %s left beside the final file", id, escrowjson.PartialFileName(id))
		}
		final, ok := files[escrowjson.FileName(id, false)]
		if !ok {
			t.Errorf("escrow %s: no %s after the restart; files %v", id, escrowjson.FileName(id, false), keys(files))
			continue
		}
		if len(final) != 45 {
			t.Errorf("escrow %s: %d events in its file, want 45 (lost or doubled across the restart)", id, len(final))
		}
	}
	if code != 0 {
		t.Errorf("demo exit %d, want 0: every escrow is whole\n%s", code, r.stdout.String())
	}
	// Nothing lost on the way: what the SDKs could not deliver while the
	// collector was down they retried (their shutdown reports no loss).
	if strings.Contains(r.stderr.String(), "not exported") {
		t.Error("a process lost spans over the restart")
	}
	t.Logf("%v of %d escrows cut by the restart and merged", merged, len(ranBy))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func hasRoot(tr jaegertest.Trace) bool {
	for _, s := range tr.Spans {
		if s.OperationName == escrowconv.SpanEscrow {
			return true
		}
	}
	return false
}

// findTrace waits until Jaeger has one trace of escrow id for which ok (nil:
// any) holds, and returns it.
func findTrace(ctx context.Context, t *testing.T, j *jaegertest.Instance, service, id string, ok func(jaegertest.Trace) bool) jaegertest.Trace {
	t.Helper()
	var last string
	for {
		traces, err := j.FindTraces(ctx, service, map[string]string{string(escrowconv.EscrowID): id})
		switch {
		case err != nil:
			last = err.Error()
		case len(traces) > 1:
			t.Fatalf("Jaeger has %d traces of escrow %s, want 1", len(traces), id)
		case len(traces) == 1:
			tr, err := j.Trace(ctx, traces[0].TraceID)
			if err == nil && (ok == nil || ok(tr)) {
				return tr
			}
			last = fmt.Sprintf("trace %s: %d spans (%v)", traces[0].TraceID, len(tr.Spans), err)
		default:
			last = "no trace"
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Jaeger: escrow %s: %s", id, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// metric reads one of the collector's own metrics; a counter that has
// counted nothing is 0.
func metric(ctx context.Context, t *testing.T, c *collectortest.Instance, name string, labels map[string]string) float64 {
	t.Helper()
	v, err := c.Metric(ctx, name, labels)
	if err != nil && !errors.Is(err, collectortest.ErrNoSeries) {
		t.Fatal(err)
	}
	return v
}

// waitMetric waits until the collector's metric reaches want.
func waitMetric(ctx context.Context, t *testing.T, c *collectortest.Instance, name string, labels map[string]string, want float64) {
	t.Helper()
	for {
		got := metric(ctx, t, c, name, labels)
		if got >= want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("collector metric %s%v = %v, want %v", name, labels, got, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
