package wallettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/escrowtrace/escrowtrace/internal/secret"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// Binary names, looked up on PATH.
const (
	RPCBinary = "monero-wallet-rpc"
	CLIBinary = "monero-wallet-cli"
)

// InstallHint is how to get the binaries on Debian.
const InstallHint = "apt-get install -y monero (Debian package monero)"

const (
	defaultStartTimeout = 30 * time.Second
	stopGrace           = 5 * time.Second // SIGTERM → SIGKILL
	portAttempts        = 8
	pollInterval        = 50 * time.Millisecond
	logName             = "wallet-rpc.log"
)

// CheckBinaries reports whether monero-wallet-rpc is on PATH; the error says
// how to install it. Everything but CreateMultisigWallet (and Config.CLIWallets)
// needs only wallet-rpc: wallets are made over RPC.
func CheckBinaries() error { return checkOnPath(RPCBinary) }

func checkOnPath(bins ...string) error {
	var missing []string
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("wallettest: %s not found on PATH; install with: %s",
			strings.Join(missing, " and "), InstallHint)
	}
	return nil
}

// Config configures the wallet-rpc processes started by this package.
type Config struct {
	// Login is "user:pass" to start wallet-rpc with --rpc-login user:pass
	// (clients then need digest auth); "" starts it with --disable-rpc-login.
	Login string
	// BaseDir is the parent of the processes' temporary directories; ""
	// means os.TempDir().
	BaseDir string
	// StartTimeout bounds the wait for get_version to answer; 0 means 30s.
	StartTimeout time.Duration
	// CLIWallets makes Dedicated create its wallets with monero-wallet-cli
	// (CreateMultisigWallet: enable-multisig-experimental already on)
	// instead of over RPC with create_wallet. Only tests of that path need
	// it: it costs seconds of CPU per wallet.
	CLIWallets bool

	// Test hooks.
	extraArgs []string // appended to the command line
	firstPort int      // port of the first attempt instead of a free one
}

// Process is a running monero-wallet-rpc. Stop it when done.
type Process struct {
	URL       string // http://127.0.0.1:PORT (no credentials)
	Port      int
	WalletDir string // the process's --wallet-dir, a temporary directory removed by Stop
	LogFile   string // the process's --log-file, inside WalletDir

	user, pass string
	cmd        *exec.Cmd
	console    *headTailBuffer // stdout and stderr
	exited     chan struct{}   // closed when the process has exited (not yet reaped)

	stopOnce sync.Once
	stopErr  error
}

// StartProcess starts one monero-wallet-rpc in a new temporary directory and
// waits until it answers get_version.
func StartProcess(ctx context.Context, cfg Config) (*Process, error) {
	if err := CheckBinaries(); err != nil {
		return nil, err
	}
	dir, err := newDir(cfg)
	if err != nil {
		return nil, err
	}
	p, err := launch(ctx, cfg, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// StartProcesses starts n processes in parallel. When any fails, it stops
// those that started and returns the errors.
func StartProcesses(ctx context.Context, n int, cfg Config) ([]*Process, error) {
	if n < 0 {
		return nil, fmt.Errorf("wallettest: negative process count %d", n)
	}
	return inParallel(ctx, n, func(ctx context.Context, _ int) (*Process, error) {
		return StartProcess(ctx, cfg)
	})
}

// errSiblingFailed cancels the other starts when one of a group fails.
var errSiblingFailed = errors.New("wallettest: another process of the group failed to start")

// inParallel runs start(ctx, i) for i in [0, n) in parallel. On the first
// error it cancels the others, stops those that started and returns the
// errors, without the cancellations it caused.
func inParallel(ctx context.Context, n int, start func(context.Context, int) (*Process, error)) ([]*Process, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	procs := make([]*Process, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			procs[i], errs[i] = start(ctx, i)
			if errs[i] != nil {
				cancel(errSiblingFailed)
			}
		})
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil && !errors.Is(err, errSiblingFailed) {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 && slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		failed = errs // cannot happen: some start failed first
	}
	if len(failed) > 0 {
		return nil, errors.Join(errors.Join(failed...), stopAll(procs))
	}
	return procs, nil
}

func newDir(cfg Config) (string, error) {
	if cfg.Login != "" {
		if u, _, ok := strings.Cut(cfg.Login, ":"); !ok || u == "" {
			// Do not echo the login: it is a credential.
			return "", errors.New(`wallettest: Config.Login must be "user:pass"`)
		}
	}
	dir, err := os.MkdirTemp(cfg.BaseDir, "wallettest-rpc-*")
	if err != nil {
		return "", fmt.Errorf("wallettest: %w", err)
	}
	return dir, nil
}

// errPortTaken means the process could not bind its port; another port is
// tried.
var errPortTaken = errors.New("port taken")

// launch starts wallet-rpc on dir, retrying on other ports when the port
// turns out to be taken.
func launch(ctx context.Context, cfg Config, dir string) (*Process, error) {
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var errs []error
	for attempt := range portAttempts {
		port := cfg.firstPort
		if attempt > 0 || port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		p, err := startOnce(ctx, cfg, dir, port)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
		errs = append(errs, fmt.Errorf("port %d taken", port))
	}
	return nil, fmt.Errorf("wallettest: %s found no free port: %w", RPCBinary, errors.Join(errs...))
}

// freePort asks the kernel for a free loopback port. It may be taken again
// before wallet-rpc binds it; launch handles that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("wallettest: pick a port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("wallettest: pick a port: %w", err)
	}
	return port, nil
}

func startOnce(ctx context.Context, cfg Config, dir string, port int) (*Process, error) {
	logFile := filepath.Join(dir, logName)
	var logStart int64
	if fi, err := os.Stat(logFile); err == nil {
		logStart = fi.Size() // an earlier attempt's lines are not this one's
	}
	args := []string{
		"--offline", "--testnet",
		"--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", strconv.Itoa(port),
		"--wallet-dir", dir,
		"--non-interactive",
		"--rpc-ssl", "disabled", "--daemon-ssl", "disabled",
		"--shared-ringdb-dir", filepath.Join(dir, "ringdb"),
		"--log-file", logFile,
	}
	p := &Process{
		URL:       "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port:      port,
		WalletDir: dir,
		LogFile:   logFile,
		console:   newHeadTailBuffer(16 << 10),
		exited:    make(chan struct{}),
	}
	if cfg.Login != "" {
		p.user, p.pass, _ = strings.Cut(cfg.Login, ":")
		args = append(args, "--rpc-login", cfg.Login)
	} else {
		args = append(args, "--disable-rpc-login")
	}
	args = append(args, cfg.extraArgs...)

	// The command line holds the login: never put cmd.Args or cmd.String()
	// into an error.
	cmd := exec.Command(RPCBinary, args...)
	cmd.Dir = dir
	cmd.Stdout = p.console
	cmd.Stderr = p.console
	cmd.WaitDelay = 2 * time.Second
	// Own process group: Stop signals the group. Pdeathsig: the kernel
	// kills wallet-rpc when its parent dies, so a test binary killed by
	// -timeout leaves no orphan. (Strictly, the kernel watches the OS thread
	// that forked; Go ends a thread only when a goroutine exits while locked
	// to it with runtime.LockOSThread, so do not start processes from such
	// a goroutine.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("wallettest: start %s: %w", RPCBinary, err)
	}
	p.cmd = cmd
	go func() {
		_ = waitExitNoReap(cmd.Process.Pid)
		close(p.exited)
	}()

	c, err := p.Client(walletrpc.WithTimeout(2 * time.Second))
	if err != nil {
		_ = p.terminate()
		return nil, err
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.exited:
			_ = p.terminate()
			if bytes.Contains(readFrom(p.LogFile, logStart), []byte("Failed to bind")) ||
				bytes.Contains(p.console.Bytes(), []byte("Failed to bind")) {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("wallettest: %s exited while starting (%s)%s",
				RPCBinary, p.cmd.ProcessState, p.failureTail(logStart))
		case <-ctx.Done():
			_ = p.terminate()
			return nil, fmt.Errorf("wallettest: %s did not answer get_version on port %d: %w%s",
				RPCBinary, port, context.Cause(ctx), p.failureTail(logStart))
		case <-tick.C:
		}
		if _, err := c.GetVersion(ctx); err != nil {
			continue
		}
		// Someone answered; make sure it is our process and not another
		// program that took the port after freePort released it.
		if owned, _ := ownsListener(p.PID(), port); owned && p.Alive() {
			return p, nil
		}
	}
}

// Client returns a client for p, with digest auth when p runs with a login.
// opts come after the auth option.
func (p *Process) Client(opts ...walletrpc.Option) (*walletrpc.Client, error) {
	if p.user != "" {
		opts = append([]walletrpc.Option{walletrpc.WithDigestAuth(p.user, p.pass)}, opts...)
	}
	return walletrpc.New(p.URL, opts...)
}

// PID returns the process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Stop ends the process: SIGTERM to its process group, SIGKILL after 5s,
// then it removes WalletDir. It is idempotent and safe to call concurrently;
// every call returns the first call's result.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		p.stopErr = errors.Join(p.terminate(), os.RemoveAll(p.WalletDir))
	})
	return p.stopErr
}

// terminate ends and reaps the process. The process stays unreaped until the
// final cmd.Wait, so its PID (the group ID) cannot have been reused by
// another process group while we signal it.
func (p *Process) terminate() error {
	pgid := p.PID()
	var errs []error
	select {
	case <-p.exited:
	default:
		errs = append(errs, signalGroup(pgid, syscall.SIGTERM))
		select {
		case <-p.exited:
		case <-time.After(stopGrace):
		}
	}
	// SIGKILL whatever is left of the group: the leader if it ignored
	// SIGTERM, and any child it may have left behind.
	errs = append(errs, signalGroup(pgid, syscall.SIGKILL))
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		errs = append(errs, fmt.Errorf("wallettest: %s pid %d did not die after SIGKILL", RPCBinary, pgid))
		return errors.Join(errs...)
	}
	_ = p.cmd.Wait() // reap; the exit status of a stopped process is not news
	return errors.Join(errs...)
}

func stopAll(procs []*Process) error {
	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, p := range procs {
		if p != nil {
			wg.Go(func() { errs[i] = p.Stop() })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// failureTail describes what this start attempt wrote to its log file, or
// to the console when the log has nothing (wallet-rpc rejects bad arguments
// before it opens its log), for an error message.
func (p *Process) failureTail(logStart int64) string {
	if t := summarize(readFrom(p.LogFile, logStart)); t != "" {
		return "\n--- " + p.LogFile + " ---\n" + t
	}
	if t := summarize(p.console.Bytes()); t != "" {
		return "\n--- console output ---\n" + t
	}
	return ""
}

func readFrom(path string, off int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const max = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size()-off > max {
		off = fi.Size() - max
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, max))
	return b
}

var (
	ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	// The rpc log at its default level holds no key material (checked on
	// 0.18); these guard against a future version that logs some.
	hexKeyLike = regexp.MustCompile(`\b[0-9a-fA-F]{64,}\b`)
)

// redactLine removes anything that looks like key material from a line of
// wallet-rpc or wallet-cli output.
func redactLine(l string) string {
	return hexKeyLike.ReplaceAllString(secret.Redact(l), secret.Replacement)
}

var notable = regexp.MustCompile(`(?i)error|fail|fatal|exception|unrecognised|invalid|cannot|refused|denied`)

// summarize returns the notable lines of b (errors, failures), or its last
// lines when none is notable: at most maxSummaryLines, without colour codes
// or stack traces, with anything that looks like key material redacted.
func summarize(b []byte) string {
	const maxSummaryLines = 12
	b = ansiEscape.ReplaceAll(b, nil)
	var all, picked []string
	for l := range strings.SplitSeq(string(b), "\n") {
		l = strings.TrimRight(l, "\r ")
		if strings.TrimSpace(l) == "" || strings.Contains(l, "\tstacktrace\t") {
			continue
		}
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		l = redactLine(l)
		all = append(all, l)
		if notable.MatchString(l) {
			picked = append(picked, l)
		}
	}
	if len(picked) == 0 {
		picked = all
	}
	if len(picked) > maxSummaryLines {
		picked = picked[len(picked)-maxSummaryLines:]
	}
	return strings.Join(picked, "\n")
}

// headTailBuffer keeps the first and the last max/2 bytes written to it:
// wallet-rpc says why it rejects its arguments first, then prints pages of
// help.
type headTailBuffer struct {
	mu         sync.Mutex
	half       int
	head, tail []byte
	dropped    bool
}

func newHeadTailBuffer(max int) *headTailBuffer { return &headTailBuffer{half: max / 2} }

func (t *headTailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	if room := t.half - len(t.head); room > 0 {
		k := min(room, len(b))
		t.head = append(t.head, b[:k]...)
		b = b[k:]
	}
	t.tail = append(t.tail, b...)
	if over := len(t.tail) - t.half; over > 0 {
		t.tail = append(t.tail[:0], t.tail[over:]...)
		t.dropped = true
	}
	return n, nil
}

// Bytes returns the head, a "…" line when bytes were dropped, and the tail.
func (t *headTailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := bytes.Clone(t.head)
	if t.dropped {
		out = append(out, "\n…\n"...)
	}
	return append(out, t.tail...)
}
