package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// binary is the escrowtrace command built once for the tests that exec it.
var binary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "escrowtrace-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "escrowtrace")
	// Built with the race detector: the demo's own concurrency (starts,
	// wallet creation, escrows behind a barrier) is checked too.
	cmd := exec.Command(goTool(), "build", "-race", "-o", binary, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// execResult is one run of the binary.
type execResult struct {
	code           int
	stdout, stderr string
	tmp            string // the run's TMPDIR: wallet-rpc directories go there
}

// execDemo runs the binary with args and extra environment (KEY=VALUE; a
// KEY= alone removes the variable), with TMPDIR set to a fresh directory
// and ENABLE_INSTRUMENTATION and OTEL_* unset unless env sets them.
func execDemo(t *testing.T, timeout time.Duration, env []string, args ...string) execResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tmp := t.TempDir()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = demoEnv(tmp, env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The demo gets SIGINT on timeout, like a user's Ctrl-C.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	r := execResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), tmp: tmp}
	if ctx.Err() != nil {
		t.Fatalf("escrowtrace %s did not finish within %v (%v)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, err, r.stdout, r.stderr)
	}
	t.Logf("escrowtrace %s: exit %d\n--- stdout ---\n%s--- stderr ---\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

func demoEnv(tmp string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "TMPDIR" || k == "ENABLE_INSTRUMENTATION" || k == "ESCROW_TRACE_DIR" || k == "JAEGER_UI_URL" || strings.HasPrefix(k, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TMPDIR="+tmp)
	for _, kv := range extra {
		if k, v, _ := strings.Cut(kv, "="); v == "" {
			env = removeVar(env, k)
			continue
		}
		env = append(env, kv)
	}
	return env
}

func removeVar(env []string, key string) []string {
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return out
}

var pidLine = regexp.MustCompile(`monero-wallet-rpc pid (\d+) up on `)

// startedPIDs returns the wallet-rpc PIDs the demo reported on stderr.
func startedPIDs(stderr string) []int {
	var pids []int
	for _, m := range pidLine.FindAllStringSubmatch(stderr, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// checkNothingLeft fails the test when a wallet-rpc the demo started still
// runs: by the PIDs it reported, and by scanning /proc for any
// monero-wallet-rpc whose command line names the run's TMPDIR. It also
// checks that the processes' directories are gone.
func checkNothingLeft(t *testing.T, r execResult) {
	t.Helper()
	for _, pid := range startedPIDs(r.stderr) {
		if err := syscall.Kill(pid, 0); err == nil {
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(cmdline, []byte(wallettest.RPCBinary)) {
				t.Errorf("monero-wallet-rpc pid %d still runs after the demo exited", pid)
			}
		}
	}
	for _, pid := range rpcProcessesUnder(t, r.tmp) {
		t.Errorf("monero-wallet-rpc pid %d with its --wallet-dir under %s still runs", pid, r.tmp)
	}
	left, _ := filepath.Glob(filepath.Join(r.tmp, "wallettest-rpc-*"))
	if len(left) > 0 {
		t.Errorf("wallet-rpc directories left behind: %v", left)
	}
}

// rpcProcessesUnder lists running monero-wallet-rpc processes whose command
// line mentions dir.
func rpcProcessesUnder(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("scan /proc: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == wallettest.RPCBinary && strings.Contains(string(cmdline), dir) {
			if stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); strings.Contains(string(stat), ") Z ") {
				continue // a zombie is dead; its parent reaps it
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

// keyMaterialIn reports multisig_info-like strings in s.
func keyMaterialIn(s string) []string {
	return regexp.MustCompile(`Multisig[1-9A-HJ-NP-Za-km-z]{40,}`).FindAllString(s, 3)
}

func mustBinaries(t *testing.T) {
	t.Helper()
	if err := wallettest.CheckBinaries(); err != nil {
		t.Fatal(err)
	}
}
