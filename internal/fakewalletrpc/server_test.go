package fakewalletrpc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

func client(t *testing.T, s *fakewalletrpc.Server, opts ...walletrpc.Option) *walletrpc.Client {
	t.Helper()
	c, err := walletrpc.New(s.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	got, ok := walletrpc.ErrorCode(err)
	if !ok || got != code {
		t.Fatalf("error = %v, want JSON-RPC code %d", err, code)
	}
}

func TestWalletLifecycleLikeWalletRPC(t *testing.T) {
	s := fakewalletrpc.New(fakewalletrpc.WithWalletDir(t.TempDir()))
	defer s.Close()
	c := client(t, s)
	ctx := ctx(t)

	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatalf("get_version with no wallet: %v", err)
	}
	_, err := c.GetAddress(ctx)
	wantCode(t, err, fakewalletrpc.CodeNotOpen)
	wantCode(t, c.CloseWallet(ctx), fakewalletrpc.CodeNotOpen)

	if err := c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "a", Password: "pa"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "a"}), fakewalletrpc.CodeWalletAlreadyExists)
	wantCode(t, c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "x/y"}), fakewalletrpc.CodeUnknownError)
	if err := c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "b"}); err != nil {
		t.Fatal(err)
	}
	if s.OpenWalletName() != "b" {
		t.Fatalf("open = %q, want b (create opens)", s.OpenWalletName())
	}
	addrB, _ := c.GetAddress(ctx)

	// A failed open (wrong password, missing file) leaves the previous wallet open.
	wantCode(t, c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "a", Password: "wrong"}), fakewalletrpc.CodeUnknownError)
	wantCode(t, c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "missing"}), fakewalletrpc.CodeUnknownError)
	if got, _ := c.GetAddress(ctx); got.Address != addrB.Address {
		t.Fatalf("after failed opens address = %q, want b's %q", got.Address, addrB.Address)
	}
	if err := c.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "a", Password: "pa"}); err != nil {
		t.Fatal(err)
	}
	addrA, _ := c.GetAddress(ctx)
	if addrA.Address == addrB.Address || len(addrA.Address) != 95 || addrA.Address[0] != '9' {
		t.Fatalf("addresses a=%q b=%q: want distinct 95-char testnet-like", addrA.Address, addrB.Address)
	}
	if err := c.CloseWallet(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.IsMultisig(ctx)
	wantCode(t, err, fakewalletrpc.CodeNotOpen)

	fi, err := os.Stat(s.WalletPath("a"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("wallet file: %v %v, want mode 0600", fi, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.WalletPath("a")), "a.keys")); err != nil {
		t.Fatal(err)
	}

	// restore: same seed, same address.
	r1, err := c.RestoreDeterministicWallet(ctx, walletrpc.RestoreDeterministicWalletParams{Filename: "r1", Seed: "one two three"})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.RestoreDeterministicWallet(ctx, walletrpc.RestoreDeterministicWalletParams{Filename: "r2", Seed: "one two three"})
	if err != nil || r1.Address != r2.Address {
		t.Fatalf("restore twice from one seed: %v %q %q", err, r1.Address, r2.Address)
	}
}

func TestProtocolErrors(t *testing.T) {
	s := fakewalletrpc.New()
	defer s.Close()
	post := func(path, body string) (int, string) {
		resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct{ path, body, want string }{
		{"/json_rpc", `garbage`, `"code":-32700`},
		{"/json_rpc", `[{"method":"get_version"}]`, `"code":-32700`},
		{"/json_rpc", `{"method":"nope","id":7}`, `"code":-32601`},
		{"/json_rpc", `{"method":"get_version","id":"abc"}`, `"id":"abc"`},
		{"/json_rpc", `{"method":"create_wallet","params":{"filename":3}}`, `"code":-32602`},
		{"/json_rpc", `{"jsonrpc":"2.0","id":"0"}`, `"code":-32600`},
	} {
		code, body := post(tc.path, tc.body)
		if code != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: HTTP %d %s, want 200 containing %s", tc.body, code, body, tc.want)
		}
	}
	if code, body := post("/other", `{}`); code != 404 || body != "" {
		t.Errorf("unknown path: %d %q, want 404 empty", code, body)
	}
	if s.TotalCalls() != 6 || s.Calls("get_version") != 1 || s.Calls("nope") != 1 {
		t.Errorf("calls: total %d get_version %d nope %d; log %v", s.TotalCalls(), s.Calls("get_version"), s.Calls("nope"), s.CallLog())
	}
	s.ResetCalls()
	if s.TotalCalls() != 0 {
		t.Error("ResetCalls kept calls")
	}
}

// setup23 runs a 2-of-3 key exchange on three wallets and returns the
// addresses each reported at the end.
func setup23(t *testing.T, cs []*walletrpc.Client) []string {
	t.Helper()
	ctx := ctx(t)
	n := len(cs)
	infos := make([]string, n)
	for i, c := range cs {
		r, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.MultisigInfo, "Multisig") {
			t.Fatalf("prepare info %.12q does not look like one", r.MultisigInfo)
		}
		infos[i] = r.MultisigInfo
	}
	others := func(all []string, i int) []string {
		var o []string
		for j, s := range all {
			if j != i {
				o = append(o, s)
			}
		}
		return o
	}
	next := make([]string, n)
	placeholder := ""
	for i, c := range cs {
		r, err := c.MakeMultisig(ctx, walletrpc.MakeMultisigParams{MultisigInfo: others(infos, i), Threshold: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !fakewalletrpc.IsPlaceholder(r.Address) || len(r.Address) != 95 {
			t.Fatalf("make_multisig address %q, want a placeholder", r.Address)
		}
		// get_address shows what make_multisig returned, the same for
		// every participant, as on wallet-rpc 0.18.0.0.
		if a, err := c.GetAddress(ctx); err != nil || a.Address != r.Address {
			t.Fatalf("get_address after make_multisig: %v %v, want %q", a, err, r.Address)
		}
		if i > 0 && r.Address != placeholder {
			t.Fatalf("participants show placeholders %q and %q", placeholder, r.Address)
		}
		placeholder = r.Address
		next[i] = r.MultisigInfo
	}
	infos = next
	addrs := make([]string, n)
	for round := 2; round <= 3; round++ {
		next := make([]string, n)
		for i, c := range cs {
			r, err := c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{MultisigInfo: others(infos, i)})
			if err != nil {
				t.Fatalf("round %d wallet %d: %v", round, i, err)
			}
			if round == 2 && r.Address != "" {
				t.Fatalf("round 2 address %q, want empty", r.Address)
			}
			// Yet get_address shows the shared address already.
			if a, err := c.GetAddress(ctx); err != nil || fakewalletrpc.IsPlaceholder(a.Address) || a.Address == "" {
				t.Fatalf("get_address after round %d: %v %v", round, a, err)
			}
			next[i], addrs[i] = r.MultisigInfo, r.Address
		}
		infos = next
	}
	return addrs
}

func TestMultisig2of3(t *testing.T) {
	var cs []*walletrpc.Client
	for _, name := range []string{"buyer", "vendor", "arbiter"} {
		s := fakewalletrpc.New(fakewalletrpc.WithWallet(name, ""))
		defer s.Close()
		if err := s.OpenWallet(name); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, client(t, s))
	}
	addrs := setup23(t, cs)
	if addrs[0] == "" || addrs[0] != addrs[1] || addrs[1] != addrs[2] {
		t.Fatalf("addresses %q, want one shared", addrs)
	}
	ctx := ctx(t)
	for _, c := range cs {
		m, err := c.IsMultisig(ctx)
		if err != nil || !m.Multisig || !m.Ready || m.Threshold != 2 || m.Total != 3 {
			t.Fatalf("is_multisig %+v %v", m, err)
		}
		a, _ := c.GetAddress(ctx)
		if a.Address != addrs[0] {
			t.Fatalf("get_address %q, want %q", a.Address, addrs[0])
		}
		_, err = c.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
		wantCode(t, err, fakewalletrpc.CodeAlreadyMultisig)
	}

	// A second group gets a different address.
	var cs2 []*walletrpc.Client
	for _, name := range []string{"b2", "v2", "a2"} {
		s := fakewalletrpc.New(fakewalletrpc.WithWallet(name, ""))
		defer s.Close()
		_ = s.OpenWallet(name)
		cs2 = append(cs2, client(t, s))
	}
	if a2 := setup23(t, cs2); a2[0] == addrs[0] {
		t.Fatal("two groups got the same address")
	}
}

func TestMultisigRejectsMixedUpInfos(t *testing.T) {
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("a", ""), fakewalletrpc.WithWallet("b", ""), fakewalletrpc.WithWallet("c", ""))
	defer s.Close()
	c := client(t, s)
	ctx := ctx(t)
	info := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		_ = s.OpenWallet(n)
		r, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
		if err != nil {
			t.Fatal(err)
		}
		info[n] = r.MultisigInfo
	}
	_ = s.OpenWallet("a")
	_, err := c.MakeMultisig(ctx, walletrpc.MakeMultisigParams{MultisigInfo: []string{info["a"], info["b"]}, Threshold: 2})
	wantCode(t, err, fakewalletrpc.CodeBadMultisigInfo) // its own info
	_, err = c.MakeMultisig(ctx, walletrpc.MakeMultisigParams{MultisigInfo: []string{info["b"], info["c"]}, Threshold: 4})
	wantCode(t, err, fakewalletrpc.CodeBadMultisigInfo)
	r, err := c.MakeMultisig(ctx, walletrpc.MakeMultisigParams{MultisigInfo: []string{info["b"], info["c"]}, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Round-2 strings are expected; prepare strings are refused.
	_, err = c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{MultisigInfo: []string{info["b"], info["c"]}})
	wantCode(t, err, fakewalletrpc.CodeBadMultisigInfo)
	_, err = c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{MultisigInfo: []string{r.MultisigInfo}})
	wantCode(t, err, fakewalletrpc.CodeBadMultisigInfo)
}

// Like 0.18.0.0: -31 on a plain wallet; a multisig wallet whose
// prepare_multisig did not switch multisig on fails the exchange with -48;
// with the switch (or a CLI-made wallet) it goes through.
func TestMultisigSwitch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []fakewalletrpc.Option
		create  bool // over RPC (create_wallet), else a CLI-made wallet (WithWallet)
		enable  bool
		wantErr int
	}{
		{"create_wallet, no flag", nil, true, false, fakewalletrpc.CodeMultisigDisabled},
		{"create_wallet, flag", nil, true, true, 0},
		{"cli-made", nil, false, false, 0},
		{"cli-made, disabled", []fakewalletrpc.Option{fakewalletrpc.WithMultisigDisabled()}, false, false, fakewalletrpc.CodeMultisigDisabled},
		{"0.17.3 has no switch", []fakewalletrpc.Option{fakewalletrpc.WithRelease(fakewalletrpc.Release0_17_3)}, true, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs []*walletrpc.Client
			for _, name := range []string{"a", "b", "c"} {
				opts := tc.opts
				if !tc.create {
					opts = append(opts, fakewalletrpc.WithWallet(name, ""))
				}
				s := fakewalletrpc.New(opts...)
				defer s.Close()
				c := client(t, s)
				if tc.create {
					if err := c.CreateWallet(ctx(t), walletrpc.CreateWalletParams{Filename: name}); err != nil {
						t.Fatal(err)
					}
				} else {
					_ = s.OpenWallet(name)
				}
				cs = append(cs, c)
			}
			_, err := cs[0].ExchangeMultisigKeys(ctx(t), walletrpc.ExchangeMultisigKeysParams{})
			wantCode(t, err, fakewalletrpc.CodeNotMultisig)
			_, err = setupRounds(t, cs, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: tc.enable})
			if tc.wantErr == 0 && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != 0 {
				wantCode(t, err, tc.wantErr)
				if !strings.Contains(err.Error(), "set enable-multisig-experimental 1") {
					t.Errorf("-48 text %q", err)
				}
			}
		})
	}
}

// setupRounds runs prepare_multisig, make_multisig (threshold 2) and
// exchange_multisig_keys until every wallet returns an address, and returns
// how many exchange rounds that took, or the first error.
func setupRounds(t *testing.T, cs []*walletrpc.Client, p walletrpc.PrepareMultisigParams) (int, error) {
	t.Helper()
	ctx := ctx(t)
	others := func(all []string, i int) []string {
		var o []string
		for j, s := range all {
			if j != i {
				o = append(o, s)
			}
		}
		return o
	}
	infos := make([]string, len(cs))
	for i, c := range cs {
		r, err := c.PrepareMultisig(ctx, p)
		if err != nil {
			return 0, err
		}
		infos[i] = r.MultisigInfo
	}
	next := make([]string, len(cs))
	for i, c := range cs {
		r, err := c.MakeMultisig(ctx, walletrpc.MakeMultisigParams{MultisigInfo: others(infos, i), Threshold: 2})
		if err != nil {
			return 0, err
		}
		next[i] = r.MultisigInfo
	}
	for round := 1; round <= 5; round++ {
		infos, next = next, make([]string, len(cs))
		done := 0
		for i, c := range cs {
			r, err := c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{MultisigInfo: others(infos, i)})
			if err != nil {
				return round, err
			}
			next[i] = r.MultisigInfo
			if r.Address != "" {
				done++
			}
		}
		if done == len(cs) {
			// A retried final round is refused as wallet-rpc does.
			_, err := cs[0].ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{MultisigInfo: others(infos, 0)})
			if !walletrpc.KexComplete(err) {
				t.Errorf("repeated final exchange: %v, want a kex-complete refusal", err)
			}
			return round, nil
		}
		if done != 0 {
			t.Fatalf("round %d: %d of %d wallets done", round, done, len(cs))
		}
	}
	t.Fatal("no address after 5 exchange rounds")
	return 0, nil
}

// The releases differ where escrow servers notice: version, info prefixes,
// how many exchange rounds a 2-of-3 takes, what a repeated final exchange
// answers.
func TestReleases(t *testing.T) {
	for _, tc := range []struct {
		release      fakewalletrpc.Release
		version      uint32
		prepare, kex string
		rounds       int
		repeatCode   int
		repeatText   string
	}{
		{fakewalletrpc.Release0_18_0, 65561, "MultisigxV2R1", "MultisigxV2Rn", 2, -28, "This wallet is multisig, and already finalized"},
		{fakewalletrpc.Release0_17_3, 65560, "MultisigV1", "MultisigxV1", 1, -28, "already finalized"},
		{fakewalletrpc.Release0_18_1_2, 65562, "MultisigxV2R1", "MultisigxV2Rn", 2, -1, "multisig account: tried to update kex, but kex is already complete."},
	} {
		t.Run(walletrpc.RPCVersionString(tc.version), func(t *testing.T) {
			var cs []*walletrpc.Client
			for _, name := range []string{"a", "b", "c"} {
				s := fakewalletrpc.New(fakewalletrpc.WithRelease(tc.release))
				defer s.Close()
				c := client(t, s)
				if err := c.CreateWallet(ctx(t), walletrpc.CreateWalletParams{Filename: name}); err != nil {
					t.Fatal(err)
				}
				cs = append(cs, c)
			}
			v, err := cs[0].GetVersion(ctx(t))
			if err != nil || v.Version != tc.version || tc.release.Version() != tc.version {
				t.Fatalf("get_version %+v %v, want %d", v, err, tc.version)
			}
			p, err := cs[0].PrepareMultisig(ctx(t), walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
			if err != nil || !strings.HasPrefix(p.MultisigInfo, tc.prepare) {
				t.Fatalf("prepare_multisig prefix %.16q %v, want %s", p.MultisigInfo, err, tc.prepare)
			}
			ci := make([]string, 0, 2)
			for _, c := range cs[1:] {
				r, _ := c.PrepareMultisig(ctx(t), walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
				ci = append(ci, r.MultisigInfo)
			}
			m, err := cs[0].MakeMultisig(ctx(t), walletrpc.MakeMultisigParams{MultisigInfo: ci, Threshold: 2})
			if err != nil || !strings.HasPrefix(m.MultisigInfo, tc.kex) {
				t.Fatalf("make_multisig prefix %.16q %v, want %s", m.MultisigInfo, err, tc.kex)
			}

			// Fresh wallets for the whole exchange.
			var fresh []*walletrpc.Client
			for _, name := range []string{"a", "b", "c"} {
				s := fakewalletrpc.New(fakewalletrpc.WithRelease(tc.release))
				defer s.Close()
				c := client(t, s)
				if err := c.CreateWallet(ctx(t), walletrpc.CreateWalletParams{Filename: name}); err != nil {
					t.Fatal(err)
				}
				fresh = append(fresh, c)
			}
			rounds, err := setupRounds(t, fresh, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
			if err != nil || rounds != tc.rounds {
				t.Fatalf("exchange rounds %d %v, want %d", rounds, err, tc.rounds)
			}
			_, err = fresh[1].ExchangeMultisigKeys(ctx(t), walletrpc.ExchangeMultisigKeysParams{
				MultisigInfo: []string{"x", "y"}, ForceUpdateUseWithCaution: true})
			var re *walletrpc.Error
			if !errors.As(err, &re) || re.Code != tc.repeatCode || !strings.Contains(re.Message, tc.repeatText) {
				t.Fatalf("repeated final exchange: %v, want %d %q", err, tc.repeatCode, tc.repeatText)
			}
		})
	}
}

// Participants on different releases cannot read each other's infos.
func TestMixedReleasesRefuseInfos(t *testing.T) {
	old := fakewalletrpc.New(fakewalletrpc.WithRelease(fakewalletrpc.Release0_17_3), fakewalletrpc.WithWallet("o", ""))
	defer old.Close()
	cur := fakewalletrpc.New(fakewalletrpc.WithWallet("n", ""), fakewalletrpc.WithWallet("m", ""))
	defer cur.Close()
	_ = old.OpenWallet("o")
	co, cn := client(t, old), client(t, cur)
	po, err := co.PrepareMultisig(ctx(t), walletrpc.PrepareMultisigParams{})
	if err != nil {
		t.Fatal(err)
	}
	_ = cur.OpenWallet("m")
	pm, _ := cn.PrepareMultisig(ctx(t), walletrpc.PrepareMultisigParams{})
	_ = cur.OpenWallet("n")
	_, err = cn.MakeMultisig(ctx(t), walletrpc.MakeMultisigParams{MultisigInfo: []string{po.MultisigInfo, pm.MultisigInfo}, Threshold: 2})
	wantCode(t, err, fakewalletrpc.CodeBadMultisigInfo)
}

func TestFaults(t *testing.T) {
	s := fakewalletrpc.New(fakewalletrpc.WithWallet("a", ""), fakewalletrpc.WithWallet("b", ""))
	defer s.Close()
	_ = s.OpenWallet("a")
	c := client(t, s, walletrpc.WithTimeout(300*time.Millisecond))
	ctx := ctx(t)

	f := s.InjectFault(fakewalletrpc.Fault{Method: "get_height", Skip: 1, Times: 1, Code: -99, Message: "boom"})
	if _, err := c.GetHeight(ctx); err != nil {
		t.Fatalf("first call is skipped: %v", err)
	}
	_, err := c.GetHeight(ctx)
	wantCode(t, err, -99)
	if _, err := c.GetHeight(ctx); err != nil {
		t.Fatalf("Times 1: third call passes: %v", err)
	}
	if f.Fired() != 1 {
		t.Fatalf("Fired = %d", f.Fired())
	}

	s.InjectFault(fakewalletrpc.Fault{Method: "get_balance", Wallet: "b", HTTPStatus: 503})
	if _, err := c.GetBalance(ctx); err != nil {
		t.Fatalf("fault is for wallet b, a is open: %v", err)
	}
	_ = s.OpenWallet("b")
	var te *walletrpc.TransportError
	if _, err := c.GetBalance(ctx); !errors.As(err, &te) || te.Kind != walletrpc.KindHTTP || te.StatusCode != 503 {
		t.Fatalf("HTTP fault: %v", err)
	}
	s.ClearFaults()

	for _, tc := range []struct {
		f    fakewalletrpc.Fault
		kind walletrpc.TransportKind
	}{
		{fakewalletrpc.Fault{Body: `{"result":`}, walletrpc.KindMalformed},
		{fakewalletrpc.Fault{Hang: true}, walletrpc.KindTimeout},
		{fakewalletrpc.Fault{DropConnection: true}, walletrpc.KindConnect},
		{fakewalletrpc.Fault{Delay: time.Second}, walletrpc.KindTimeout},
	} {
		s.ClearFaults()
		s.InjectFault(tc.f)
		_, err := c.IsMultisig(ctx)
		if !errors.As(err, &te) || te.Kind != tc.kind {
			t.Errorf("fault %+v: %v, want %s", tc.f, err, tc.kind)
		}
	}
	s.ClearFaults()
	s.InjectFault(fakewalletrpc.Fault{Delay: 50 * time.Millisecond})
	start := time.Now()
	if _, err := c.IsMultisig(ctx); err != nil || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("delay-only fault: %v after %v", err, time.Since(start))
	}
}

func TestServesOneRequestAtATime(t *testing.T) {
	s := fakewalletrpc.New(fakewalletrpc.WithLatency("get_version", 100*time.Millisecond))
	defer s.Close()
	c := client(t, s)
	ctx := ctx(t)
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := c.GetVersion(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("3 calls of 100ms took %v: not serialized", d)
	}
	if s.Calls("get_version") != 3 {
		t.Fatalf("calls = %d", s.Calls("get_version"))
	}
}

// Like 0.18.0.0: prepare_multisig's flag lives in memory until
// make_multisig writes the keys file; a wallet switched away from in
// between has it off again and fails round 2 with -48.
func TestMultisigSwitchLostOnClose(t *testing.T) {
	var cs []*walletrpc.Client
	for _, name := range []string{"a", "b", "c"} {
		s := fakewalletrpc.New()
		defer s.Close()
		c := client(t, s)
		if err := c.CreateWallet(ctx(t), walletrpc.CreateWalletParams{Filename: name}); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	var infos []string
	for _, c := range cs {
		r, err := c.PrepareMultisig(ctx(t), walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, r.MultisigInfo)
	}
	// Switch a away and back.
	if err := cs[0].CreateWallet(ctx(t), walletrpc.CreateWalletParams{Filename: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := cs[0].OpenWallet(ctx(t), walletrpc.OpenWalletParams{Filename: "a"}); err != nil {
		t.Fatal(err)
	}
	made := make([]string, 3)
	for i, c := range cs {
		o := append(append([]string{}, infos[:i]...), infos[i+1:]...)
		r, err := c.MakeMultisig(ctx(t), walletrpc.MakeMultisigParams{MultisigInfo: o, Threshold: 2})
		if err != nil {
			t.Fatal(err)
		}
		made[i] = r.MultisigInfo
	}
	for i, c := range cs {
		o := append(append([]string{}, made[:i]...), made[i+1:]...)
		_, err := c.ExchangeMultisigKeys(ctx(t), walletrpc.ExchangeMultisigKeysParams{MultisigInfo: o})
		if i == 0 {
			wantCode(t, err, fakewalletrpc.CodeMultisigDisabled)
		} else if err != nil {
			t.Fatalf("wallet %d: %v", i, err)
		}
	}
	// After make_multisig the setting is in the file: b and c keep it
	// across a close.
	if err := cs[1].CloseWallet(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := cs[1].OpenWallet(ctx(t), walletrpc.OpenWalletParams{Filename: "b"}); err != nil {
		t.Fatal(err)
	}
	_, err := cs[1].ExchangeMultisigKeys(ctx(t), walletrpc.ExchangeMultisigKeysParams{MultisigInfo: []string{"x", "y"}})
	if code, _ := walletrpc.ErrorCode(err); code == fakewalletrpc.CodeMultisigDisabled {
		t.Errorf("b lost its saved setting: %v", err)
	}
}
