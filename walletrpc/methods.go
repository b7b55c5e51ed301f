package walletrpc

import "context"

// Typed methods for the calls escrow servers make. Each is a thin Call; the
// method names are wallet-rpc's.

// GetVersion calls get_version.
func (c *Client) GetVersion(ctx context.Context) (*GetVersionResult, error) {
	var r GetVersionResult
	return &r, c.Call(ctx, "get_version", nil, &r)
}

// CreateWallet calls create_wallet. The new wallet becomes the open one.
func (c *Client) CreateWallet(ctx context.Context, p CreateWalletParams) error {
	if p.Language == "" {
		p.Language = "English"
	}
	return c.Call(ctx, "create_wallet", &p, nil)
}

// OpenWallet calls open_wallet. Every later call on this endpoint, from any
// client, acts on this wallet.
func (c *Client) OpenWallet(ctx context.Context, p OpenWalletParams) error {
	return c.Call(ctx, "open_wallet", &p, nil)
}

// CloseWallet calls close_wallet (saving the wallet first).
func (c *Client) CloseWallet(ctx context.Context) error {
	return c.Call(ctx, "close_wallet", &CloseWalletParams{Autosave: true}, nil)
}

// RestoreDeterministicWallet calls restore_deterministic_wallet.
func (c *Client) RestoreDeterministicWallet(ctx context.Context, p RestoreDeterministicWalletParams) (*RestoreDeterministicWalletResult, error) {
	var r RestoreDeterministicWalletResult
	return &r, c.Call(ctx, "restore_deterministic_wallet", &p, &r)
}

// GetAddress calls get_address for account 0.
func (c *Client) GetAddress(ctx context.Context) (*GetAddressResult, error) {
	var r GetAddressResult
	return &r, c.Call(ctx, "get_address", &GetAddressParams{}, &r)
}

// GetBalance calls get_balance for account 0.
func (c *Client) GetBalance(ctx context.Context) (*GetBalanceResult, error) {
	var r GetBalanceResult
	return &r, c.Call(ctx, "get_balance", &GetBalanceParams{}, &r)
}

// GetHeight calls get_height.
func (c *Client) GetHeight(ctx context.Context) (*GetHeightResult, error) {
	var r GetHeightResult
	return &r, c.Call(ctx, "get_height", nil, &r)
}

// IsMultisig calls is_multisig.
func (c *Client) IsMultisig(ctx context.Context) (*IsMultisigResult, error) {
	var r IsMultisigResult
	return &r, c.Call(ctx, "is_multisig", nil, &r)
}

// PrepareMultisig calls prepare_multisig: round 1's first half.
func (c *Client) PrepareMultisig(ctx context.Context) (*PrepareMultisigResult, error) {
	var r PrepareMultisigResult
	return &r, c.Call(ctx, "prepare_multisig", nil, &r)
}

// MakeMultisig calls make_multisig with the other participants' infos.
func (c *Client) MakeMultisig(ctx context.Context, p MakeMultisigParams) (*MakeMultisigResult, error) {
	var r MakeMultisigResult
	return &r, c.Call(ctx, "make_multisig", &p, &r)
}

// ExchangeMultisigKeys calls exchange_multisig_keys: one key-exchange round.
func (c *Client) ExchangeMultisigKeys(ctx context.Context, p ExchangeMultisigKeysParams) (*ExchangeMultisigKeysResult, error) {
	var r ExchangeMultisigKeysResult
	return &r, c.Call(ctx, "exchange_multisig_keys", &p, &r)
}

// ExportMultisigInfo calls export_multisig_info.
func (c *Client) ExportMultisigInfo(ctx context.Context) (*ExportMultisigInfoResult, error) {
	var r ExportMultisigInfoResult
	return &r, c.Call(ctx, "export_multisig_info", nil, &r)
}

// ImportMultisigInfo calls import_multisig_info.
func (c *Client) ImportMultisigInfo(ctx context.Context, p ImportMultisigInfoParams) (*ImportMultisigInfoResult, error) {
	var r ImportMultisigInfoResult
	return &r, c.Call(ctx, "import_multisig_info", &p, &r)
}

// SignMultisig calls sign_multisig.
func (c *Client) SignMultisig(ctx context.Context, p SignMultisigParams) (*SignMultisigResult, error) {
	var r SignMultisigResult
	return &r, c.Call(ctx, "sign_multisig", &p, &r)
}

// SubmitMultisig calls submit_multisig.
func (c *Client) SubmitMultisig(ctx context.Context, p SubmitMultisigParams) (*SubmitMultisigResult, error) {
	var r SubmitMultisigResult
	return &r, c.Call(ctx, "submit_multisig", &p, &r)
}

// GetAttribute calls get_attribute.
func (c *Client) GetAttribute(ctx context.Context, key string) (string, error) {
	var r GetAttributeResult
	err := c.Call(ctx, "get_attribute", &GetAttributeParams{Key: key}, &r)
	return r.Value, err
}

// SetAttribute calls set_attribute.
func (c *Client) SetAttribute(ctx context.Context, key, value string) error {
	return c.Call(ctx, "set_attribute", &SetAttributeParams{Key: key, Value: value}, nil)
}

// Store calls store: save the open wallet to disk.
func (c *Client) Store(ctx context.Context) error {
	return c.Call(ctx, "store", nil, nil)
}
