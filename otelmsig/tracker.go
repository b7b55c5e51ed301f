package otelmsig

import (
	"context"
	"sync"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// Tracker knows, per wallet-rpc endpoint (host:port), which wallet file is
// open and which escrow opened it, as far as instrumented clients of this
// process have seen: every successful create_wallet, open_wallet and
// restore_deterministic_wallet makes its wallet the open one, close_wallet
// closes it, a JSON-RPC error changes nothing (a failed open leaves the
// previous wallet open) and a transport error makes the state unknown.
// Calls made by other processes or uninstrumented clients are not seen.
//
// It also hands out the per-endpoint locks of WithEndpointLock.
//
// A Tracker is safe for concurrent use. Every instrumented call that is for
// a known wallet reads it (one map lookup under a read lock).
type Tracker struct {
	mu    sync.RWMutex
	open  map[string]OpenWallet
	locks sync.Map // endpoint -> chan struct{} (a lock that honours contexts)
}

// OpenWallet is what a Tracker knows about one endpoint.
type OpenWallet struct {
	// Filename is the open wallet's file name as given to open_wallet; ""
	// after close_wallet.
	Filename string
	// EscrowID is the escrow whose call opened it, "" when the call was not
	// made for an escrow.
	EscrowID string
}

var defaultTracker = NewTracker()

// DefaultTracker returns the process-wide Tracker used when no WithTracker
// option is given.
func DefaultTracker() *Tracker { return defaultTracker }

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker { return &Tracker{open: map[string]OpenWallet{}} }

// Open reports what is known to be open on endpoint (host:port); ok is false
// when nothing is known.
func (t *Tracker) Open(endpoint string) (w OpenWallet, ok bool) {
	t.mu.RLock()
	w, ok = t.open[endpoint]
	t.mu.RUnlock()
	return w, ok
}

// Forget drops what is known about endpoint, for example after the
// wallet-rpc there was restarted.
func (t *Tracker) Forget(endpoint string) {
	t.mu.Lock()
	delete(t.open, endpoint)
	t.mu.Unlock()
}

func (t *Tracker) set(endpoint string, w OpenWallet) {
	t.mu.Lock()
	t.open[endpoint] = w
	t.mu.Unlock()
}

// Lock takes the lock of endpoint, waiting until it is free or ctx is done.
// On success it returns the function that releases it.
func (t *Tracker) Lock(ctx context.Context, endpoint string) (unlock func(), err error) {
	v, _ := t.locks.LoadOrStore(endpoint, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// observe updates the state of endpoint after a call of method.
func (t *Tracker) observe(endpoint string, req *walletrpc.Request, escrowID string, err error) {
	switch req.Method {
	case "open_wallet", "create_wallet", "restore_deterministic_wallet":
	case "close_wallet":
		if err == nil {
			t.set(endpoint, OpenWallet{})
		} else if !isRPCError(err) {
			t.Forget(endpoint)
		}
		return
	default:
		return
	}
	if err != nil {
		if !isRPCError(err) {
			t.Forget(endpoint) // the call may or may not have happened
		}
		return
	}
	if name, ok := filenameParam(req.Params); ok {
		t.set(endpoint, OpenWallet{Filename: name, EscrowID: escrowID})
	} else {
		t.Forget(endpoint)
	}
}

func isRPCError(err error) bool {
	_, ok := walletrpc.ErrorCode(err)
	return ok
}

// filenameParam finds the wallet file name in the params of create_wallet,
// open_wallet or restore_deterministic_wallet, whether the typed methods or
// Call passed them.
func filenameParam(p any) (string, bool) {
	switch v := p.(type) {
	case *walletrpc.OpenWalletParams:
		if v != nil {
			return v.Filename, true
		}
	case walletrpc.OpenWalletParams:
		return v.Filename, true
	case *walletrpc.CreateWalletParams:
		if v != nil {
			return v.Filename, true
		}
	case walletrpc.CreateWalletParams:
		return v.Filename, true
	case *walletrpc.RestoreDeterministicWalletParams:
		if v != nil {
			return v.Filename, true
		}
	case walletrpc.RestoreDeterministicWalletParams:
		return v.Filename, true
	case map[string]any:
		s, ok := v["filename"].(string)
		return s, ok
	case map[string]string:
		s, ok := v["filename"]
		return s, ok
	}
	return "", false
}
