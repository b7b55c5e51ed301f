package otelmsig

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// Wallet is one participant of an escrow.
type Wallet struct {
	// Role is buyer, vendor or arbiter (lower case) for a 2-of-3 escrow.
	Role string
	// ID is the application's id for the wallet.
	ID string
	// Filename is the wallet file name as given to open_wallet. It is
	// needed with WithSharedEndpoints (to re-open the wallet) and lets the
	// pollution detection tell whether this wallet is the open one.
	Filename string
	// Path is the wallet file on disk, for the snapshot's file checks; ""
	// when unknown (for example when wallet-rpc runs on another machine).
	Path string
	// Password is used to re-open the wallet and for make_multisig and
	// exchange_multisig_keys; it is never recorded.
	Password string
	// Client talks to the wallet's wallet-rpc. Instrument it with
	// WithTracing to get RPC spans.
	Client *walletrpc.Client
}

// Errors of SetupMultisig, wrapped in a StepError.
var (
	// ErrAddressMismatch: the participants ended with different addresses.
	ErrAddressMismatch = errors.New("participants ended with different multisig addresses")
	// ErrNoMultisigInfo: a step returned no multisig_info to pass on.
	ErrNoMultisigInfo = errors.New("wallet-rpc returned no multisig_info")
)

// StepError is the error of a failed SetupMultisig step.
type StepError struct {
	EscrowID  string
	Round     int    // from 1
	Operation string // wallet RPC method or step: prepare_multisig, open_wallet, ...
	Role      string
	WalletID  string
	Err       error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("otelmsig: escrow %q round %d: %s for %s wallet %q: %v",
		e.EscrowID, e.Round, e.Operation, e.Role, e.WalletID, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

var _ error = (*StepError)(nil)

// SetupMultisig runs an instrumented M-of-N multisig setup (2-of-3 by
// default: WithThreshold changes M, N is len(wallets)) and returns the
// shared address.
//
// Round 1: prepare_multisig on every wallet, then make_multisig with
// threshold M and the other participants' infos. Rounds 2 to N-M+2:
// exchange_multisig_keys with the other participants' infos of the
// previous round; the last round returns the shared address, which must be
// the same for everyone (else ErrAddressMismatch). The wallets of one
// escrow act concurrently within a step, as escrow servers do.
//
// The trace: root span escrow.setup, one multisig.round span per round,
// the RPC spans of instrumented clients under the rounds, and wallet.snapshot
// events at the seven escrowconv points (PRE_ROUND1 and POST_MAKE_MULTISIG
// in round 1, PRE_ROUND2 and POST_EXPORT_MULTISIG in round 2, PRE_ROUND3 and
// POST_IMPORT_MULTISIG in round 3, FINAL on the root after the last round).
// A wallet's snapshots before and after a round are taken right before and
// right after its own call of the round, within the same re-open.
// A failed step ends the setup: its round and the root get the error, the
// root one escrow.error event, and the returned error is a *StepError.
//
// Each wallet must already be open on its own wallet-rpc, unless
// WithSharedEndpoints is given: then the escrow re-opens the right wallet
// before each step and each snapshot, optionally under WithEndpointLock.
//
// Bad input (empty or hostile escrow id, fewer than two wallets, missing
// clients, duplicate ids, an impossible threshold) is an error before any
// call is made.
func SetupMultisig(ctx context.Context, escrowID string, wallets []Wallet, opts ...Option) (address string, err error) {
	cfg := newConfig(opts)
	if cfg.threshold == 0 {
		cfg.threshold = DefaultThreshold
	}
	cfg.participants = len(wallets)
	// (newConfig made cfg for this call: it is safe to fill in.)
	if err := validateSetup(escrowID, wallets, cfg); err != nil {
		return "", err
	}
	ctx, esc := startEscrow(ctx, escrowID, cfg)
	s := &setup{esc: esc, wallets: wallets, m: cfg.threshold}
	address, err = s.run(ctx)
	if err == nil {
		esc.SetMultisigAddress(address)
	}
	esc.End(err)
	return address, err
}

// ValidEscrowID reports whether id is acceptable as an escrow id: 1 to 128
// printable characters, no path separators (ids end up in file names).
func ValidEscrowID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("otelmsig: escrow id must be 1 to 128 bytes, got %d", len(id))
	}
	if strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return fmt.Errorf("otelmsig: escrow id %q contains a path separator or is a dot name", id)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("otelmsig: escrow id %q contains a control or invalid character", id)
		}
	}
	return nil
}

func validateSetup(escrowID string, wallets []Wallet, cfg *config) error {
	if err := ValidEscrowID(escrowID); err != nil {
		return err
	}
	n := len(wallets)
	if n < 2 {
		return fmt.Errorf("otelmsig: escrow %q: a multisig setup needs at least 2 wallets, got %d", escrowID, n)
	}
	if cfg.threshold < 2 || cfg.threshold > n {
		return fmt.Errorf("otelmsig: escrow %q: threshold %d is not between 2 and %d", escrowID, cfg.threshold, n)
	}
	ids := map[string]bool{}
	for i, w := range wallets {
		switch {
		case w.Client == nil:
			return fmt.Errorf("otelmsig: escrow %q: wallet %d (%q) has no client", escrowID, i, w.ID)
		case w.Role == "" || w.ID == "":
			return fmt.Errorf("otelmsig: escrow %q: wallet %d needs a role and an id", escrowID, i)
		case ids[w.ID]:
			return fmt.Errorf("otelmsig: escrow %q: wallet id %q given twice", escrowID, w.ID)
		case cfg.shared && w.Filename == "":
			return fmt.Errorf("otelmsig: escrow %q: wallet %q needs a Filename to be re-opened on a shared endpoint", escrowID, w.ID)
		case !utf8.ValidString(w.Filename):
			// JSON would carry it to wallet-rpc altered (U+FFFD), opening
			// or creating another file than the caller named.
			return fmt.Errorf("otelmsig: escrow %q: wallet %q: Filename %q is not valid UTF-8", escrowID, w.ID, w.Filename)
		}
		ids[w.ID] = true
	}
	return nil
}

type setup struct {
	esc     *Escrow
	wallets []Wallet
	m       int
}

func (s *setup) run(ctx context.Context) (string, error) {
	n := len(s.wallets)
	lastRound := 1 + (n - s.m + 1) // make_multisig, then N-M+1 exchange rounds

	// Round 1: prepare_multisig, make_multisig.
	rctx, round := s.esc.StartRound(ctx, 1, "make_multisig")
	pre, post := points(1)
	infos := make([]string, n)
	if err := s.step(rctx, round, "prepare_multisig", pre, "", func(ctx context.Context, i int, w Wallet) error {
		r, err := w.Client.PrepareMultisig(ctx)
		if err != nil {
			return err
		}
		infos[i] = r.MultisigInfo
		return nonEmpty(r.MultisigInfo)
	}); err != nil {
		return "", err
	}
	next := make([]string, n)
	if err := s.step(rctx, round, "make_multisig", "", post, func(ctx context.Context, i int, w Wallet) error {
		r, err := w.Client.MakeMultisig(ctx, walletrpc.MakeMultisigParams{
			MultisigInfo: others(infos, i), Threshold: uint32(s.m), Password: w.Password,
		})
		if err != nil {
			return err
		}
		next[i] = r.MultisigInfo
		return nonEmpty(r.MultisigInfo)
	}); err != nil {
		return "", err
	}
	round.End(nil)

	// Rounds 2..last: exchange_multisig_keys.
	addrs := make([]string, n)
	for r := 2; r <= lastRound; r++ {
		infos, next = next, make([]string, n)
		rctx, round := s.esc.StartRound(ctx, r, "exchange_multisig_keys")
		pre, post := points(r)
		if err := s.step(rctx, round, "exchange_multisig_keys", pre, post, func(ctx context.Context, i int, w Wallet) error {
			res, err := w.Client.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{
				MultisigInfo: others(infos, i), Password: w.Password,
			})
			if err != nil {
				return err
			}
			next[i], addrs[i] = res.MultisigInfo, res.Address
			if r < lastRound {
				return nonEmpty(res.MultisigInfo)
			}
			return nil
		}); err != nil {
			return "", err
		}
		if r == lastRound {
			for i, a := range addrs {
				if a == "" || a != addrs[0] {
					se := s.stepError(r, "exchange_multisig_keys", i, ErrAddressMismatch)
					return "", s.fail(rctx, round, se)
				}
			}
		}
		round.End(nil)
	}
	s.esc.Snapshot(ctx, escrowconv.PointFinal, s.wallets...)
	return addrs[0], nil
}

// points returns the snapshot points before and after round r; rounds past
// the third have none.
func points(r int) (pre, post string) {
	switch r {
	case 1:
		return escrowconv.PointPreRound1, escrowconv.PointPostMakeMultisig
	case 2:
		return escrowconv.PointPreRound2, escrowconv.PointPostExportMultisig
	case 3:
		return escrowconv.PointPreRound3, escrowconv.PointPostImportMultisig
	}
	return "", ""
}

// step runs op on every wallet (see perEndpoint), with the wallet's
// snapshot at point pre just before and at point post just after ("" for
// none), under one re-open and one hold of the endpoint lock. The snapshot
// events go on the round's span. When a wallet fails, step records the
// failure and returns the StepError of the first wallet (in the order
// given) that failed.
func (s *setup) step(ctx context.Context, round *Round, op, pre, post string, fn func(ctx context.Context, i int, w Wallet) error) error {
	n := len(s.wallets)
	errs := make([]*StepError, n)
	snap := s.esc.snapshotting(ctx)
	var preSnaps, postSnaps []WalletSnapshot
	if snap {
		preSnaps, postSnaps = make([]WalletSnapshot, n), make([]WalletSnapshot, n)
	}
	perEndpoint(s.wallets, func(i int) {
		w := s.wallets[i]
		start := time.Now()
		ran := false
		failedOp, err := s.esc.withWallet(ctx, w, false, func(ctx context.Context) error {
			ran = true
			if snap && pre != "" {
				preSnaps[i] = s.esc.readWallet(ctx, pre, w, start, nil)
			}
			if err := fn(ctx, i, w); err != nil {
				return err
			}
			if snap && post != "" {
				postSnaps[i] = s.esc.readWallet(ctx, post, w, time.Now(), nil)
			}
			return nil
		})
		if !ran && snap && pre != "" {
			// The wallet could not be re-opened: say so in its snapshot.
			preSnaps[i] = s.esc.readWallet(ctx, pre, w, start, fmt.Errorf("%s: %w", failedOp, err))
		}
		if err != nil {
			if failedOp == "" {
				failedOp = op
			}
			errs[i] = s.stepError(round.Number(), failedOp, i, err)
		}
	})
	if snap {
		span := round.Span()
		s.esc.recordSnapshots(span, preSnaps, s.wallets)
		s.esc.recordSnapshots(span, postSnaps, s.wallets)
	}
	for _, se := range errs {
		if se != nil {
			return s.fail(ctx, round, se)
		}
	}
	return nil
}

func (s *setup) stepError(round int, op string, i int, err error) *StepError {
	w := s.wallets[i]
	return &StepError{EscrowID: s.esc.id, Round: round, Operation: op, Role: w.Role, WalletID: w.ID, Err: err}
}

func (s *setup) fail(ctx context.Context, round *Round, se *StepError) error {
	s.esc.Fail(ctx, se, ErrorContext{Round: se.Round, Operation: se.Operation, Role: se.Role, WalletID: se.WalletID})
	round.End(se)
	return se
}

// nonEmpty catches a step that returned no info to pass on: the next step
// would fail with a less helpful error.
func nonEmpty(info string) error {
	if info == "" {
		return ErrNoMultisigInfo
	}
	return nil
}

// others returns all infos but the i-th: what participant i gets.
func others(infos []string, i int) []string {
	o := make([]string, 0, len(infos)-1)
	for j, s := range infos {
		if j != i {
			o = append(o, s)
		}
	}
	return o
}
