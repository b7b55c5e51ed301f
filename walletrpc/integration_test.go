package walletrpc_test

// Integration tests against real monero-wallet-rpc 0.18 processes (Debian
// package monero), started by wallettest: offline, testnet, loopback, one
// temporary directory each. They fail, never skip, when the binaries are
// missing.

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// realCallTimeout bounds one call to a real wallet-rpc: create_wallet and
// open_wallet take seconds on a busy 2-core machine.
const realCallTimeout = time.Minute

// placeholderPrefix starts the address make_multisig returns on 0.18 before
// the key exchange is complete.
const placeholderPrefix = "9sCrDesy9LK11"

func realCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func realClient(t *testing.T, p *wallettest.Process, opts ...walletrpc.Option) *walletrpc.Client {
	t.Helper()
	c, err := p.Client(append([]walletrpc.Option{walletrpc.WithTimeout(realCallTimeout)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantRPCError checks that err is a *walletrpc.Error with code and a message
// containing msg.
func wantRPCError(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	var e *walletrpc.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: err = %v (%T), want *walletrpc.Error %d", what, err, err, code)
		return
	}
	if e.Code != code || !strings.Contains(e.Message, msg) {
		t.Errorf("%s: error %d %q, want %d containing %q", what, e.Code, e.Message, code, msg)
	}
}

// addressFile reads the address wallet-rpc (or monero-wallet-cli) wrote next to a wallet.
func addressFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".address.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// onEach runs f for every index in parallel: calls to different wallet-rpc
// processes do not wait for each other.
func onEach(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errs
}

// isTestnetAddress reports whether addr has the first character of a
// testnet standard address (network byte 53 in base58: '9' or 'A').
func isTestnetAddress(addr string) bool {
	return len(addr) == 95 && (addr[0] == '9' || addr[0] == 'A')
}

func others(all []string, i int) []string {
	var out []string
	for j, s := range all {
		if j != i {
			out = append(out, s)
		}
	}
	return out
}

// Digest auth against wallet-rpc --rpc-login: a wrong password is a 401
// TransportError; the right one works for sequential and concurrent calls
// (the client serialises its calls, since wallet-rpc's nonces are per
// connection and its nonce count must go up by one).
func TestRealDigestAuth(t *testing.T) {
	t.Parallel()
	p := wallettest.Start(t, 1, wallettest.Config{Login: "escrow:correct-horse"})[0]
	ctx := realCtx(t)

	for name, opts := range map[string][]walletrpc.Option{
		"wrong password": {walletrpc.WithDigestAuth("escrow", "battery-staple")},
		"wrong user":     {walletrpc.WithDigestAuth("mallory", "correct-horse")},
		"no credentials": nil,
	} {
		c, err := walletrpc.New(p.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetVersion(ctx)
		var te *walletrpc.TransportError
		if !errors.As(err, &te) || te.Kind != walletrpc.KindHTTP || te.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: err = %v, want TransportError http 401", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "correct-horse") {
			t.Errorf("%s: error text carries the password: %v", name, err)
		}
	}

	c := realClient(t, p)
	for i := range 25 {
		if _, err := c.GetVersion(ctx); err != nil {
			t.Fatalf("sequential call %d of 25: %v", i+1, err)
		}
	}

	fresh := realClient(t, p) // concurrent calls from the very first, unauthenticated one
	errs := onEach(20, func(int) error {
		_, err := fresh.GetVersion(ctx)
		return err
	})
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 20 concurrent calls on one client failed", failed)
	}
}

// The whole 2-of-3 key exchange on three real processes, each with its own
// wallet, made over RPC, open, through the typed client (prepare_multisig
// switches multisig on).
func TestRealMultisigKeyExchange(t *testing.T) {
	t.Parallel()
	roles := []string{"buyer", "vendor", "arbiter"}
	procs := wallettest.StartDedicated(t, wallettest.Config{}, roles...)
	ctx := realCtx(t)
	clients := make([]*walletrpc.Client, len(procs))
	for i, p := range procs {
		clients[i] = realClient(t, p)
	}
	// Every multisig_info seen, to check none reaches the logs. Never print them.
	var secrets []string
	check := func(step string, errs []error) {
		t.Helper()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s on %s: %v", step, roles[i], err)
			}
		}
	}

	own := make([]string, 3) // each wallet's own address
	check("before round 1", onEach(3, func(i int) error {
		ms, err := clients[i].IsMultisig(ctx)
		if err != nil {
			return err
		}
		if ms.Multisig || ms.Ready {
			t.Errorf("%s is multisig before round 1: %+v", roles[i], *ms)
		}
		r, err := clients[i].GetAddress(ctx)
		if err == nil {
			own[i] = r.Address
		}
		return err
	}))
	for i := range roles {
		if want := addressFile(t, procs[i].WalletDir, roles[i]); own[i] != want {
			t.Fatalf("%s: open wallet has address %s, want %s from %s.address.txt", roles[i], own[i], want, roles[i])
		}
	}

	// Round 1: prepare_multisig.
	prepared := make([]string, 3)
	check("prepare_multisig", onEach(3, func(i int) error {
		r, err := clients[i].PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
		if err == nil {
			prepared[i] = r.MultisigInfo
		}
		return err
	}))
	for i, info := range prepared {
		if !strings.HasPrefix(info, "Multisig") {
			t.Fatalf("%s: prepare_multisig info does not start with Multisig (len %d)", roles[i], len(info))
		}
	}
	secrets = append(secrets, prepared...)

	// make_multisig: threshold 2, the two other infos each. Returns the
	// placeholder address and the info for round 2.
	made := make([]string, 3)
	check("make_multisig", onEach(3, func(i int) error {
		r, err := clients[i].MakeMultisig(ctx, walletrpc.MakeMultisigParams{
			MultisigInfo: others(prepared, i), Threshold: 2})
		if err != nil {
			return err
		}
		if !strings.HasPrefix(r.Address, placeholderPrefix) {
			t.Errorf("%s: make_multisig address %q, want the %s… placeholder", roles[i], r.Address, placeholderPrefix)
		}
		made[i] = r.MultisigInfo
		return nil
	}))
	check("is_multisig after make", onEach(3, func(i int) error {
		ms, err := clients[i].IsMultisig(ctx)
		if err == nil && (!ms.Multisig || ms.Ready || ms.Threshold != 2 || ms.Total != 3) {
			t.Errorf("%s after make_multisig: %+v, want multisig, not ready, 2 of 3", roles[i], *ms)
		}
		return err
	}))

	// exchange_multisig_keys round 2 with the others' make_multisig infos:
	// no address yet.
	round2 := make([]string, 3)
	check("exchange_multisig_keys round 2", onEach(3, func(i int) error {
		r, err := clients[i].ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{MultisigInfo: others(made, i)})
		if err != nil {
			return err
		}
		if r.Address != "" {
			t.Errorf("%s: round 2 returned address %q, want \"\"", roles[i], r.Address)
		}
		round2[i] = r.MultisigInfo
		return nil
	}))
	for i, info := range round2 {
		if info == "" {
			t.Fatalf("%s: round 2 returned no info for round 3", roles[i])
		}
	}
	secrets = append(secrets, made...)
	secrets = append(secrets, round2...)

	// Round 3 with the others' round-2 infos: the shared address.
	addrs, round3 := make([]string, 3), make([]string, 3)
	check("exchange_multisig_keys round 3", onEach(3, func(i int) error {
		r, err := clients[i].ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{MultisigInfo: others(round2, i)})
		if err == nil {
			addrs[i], round3[i] = r.Address, r.MultisigInfo
		}
		return err
	}))
	secrets = append(secrets, round3...)

	check("is_multisig after round 3", onEach(3, func(i int) error {
		ms, err := clients[i].IsMultisig(ctx)
		if err == nil && *ms != (walletrpc.IsMultisigResult{Multisig: true, Ready: true, Threshold: 2, Total: 3}) {
			t.Errorf("%s after the key exchange: %+v, want multisig, ready, 2 of 3", roles[i], *ms)
		}
		return err
	}))
	got := make([]string, 3)
	check("get_address", onEach(3, func(i int) error {
		r, err := clients[i].GetAddress(ctx)
		if err == nil {
			got[i] = r.Address
		}
		return err
	}))
	shared := addrs[0]
	if strings.HasPrefix(shared, placeholderPrefix) || !isTestnetAddress(shared) {
		t.Errorf("shared address %q: want a 95-character testnet address that is not the placeholder", shared)
	}
	for i := range roles {
		if addrs[i] != shared || got[i] != shared {
			t.Errorf("%s: round 3 address %q, get_address %q, want %q for all", roles[i], addrs[i], got[i], shared)
		}
		if own[i] == shared {
			t.Errorf("%s: the shared address is the wallet's own", roles[i])
		}
	}

	// wallet-rpc's own logs hold no key material.
	for i, p := range procs {
		log, err := os.ReadFile(p.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(log), "Multisig") {
			t.Errorf("%s: %s contains a multisig_info", roles[i], p.LogFile)
		}
		for _, s := range secrets {
			if len(s) > 32 && strings.Contains(string(log), s[len(s)-32:]) {
				t.Errorf("%s: %s contains key-exchange material", roles[i], p.LogFile)
				break
			}
		}
	}
}

// One process, one open wallet: after open_wallet(B), calls made by anyone
// act on B, with no error, including calls from the client that opened A.
func TestRealSilentWalletSwitch(t *testing.T) {
	t.Parallel()
	p := wallettest.Start(t, 1, wallettest.Config{})[0]
	ctx := realCtx(t)
	if err := p.CreateWallets(ctx, "A", "B"); err != nil {
		t.Fatal(err)
	}
	addrA, addrB := addressFile(t, p.WalletDir, "A"), addressFile(t, p.WalletDir, "B")
	if addrA == addrB {
		t.Fatal("two new wallets with the same address")
	}

	ownerA, ownerB := realClient(t, p), realClient(t, p)
	if err := ownerA.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "A"}); err != nil {
		t.Fatal(err)
	}
	r, err := ownerA.GetAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Address != addrA {
		t.Fatalf("after open_wallet(A): address %s, want A's %s", r.Address, addrA)
	}

	if err := ownerB.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "B"}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*walletrpc.Client{"the client that opened A": ownerA, "the client that opened B": ownerB} {
		r, err := c.GetAddress(ctx)
		if err != nil {
			t.Errorf("get_address from %s after open_wallet(B): %v, want no error", name, err)
			continue
		}
		if r.Address != addrB {
			t.Errorf("get_address from %s after open_wallet(B) = %s, want B's %s (A's is %s)", name, r.Address, addrB, addrA)
		}
	}
}

// Error codes from a real process, as *walletrpc.Error. The steps share one
// process and run in order: each depends on what is open.
func TestRealErrorCodes(t *testing.T) {
	t.Parallel()
	p := wallettest.Start(t, 1, wallettest.Config{})[0]
	ctx := realCtx(t)
	c := realClient(t, p)

	// No wallet open.
	_, err := c.GetAddress(ctx)
	wantRPCError(t, "get_address, no wallet open", err, walletrpc.CodeNotOpen, "No wallet file")
	_, err = c.IsMultisig(ctx)
	wantRPCError(t, "is_multisig, no wallet open", err, walletrpc.CodeNotOpen, "No wallet file")
	err = c.CloseWallet(ctx)
	wantRPCError(t, "close_wallet, no wallet open", err, walletrpc.CodeNotOpen, "No wallet file")

	err = c.Call(ctx, "no_such_method", nil, nil)
	wantRPCError(t, "unknown method", err, walletrpc.CodeMethodNotFound, "")

	err = c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "missing"})
	wantRPCError(t, "open_wallet, missing file", err, walletrpc.CodeUnknownError, "Failed to open wallet")
	for _, name := range []string{"a/b", "../escape"} {
		err = c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: name})
		wantRPCError(t, "open_wallet "+name, err, walletrpc.CodeUnknownError, "Invalid filename")
		err = c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: name})
		wantRPCError(t, "create_wallet "+name, err, walletrpc.CodeUnknownError, "Invalid filename")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p.WalletDir), "escape")); err == nil {
		t.Error("create_wallet ../escape wrote outside the wallet dir")
	}

	// Three wallets made by wallet-rpc itself, prepared without
	// enable_multisig_experimental. b and c only contribute their infos.
	infos := map[string]string{}
	for _, w := range []struct{ name, password string }{{"b", ""}, {"c", "pw-c"}} {
		if err := c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: w.name, Password: w.password}); err != nil {
			t.Fatalf("create_wallet %s: %v", w.name, err)
		}
		r, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{})
		if err != nil {
			t.Fatalf("prepare_multisig on %s: %v", w.name, err)
		}
		infos[w.name] = r.MultisigInfo
	}
	err = c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "b"})
	wantRPCError(t, "create_wallet, existing file", err, walletrpc.CodeWalletAlreadyExists, "")

	// A wrong password fails with -1 and leaves c open.
	cAddr, err := c.GetAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "c", Password: "wrong"})
	wantRPCError(t, "open_wallet, wrong password", err, walletrpc.CodeUnknownError, "Failed to open wallet")
	if r, err := c.GetAddress(ctx); err != nil || r.Address != cAddr.Address {
		t.Errorf("after a failed open_wallet: address %v, %v, want c's %s still open", r, err, cAddr.Address)
	}

	// exchange_multisig_keys on a plain wallet: -31 not multisig. After
	// make_multisig it is multisig, and the exchange fails with -48 because
	// prepare_multisig was called without enable_multisig_experimental.
	if err := c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{
		MultisigInfo: []string{infos["b"], infos["c"]}})
	wantRPCError(t, "exchange_multisig_keys on a plain wallet", err, walletrpc.CodeNotMultisig, "not multisig")
	made, err := c.MakeMultisig(ctx, walletrpc.MakeMultisigParams{
		MultisigInfo: []string{infos["b"], infos["c"]}, Threshold: 2})
	if err != nil {
		t.Fatalf("make_multisig without the experimental flag: %v", err)
	}
	_, err = c.MakeMultisig(ctx, walletrpc.MakeMultisigParams{
		MultisigInfo: []string{infos["b"], infos["c"]}, Threshold: 2})
	wantRPCError(t, "make_multisig twice", err, walletrpc.CodeAlreadyMultisig, "already multisig")
	_, err = c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{
		MultisigInfo: []string{made.MultisigInfo, made.MultisigInfo}})
	wantRPCError(t, "exchange_multisig_keys, multisig not enabled", err, walletrpc.CodeMultisigDisabled, "enable-multisig-experimental")
}

// A stopped wallet-rpc is gone: no process, no directory, and calls fail at
// once with a connect TransportError.
func TestRealStoppedProcess(t *testing.T) {
	t.Parallel()
	p := wallettest.Start(t, 1, wallettest.Config{})[0]
	ctx := realCtx(t)
	c, err := p.Client() // default timeout: two minutes, so "quickly" is the client's doing
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatal(err)
	}
	pid, dir := p.PID(), p.WalletDir
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("kill(%d, 0) before Stop: %v", pid, err)
	}

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) after Stop = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("wallet dir after Stop: %v, want it removed", err)
	}

	for name, client := range map[string]*walletrpc.Client{"kept-alive client": c, "new client": realClient(t, p)} {
		start := time.Now()
		_, err := client.GetVersion(ctx)
		took := time.Since(start)
		var te *walletrpc.TransportError
		if !errors.As(err, &te) || te.Kind != walletrpc.KindConnect {
			t.Errorf("%s: err = %v, want TransportError connect", name, err)
		}
		if took > time.Second {
			t.Errorf("%s: the failed call took %v", name, took)
		}
	}
}
