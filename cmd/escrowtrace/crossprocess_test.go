package main

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/otelmsig"
)

// processesRun is the files of a real `escrowtrace demo --processes 2
// --escrows 4 --rpc shared`, written by the escrowtrace collector: escrows
// 3cd6e7d4 and f48e2bce ran in process 1 (service.instance.id 79fee76b-…),
// 6826a738 and 64943196 in process 2 (fdf4c151-…); 51 pollution events
// were found in the processes, 26 by the collector (13 in each of
// 3cd6e7d4 and 64943196).
var processesRun = filepath.Join("..", "..", "report", "testdata", "processes2")

// demoReport runs the demo's report on the files of dir for escrows ids
// (ids[i] ran in process procs[i]; all failed in round 1 when failed),
// and returns its stdout.
func demoReport(t *testing.T, o demoOptions, dir string, instances map[string]int, ids []string, procs []int, failed bool) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	d := &demo{opts: o, stdout: &stdout, stderr: io.Discard, log: newProgress(io.Discard), instances: instances}
	var results []result
	for i, id := range ids {
		r := result{plan: escrowPlan{id: id}, process: procs[i], start: time.UnixMilli(1_795_974_225_900), took: time.Minute}
		if failed {
			r.err = &otelmsig.StepError{EscrowID: id, Round: 1, Operation: "make_multisig", Role: "buyer", Err: errors.New("-28 already multisig")}
		}
		results = append(results, r)
	}
	err := d.report(dir, results, nil)
	return stdout.String(), err
}

// With --processes on shared wallet-rpcs, the summary counts per escrow
// what the collector found, the verdict says how many the processes found
// and how many the collector found that no process saw, and the
// collector's are listed apart, each naming the process that switched
// the wallet.
func TestDemoReportCrossProcess(t *testing.T) {
	o := demoOptions{escrows: 4, processes: 2, rpc: layoutShared}
	instances := map[string]int{"79fee76b-c336-456f-8858-f8a11469ab5a": 1, "fdf4c151-6ed2-49af-9707-7272e089f4d1": 2}
	ids := []string{"3cd6e7d4-1c11-4817-b0bd-3433043745f7", "f48e2bce-d9b6-4581-9acb-1f925895eee8",
		"6826a738-0318-42e4-a967-d2af78f22c80", "64943196-2c36-4577-9daa-9b6ba14987fe"}
	out, err := demoReport(t, o, processesRun, instances, ids, []int{1, 1, 2, 2}, true)
	if err != nil {
		t.Errorf("report: %v (a race on shared wallet-rpcs is what the demo shows, not a failure)", err)
	}
	for _, want := range []string{
		"process  result                                 rounds  pollution  by collector  took",
		"4 of 4 escrows failed; 77 cache pollution events in 4 escrows:\n" +
			"  found in the processes:  51 (by their Trackers, which see their own calls, and their snapshots)\n" +
			"  found by the collector:  26 (no process saw them: another process switched the wallet)\n",
		"--safe's lock holds within a process only",
		"\nCache pollution found in the processes (from the trace files):\n",
		"\nCache pollution found by the collector (another process switched the wallet; no process saw it):\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// Per escrow: pollution, then how many of them the collector found.
	for id, want := range map[string]string{ids[0]: `15\s+13`, ids[1]: `21\s+0`, ids[2]: `25\s+0`, ids[3]: `16\s+13`} {
		if !regexp.MustCompile(`(?m)^\s*\d\s+` + regexp.QuoteMeta(id) + `\s+\d\s+failed: round 1 make_multisig \(buyer\)\s+0/3\s+` + want + `\s+1m0s\s+escrow_`).MatchString(out) {
			t.Errorf("summary row of %s lacks pollution and by collector %q:\n%s", id, want, out)
		}
	}
	// The collector's findings name the other escrow's process, never the
	// victim's own.
	procOf := map[string]string{} // escrow number in the summary → process
	for _, m := range regexp.MustCompile(`(?m)^\s*(\d)\s+[0-9a-f-]{36}\s+(\d)\s+failed`).FindAllStringSubmatch(out, -1) {
		procOf[m[1]] = m[2]
	}
	collector := out[strings.Index(out, "found by the collector (another"):strings.Index(out, "Trace files:")]
	lines := regexp.MustCompile(`(?m)^  escrow (\d) (\w+): wrong_wallet_open on 127\.0\.0\.1:\d+: wanted \S+, \S+ was open \(opened by escrow (\d) in process (\d)\)$`).FindAllStringSubmatch(collector, -1)
	if len(procOf) != 4 || len(lines) < 4 {
		t.Fatalf("summary processes %v; %d findings of the collector listed:\n%s", procOf, len(lines), out)
	}
	for _, l := range lines {
		victim, other, otherProc := l[1], l[3], l[4]
		if procOf[other] != otherProc || procOf[victim] == otherProc {
			t.Errorf("%q: escrow %s ran in process %s, escrow %s in process %s", l[0], victim, procOf[victim], other, procOf[other])
		}
	}
	if strings.Contains(collector, "in service instance") {
		t.Error("a finding names a service instance the demo knows as a process")
	}
}

// Dedicated wallet-rpcs in processes: the collector's column says 0 for
// every escrow, and nothing else mentions it. And the demo in one process
// prints what it always did: no column, no word of a collector.
func TestDemoReportNoCollectorFindings(t *testing.T) {
	dedicated := []string{"24d10b59-33af-4994-9eb9-a94468efd9dc", "db18a6c1-cb06-4f43-9f6e-3d0768edb54c"}
	out, err := demoReport(t, demoOptions{escrows: 2, processes: 2, rpc: layoutDedicated},
		filepath.Join("..", "..", "report", "testdata", "dedicated2"), nil, dedicated, []int{1, 2}, false)
	if err != nil {
		t.Errorf("report: %v", err)
	}
	if !strings.Contains(out, "pollution  by collector  took") || !strings.Contains(out, "All 2 escrows ok, no cache pollution.") {
		t.Errorf("dedicated layout in processes:\n%s", out)
	}
	for _, id := range dedicated {
		if !regexp.MustCompile(regexp.QuoteMeta(id) + `\s+\d\s+ok\s+3/3\s+0\s+0\s+1m0s`).MatchString(out) {
			t.Errorf("summary row of %s: want 0 pollution, 0 by the collector:\n%s", id, out)
		}
	}
	if n := strings.Count(out, "collector"); n != 1 { // the column's head
		t.Errorf("the collector is mentioned %d times, want once (the column):\n%s", n, out)
	}

	shared := []string{"8e905562-75c6-4aed-b429-19a4db2873a3", "a948985c-9d2a-4098-b951-3b8dd16a2e7b", "cf59039f-ffaf-4a8d-a5a7-a5d217a3c4c2"}
	out, _ = demoReport(t, demoOptions{escrows: 3, rpc: layoutShared}, sharedRun, nil, shared, []int{0, 0, 0}, true)
	if strings.Contains(out, "collector") || !strings.Contains(out, "\nCache pollution detected (from the trace files):\n") ||
		!regexp.MustCompile(`(?m)^ #\s+escrow\s+result\s+rounds\s+pollution\s+took\s+file`).MatchString(out) {
		t.Errorf("the demo in one process:\n%s", out)
	}
}
