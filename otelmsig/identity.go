package otelmsig

import (
	"sync"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// identity is what SetupMultisig expects each of its wallets to show to
// get_address, so that a snapshot can tell that it read another wallet even
// when nothing in this process switched it: another process, or a client
// that is not instrumented, opened a wallet on a shared wallet-rpc.
//
// Measured on wallet-rpc 0.18.0.0 (2-of-3, create_wallet wallets): a wallet
// shows its own address until its make_multisig (prepare_multisig changes
// nothing). make_multisig returns, and get_address then shows, a
// placeholder "9sCrDesy9LK111…" whose spend key is zero and whose view key
// is the group's common one: the participants of one escrow show the same
// placeholder, another set of participants another one. The first
// exchange_multisig_keys returns address "", yet get_address already shows
// the shared address, which the last exchange returns.
//
// So a wallet is expected to show its own address, as read at
// SNAPSHOT_PRE_ROUND1, until the make_multisig step; after each step whose
// call changes the address, the address more than half of the
// participants returned (or, for a call that returns none, showed right
// after it). A participant whose call met another wallet returns that
// wallet's placeholder and stands out from the rest.
type identity struct {
	mu sync.Mutex
	// active: SetupMultisig drives the escrow and tells identity about its
	// calls. A manual escrow's snapshots are only checked against the
	// Tracker's address book.
	active bool
	pre    map[walletKey]string // own address before round 1
	after  bool                 // the first address-changing step has run
	group  string               // expected after it; "" when unknown
}

type walletKey struct{ role, id string }

func keyOf(w Wallet) walletKey { return walletKey{w.Role, w.ID} }

func (id *identity) activate() {
	id.mu.Lock()
	id.active = true
	id.mu.Unlock()
}

// expected returns the address w should show now; ok is false when it is
// not known (a manual escrow, the first read, or participants that did not
// agree). own is w's own address from before round 1, "" if not read.
func (id *identity) expected(k walletKey) (addr, own string, ok bool) {
	id.mu.Lock()
	defer id.mu.Unlock()
	own = id.pre[k]
	switch {
	case !id.active:
		return "", own, false
	case id.after:
		return id.group, own, id.group != ""
	}
	return own, own, own != ""
}

// setOwn records the address w showed before round 1, unless known.
func (id *identity) setOwn(k walletKey, addr string) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if !id.active || id.after || id.pre[k] != "" {
		return
	}
	if id.pre == nil {
		id.pre = map[walletKey]string{}
	}
	id.pre[k] = addr
}

// afterStep sets what the wallets are expected to show after a step whose
// call changes the address: replies[i] is wallet i's reply address ("" for
// none), post its snapshot right after the call (nil when not taken). ok
// false (a wallet failed) leaves the expectation unknown.
func (id *identity) afterStep(replies []string, post []WalletSnapshot, ok bool) {
	votes := map[string]int{}
	for i, r := range replies {
		switch {
		case r != "":
			votes[r]++
		case post != nil && post[i].Address != "" && !post[i].MixedWallets:
			votes[post[i].Address]++
		}
	}
	group := ""
	for a, n := range votes {
		if 2*n > len(replies) {
			group = a
		}
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	id.after = true
	id.group = ""
	if ok {
		id.group = group
	}
}

// checkIdentity records, on the snapshot span of each wallet whose reads
// met a wallet other than the one the escrow expects there, a
// cache_pollution event (wrong_wallet_open) as the middleware does for
// calls, naming the wallet it met when this process knows its address. A
// read is wrong when its address is neither the expected one nor one the
// wallet showed itself earlier (a wallet left behind by a call that went
// elsewhere is still the right wallet); replies (nil: none) are the
// addresses the snapshot's step call returned, wrong when they differ from
// the expected one though the read was fine. With nothing expected yet (the
// first read, or a manual escrow) a read is wrong when it shows the own
// address of another wallet of this process.
//
// Reads that pass teach the Tracker's address book which wallet shows
// which address.
func (e *Escrow) checkIdentity(snaps []WalletSnapshot, wallets []Wallet, replies []string) {
	book := &e.cfg.tracker.book
	for i := range snaps {
		s := &snaps[i]
		if s.span == nil || s.Point == "" || s.Address == "" || s.Endpoint == "" {
			continue
		}
		w := wallets[i]
		k := keyOf(w)
		exp, own, ok := e.ident.expected(k)
		isOwn := func(addr string) bool {
			if addr == own {
				return true
			}
			kw, known := book.lookup(s.Endpoint, addr)
			return known && w.Filename != "" && kw.Filename == w.Filename
		}
		met := ""
		switch {
		case !ok:
			if kw, known := book.lookup(s.Endpoint, s.Address); known && kw.Own && kw.Filename != w.Filename {
				met = s.Address
			}
		case s.Address != exp && !isOwn(s.Address):
			met = s.Address
		case replies != nil && replies[i] != "" && replies[i] != exp && !isOwn(replies[i]):
			met = replies[i]
		}
		if met != "" {
			recordPollution(s.span, e.wrongWallet(s, w, met), e)
			continue
		}
		// A wallet that is not multisig shows its own address.
		ownAddr := s.Multisig != nil && !s.Multisig.Multisig
		if ownAddr && !ok {
			e.ident.setOwn(k, s.Address)
		}
		if !s.MixedWallets {
			book.learn(s.Endpoint, s.Address, knownWallet{Filename: w.Filename, EscrowID: e.id, Own: ownAddr})
		}
	}
}

// wrongWallet describes the pollution of a snapshot of w that met the
// wallet showing address met. That wallet is the one this process's
// snapshots saw show the address, else the one this process had last
// opened on the endpoint when the reads were made, if not w (with the
// escrow that read or opened it, and a link to the open when this process
// made it); else another process opened it, and all that is said is
// "unknown" and the address's SHA-256, as snapshots hash addresses (the
// raw address is not repeated).
func (e *Escrow) wrongWallet(s *WalletSnapshot, w Wallet, met string) Pollution {
	tr := e.cfg.tracker
	p := Pollution{
		Reason:   escrowconv.ReasonWrongWalletOpen,
		Endpoint: s.Endpoint, Port: s.Port, Role: w.Role, WalletID: w.ID,
	}
	// What this process knew to be open there when the reads were made.
	ow, open := s.opened, s.openKnown
	// Expected: the escrow's wallet, else what this process opened there.
	switch {
	case w.Filename != "":
		p.ExpectedWallet = w.Filename
	case open && ow.Filename != "":
		p.ExpectedWallet = ow.Filename
	default:
		p.ExpectedWallet = w.ID
	}
	kw, ok := tr.book.lookup(s.Endpoint, met)
	switch {
	case ok:
		p.ActualWallet = kw.Filename
		if kw.EscrowID != e.id {
			p.OtherEscrowID = kw.EscrowID
		}
	case open && ow.Filename != "" && ow.Filename != p.ExpectedWallet:
		// An address never read here, on an endpoint where this process
		// opened another wallet since: that one (the middleware names it
		// too, on the reads).
		p.ActualWallet = ow.Filename
	default:
		// Another process opened it: all this process can say is what
		// the wallet showed.
		p.ActualWallet = UnknownWallet(met)
		return p
	}
	if open && ow.Filename == p.ActualWallet {
		p.Opener = ow.Opener
		if p.OtherEscrowID == "" && ow.EscrowID != e.id {
			p.OtherEscrowID = ow.EscrowID
		}
	}
	return p
}

// UnknownWallet is the Pollution.ActualWallet of a wallet this process
// cannot name: "unknown (address_hash <hex SHA-256 of addr>)", the hash
// snapshots record as wallet.address_hash.
func UnknownWallet(addr string) string {
	return "unknown (address_hash " + addressHash(addr) + ")"
}
