package otelmsig

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

type ctxKey int

const (
	callKey ctxKey = iota
	escrowKey
	roundKey
)

// callInfo says who a wallet RPC call is for. Middleware reads it with one
// context lookup per call.
type callInfo struct {
	role, id, filename string
	// attrs are the span attributes of a call for the wallet, built once,
	// not per call: wallet.role, wallet.id, escrow.snapshot_call,
	// wallet.rpc_version (each when set) and wallet.filename last.
	attrs []attribute.KeyValue
	// noFile is attrs without wallet.filename, for calls that meet no
	// wallet (get_version) or open another one.
	noFile   []attribute.KeyValue
	snapshot bool // the call is made only to take a snapshot
	buf      [5]attribute.KeyValue
}

// ContextWithWallet returns a context saying that wallet RPC calls made with
// it are for w: their spans get w's role, id and file name, and when
// w.Filename is set the pollution detection checks that w is the wallet
// open on the endpoint. Only Role, ID and Filename are kept; the password
// and client are not.
func ContextWithWallet(ctx context.Context, w Wallet) context.Context {
	return context.WithValue(ctx, callKey, newCallInfo(w, false, 0))
}

// newCallInfo says who a call is for; rpcVersion is the version the
// wallet's wallet-rpc answered to get_version, 0 when not known.
func newCallInfo(w Wallet, snapshot bool, rpcVersion uint32) *callInfo {
	ci := &callInfo{role: w.Role, id: w.ID, filename: w.Filename, snapshot: snapshot}
	ci.attrs = ci.buf[:0] // one allocation for the lot
	if w.Role != "" {
		ci.attrs = append(ci.attrs, str(escrowconv.WalletRole, w.Role))
	}
	if w.ID != "" {
		ci.attrs = append(ci.attrs, str(escrowconv.WalletID, w.ID))
	}
	if snapshot {
		ci.attrs = append(ci.attrs, escrowconv.AttrSnapshotCall.Bool(true))
	}
	if rpcVersion != 0 {
		ci.attrs = append(ci.attrs, escrowconv.WalletRPCVersion.Int64(int64(rpcVersion)))
	}
	ci.noFile = ci.attrs
	if w.Filename != "" {
		ci.attrs = append(ci.attrs, filenameAttr(w.Filename))
	}
	return ci
}

func callFromContext(ctx context.Context) *callInfo {
	ci, _ := ctx.Value(callKey).(*callInfo)
	return ci
}

// EscrowFromContext returns the escrow started by StartEscrow whose context
// ctx derives from, or nil.
func EscrowFromContext(ctx context.Context) *Escrow {
	e, _ := ctx.Value(escrowKey).(*Escrow)
	return e
}

func roundFromContext(ctx context.Context) *Round {
	r, _ := ctx.Value(roundKey).(*Round)
	return r
}
