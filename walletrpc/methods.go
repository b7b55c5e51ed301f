package walletrpc

import "context"

// Typed methods for the calls escrow servers make. Each is a thin Call with
// the method name wallet-rpc uses. On error they return a nil result and the
// error (a *Error or a *TransportError), never a half-filled result.

// call makes one typed call and returns its result, or nil with the error.
func call[R any](ctx context.Context, c *Client, method string, params any) (*R, error) {
	var r R
	if err := c.Call(ctx, method, params, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetVersion calls get_version: the RPC version (see RPCVersion) and whether
// the binary is a release build.
func (c *Client) GetVersion(ctx context.Context) (*GetVersionResult, error) {
	return call[GetVersionResult](ctx, c, MethodGetVersion, nil)
}

// CreateWallet calls create_wallet. The new wallet becomes the open one.
// Language defaults to English. On monero 0.18 a wallet made this way has
// multisig switched off until prepare_multisig is called with
// EnableMultisigExperimental.
func (c *Client) CreateWallet(ctx context.Context, p CreateWalletParams) error {
	if p.Language == "" {
		p.Language = "English"
	}
	return c.Call(ctx, MethodCreateWallet, &p, nil)
}

// OpenWallet calls open_wallet. Every later call on this endpoint, from any
// client, acts on this wallet.
func (c *Client) OpenWallet(ctx context.Context, p OpenWalletParams) error {
	return c.Call(ctx, MethodOpenWallet, &p, nil)
}

// CloseWallet calls close_wallet (saving the wallet first).
func (c *Client) CloseWallet(ctx context.Context) error {
	return c.Call(ctx, MethodCloseWallet, &CloseWalletParams{Autosave: true}, nil)
}

// RestoreDeterministicWallet calls restore_deterministic_wallet.
func (c *Client) RestoreDeterministicWallet(ctx context.Context, p RestoreDeterministicWalletParams) (*RestoreDeterministicWalletResult, error) {
	return call[RestoreDeterministicWalletResult](ctx, c, MethodRestoreDeterministicWallet, &p)
}

// GetAddress calls get_address for account 0.
func (c *Client) GetAddress(ctx context.Context) (*GetAddressResult, error) {
	return call[GetAddressResult](ctx, c, MethodGetAddress, &GetAddressParams{})
}

// GetBalance calls get_balance for account 0.
func (c *Client) GetBalance(ctx context.Context) (*GetBalanceResult, error) {
	return call[GetBalanceResult](ctx, c, MethodGetBalance, &GetBalanceParams{})
}

// GetHeight calls get_height.
func (c *Client) GetHeight(ctx context.Context) (*GetHeightResult, error) {
	return call[GetHeightResult](ctx, c, MethodGetHeight, nil)
}

// IsMultisig calls is_multisig.
func (c *Client) IsMultisig(ctx context.Context) (*IsMultisigResult, error) {
	return call[IsMultisigResult](ctx, c, MethodIsMultisig, nil)
}

// PrepareMultisig calls prepare_multisig: round 1's first half. On monero
// 0.18, p.EnableMultisigExperimental switches multisig on for the open
// wallet first; without it (and without the CLI setting
// enable-multisig-experimental) the wallet fails later, at
// exchange_multisig_keys, with CodeMultisigDisabled, and can no longer be
// switched on. Older wallet-rpcs ignore the flag.
func (c *Client) PrepareMultisig(ctx context.Context, p PrepareMultisigParams) (*PrepareMultisigResult, error) {
	return call[PrepareMultisigResult](ctx, c, MethodPrepareMultisig, &p)
}

// MakeMultisig calls make_multisig with the other participants' infos.
func (c *Client) MakeMultisig(ctx context.Context, p MakeMultisigParams) (*MakeMultisigResult, error) {
	return call[MakeMultisigResult](ctx, c, MethodMakeMultisig, &p)
}

// ExchangeMultisigKeys calls exchange_multisig_keys: one key-exchange round.
func (c *Client) ExchangeMultisigKeys(ctx context.Context, p ExchangeMultisigKeysParams) (*ExchangeMultisigKeysResult, error) {
	return call[ExchangeMultisigKeysResult](ctx, c, MethodExchangeMultisigKeys, &p)
}

// ExportMultisigInfo calls export_multisig_info.
func (c *Client) ExportMultisigInfo(ctx context.Context) (*ExportMultisigInfoResult, error) {
	return call[ExportMultisigInfoResult](ctx, c, MethodExportMultisigInfo, nil)
}

// ImportMultisigInfo calls import_multisig_info.
func (c *Client) ImportMultisigInfo(ctx context.Context, p ImportMultisigInfoParams) (*ImportMultisigInfoResult, error) {
	return call[ImportMultisigInfoResult](ctx, c, MethodImportMultisigInfo, &p)
}

// SignMultisig calls sign_multisig.
func (c *Client) SignMultisig(ctx context.Context, p SignMultisigParams) (*SignMultisigResult, error) {
	return call[SignMultisigResult](ctx, c, MethodSignMultisig, &p)
}

// SubmitMultisig calls submit_multisig.
func (c *Client) SubmitMultisig(ctx context.Context, p SubmitMultisigParams) (*SubmitMultisigResult, error) {
	return call[SubmitMultisigResult](ctx, c, MethodSubmitMultisig, &p)
}

// GetAttribute calls get_attribute; "" with the error when it fails.
func (c *Client) GetAttribute(ctx context.Context, key string) (string, error) {
	r, err := call[GetAttributeResult](ctx, c, MethodGetAttribute, &GetAttributeParams{Key: key})
	if err != nil {
		return "", err
	}
	return r.Value, nil
}

// SetAttribute calls set_attribute.
func (c *Client) SetAttribute(ctx context.Context, key, value string) error {
	return c.Call(ctx, MethodSetAttribute, &SetAttributeParams{Key: key, Value: value}, nil)
}

// Store calls store: save the open wallet to disk.
func (c *Client) Store(ctx context.Context) error {
	return c.Call(ctx, MethodStore, nil, nil)
}
