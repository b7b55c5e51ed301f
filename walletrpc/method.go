package walletrpc

import (
	"encoding/json"
	"strconv"
)

// JSON-RPC method names of monero-wallet-rpc, as the typed methods send
// them.
const (
	MethodGetVersion                 = "get_version"
	MethodCreateWallet               = "create_wallet"
	MethodOpenWallet                 = "open_wallet"
	MethodCloseWallet                = "close_wallet"
	MethodRestoreDeterministicWallet = "restore_deterministic_wallet"
	MethodGenerateFromKeys           = "generate_from_keys"
	MethodGetAddress                 = "get_address"
	MethodGetBalance                 = "get_balance"
	MethodGetHeight                  = "get_height"
	MethodIsMultisig                 = "is_multisig"
	MethodPrepareMultisig            = "prepare_multisig"
	MethodMakeMultisig               = "make_multisig"
	MethodExchangeMultisigKeys       = "exchange_multisig_keys"
	MethodExportMultisigInfo         = "export_multisig_info"
	MethodImportMultisigInfo         = "import_multisig_info"
	MethodSignMultisig               = "sign_multisig"
	MethodSubmitMultisig             = "submit_multisig"
	MethodGetAttribute               = "get_attribute"
	MethodSetAttribute               = "set_attribute"
	MethodStore                      = "store"
)

// WalletEffect is what a call does about the one open wallet of its
// wallet-rpc process.
type WalletEffect uint8

const (
	// UsesOpenWallet: the call acts on whatever wallet is open (most
	// methods; -13 "No wallet file" when none is). Unknown methods count
	// as this.
	UsesOpenWallet WalletEffect = iota
	// NoWallet: the call needs no wallet (get_version).
	NoWallet
	// OpensWallet: on success the call leaves the wallet it names open
	// (open_wallet, create_wallet, restore_deterministic_wallet,
	// generate_from_keys). On failure the previous wallet stays open.
	OpensWallet
	// ClosesWallet: on success no wallet is open (close_wallet).
	ClosesWallet
)

// String returns the effect's name, for logs and tests.
func (e WalletEffect) String() string {
	switch e {
	case UsesOpenWallet:
		return "uses_open_wallet"
	case NoWallet:
		return "no_wallet"
	case OpensWallet:
		return "opens_wallet"
	case ClosesWallet:
		return "closes_wallet"
	}
	return "WalletEffect(" + strconv.Itoa(int(e)) + ")"
}

// MethodWalletEffect returns what a call of method does about the open
// wallet.
func MethodWalletEffect(method string) WalletEffect {
	switch method {
	case MethodOpenWallet, MethodCreateWallet, MethodRestoreDeterministicWallet, MethodGenerateFromKeys:
		return OpensWallet
	case MethodCloseWallet:
		return ClosesWallet
	case MethodGetVersion:
		return NoWallet
	}
	return UsesOpenWallet
}

// WalletEffect returns what the call does about the open wallet of its
// endpoint.
func (r *Request) WalletEffect() WalletEffect { return MethodWalletEffect(r.Method) }

// filenameParams is implemented by the params of the calls that open or
// create a wallet.
type filenameParams interface {
	walletFilename() (string, bool)
}

// OpenedWallet returns the file name of the wallet an OpensWallet call opens
// or creates, and true; "" and false for other calls and when the params do
// not say (no "filename" field). It reads the params of the typed methods
// directly and any other params (maps, the caller's own structs given to
// Call) through their JSON encoding, which is what wallet-rpc reads too.
func (r *Request) OpenedWallet() (filename string, ok bool) {
	if r.WalletEffect() != OpensWallet || r.Params == nil {
		return "", false
	}
	if p, isOurs := r.Params.(filenameParams); isOurs {
		return p.walletFilename()
	}
	// Rare (opens are few) and not ours: read what would be sent.
	b, err := json.Marshal(r.Params)
	if err != nil {
		return "", false
	}
	var f struct {
		Filename *string `json:"filename"`
	}
	if json.Unmarshal(b, &f) != nil || f.Filename == nil {
		return "", false
	}
	return *f.Filename, true
}

func (p *CreateWalletParams) walletFilename() (string, bool) {
	if p == nil {
		return "", false
	}
	return p.Filename, true
}

func (p *OpenWalletParams) walletFilename() (string, bool) {
	if p == nil {
		return "", false
	}
	return p.Filename, true
}

func (p *RestoreDeterministicWalletParams) walletFilename() (string, bool) {
	if p == nil {
		return "", false
	}
	return p.Filename, true
}

// RPC versions that get_version returns (major<<16 | minor), by the
// monero releases that answer them.
const (
	RPCVersion0_17_3 uint32 = 1<<16 | 24 // 65560: 0.17.3.x
	RPCVersion0_18_0 uint32 = 1<<16 | 25 // 65561: 0.18.0.0 to 0.18.1.1
	RPCVersion0_18_1 uint32 = 1<<16 | 26 // 65562: 0.18.1.2 to 0.18.2.x
)

// RPCVersionString spells a get_version version as "major.minor", for
// example "1.25" for 65561.
func RPCVersionString(v uint32) string {
	return strconv.FormatUint(uint64(v>>16), 10) + "." + strconv.FormatUint(uint64(v&0xffff), 10)
}
