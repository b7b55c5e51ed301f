package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/internal/jaegerv1"
)

// sharedRun is the real shared race of 3 escrows the report tests use.
var sharedRun = filepath.Join("..", "..", "report", "testdata", "shared3")

// checkRaceReport checks what the demo says of its HTML report and that
// the page is there, with one lane per endpoint.
func checkRaceReport(t *testing.T, r execResult, out string) {
	t.Helper()
	want := filepath.Join(out, raceReportName)
	if !strings.Contains(r.stdout, "Race report:      "+want) {
		t.Errorf("the demo does not print the report's path %s", want)
	}
	page, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), `<g class="lane"`); n != 3 {
		t.Errorf("report.html has %d lanes, want 3 (one wallet-rpc per role)", n)
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	html, lanes := filepath.Join(dir, "race.html"), filepath.Join(dir, "lanes.json")
	r := execDemo(t, time.Minute, nil, "report", "-o", html, "--lanes", lanes, "--compare", "1", "3", sharedRun)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Report: "+html+" (3 escrows, 48 cache pollution events)") {
		t.Errorf("stdout %q", r.stdout)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "Compare #1") || strings.Count(string(page), `<g class="pm"`) != 48 {
		t.Error("the page lacks the comparison of #1 and #3 or the 48 pollution markers")
	}

	// The lanes as a Jaeger trace: one span per call under its endpoint,
	// one service per escrow, pollution as errors.
	b, err := os.ReadFile(lanes)
	if err != nil {
		t.Fatal(err)
	}
	var resp jaegerv1.Response
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 1 {
		t.Fatalf("%d traces", len(resp.Data))
	}
	tr := resp.Data[0]
	hex := regexp.MustCompile(`^[0-9a-f]+$`)
	if len(tr.TraceID) != 32 || !hex.MatchString(tr.TraceID) {
		t.Errorf("trace id %q", tr.TraceID)
	}
	ids := map[string]jaegerv1.Span{}
	for _, s := range tr.Spans {
		ids[s.SpanID] = s
	}
	calls, endpoints, errs := map[string]int{}, 0, 0
	for _, s := range tr.Spans {
		if len(s.SpanID) != 16 || !hex.MatchString(s.SpanID) || s.TraceID != tr.TraceID {
			t.Errorf("span %q of trace %q", s.SpanID, s.TraceID)
		}
		if _, ok := tr.Processes[s.ProcessID]; !ok {
			t.Errorf("span %s: process %q not in processes", s.OperationName, s.ProcessID)
		}
		parent := s.Parent()
		if parent != "" {
			if _, ok := ids[parent]; !ok {
				t.Errorf("span %s: parent %s not in the trace", s.OperationName, parent)
			}
		}
		switch {
		case strings.HasPrefix(s.OperationName, "endpoint "):
			endpoints++
		case parent != "" && s.OperationName != "cache_pollution":
			calls[tr.Processes[s.ProcessID].ServiceName]++
			if !strings.HasPrefix(ids[parent].OperationName, "endpoint ") {
				t.Errorf("call %s not under an endpoint", s.OperationName)
			}
		}
		for _, kv := range s.Tags {
			if kv.Key == "error" && kv.Value == true {
				errs++
			}
		}
	}
	if endpoints != 3 || len(calls) != 3 {
		t.Errorf("%d endpoint spans, calls of %d services (%v); want 3 and 3", endpoints, len(calls), calls)
	}
	for svc, n := range calls {
		if !strings.HasPrefix(svc, "escrow #") || n != 12 {
			t.Errorf("service %q: %d calls, want 12", svc, n)
		}
	}
	if errs < 10 {
		t.Errorf("%d spans marked error, want the polluted and failed calls", errs)
	}
}

func TestAnalyzeCommand(t *testing.T) {
	r := execDemo(t, time.Minute, nil, "analyze", "--compare", "8e905562,cf59039f", sharedRun)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"Summary", "3 escrows", "Cache pollution per endpoint", "Timeline of escrow #1", "RPC statistics per method",
		"Snapshot progression", "Errors", "Compare escrow #1 8e905562-75c6-4aed-b429-19a4db2873a3 (FAILED) with #3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("analyze output lacks %q", want)
		}
	}
	brief := execDemo(t, time.Minute, nil, "analyze", "--brief", sharedRun)
	if brief.code != exitOK || strings.Contains(brief.stdout, "Timeline of") || !strings.Contains(brief.stdout, "RPC statistics") {
		t.Errorf("--brief: exit %d", brief.code)
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	mixed := filepath.Join(dir, "mixed")
	os.Mkdir(mixed, 0o755)
	good, err := os.ReadFile(filepath.Join(sharedRun, "escrow_8e905562-75c6-4aed-b429-19a4db2873a3_FAILED.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(mixed, "escrow_good.json"), good, 0o644)
	os.WriteFile(filepath.Join(mixed, "escrow_cut.json"), good[:100], 0o644)
	down := "http://" + refusedAddr(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no input", []string{"report"}, exitUsage, "give escrow files or directories"},
		{"empty dir", []string{"report", "-o", filepath.Join(dir, "x.html"), empty}, exitFailure, "no escrow_*.json files"},
		{"bad file among good", []string{"report", mixed}, exitFailure, "escrow_cut.json: truncated"},
		{"unknown escrow to compare", []string{"analyze", "--compare", "1", "zzz", sharedRun}, exitUsage, `no escrow "zzz"`},
		{"jaeger down", []string{"analyze", "--jaeger", down}, exitFailure, "is not reachable"},
		{"bad time", []string{"report", "--jaeger", down, "--from", "yesterday"}, exitUsage, "--from"},
		{"analyze no input", []string{"analyze"}, exitUsage, "give escrow files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := execDemo(t, time.Minute, nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
			if strings.Contains(r.stderr, "panic") {
				t.Error("panic")
			}
		})
	}
	// The good file of the mixed directory is still reported.
	if _, err := os.Stat(filepath.Join(mixed, "report.html")); err != nil {
		t.Errorf("no report of the readable files: %v", err)
	}
}

// refusedAddr returns a loopback host:port that refuses connections until
// the test ends. A socket bound there without listening holds the port: a
// port freed by closing a listener can be taken at once by another test's
// wallet-rpc, which then answers (HTTP 404) instead of refusing.
func refusedAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
