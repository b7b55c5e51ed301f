package wallettest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustBinaries(t *testing.T) {
	t.Helper()
	if err := CheckBinaries(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckBinariesMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := CheckBinaries()
	if err == nil {
		t.Fatal("CheckBinaries found the binaries on an empty PATH")
	}
	for _, want := range []string{RPCBinary, "apt-get install -y monero"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := StartProcess(t.Context(), Config{}); err == nil || !strings.Contains(err.Error(), "apt-get install -y monero") {
		t.Errorf("StartProcess without binaries: %v", err)
	}
	if err := CreateMultisigWallet(t.Context(), t.TempDir(), "w"); err == nil || !strings.Contains(err.Error(), "apt-get install -y monero") ||
		!strings.Contains(err.Error(), CLIBinary) {
		t.Errorf("CreateMultisigWallet without binaries: %v", err)
	}

	// The test wrappers fail the test, with the install command.
	for name, start := range map[string]func(testing.TB){
		"Start":          func(tb testing.TB) { Start(tb, 1, Config{}) },
		"StartDedicated": func(tb testing.TB) { StartDedicated(tb, Config{}, "w") },
	} {
		ft := &fatalTB{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); start(ft) }()
		<-done
		if !strings.Contains(ft.msg, "apt-get install -y monero") {
			t.Errorf("%s did not fail with the install command; Fatal got %q", name, ft.msg)
		}
	}
}

// fatalTB records Fatal and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func TestStartProcessAndStop(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	base := t.TempDir()
	p, err := StartProcess(testCtx(t, time.Minute), Config{BaseDir: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })

	if want := fmt.Sprintf("http://127.0.0.1:%d", p.Port); p.URL != want {
		t.Errorf("URL = %q, want %q", p.URL, want)
	}
	if filepath.Dir(p.WalletDir) != base {
		t.Errorf("WalletDir %q is not under BaseDir %q", p.WalletDir, base)
	}
	if p.LogFile != filepath.Join(p.WalletDir, "wallet-rpc.log") {
		t.Errorf("LogFile = %q", p.LogFile)
	}
	if !p.Alive() {
		t.Fatal("Alive() = false right after start")
	}
	if pgid, err := syscall.Getpgid(p.PID()); err != nil || pgid != p.PID() {
		t.Errorf("process group = %d (%v), want its own group %d", pgid, err, p.PID())
	}
	if owned, err := ownsListener(p.PID(), p.Port); !owned || err != nil {
		t.Errorf("ownsListener(pid, port) = %v, %v", owned, err)
	}
	c, err := p.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVersion(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Concurrent Stops: one termination, the same result for all.
	pid, dir := p.PID(), p.WalletDir
	var wg sync.WaitGroup
	errs := make([]error, 4)
	start := time.Now()
	for i := range errs {
		wg.Go(func() { errs[i] = p.Stop() })
	}
	wg.Wait()
	if d := time.Since(start); d > stopGrace {
		t.Errorf("Stop took %v: SIGTERM was not enough", d)
	}
	for _, err := range errs {
		if err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) after Stop = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WalletDir still there after Stop: %v", err)
	}
	if p.Alive() {
		t.Error("Alive() = true after Stop")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartWithLogin(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	p := Start(t, 1, Config{Login: "alice:pw-7d1f"})[0]
	if strings.Contains(p.URL, "alice") || strings.Contains(p.URL, "pw-7d1f") {
		t.Errorf("URL carries credentials: %q", p.URL)
	}
	c, err := p.Client(walletrpc.WithTimeout(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVersion(t.Context()); err != nil {
		t.Fatalf("digest-auth client: %v", err)
	}
	anon, _ := walletrpc.New(p.URL)
	var te *walletrpc.TransportError
	if _, err := anon.GetVersion(t.Context()); !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Errorf("client without auth: %v, want HTTP 401", err)
	}
}

func TestStartInvalidLogin(t *testing.T) {
	_, err := StartProcess(t.Context(), Config{Login: "nocolon-secret"})
	if err == nil {
		t.Fatal("a login without a colon was accepted")
	}
	if strings.Contains(err.Error(), "nocolon-secret") {
		t.Errorf("error echoes the login: %v", err)
	}
}

// A process that exits while starting yields an error with the reason from
// its log, or from its console output when it fails before logging, and
// leaves neither the process nor the directory behind.
func TestStartProcessDies(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"reason in log":     {[]string{"--wallet-file", "x"}, "wallet-dir and wallet-file are incompatible"},
		"reason on console": {[]string{"--no-such-option"}, "unrecognised option"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			start := time.Now()
			_, err := StartProcess(testCtx(t, time.Minute), Config{
				BaseDir: base, Login: "bob:hunter2-secret", extraArgs: tc.args})
			if err == nil {
				t.Fatal("StartProcess succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, "exited while starting") || !strings.Contains(msg, tc.want) {
				t.Errorf("error does not say why: %v", err)
			}
			if strings.Contains(msg, "hunter2-secret") {
				t.Errorf("error leaks the rpc login: %v", err)
			}
			if strings.Count(msg, "\n") > 20 {
				t.Errorf("error is %d lines long", strings.Count(msg, "\n"))
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v to notice the process died", d)
			}
			if left, _ := os.ReadDir(base); len(left) != 0 {
				t.Errorf("left behind in BaseDir: %v", left)
			}
		})
	}
}

// Another program holding the chosen port, and even answering get_version
// there, does not fool StartProcess: it moves to another port and returns
// its own process.
func TestStartProcessPortTaken(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	impostor := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":"0","result":{"release":true,"version":1}}`))
	})}
	go func() { _ = impostor.Serve(l) }()
	t.Cleanup(func() { _ = impostor.Close() })
	taken := l.Addr().(*net.TCPAddr).Port

	if owned, err := ownsListener(os.Getpid(), taken); !owned || err != nil {
		t.Fatalf("ownsListener(self, %d) = %v, %v", taken, owned, err)
	}

	p, err := StartProcess(testCtx(t, time.Minute), Config{firstPort: taken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	if p.Port == taken {
		t.Fatalf("StartProcess returned the impostor's port %d", taken)
	}
	if owned, err := ownsListener(p.PID(), taken); owned || err != nil {
		t.Errorf("ownsListener(wallet-rpc, impostor port) = %v, %v", owned, err)
	}
	c, _ := p.Client()
	v, err := c.GetVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version == 1 {
		t.Error("get_version answered by the impostor")
	}
}

func TestStartProcessContextCanceled(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	base := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	_, err := StartProcess(ctx, Config{BaseDir: base})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestCreateMultisigWallet(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	dir := t.TempDir()
	ctx := testCtx(t, time.Minute)
	if err := CreateMultisigWallet(ctx, dir, "buyer"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// The CLI's scratch directory (log, ring database) is gone.
	if want := []string{"buyer", "buyer.address.txt", "buyer.keys"}; !slices.Equal(names, want) {
		t.Errorf("dir holds %v, want %v", names, want)
	}
	addr, err := os.ReadFile(filepath.Join(dir, "buyer.address.txt"))
	// A testnet standard address: 95 base58 characters starting with 9 or A.
	if a := strings.TrimSpace(string(addr)); err != nil || len(a) != 95 || !strings.ContainsAny(a[:1], "9A") {
		t.Errorf("address file: %q, %v", addr, err)
	}

	if err := CreateMultisigWallet(ctx, dir, "buyer"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second create: %v, want ErrExist", err)
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`} {
		if err := CreateMultisigWallet(ctx, dir, bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	// Cancellation kills the CLI promptly and says so.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if err := CreateMultisigWallet(short, dir, "late"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("canceled create: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("canceled create returned after %v", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "late.keys")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("canceled create left a keys file: %v", err)
	}
}

// The CLI's output carries the seed; only "Error" lines survive.
func TestErrorLinesDropsEverythingElse(t *testing.T) {
	const seed = "sample orbit pepper tawny duckling wield ensign unveil"
	var e errorLines
	out := "Generated new wallet: 9abc\nView key: " + strings.Repeat("ab", 32) + "\n" +
		seed + "\n\x1b[1;31mError: failed to generate new wallet: file already exists\x1b[0m\n" +
		"Error: key " + strings.Repeat("cd", 32) + "\n" + seed + " tail without newline"
	for chunk := range slices.Chunk([]byte(out), 7) { // split writes, as a pipe does
		if _, err := e.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	got := e.String()
	want := "Error: failed to generate new wallet: file already exists; Error: key [redacted]"
	if got != want {
		t.Errorf("kept %q, want %q", got, want)
	}
	if strings.Contains(got, "orbit") || strings.Contains(got, "View key") {
		t.Errorf("seed or keys kept: %q", got)
	}
}

func TestSummarize(t *testing.T) {
	log := "2026 INFO msgwriter Logging to x\n" +
		"2026 INFO stacktrace\tstacktrace\t[1] 0x55\n" +
		"\x1b[0;31m2026 E Error starting: MultisigxV2R1abcdefghijklmnopqrstuvwxyz\x1b[0m\n" +
		"2026 INFO global Binding on 127.0.0.1\n"
	got := summarize([]byte(log))
	if got != "2026 E Error starting: [redacted]" {
		t.Errorf("summarize = %q", got)
	}
	if got := summarize([]byte("a\nb\n\nc\n")); got != "a\nb\nc" {
		t.Errorf("summarize without notable lines = %q", got)
	}
}

func TestHeadTailBuffer(t *testing.T) {
	b := newHeadTailBuffer(8)
	_, _ = b.Write([]byte("0123"))
	_, _ = b.Write([]byte("456789abcdef"))
	if got := string(b.Bytes()); got != "0123\n…\ncdef" {
		t.Errorf("Bytes = %q", got)
	}
}

func TestDedicatedFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	base := t.TempDir()
	_, err := Dedicated(testCtx(t, time.Minute), Config{BaseDir: base}, "ok", "bad/name")
	if err == nil || !strings.Contains(err.Error(), "invalid wallet name") {
		t.Fatalf("err = %v", err)
	}
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A test binary that dies without running its cleanups (SIGKILL, as after a
// -timeout panic) takes its wallet-rpc along: Pdeathsig.
func TestNoOrphanWhenParentIsKilled(t *testing.T) {
	if os.Getenv("WALLETTEST_ORPHAN_CHILD") == "1" {
		p, err := StartProcess(context.Background(), Config{BaseDir: os.Getenv("WALLETTEST_ORPHAN_BASE")})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Printf("PID %d\n", p.PID())
		select {} // wait to be killed
	}
	t.Parallel()
	mustBinaries(t)
	base := t.TempDir()
	ctx := testCtx(t, time.Minute)
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestNoOrphanWhenParentIsKilled$", "-test.count=1")
	child.Env = append(os.Environ(), "WALLETTEST_ORPHAN_CHILD=1", "WALLETTEST_ORPHAN_BASE="+base)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "PID %d", &pid); err == nil {
			break
		}
		t.Log(sc.Text())
	}
	if pid == 0 {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatal("child test binary did not start a wallet-rpc")
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
		t.Fatal(err)
	}
	_ = child.Wait()

	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			// Do not leave it running: it is ours, by PID, and in our base dir.
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("wallet-rpc %d survived its parent", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs: it exists and is not a zombie waiting for
// whatever reaps orphans here.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces, so look after the last ')'.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
