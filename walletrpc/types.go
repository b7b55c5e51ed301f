package walletrpc

// Request and response types carry the field names monero-wallet-rpc uses.
// Secret-bearing fields (passwords, seeds, multisig_info strings) are plain
// strings here; it is the tracing layer's job never to record params or
// results, and it does not.

// GetVersionResult is the reply of get_version. Version is the RPC version,
// major<<16 | minor (see RPCVersionString); Release is false on builds that
// are not release builds (Debian's 0.18.0.0 says false).
type GetVersionResult struct {
	Version uint32 `json:"version"`
	Release bool   `json:"release"`
}

// CreateWalletParams are the params of create_wallet.
type CreateWalletParams struct {
	Filename string `json:"filename"`
	Password string `json:"password,omitempty"`
	Language string `json:"language"`
}

// OpenWalletParams are the params of open_wallet.
type OpenWalletParams struct {
	Filename string `json:"filename"`
	Password string `json:"password,omitempty"`
}

// CloseWalletParams are the params of close_wallet.
type CloseWalletParams struct {
	Autosave bool `json:"autosave_current,omitempty"`
}

// RestoreDeterministicWalletParams are the params of restore_deterministic_wallet.
type RestoreDeterministicWalletParams struct {
	Filename        string `json:"filename"`
	Password        string `json:"password"`
	Seed            string `json:"seed"`
	RestoreHeight   uint64 `json:"restore_height,omitempty"`
	Language        string `json:"language,omitempty"`
	SeedOffset      string `json:"seed_offset,omitempty"`
	AutosaveCurrent *bool  `json:"autosave_current,omitempty"`
}

// RestoreDeterministicWalletResult is the reply of restore_deterministic_wallet.
type RestoreDeterministicWalletResult struct {
	Address       string `json:"address"`
	Info          string `json:"info"`
	Seed          string `json:"seed"`
	WasDeprecated bool   `json:"was_deprecated"`
}

// GetAddressParams are the params of get_address.
type GetAddressParams struct {
	AccountIndex uint32   `json:"account_index"`
	AddressIndex []uint32 `json:"address_index,omitempty"`
}

// AddressEntry is one subaddress in GetAddressResult.
type AddressEntry struct {
	Address      string `json:"address"`
	AddressIndex uint32 `json:"address_index"`
	Label        string `json:"label"`
	Used         bool   `json:"used"`
}

// GetAddressResult is the reply of get_address.
type GetAddressResult struct {
	Address   string         `json:"address"`
	Addresses []AddressEntry `json:"addresses"`
}

// GetBalanceParams are the params of get_balance.
type GetBalanceParams struct {
	AccountIndex   uint32   `json:"account_index"`
	AddressIndices []uint32 `json:"address_indices,omitempty"`
}

// GetBalanceResult is the reply of get_balance. Amounts are atomic units.
type GetBalanceResult struct {
	Balance              uint64 `json:"balance"`
	UnlockedBalance      uint64 `json:"unlocked_balance"`
	MultisigImportNeeded bool   `json:"multisig_import_needed"`
	BlocksToUnlock       uint64 `json:"blocks_to_unlock"`
	TimeToUnlock         uint64 `json:"time_to_unlock"`
}

// GetHeightResult is the reply of get_height.
type GetHeightResult struct {
	Height uint64 `json:"height"`
}

// IsMultisigResult is the reply of is_multisig.
type IsMultisigResult struct {
	Multisig  bool   `json:"multisig"`
	Ready     bool   `json:"ready"`
	Threshold uint32 `json:"threshold"`
	Total     uint32 `json:"total"`
}

// PrepareMultisigParams are the params of prepare_multisig.
type PrepareMultisigParams struct {
	// EnableMultisigExperimental switches multisig on for the open wallet
	// before preparing it (monero 0.18 and later; earlier versions ignore
	// it). It is the RPC twin of monero-wallet-cli's "set
	// enable-multisig-experimental 1", and the only way to switch it on over
	// RPC: after make_multisig it is too late (-28).
	EnableMultisigExperimental bool `json:"enable_multisig_experimental,omitempty"`
}

// PrepareMultisigResult is the reply of prepare_multisig. MultisigInfo is key
// material: never log it.
type PrepareMultisigResult struct {
	MultisigInfo string `json:"multisig_info"`
}

// MakeMultisigParams are the params of make_multisig.
type MakeMultisigParams struct {
	MultisigInfo []string `json:"multisig_info"`
	Threshold    uint32   `json:"threshold"`
	Password     string   `json:"password"`
}

// MakeMultisigResult is the reply of make_multisig. MultisigInfo is key
// material: never log it.
type MakeMultisigResult struct {
	Address      string `json:"address"`
	MultisigInfo string `json:"multisig_info"`
}

// ExchangeMultisigKeysParams are the params of exchange_multisig_keys.
type ExchangeMultisigKeysParams struct {
	MultisigInfo []string `json:"multisig_info"`
	Password     string   `json:"password"`
	// ForceUpdateUseWithCaution asks wallet-rpc 0.18.1.2 and later to redo
	// a round it has already done with new messages, as its name says;
	// earlier versions ignore it.
	ForceUpdateUseWithCaution bool `json:"force_update_use_with_caution,omitempty"`
}

// ExchangeMultisigKeysResult is the reply of exchange_multisig_keys. Address
// is empty until the key exchange is complete; the round that completes it
// returns the shared address (0.18.0.0 still returns a MultisigInfo with it,
// 0.17.3 an empty one). MultisigInfo is key material.
type ExchangeMultisigKeysResult struct {
	Address      string `json:"address"`
	MultisigInfo string `json:"multisig_info"`
}

// ExportMultisigInfoResult is the reply of export_multisig_info.
type ExportMultisigInfoResult struct {
	Info string `json:"info"`
}

// ImportMultisigInfoParams are the params of import_multisig_info.
type ImportMultisigInfoParams struct {
	Info []string `json:"info"`
}

// ImportMultisigInfoResult is the reply of import_multisig_info.
type ImportMultisigInfoResult struct {
	NOutputs uint64 `json:"n_outputs"`
}

// SignMultisigParams are the params of sign_multisig.
type SignMultisigParams struct {
	TxDataHex string `json:"tx_data_hex"`
}

// SignMultisigResult is the reply of sign_multisig.
type SignMultisigResult struct {
	TxDataHex  string   `json:"tx_data_hex"`
	TxHashList []string `json:"tx_hash_list"`
}

// SubmitMultisigParams are the params of submit_multisig.
type SubmitMultisigParams struct {
	TxDataHex string `json:"tx_data_hex"`
}

// SubmitMultisigResult is the reply of submit_multisig.
type SubmitMultisigResult struct {
	TxHashList []string `json:"tx_hash_list"`
}

// GetAttributeParams are the params of get_attribute.
type GetAttributeParams struct {
	Key string `json:"key"`
}

// GetAttributeResult is the reply of get_attribute.
type GetAttributeResult struct {
	Value string `json:"value"`
}

// SetAttributeParams are the params of set_attribute.
type SetAttributeParams struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
