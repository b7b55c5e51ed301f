package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// roles of a 2-of-3 escrow, in the order SetupMultisig gets the wallets.
var roles = []string{"buyer", "vendor", "arbiter"}

// maxStarting bounds the wallet-rpc processes starting at once: a start is
// mostly waiting, but 60 at once on two cores would miss their deadline.
const maxStarting = 6

// escrowPlan is one escrow ready to run: its id and its three wallets.
type escrowPlan struct {
	id      string
	wallets []otelmsig.Wallet
	urls    []string // each wallet's wallet-rpc, for a worker process to dial
}

// rig owns the wallet-rpc processes of a demo run.
type rig struct {
	log   *progress
	mu    sync.Mutex
	procs []*wallettest.Process
}

func (r *rig) add(p *wallettest.Process) {
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
}

// stop stops every process started so far, in parallel, and says so.
func (r *rig) stop() error {
	r.mu.Lock()
	procs := r.procs
	r.procs = nil
	r.mu.Unlock()
	if len(procs) == 0 {
		return nil
	}
	start := time.Now()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { errs[i] = p.Stop() })
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil {
		r.log.Printf("stopped %d wallet-rpc process%s in %v", len(procs), plural(len(procs), "es"), since(start))
	}
	return err
}

// host is one wallet-rpc process to start and the wallets it will hold.
type host struct {
	label   string // for progress lines: "escrow 2 buyer", "buyer (shared)"
	wallets []walletSlot
}

type walletSlot struct {
	escrow, role int
	name         string
}

// provision starts the processes and creates the wallets of n escrows in
// the given layout, and returns the escrows ready to run. Processes are
// added to r as they start, so that r.stop stops them whatever happens.
func (r *rig) provision(ctx context.Context, opts demoOptions) ([]escrowPlan, error) {
	n := opts.escrows
	plans := make([]escrowPlan, n)
	for e := range plans {
		plans[e] = escrowPlan{id: uuid.NewString(), wallets: make([]otelmsig.Wallet, len(roles)), urls: make([]string, len(roles))}
	}
	name := func(e, ri int) string { return roles[ri] + "-" + plans[e].id[:8] }

	var hosts []host
	if opts.rpc == layoutShared {
		for ri, role := range roles {
			h := host{label: role + " (shared by all escrows)"}
			for e := range n {
				h.wallets = append(h.wallets, walletSlot{e, ri, name(e, ri)})
			}
			hosts = append(hosts, h)
		}
	} else {
		for e := range n {
			for ri, role := range roles {
				hosts = append(hosts, host{
					label:   fmt.Sprintf("escrow %d %s", e+1, role),
					wallets: []walletSlot{{e, ri, name(e, ri)}},
				})
			}
		}
	}
	total := n * len(roles)
	r.log.Printf("starting %d monero-wallet-rpc process%s and creating %d wallet%s over RPC (%d at a time)",
		len(hosts), plural(len(hosts), "es"), total, plural(total, "s"), opts.jobs)

	// The first failure cancels the rest (errgroup); their errors are its
	// echoes.
	g, ctx := errgroup.WithContext(ctx)
	startSem := make(chan struct{}, maxStarting)
	createSem := make(chan struct{}, opts.jobs)
	var (
		mu      sync.Mutex
		created int
	)
	for _, h := range hosts {
		g.Go(func() error {
			p, err := r.startProcess(ctx, startSem, h.label)
			if err != nil {
				return err
			}
			for _, s := range h.wallets {
				took, err := createWallet(ctx, createSem, p, s.name)
				if err != nil {
					return err
				}
				mu.Lock()
				created++
				k := created
				mu.Unlock()
				r.log.Printf("wallet %d/%d %s created in %v", k, total, s.name, took)
				c, err := p.Client(otelmsig.WithTracing())
				if err != nil {
					return err
				}
				// Dedicated: create_wallet left the role's wallet open on
				// its own wallet-rpc, as SetupMultisig expects without
				// WithSharedEndpoints. Shared: each step re-opens it.
				plans[s.escrow].wallets[s.role] = otelmsig.Wallet{
					Role:     roles[s.role],
					ID:       s.name,
					Filename: s.name,
					Path:     filepath.Join(p.WalletDir, s.name),
					Client:   c,
				}
				plans[s.escrow].urls[s.role] = p.URL
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return plans, nil
}

func (r *rig) startProcess(ctx context.Context, sem chan struct{}, label string) (*wallettest.Process, error) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-sem }()
	start := time.Now()
	p, err := wallettest.StartProcess(ctx, wallettest.Config{})
	if err != nil {
		return nil, err
	}
	r.add(p)
	r.log.Printf("monero-wallet-rpc pid %d up on %s in %v: %s", p.PID(), p.URL, since(start), label)
	return p, nil
}

// createWallet makes wallet name on p over RPC (create_wallet), as escrow
// servers do, once sem lets it.
func createWallet(ctx context.Context, sem chan struct{}, p *wallettest.Process, name string) (time.Duration, error) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
	defer func() { <-sem }()
	start := time.Now()
	err := p.CreateWallets(ctx, name)
	return since(start), err
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

func plural(n int, suffix string) string {
	if n == 1 {
		return ""
	}
	return suffix
}

// startRig starts the wallet-rpc processes and wallets that o's escrows
// need. The returned stop, to be deferred also after an error, stops what
// was started and says so when ctx ended. An error after ctx ended is the
// interruption.
func (d *demo) startRig(ctx context.Context, o demoOptions) (plans []escrowPlan, stop func() error, err error) {
	r := &rig{log: d.log}
	stop = func() error {
		if ctx.Err() != nil {
			d.log.Printf("%v: stopping what was started", interruption(ctx))
		}
		if err := r.stop(); err != nil {
			return fmt.Errorf("stopping wallet-rpc processes: %w", err)
		}
		return nil
	}
	plans, err = r.provision(ctx, o)
	if err != nil && ctx.Err() != nil {
		err = interruption(ctx)
	}
	return plans, stop, err
}
