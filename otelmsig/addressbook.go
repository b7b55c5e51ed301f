package otelmsig

import "sync"

// maxKnownAddresses bounds a Tracker's address book: about 1 MB of
// addresses and names; the oldest entry goes first. An escrow adds at most
// four addresses per wallet (its own, the placeholder after make_multisig,
// the shared one), so this covers the last thousand wallets or so, more
// than a wallet-rpc switches between in the time one escrow takes.
const maxKnownAddresses = 4096

// knownWallet is a wallet of this process that showed an address.
type knownWallet struct {
	Filename string // "" when several wallets showed the address there
	EscrowID string // the escrow whose snapshot read it
	// Own: the wallet was not multisig, so the address is its own and no
	// other wallet shows it (unless it is a copy of the same keys). A
	// multisig wallet shows an address it shares with the other
	// participants, who may live on the same wallet-rpc.
	Own bool
}

type addressKey struct{ endpoint, address string }

// addressBook remembers which wallet file showed which address on which
// endpoint in this process's snapshots, so that a snapshot that reads an
// unexpected address can name the wallet it met. Bounded (FIFO) and safe
// for concurrent use. Addresses stay in memory: nothing here is recorded
// but the names.
type addressBook struct {
	mu    sync.Mutex
	m     map[addressKey]knownWallet
	order []addressKey // ring of the keys in m, oldest at next once full
	next  int
}

// learn records that wallet w showed address on endpoint. An address two
// different files showed on one endpoint (the shared address of an escrow
// whose wallets all live on one wallet-rpc) names neither.
func (b *addressBook) learn(endpoint, address string, w knownWallet) {
	if endpoint == "" || address == "" || w.Filename == "" {
		return
	}
	k := addressKey{endpoint, address}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.m[k]; ok {
		if old.Filename != w.Filename {
			b.m[k] = knownWallet{}
		}
		return
	}
	if b.m == nil {
		b.m = make(map[addressKey]knownWallet)
	}
	if len(b.order) < maxKnownAddresses {
		b.order = append(b.order, k)
	} else {
		delete(b.m, b.order[b.next])
		b.order[b.next] = k
		b.next = (b.next + 1) % maxKnownAddresses
	}
	b.m[k] = w
}

// lookup returns the one wallet known to have shown address on endpoint.
func (b *addressBook) lookup(endpoint, address string) (knownWallet, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.m[addressKey{endpoint, address}]
	return w, ok && w.Filename != ""
}
