package walletrpc

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a JSON-RPC error returned by monero-wallet-rpc. wallet-rpc sends
// these with HTTP status 200.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("walletrpc: json-rpc error %d: %s", e.Code, e.Message)
}

// JSON-RPC error codes seen from monero-wallet-rpc 0.18.
const (
	CodeUnknownError        = -1  // also "Failed to open wallet", "Invalid filename", a repeated final exchange_multisig_keys from 0.18.1.2 ("... kex is already complete.")
	CodeNotOpen             = -13 // "No wallet file": no wallet is open
	CodeWalletAlreadyExists = -21
	CodeAlreadyMultisig     = -28 // "This wallet is already multisig"; a repeated final exchange_multisig_keys up to 0.18.1.1: "This wallet is multisig, and already finalized"
	CodeNotMultisig         = -31 // "This wallet is not multisig"
	CodeAttributeNotFound   = -45
	CodeMultisigDisabled    = -48 // multisig wallet without enable-multisig-experimental (see PrepareMultisigParams)
	CodeParseError          = -32700
	CodeInvalidRequest      = -32600
	CodeMethodNotFound      = -32601
	CodeInvalidParams       = -32602
)

// ErrorCode returns the JSON-RPC error code carried by err and true, or 0 and
// false when err is not (and does not wrap) an *Error.
func ErrorCode(err error) (int, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

// TransportKind classifies a TransportError.
type TransportKind string

// Transport error kinds.
const (
	KindConnect   TransportKind = "connect"   // the request did not get an HTTP response
	KindTimeout   TransportKind = "timeout"   // the call's deadline or the client timeout passed
	KindCanceled  TransportKind = "canceled"  // the caller's context was canceled
	KindHTTP      TransportKind = "http"      // an HTTP status other than 200 (401, 404, 5xx ...)
	KindMalformed TransportKind = "malformed" // the body is not a JSON-RPC reply (not JSON, truncated, no result)
	KindTooLarge  TransportKind = "too_large" // the body is over the client's limit
	KindEncode    TransportKind = "encode"    // the params could not be encoded
)

// TransportError is any failure below JSON-RPC: the call may or may not have
// reached the wallet.
type TransportError struct {
	Kind       TransportKind
	Method     string
	StatusCode int // for KindHTTP
	Err        error
}

func (e *TransportError) Error() string {
	switch {
	case e.Kind == KindHTTP:
		return fmt.Sprintf("walletrpc: %s: HTTP %d", e.Method, e.StatusCode)
	case e.Err != nil:
		return fmt.Sprintf("walletrpc: %s: %s: %v", e.Method, e.Kind, e.Err)
	default:
		return fmt.Sprintf("walletrpc: %s: %s", e.Method, e.Kind)
	}
}

func (e *TransportError) Unwrap() error { return e.Err }

// KexComplete reports whether err is wallet-rpc's refusal of an
// exchange_multisig_keys call on a wallet whose key exchange is already
// complete, as a participant that retries a lost reply gets: -28 "This
// wallet is multisig, and already finalized" up to 0.18.1.1 (measured on
// 0.18.0.0), -1 "multisig account: tried to update kex, but kex is already
// complete." from 0.18.1.2. The wallet is fine; is_multisig says ready.
func KexComplete(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case CodeAlreadyMultisig:
		return strings.Contains(e.Message, "already finalized")
	case CodeUnknownError:
		return strings.Contains(e.Message, "kex is already complete")
	}
	return false
}
