package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// readEscrowFiles validates and loads every escrow_*.json in dir, by escrow id.
func readEscrowFiles(t *testing.T, dir string) map[string]escrowFile {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "escrow_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]escrowFile{}
	for _, path := range names {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := escrowjson.Validate(data); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if km := keyMaterialIn(string(data)); len(km) > 0 {
			t.Errorf("%s holds multisig key material: %.20q...", path, km[0])
		}
		events, err := escrowjson.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "escrow_"), ".json"), "_FAILED")
		files[id] = escrowFile{name: filepath.Base(path), path: path, events: events}
	}
	return files
}

func countTypes(events []escrowjson.Event) map[string]int {
	n := map[string]int{}
	for _, ev := range events {
		n[ev.EventType]++
	}
	return n
}

// One escrow, instrumentation turned on by the demo itself, OTLP to a real
// Jaeger: one valid 45-event file, the timeline and the address on stdout,
// a Jaeger URL that finds the trace, and no process left.
func TestDemoSingleEscrow(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	jaeger := jaegertest.Start(t)
	out := filepath.Join(t.TempDir(), "traces") // created by the demo
	start := time.Now()
	r := execDemo(t, 4*time.Minute, []string{
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + jaeger.OTLPGRPC,
		"OTEL_EXPORTER_OTLP_INSECURE=true",
		"OTEL_SERVICE_NAME=escrowtrace-demo-test",
		"JAEGER_UI_URL=" + jaeger.QueryURL,
	}, "demo", "--out", out)
	t.Logf("demo took %v", time.Since(start).Round(100*time.Millisecond))
	checkNothingLeft(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if strings.Contains(r.stderr, "DATA RACE") {
		t.Error("the race detector fired")
	}
	if !strings.Contains(r.stderr, "ENABLE_INSTRUMENTATION is unset: the demo turns instrumentation on") {
		t.Error("the demo did not say it turned instrumentation on")
	}
	if n := len(startedPIDs(r.stderr)); n != 3 {
		t.Errorf("stderr reports %d wallet-rpc PIDs, want 3", n)
	}
	for _, s := range []string{r.stdout, r.stderr} {
		if km := keyMaterialIn(s); len(km) > 0 {
			t.Errorf("output holds multisig key material: %.20q...", km[0])
		}
	}

	files := readEscrowFiles(t, out)
	if len(files) != 1 {
		t.Fatalf("%d escrow files in %s, want 1", len(files), out)
	}
	var id string
	var f escrowFile
	for id, f = range files {
	}
	if !uuidRE.MatchString(id) || f.name != "escrow_"+id+".json" {
		t.Errorf("file %s: escrow id %q is not a UUID or the setup failed", f.name, id)
	}
	if len(f.events) != 45 {
		t.Errorf("%d events, want 45", len(f.events))
	}
	n := countTypes(f.events)
	for _, p := range escrowconv.Points {
		if n[p] != 3 {
			t.Errorf("%d %s events, want 3", n[p], p)
		}
	}
	if n[escrowjson.TypeRPCCallStart] != 12 || n[escrowjson.TypeRPCCallEnd] != 12 {
		t.Errorf("RPC events: %d starts, %d ends, want 12 and 12", n[escrowjson.TypeRPCCallStart], n[escrowjson.TypeRPCCallEnd])
	}

	// The address printed is the one all three wallets show at the end.
	m := regexp.MustCompile(`(?m)^Multisig address: (\S+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatal("no multisig address on stdout")
	}
	for _, ev := range f.events {
		if ev.EventType == escrowconv.PointFinal {
			if s := ev.Details.(*escrowjson.Snapshot); s.Address != m[1] || !s.IsMultisig {
				t.Errorf("SNAPSHOT_FINAL %s: address %s multisig %v; stdout says %s", ev.Role, s.Address, s.IsMultisig, m[1])
			}
		}
	}
	// The timeline, read back from the file.
	for _, want := range []string{
		"Escrow " + id + " (trace_id " + id + "-",
		"snapshot PRE_ROUND1", "snapshot FINAL", "one shared address ✓",
		"45 events: 12 RPC calls (0 failed), 21 wallet snapshots, 0 cache pollution events",
		"Trace file:       " + f.path + " (45 events, valid)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	for _, line := range []string{
		`(?m)^\s+\+\d+\.\d{3}s\s+1\s+buyer\s+prepare_multisig\s+\d+ ms\s+✓`,
		`(?m)^\s+\+\d+\.\d{3}s\s+1\s+arbiter\s+make_multisig\s+\d+ ms\s+✓`,
		`(?m)^\s+\+\d+\.\d{3}s\s+2\s+vendor\s+exchange_multisig_keys\s+\d+ ms\s+✓`,
		`(?m)^\s+\+\d+\.\d{3}s\s+3\s+vendor\s+exchange_multisig_keys\s+\d+ ms\s+✓`,
	} {
		if !regexp.MustCompile(line).MatchString(r.stdout) {
			t.Errorf("stdout has no timeline line matching %s", line)
		}
	}

	// The Jaeger URL: JAEGER_UI_URL's host, the service, the escrow id; its
	// query finds the trace through Jaeger's API.
	m = regexp.MustCompile(`(?m)^Jaeger:\s+(\S+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatal("no Jaeger URL on stdout although OTLP was configured")
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	checkSearchURL(t, u, jaeger.QueryURL, "escrowtrace-demo-test", id, start, time.Now())
	traces := jaegerGet(t, jaeger.QueryURL+"/api/traces?"+u.RawQuery)
	if len(traces) != 1 {
		t.Fatalf("the URL's query finds %d traces in Jaeger, want 1", len(traces))
	}
	ops := map[string]int{}
	for _, s := range traces[0].Spans {
		ops[s.OperationName]++
	}
	if ops[escrowconv.SpanEscrow] != 1 || ops[escrowconv.RoundSpanName(1)] != 1 || ops[escrowconv.RoundSpanName(2)] != 1 ||
		ops[escrowconv.RoundSpanName(3)] != 1 || ops["exchange_multisig_keys"] != 6 || ops["buyer exchange_multisig_keys"] != 2 {
		t.Errorf("Jaeger has spans %v", ops)
	}
}

func jaegerGet(t *testing.T, u string) []jaegertest.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, body)
	}
	var env struct {
		Data []jaegertest.Trace `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}

// Three escrows on shared wallet-rpcs race on the open wallet: without the
// lock the files and the summary show cache pollution; with --safe every
// escrow succeeds with none.
func TestDemoSharedRPC(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	for _, safe := range []bool{false, true} {
		t.Run(fmt.Sprintf("safe=%v", safe), func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := []string{"demo", "--escrows", "3", "--rpc", "shared", "--out", out}
			if safe {
				args = append(args, "--safe")
			}
			r := execDemo(t, 8*time.Minute, []string{"ENABLE_INSTRUMENTATION=1"}, args...)
			checkNothingLeft(t, r)
			if r.code != 0 {
				t.Fatalf("exit %d", r.code)
			}
			if strings.Contains(r.stderr, "DATA RACE") {
				t.Error("the race detector fired")
			}
			if strings.Contains(r.stderr, "turns instrumentation on") {
				t.Error("the demo turned on instrumentation that ENABLE_INSTRUMENTATION=1 already turned on")
			}
			if n := len(startedPIDs(r.stderr)); n != 3 {
				t.Errorf("stderr reports %d wallet-rpc PIDs, want 3 (one per role)", n)
			}
			if strings.Contains(r.stdout, "Jaeger") {
				t.Error("Jaeger URLs printed without OTLP configured")
			}
			files := readEscrowFiles(t, out)
			if len(files) != 3 {
				t.Fatalf("%d escrow files, want 3", len(files))
			}
			checkRaceReport(t, r, out)
			pollution := 0
			for id, f := range files {
				n := countTypes(f.events)
				pollution += n[escrowjson.TypeCachePollution]
				// The summary row of this escrow.
				row := regexp.MustCompile(`(?m)^\s*(\d+)\s+` + regexp.QuoteMeta(id) + `\s+(ok|failed[^\n]*?)\s+(\d)/3\s+(\d+)\s+\S+\s+` + regexp.QuoteMeta(f.name) + ` ✓ (\d+) events`).FindStringSubmatch(r.stdout)
				if row == nil {
					t.Errorf("no summary row for escrow %s (%s)", id, f.name)
					continue
				}
				row = row[1:] // row[0] is now the escrow's number
				if row[3] != fmt.Sprint(n[escrowjson.TypeCachePollution]) || row[4] != fmt.Sprint(len(f.events)) {
					t.Errorf("summary row of escrow %s (%v) does not match the file: %d pollution events, %d events", id, row, n[escrowjson.TypeCachePollution], len(f.events))
				}
				if wantOK := !strings.HasSuffix(f.name, "_FAILED.json"); (row[1] == "ok") != wantOK {
					t.Errorf("summary says %q for %s", row[1], f.name)
				}
				if !safe {
					// Each polluted escrow's events are listed.
					if n[escrowjson.TypeCachePollution] > 0 && !strings.Contains(r.stdout, "\n  escrow "+row[0]+" ") {
						t.Errorf("escrow %s's pollution is not listed", row[0])
					}
					continue
				}
				// With the lock: a clean setup, plus re-opens of the shared
				// endpoints (at most one per step and wallet: none when the
				// wallet is known to be open still).
				if row[1] != "ok" || row[2] != "3" || n[escrowjson.TypeCachePollution] != 0 {
					t.Errorf("escrow %s with --safe: summary %v", id, row)
				}
				for _, p := range escrowconv.Points {
					if n[p] != 3 {
						t.Errorf("escrow %s: %d %s, want 3", id, n[p], p)
					}
				}
				if n[escrowjson.TypeRPCCallError] != 0 || n[escrowjson.TypeRPCCallStart] != n[escrowjson.TypeRPCCallEnd] {
					t.Errorf("escrow %s: RPC events %v", id, n)
				}
				methods := map[string]int{}
				for _, ev := range f.events {
					if d, ok := ev.Details.(*escrowjson.RPCCallStart); ok {
						methods[d.Method]++
					}
				}
				// prepare_multisig twice per wallet: on shared endpoints
				// SetupMultisig switches multisig on again right before
				// make_multisig (wallet-rpc forgets it when the wallet is
				// closed in between).
				if methods["prepare_multisig"] != 6 || methods["make_multisig"] != 3 || methods["exchange_multisig_keys"] != 6 ||
					methods["open_wallet"] > 12 || len(methods) != 3+min(1, methods["open_wallet"]) {
					t.Errorf("escrow %s: calls %v", id, methods)
				}
			}
			if safe {
				if pollution != 0 {
					t.Errorf("%d pollution events with --safe", pollution)
				}
				if !strings.Contains(r.stdout, "All 3 escrows ok, no cache pollution.") {
					t.Error("stdout lacks the all-ok verdict")
				}
				return
			}
			if pollution == 0 {
				t.Fatal("no cache pollution in the files of 3 escrows sharing wallet-rpcs without a lock")
			}
			if !strings.Contains(r.stdout, "Cache pollution detected (from the trace files):") ||
				!regexp.MustCompile(`wrong_wallet_open on 127\.0\.0\.1:\d+: wanted \w+-[0-9a-f]{8}, \w+-[0-9a-f]{8} was open \(opened by escrow \d\)`).MatchString(r.stdout) ||
				!strings.Contains(r.stdout, fmt.Sprintf("Cache pollution: %d events in", pollution)) {
				t.Error("stdout does not show the pollution")
			}
		})
	}
}

// Ctrl-C while the wallets are being created stops every process started
// and exits 1, saying so.
func TestDemoInterrupted(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	tmp := t.TempDir()
	cmd := execCommand(t, tmp, "demo", "--out", t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first wallet-rpc to be up, then interrupt.
	var log strings.Builder
	buf := make([]byte, 4096)
	deadline := time.Now().Add(time.Minute)
	for !pidLine.MatchString(log.String()) && time.Now().Before(deadline) {
		n, err := stderr.Read(buf)
		log.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !pidLine.MatchString(log.String()) {
		_ = cmd.Process.Kill()
		t.Fatalf("no wallet-rpc started:\n%s", log.String())
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	log.Write(rest)
	_ = cmd.Wait()
	took := time.Since(sent)
	r := execResult{code: cmd.ProcessState.ExitCode(), stderr: log.String(), tmp: tmp}
	t.Logf("exit %d %v after SIGINT\n%s", r.code, took.Round(time.Millisecond), r.stderr)
	checkNothingLeft(t, r)
	if r.code != exitFailure {
		t.Errorf("exit %d after SIGINT, want %d", r.code, exitFailure)
	}
	if !strings.Contains(r.stderr, "interrupted") || !regexp.MustCompile(`stopped \d+ wallet-rpc process`).MatchString(r.stderr) {
		t.Error("stderr does not say it was interrupted and stopped the processes")
	}
	if took > 20*time.Second {
		t.Errorf("took %v to stop after SIGINT", took)
	}
}

func execCommand(t *testing.T, tmp string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = demoEnv(tmp, nil)
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}
