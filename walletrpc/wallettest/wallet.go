package wallettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// createTimeout bounds one create_wallet: about 1.6 s on an idle machine,
// much more on a loaded one.
const createTimeout = 2 * time.Minute

// CreateWallets creates the named wallets on p over RPC (create_wallet,
// empty password, English), one after the other as wallet-rpc serves them,
// the way escrow servers make wallets. Each becomes the open wallet in
// turn: the last one stays open. On monero 0.18 their multisig switch is
// off until prepare_multisig is called with enable_multisig_experimental
// (otelmsig.SetupMultisig does that).
func (p *Process) CreateWallets(ctx context.Context, names ...string) error {
	for _, name := range names {
		if err := validName(name); err != nil {
			return err
		}
	}
	c, err := p.Client(walletrpc.WithTimeout(createTimeout))
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: name}); err != nil {
			return fmt.Errorf("wallettest: create_wallet %q on %s: %w", name, p.URL, err)
		}
	}
	return nil
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("wallettest: invalid wallet name %q", name)
	}
	return nil
}

// CreateMultisigWallet creates the wallet file dir/name (with name.keys and
// name.address.txt), empty password, with enable-multisig-experimental on, by
// running
//
//	monero-wallet-cli --testnet --offline --generate-new-wallet dir/name --password ""
//	    --mnemonic-language English --log-file ... --shared-ringdb-dir ...
//	    --command set enable-multisig-experimental 1
//
// It is the way wallets were made before prepare_multisig could switch
// multisig on over RPC; CreateWallets is cheaper and is what escrow servers
// do. It takes a few seconds of CPU. The CLI prints the new seed on stdout:
// that output is dropped as it arrives, except lines starting with "Error",
// which go into the returned error. The CLI's log and ring database live in
// a temporary directory under dir that is removed afterwards.
func CreateMultisigWallet(ctx context.Context, dir, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	if err := checkOnPath(CLIBinary); err != nil {
		return err
	}
	path := filepath.Join(dir, name)
	for _, f := range []string{path, path + ".keys"} {
		if _, err := os.Lstat(f); err == nil {
			return fmt.Errorf("wallettest: create wallet %q: %w", name, fs.ErrExist)
		}
	}
	scratch, err := os.MkdirTemp(dir, ".cli-"+name+"-*")
	if err != nil {
		return fmt.Errorf("wallettest: create wallet %q: %w", name, err)
	}
	defer os.RemoveAll(scratch)

	cmd := exec.CommandContext(ctx, CLIBinary,
		"--testnet", "--offline",
		"--generate-new-wallet", path,
		"--password", "",
		"--mnemonic-language", "English",
		"--log-file", filepath.Join(scratch, "cli.log"),
		"--shared-ringdb-dir", filepath.Join(scratch, "ringdb"),
		"--command", "set", "enable-multisig-experimental", "1")
	cmd.Dir = scratch
	out := &errorLines{}
	cmd.Stdout = out // the seed goes here, and no further
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		if msg := out.String(); msg != "" {
			return fmt.Errorf("wallettest: %s could not create wallet %q: %w: %s", CLIBinary, name, err, msg)
		}
		return fmt.Errorf("wallettest: %s could not create wallet %q: %w", CLIBinary, name, err)
	}
	if _, err := os.Stat(path + ".keys"); err != nil {
		return fmt.Errorf("wallettest: %s exited without creating wallet %q: %s", CLIBinary, name, out.String())
	}
	return nil
}

// Dedicated starts len(names) processes and leaves wallet names[i] (empty
// password) open on process i: each role's wallet already open on its own
// wallet-rpc, the layout of an escrow service with one wallet-rpc per role.
// The wallets are made over RPC with create_wallet (see CreateWallets), or
// with monero-wallet-cli when cfg.CLIWallets is set. The processes start in
// parallel. On error nothing is left running.
func Dedicated(ctx context.Context, cfg Config, names ...string) ([]*Process, error) {
	if err := CheckBinaries(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := validName(name); err != nil {
			return nil, err
		}
	}
	return inParallel(ctx, len(names), func(ctx context.Context, i int) (*Process, error) {
		if cfg.CLIWallets {
			return dedicatedCLI(ctx, cfg, names[i])
		}
		p, err := StartProcess(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if err := p.CreateWallets(ctx, names[i]); err != nil {
			return nil, errors.Join(err, p.Stop())
		}
		return p, nil
	})
}

// dedicatedCLI starts one process and, at the same time, creates its
// wallet in its directory with monero-wallet-cli, then opens the wallet.
func dedicatedCLI(ctx context.Context, cfg Config, name string) (*Process, error) {
	dir, err := newDir(cfg)
	if err != nil {
		return nil, err
	}
	var (
		p               *Process
		startErr, cliEr error
		wg              sync.WaitGroup
	)
	wg.Go(func() { p, startErr = launch(ctx, cfg, dir) })
	wg.Go(func() { cliEr = CreateMultisigWallet(ctx, dir, name) })
	wg.Wait()
	if startErr != nil {
		_ = os.RemoveAll(dir)
		return nil, errors.Join(startErr, cliEr)
	}
	if cliEr != nil {
		return nil, errors.Join(cliEr, p.Stop())
	}
	c, err := p.Client()
	if err == nil {
		err = c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: name})
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("wallettest: open wallet %q on %s: %w", name, p.URL, err), p.Stop())
	}
	return p, nil
}

// errorLines is the CLI's stdout and stderr: it keeps the first few lines
// starting with "Error" and drops everything else, the seed included, as
// soon as the line is complete.
type errorLines struct {
	mu      sync.Mutex
	partial []byte
	kept    []string
}

const (
	maxErrorLines   = 4
	maxErrorLineLen = 300
	maxPartial      = 4 << 10
)

func (e *errorLines) Write(b []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(e.partial) < maxPartial {
				e.partial = append(e.partial, b...)
			}
			break
		}
		line := append(e.partial, b[:i]...)
		e.line(line)
		clear(line) // it may be the seed
		e.partial = line[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (e *errorLines) line(l []byte) {
	l = ansiEscape.ReplaceAll(l, nil)
	l = bytes.TrimSpace(l)
	if !bytes.HasPrefix(l, []byte("Error")) || len(e.kept) >= maxErrorLines {
		return
	}
	s := redactLine(string(l))
	if len(s) > maxErrorLineLen {
		s = s[:maxErrorLineLen] + "…"
	}
	e.kept = append(e.kept, s)
}

// String returns the kept error lines, plus an unterminated last line if it
// is an error line.
func (e *errorLines) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.partial) > 0 {
		e.line(e.partial)
		clear(e.partial)
		e.partial = e.partial[:0]
	}
	return strings.Join(e.kept, "; ")
}
