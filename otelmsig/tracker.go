package otelmsig

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/trace"

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
// It also knows the opens that are in flight. wallet-rpc serves requests one
// at a time, in the order they arrive, so a call sent while another
// client's open_wallet(B) is in flight will act on B: for the pollution
// check, the wallet a call will meet is that of the last open sent before
// it, or, with none in flight, the last one that succeeded.
//
// It also hands out the per-endpoint locks of WithEndpointLock, and keeps
// a bounded book of the addresses this process's snapshots read from which
// wallet file on which endpoint, so that a snapshot that reads an address
// it did not expect can name the wallet it met.
//
// A Tracker is safe for concurrent use. Every instrumented call that is for
// a known wallet reads it (one map lookup under a read lock).
type Tracker struct {
	mu    sync.RWMutex
	eps   map[string]*endpointState
	seq   uint64
	locks sync.Map // endpoint -> chan struct{} (a lock that honours contexts)
	book  addressBook
}

type endpointState struct {
	cur     OpenWallet
	curSeq  uint64
	known   bool
	pending []*pendingOpen // in the order they were sent
}

type pendingOpen struct {
	seq uint64
	w   OpenWallet
}

// OpenWallet is what a Tracker knows about one endpoint.
type OpenWallet struct {
	// Filename is the open wallet's file name as given to open_wallet; ""
	// after close_wallet.
	Filename string
	// EscrowID is the escrow whose call opened it, "" when the call was not
	// made for an escrow.
	EscrowID string
	// Opener is the span context of the instrumented call that opened it
	// (invalid when that call had no recording span), so that a span that
	// meets the wrong wallet can link to the span that opened it.
	Opener trace.SpanContext
}

var defaultTracker = NewTracker()

// DefaultTracker returns the process-wide Tracker used when no WithTracker
// option is given.
func DefaultTracker() *Tracker { return defaultTracker }

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker { return &Tracker{eps: map[string]*endpointState{}} }

// Open reports which wallet the last successful open, create, restore or
// close on endpoint (host:port) left open; ok is false when nothing is known.
func (t *Tracker) Open(endpoint string) (w OpenWallet, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if st := t.eps[endpoint]; st != nil && st.known {
		return st.cur, true
	}
	return OpenWallet{}, false
}

// meets reports the wallet a call sent now to endpoint will act on: that of
// the last open still in flight, else the open one; ok is false when
// nothing is known.
func (t *Tracker) meets(endpoint string) (w OpenWallet, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	st := t.eps[endpoint]
	switch {
	case st == nil:
		return OpenWallet{}, false
	case len(st.pending) > 0:
		return st.pending[len(st.pending)-1].w, true
	}
	return st.cur, st.known
}

// isOpen reports whether filename is known to be the open wallet on
// endpoint, with no open in flight.
func (t *Tracker) isOpen(endpoint, filename string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	st := t.eps[endpoint]
	return st != nil && st.known && len(st.pending) == 0 && filename != "" && st.cur.Filename == filename
}

// Forget drops what is known about endpoint, for example after the
// wallet-rpc there was restarted.
func (t *Tracker) Forget(endpoint string) {
	t.mu.Lock()
	delete(t.eps, endpoint)
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

// begin records that a call that may change the open wallet (ch) is being
// sent to endpoint by the span opener (invalid when there is none). It
// returns what end needs, nil when the call does not change the open wallet.
func (t *Tracker) begin(endpoint string, ch walletChange, escrowID string, opener trace.SpanContext) *pendingOpen {
	var w OpenWallet
	switch ch.effect {
	case walletrpc.OpensWallet:
		if !ch.known {
			// Which wallet it opens is unknown: so is what is open after it.
			t.Forget(endpoint)
			return nil
		}
		w = OpenWallet{Filename: ch.opened, EscrowID: escrowID, Opener: opener}
	case walletrpc.ClosesWallet:
		w = OpenWallet{EscrowID: escrowID, Opener: opener}
	default:
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	p := &pendingOpen{seq: t.seq, w: w}
	st := t.state(endpoint)
	st.pending = append(st.pending, p)
	return p
}

// end records the outcome of a call begin returned p for.
func (t *Tracker) end(endpoint string, p *pendingOpen, err error) {
	if p == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.state(endpoint)
	for i, q := range st.pending {
		if q == p {
			st.pending = append(st.pending[:i], st.pending[i+1:]...)
			break
		}
	}
	switch {
	case err == nil:
		// Requests are served in order: an older open that reports late
		// does not undo a newer one.
		if p.seq > st.curSeq {
			st.cur, st.curSeq, st.known = p.w, p.seq, true
		}
	case isRPCError(err):
		// Refused: the previous wallet stays open.
	default:
		// The call may or may not have happened.
		st.known, st.curSeq = false, p.seq
	}
}

func (t *Tracker) state(endpoint string) *endpointState {
	st := t.eps[endpoint]
	if st == nil {
		st = &endpointState{}
		t.eps[endpoint] = st
	}
	return st
}

func isRPCError(err error) bool {
	_, ok := walletrpc.ErrorCode(err)
	return ok
}

// openSeq identifies the open (or close) whose wallet a call sent now to
// endpoint meets: the sequence number of the last one in flight, else of
// the last one that succeeded; 0 when nothing is known. Two reads that see
// different numbers may have acted on different wallets.
func (t *Tracker) openSeq(endpoint string) (seq uint64, filename string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	st := t.eps[endpoint]
	switch {
	case st == nil:
		return 0, ""
	case len(st.pending) > 0:
		p := st.pending[len(st.pending)-1]
		return p.seq, p.w.Filename
	case !st.known:
		return 0, ""
	}
	return st.curSeq, st.cur.Filename
}
