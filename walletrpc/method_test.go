package walletrpc_test

import (
	"testing"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

func TestWalletEffect(t *testing.T) {
	for m, want := range map[string]walletrpc.WalletEffect{
		walletrpc.MethodOpenWallet:                 walletrpc.OpensWallet,
		walletrpc.MethodCreateWallet:               walletrpc.OpensWallet,
		walletrpc.MethodRestoreDeterministicWallet: walletrpc.OpensWallet,
		walletrpc.MethodGenerateFromKeys:           walletrpc.OpensWallet,
		walletrpc.MethodCloseWallet:                walletrpc.ClosesWallet,
		walletrpc.MethodGetVersion:                 walletrpc.NoWallet,
		walletrpc.MethodIsMultisig:                 walletrpc.UsesOpenWallet,
		walletrpc.MethodExchangeMultisigKeys:       walletrpc.UsesOpenWallet,
		"no_such_method":                           walletrpc.UsesOpenWallet,
	} {
		if got := (&walletrpc.Request{Method: m}).WalletEffect(); got != want {
			t.Errorf("%s: %v, want %v", m, got, want)
		}
	}
}

// OpenedWallet reads the file name from the typed methods' params, from
// maps and from any struct given to Call, and says when it cannot.
func TestRequestOpenedWallet(t *testing.T) {
	type own struct {
		Name string `json:"filename"`
		Pass string `json:"password"`
	}
	for _, tc := range []struct {
		name   string
		req    walletrpc.Request
		want   string
		wantOK bool
	}{
		{"open, typed", walletrpc.Request{Method: walletrpc.MethodOpenWallet, Params: &walletrpc.OpenWalletParams{Filename: "a"}}, "a", true},
		{"create, typed", walletrpc.Request{Method: walletrpc.MethodCreateWallet, Params: &walletrpc.CreateWalletParams{Filename: "b"}}, "b", true},
		{"restore, typed", walletrpc.Request{Method: walletrpc.MethodRestoreDeterministicWallet, Params: &walletrpc.RestoreDeterministicWalletParams{Filename: "c"}}, "c", true},
		{"open, value struct", walletrpc.Request{Method: walletrpc.MethodOpenWallet, Params: walletrpc.OpenWalletParams{Filename: "d"}}, "d", true},
		{"open, map", walletrpc.Request{Method: walletrpc.MethodOpenWallet, Params: map[string]any{"filename": "e"}}, "e", true},
		{"open, own struct", walletrpc.Request{Method: walletrpc.MethodOpenWallet, Params: own{Name: "f"}}, "f", true},
		{"open, nil typed pointer", walletrpc.Request{Method: walletrpc.MethodOpenWallet, Params: (*walletrpc.OpenWalletParams)(nil)}, "", false},
		{"open, no filename", walletrpc.Request{Method: walletrpc.MethodOpenWallet, Params: map[string]any{"x": 1}}, "", false},
		{"open, no params", walletrpc.Request{Method: walletrpc.MethodOpenWallet}, "", false},
		{"open, unencodable", walletrpc.Request{Method: walletrpc.MethodOpenWallet, Params: map[string]any{"filename": make(chan int)}}, "", false},
		{"not an open", walletrpc.Request{Method: walletrpc.MethodGetAddress, Params: &walletrpc.OpenWalletParams{Filename: "g"}}, "", false},
	} {
		got, ok := tc.req.OpenedWallet()
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: %q %v, want %q %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

// Like go-github: a failed typed call returns a nil result.
func TestTypedMethodsReturnNilOnError(t *testing.T) {
	srv := newScriptedServer(t, replyBody(`{"id":"0","jsonrpc":"2.0","error":{"code":-13,"message":"No wallet file"}}`))
	c := mustNew(t, srv.URL)
	ctx := callCtx(t)
	if r, err := c.IsMultisig(ctx); r != nil || err == nil {
		t.Errorf("is_multisig: %v, %v", r, err)
	}
	if r, err := c.GetVersion(ctx); r != nil || err == nil {
		t.Errorf("get_version: %v, %v", r, err)
	}
	if r, err := c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{}); r != nil || err == nil {
		t.Errorf("exchange_multisig_keys: %v, %v", r, err)
	}
	if v, err := c.GetAttribute(ctx, "k"); v != "" || err == nil {
		t.Errorf("get_attribute: %q, %v", v, err)
	}
}

func TestKexComplete(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&walletrpc.Error{Code: -28, Message: "This wallet is multisig, and already finalized"}, true},
		{&walletrpc.Error{Code: -1, Message: "multisig account: tried to update kex, but kex is already complete."}, true},
		{&walletrpc.Error{Code: -28, Message: "This wallet is already multisig"}, false},
		{&walletrpc.Error{Code: -1, Message: "Failed to open wallet"}, false},
		{&walletrpc.TransportError{Kind: walletrpc.KindTimeout}, false},
		{nil, false},
	} {
		if got := walletrpc.KexComplete(tc.err); got != tc.want {
			t.Errorf("KexComplete(%v) = %v", tc.err, got)
		}
	}
}

func TestRPCVersionString(t *testing.T) {
	for v, want := range map[uint32]string{walletrpc.RPCVersion0_17_3: "1.24", walletrpc.RPCVersion0_18_0: "1.25", walletrpc.RPCVersion0_18_1: "1.26", 0: "0.0"} {
		if got := walletrpc.RPCVersionString(v); got != want {
			t.Errorf("%d: %q, want %q", v, got, want)
		}
	}
}
