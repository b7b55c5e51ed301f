package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// escrowtrace is the command built for the tests, "" when the build
// failed (buildErr says why).
var (
	escrowtrace string
	buildErr    error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "escrowtrace-e2e-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	escrowtrace, buildErr = buildEscrowtrace(dir)
	return m.Run()
}

// buildEscrowtrace builds cmd/escrowtrace from the repository this module
// sits in (the library's module, not this one) into dir.
func buildEscrowtrace(dir string) (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "escrowtrace")); err != nil {
		return "", fmt.Errorf("no cmd/escrowtrace under %s: %w", root, err)
	}
	bin := filepath.Join(dir, "escrowtrace")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/escrowtrace")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/escrowtrace in %s: %v\n%s", root, err, out)
	}
	return bin, nil
}

// demoRun is a run of `escrowtrace demo` in the background.
type demoRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	tmp    string // its TMPDIR: the wallet-rpcs' directories
	stdout bytes.Buffer
	stderr syncBuffer
	done   chan struct{}
	err    error
}

// startDemo runs the escrowtrace binary with args. Its environment is the
// test's without any OTEL_* or instrumentation setting, plus env; TMPDIR is
// a fresh directory. It is interrupted (as by Ctrl-C) if still running when
// the test ends.
func startDemo(t *testing.T, env []string, args ...string) *demoRun {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	if err := wallettest.CheckBinaries(); err != nil {
		t.Fatal(err)
	}
	r := &demoRun{t: t, tmp: t.TempDir(), done: make(chan struct{})}
	r.cmd = exec.Command(escrowtrace, args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "TMPDIR" || k == "ENABLE_INSTRUMENTATION" || k == "ESCROW_TRACE_DIR" || k == "JAEGER_UI_URL" || strings.HasPrefix(k, "OTEL_") {
			continue
		}
		r.cmd.Env = append(r.cmd.Env, kv)
	}
	r.cmd.Env = append(append(r.cmd.Env, "TMPDIR="+r.tmp), env...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Signal(os.Interrupt)
			select {
			case <-r.done:
			case <-time.After(time.Minute):
				_ = r.cmd.Process.Kill()
				<-r.done
			}
		}
	})
	return r
}

// waitStderr waits until the demo has printed want on stderr.
func (r *demoRun) waitStderr(ctx context.Context, want string) {
	r.t.Helper()
	for !strings.Contains(r.stderr.String(), want) {
		select {
		case <-r.done:
			r.t.Fatalf("the demo exited (%v) before printing %q:\n%s", r.err, want, r.stderr.String())
		case <-ctx.Done():
			r.t.Fatalf("the demo has not printed %q:\n%s", want, r.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wait waits for the demo to exit, logs its output, checks that no
// wallet-rpc it started is left, and returns its exit status.
func (r *demoRun) wait(ctx context.Context) int {
	r.t.Helper()
	select {
	case <-r.done:
	case <-ctx.Done():
		r.t.Fatalf("the demo did not finish:\n%s", r.stderr.String())
	}
	r.t.Logf("escrowtrace %s: %v\n--- stdout ---\n%s--- stderr ---\n%s", strings.Join(r.cmd.Args[1:], " "), r.err, r.stdout.String(), r.stderr.String())
	var exit *exec.ExitError
	if r.err != nil && !errors.As(r.err, &exit) {
		r.t.Fatal(r.err)
	}
	if left, _ := filepath.Glob(filepath.Join(r.tmp, "wallettest-rpc-*")); len(left) > 0 {
		r.t.Errorf("wallet-rpc directories left behind (a wallet-rpc still running?): %v", left)
	}
	if strings.Contains(r.stderr.String(), "DATA RACE") {
		r.t.Error("the race detector fired")
	}
	return r.cmd.ProcessState.ExitCode()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// processAlive reports whether pid runs (a zombie does not).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return !strings.Contains(string(stat), ") Z ")
}
