package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// participant is what the orchestrator knows about one wallet of an escrow.
type participant struct {
	role, walletID string
	filename, path string // optional: let snapshots check the wallet file
	password       string
	client         *walletrpc.Client // instrumented with otelmsig.WithTracing()
}

// wallet is the participant as otelmsig sees it.
func (p participant) wallet() otelmsig.Wallet {
	return otelmsig.Wallet{Role: p.role, ID: p.walletID, Filename: p.filename, Path: p.path, Password: p.password, Client: p.client}
}

// setupEscrow is an escrow server's own 2-of-3 multisig setup: prepare,
// make, two key exchanges, one wallet after the other. The lines marked
// "// +trace" are all the tracing it needs; the rest was already there.
//
// breakRound > 1 hands the buyer a corrupted key-exchange message in that
// round, to show what a failure looks like.
func setupEscrow(ctx context.Context, escrowID string, ps []participant, breakRound int) (addr string, err error) {
	ctx, esc := otelmsig.StartEscrow(ctx, escrowID) // +trace
	defer func() { esc.End(err) }()                 // +trace
	wallets := walletsOf(ps)                        // +trace
	// failed records where the setup failed, on the round and the escrow.
	failed := func(ctx context.Context, round *otelmsig.Round, op string, p participant, err error) error {
		esc.Fail(ctx, err, otelmsig.ErrorContext{Round: round.Number(), Operation: op, Role: p.role, WalletID: p.walletID}) // +trace
		round.End(err)                                                                                                      // +trace
		return fmt.Errorf("round %d: %s for the %s: %w", round.Number(), op, p.role, err)
	}
	// call is the context for p's calls: their spans get its role and id.
	call := func(ctx context.Context, p participant) context.Context {
		return otelmsig.ContextWithWallet(ctx, p.wallet()) // +trace (else: return ctx)
	}

	// Round 1: prepare_multisig, then make_multisig with the others' infos.
	rctx, round := esc.StartRound(ctx, 1, "make_multisig")    // +trace
	esc.Snapshot(rctx, escrowconv.PointPreRound1, wallets...) // +trace
	infos := make([]string, len(ps))
	// The flag switches multisig on, which monero 0.18 needs for wallets
	// made with create_wallet; after make_multisig it is too late.
	prep := walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true}
	for i, p := range ps {
		r, err := p.client.PrepareMultisig(call(rctx, p), prep)
		if err != nil {
			return "", failed(rctx, round, "prepare_multisig", p, err)
		}
		infos[i] = r.MultisigInfo
	}
	next := make([]string, len(ps))
	for i, p := range ps {
		r, err := p.client.MakeMultisig(call(rctx, p), walletrpc.MakeMultisigParams{
			MultisigInfo: others(infos, i), Threshold: 2, Password: p.password})
		if err != nil {
			return "", failed(rctx, round, "make_multisig", p, err)
		}
		next[i] = r.MultisigInfo
	}
	esc.Snapshot(rctx, escrowconv.PointPostMakeMultisig, wallets...) // +trace
	round.End(nil)                                                   // +trace

	// Rounds 2 and 3: exchange_multisig_keys; round 3 gives the address.
	points := map[int][2]string{
		2: {escrowconv.PointPreRound2, escrowconv.PointPostExportMultisig},
		3: {escrowconv.PointPreRound3, escrowconv.PointPostImportMultisig},
	}
	addrs := make([]string, len(ps))
	for n := 2; n <= 3; n++ {
		infos, next = next, make([]string, len(ps))
		rctx, round := esc.StartRound(ctx, n, "exchange_multisig_keys") // +trace
		esc.Snapshot(rctx, points[n][0], wallets...)                    // +trace
		for i, p := range ps {
			in := others(infos, i)
			if n == breakRound && p.role == "buyer" {
				in[0] = "not-a-multisig-info"
			}
			r, err := p.client.ExchangeMultisigKeys(call(rctx, p), walletrpc.ExchangeMultisigKeysParams{
				MultisigInfo: in, Password: p.password})
			if err != nil {
				return "", failed(rctx, round, "exchange_multisig_keys", p, err)
			}
			next[i], addrs[i] = r.MultisigInfo, r.Address
		}
		esc.Snapshot(rctx, points[n][1], wallets...) // +trace
		round.End(nil)                               // +trace
	}
	for _, a := range addrs {
		if a == "" || a != addrs[0] {
			return "", errors.New("the wallets ended with different multisig addresses")
		}
	}
	esc.Snapshot(ctx, escrowconv.PointFinal, wallets...) // +trace
	esc.SetMultisigAddress(addrs[0])                     // +trace
	return addrs[0], nil
}

// walletsOf is the participants as otelmsig sees them, for snapshots.
func walletsOf(ps []participant) []otelmsig.Wallet {
	ws := make([]otelmsig.Wallet, len(ps))
	for i, p := range ps {
		ws[i] = p.wallet()
	}
	return ws
}

// others returns every info but the i-th: what participant i gets.
func others(infos []string, i int) []string {
	o := make([]string, 0, len(infos)-1)
	for j, s := range infos {
		if j != i {
			o = append(o, s)
		}
	}
	return o
}
