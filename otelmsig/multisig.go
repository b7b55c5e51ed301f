package otelmsig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

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
	// ErrNoMultisigInfo: a step returned no multisig_info to pass on and
	// no address either.
	ErrNoMultisigInfo = errors.New("wallet-rpc returned no multisig_info")
	// ErrRoundMismatch: after a round some participants were done (they
	// returned the shared address) and others were not.
	ErrRoundMismatch = errors.New("participants disagree on whether the key exchange is complete")
	// ErrKexIncomplete: the key exchange was not complete after the most
	// rounds any monero release needs (1 + N-M+1).
	ErrKexIncomplete = errors.New("key exchange not complete after the last expected round")
	// ErrVersionMismatch: the participants' wallet-rpcs answered different
	// RPC versions to get_version; their key-exchange messages would not
	// fit together (0.17.3 and 0.18 even need different round counts).
	ErrVersionMismatch = errors.New("participants run different wallet-rpc versions")
	// ErrMultisigDisabled: wallet-rpc answered -48 (multisig is disabled on
	// a wallet that is already multisig, monero 0.18). The StepError's
	// message says how to avoid it.
	ErrMultisigDisabled = errors.New("multisig is disabled on this wallet")
)

// multisigDisabledHint is how to avoid -48: the wallet itself can no
// longer be switched on (prepare_multisig answers -28 after make_multisig).
const multisigDisabledHint = "multisig was not switched on before round 1 and cannot be any more (this wallet is past make_multisig): " +
	"create new wallets and let SetupMultisig switch it on (do not give WithoutEnablingMultisig), " +
	"or call prepare_multisig with enable_multisig_experimental, or run \"set enable-multisig-experimental 1\" in monero-wallet-cli before round 1"

// hintError is a wallet-rpc error with what to do about it. It unwraps to
// both the wallet-rpc error and its sentinel.
type hintError struct {
	err      error
	sentinel error
	hint     string
}

func (e *hintError) Error() string   { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintError) Unwrap() []error { return []error{e.err, e.sentinel} }

// explain adds what to do to the wallet-rpc errors that have a known cure.
func explain(err error) error {
	if code, ok := walletrpc.ErrorCode(err); ok && code == walletrpc.CodeMultisigDisabled {
		return &hintError{err: err, sentinel: ErrMultisigDisabled, hint: multisigDisabledHint}
	}
	return err
}

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
// Before round 1 it asks get_version once per wallet-rpc endpoint and
// refuses participants whose wallet-rpcs answer different RPC versions
// (ErrVersionMismatch, before any multisig call). The version goes on the
// escrow's RPC spans and snapshots (escrowconv.WalletRPCVersion) and, when
// all agree, on the root (escrowconv.EscrowRPCVersion).
//
// Round 1: prepare_multisig on every wallet, then make_multisig with
// threshold M and the other participants' infos. prepare_multisig is sent
// with enable_multisig_experimental, which monero 0.18 needs for wallets
// made with create_wallet (without it, round 2 fails with -48 and the
// wallets are lost); WithoutEnablingMultisig leaves the wallets' switch
// alone. wallet-rpc keeps that switch in memory until make_multisig saves
// the wallet, so with WithSharedEndpoints (where other escrows' opens
// close the wallet in between) prepare_multisig is sent again right before
// make_multisig, in the same re-open. Rounds 2 and on: exchange_multisig_keys with the other
// participants' infos of the previous round, until wallet-rpc says the
// exchange is complete: an exchange_multisig_keys that returns an address,
// or any step that returns an address with an empty multisig_info. That
// takes N-M+1 exchange rounds on 0.18 and N-M on 0.17.3 (one for a 2-of-3;
// none for an N-of-N); more than N-M+1 is ErrKexIncomplete, some
// participants done and others not ErrRoundMismatch. The final address
// must be the same for everyone (else ErrAddressMismatch). The root span
// records how many rounds ran (escrowconv.EscrowRounds). The wallets of one
// escrow act concurrently within a step, as escrow servers do.
//
// The trace (see package escrowconv for the picture): root span
// escrow.setup, one "multisig.round N" span per round, under it one wallet
// step span per wallet and step ("buyer make_multisig"), under that the
// step's re-open (shared endpoints), its snapshot spans and the CLIENT
// span of its call; the get_version check under the root, marked as the
// instrumentation's own calls. Snapshots are taken at the escrowconv
// points (PRE_ROUND1 and POST_MAKE_MULTISIG in round 1, PRE_ROUND2 and
// POST_EXPORT_MULTISIG in round 2, PRE_ROUND3 and POST_IMPORT_MULTISIG in
// round 3 when there is one, FINAL under the root after the last round),
// right before and right after the wallet's own call of the round, within
// the same re-open; each checks by its address that the wallet it reads is
// the escrow's (see Cache pollution in the package doc). The root gets the
// outcome when the setup ends (escrow.result, escrow.rounds_completed,
// escrow.pollution_count, the address and its hash).
//
// A failed step ends the setup: its round and the root get the error, the
// root one escrow.error event, and the returned error is a *StepError. A
// call or snapshot read that times out marks its endpoint as hung: the
// wallet's step fails then (a snapshot read that timed out before the step
// fails the step without calling it), and no later call of the escrow goes
// there, so a hung wallet-rpc fails the escrow after one timed-out call.
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
	if s.rounds > 0 {
		esc.span.SetAttributes(escrowconv.EscrowRounds.Int(s.rounds))
	}
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
	rounds  int // rounds started so far
}

// kexState is what a round leaves for the next: each participant's info to
// pass on and the address it returned.
type kexState struct {
	infos, addrs []string
}

func (s *setup) run(ctx context.Context) (string, error) {
	s.esc.ident.activate()
	if err := s.checkVersions(ctx); err != nil {
		return "", err
	}
	n := len(s.wallets)
	// make_multisig, then at most N-M+1 exchange rounds (0.18; 0.17.3
	// needs one fewer).
	lastRound := 1 + (n - s.m + 1)
	st, done, err := s.round1(ctx)
	for r := 2; err == nil && !done; r++ {
		st, done, err = s.exchangeRound(ctx, r, st, r == lastRound)
	}
	if err != nil {
		return "", err
	}
	s.esc.Snapshot(ctx, escrowconv.PointFinal, s.wallets...)
	return st.addrs[0], nil
}

// round1 runs prepare_multisig and make_multisig.
func (s *setup) round1(ctx context.Context) (kexState, bool, error) {
	n := len(s.wallets)
	s.rounds = 1
	rctx, round := s.esc.StartRound(ctx, 1, walletrpc.MethodMakeMultisig)
	pre, post := points(1)
	prepared := make([]string, n)
	prep := walletrpc.PrepareMultisigParams{EnableMultisigExperimental: !s.esc.cfg.keepMultisigSwitch}
	if err := s.step(rctx, round, walletrpc.MethodPrepareMultisig, pre, "", nil, func(ctx context.Context, i int, w Wallet) error {
		r, err := w.Client.PrepareMultisig(ctx, prep)
		if err != nil {
			return err
		}
		prepared[i] = r.MultisigInfo
		return nonEmpty(r.MultisigInfo)
	}); err != nil {
		return kexState{}, false, err
	}
	st := kexState{infos: make([]string, n), addrs: make([]string, n)}
	// wallet-rpc 0.18.0.0 keeps prepare_multisig's switch in memory until
	// make_multisig writes the keys file: a wallet closed in between (on a
	// shared endpoint, another escrow's open_wallet does that) has it off
	// again and would fail round 2 with -48. So on shared endpoints the
	// switch is sent again in make_multisig's re-open.
	again := prep.EnableMultisigExperimental && s.esc.cfg.shared
	if err := s.step(rctx, round, walletrpc.MethodMakeMultisig, "", post, st.addrs, func(ctx context.Context, i int, w Wallet) error {
		if again {
			if _, err := w.Client.PrepareMultisig(ctx, prep); err != nil {
				return fmt.Errorf("prepare_multisig again, to switch multisig on after the re-open: %w", err)
			}
		}
		r, err := w.Client.MakeMultisig(ctx, walletrpc.MakeMultisigParams{
			MultisigInfo: others(prepared, i), Threshold: uint32(s.m), Password: w.Password,
		})
		if err != nil {
			return err
		}
		st.infos[i], st.addrs[i] = r.MultisigInfo, r.Address
		return nil
	}); err != nil {
		return kexState{}, false, err
	}
	done, err := s.complete(rctx, round, walletrpc.MethodMakeMultisig, st, false)
	if err == nil {
		round.End(nil)
	}
	return st, done, err
}

// exchangeRound runs exchange_multisig_keys round r with the infos of the
// previous round; last says no later round may follow.
func (s *setup) exchangeRound(ctx context.Context, r int, prev kexState, last bool) (kexState, bool, error) {
	n := len(s.wallets)
	s.rounds = r
	rctx, round := s.esc.StartRound(ctx, r, walletrpc.MethodExchangeMultisigKeys)
	pre, post := points(r)
	st := kexState{infos: make([]string, n), addrs: make([]string, n)}
	if err := s.step(rctx, round, walletrpc.MethodExchangeMultisigKeys, pre, post, st.addrs, func(ctx context.Context, i int, w Wallet) error {
		res, err := w.Client.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysParams{
			MultisigInfo: others(prev.infos, i), Password: w.Password,
		})
		if err != nil {
			return err
		}
		st.infos[i], st.addrs[i] = res.MultisigInfo, res.Address
		return nil
	}); err != nil {
		return kexState{}, false, err
	}
	done, err := s.complete(rctx, round, walletrpc.MethodExchangeMultisigKeys, st, last)
	if err == nil {
		round.End(nil)
	}
	return st, done, err
}

// complete reads from a round's replies whether the key exchange is done,
// as wallet-rpc says it: exchange_multisig_keys returns an address only
// once the wallet is ready (0.18.0.0 with a multisig_info, 0.17.3 without);
// any step that returns an address and no multisig_info is done (0.17.3's
// make_multisig for N-of-N). Everyone must agree, and agree on the address.
// A wallet that is not done needs an info to pass on, and last says it
// must be done.
func (s *setup) complete(ctx context.Context, round *Round, op string, st kexState, last bool) (bool, error) {
	done := make([]bool, len(st.addrs))
	nDone := 0
	for i := range st.addrs {
		done[i] = st.addrs[i] != "" && (op == walletrpc.MethodExchangeMultisigKeys || st.infos[i] == "")
		if done[i] {
			nDone++
		}
	}
	for i := range st.addrs {
		var err error
		switch {
		case nDone == 0 && st.infos[i] == "":
			err = ErrNoMultisigInfo
		case nDone == 0 && last:
			err = ErrKexIncomplete
		case nDone > 0 && !done[i]:
			err = ErrRoundMismatch
		case nDone > 0 && st.addrs[i] != st.addrs[0]:
			err = ErrAddressMismatch
		}
		if err != nil {
			return false, s.fail(ctx, round, s.stepError(round.Number(), op, i, err))
		}
	}
	return nDone > 0, nil
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

// step runs op on every wallet (see perEndpoint), each under its wallet
// step span ("<role> <op>", child of the round), with the wallet's
// snapshot at point pre just before and at point post just after ("" for
// none), under one re-open and one hold of the endpoint lock. The re-open,
// the snapshot spans and the call's CLIENT span are children of the step
// span. When a wallet fails, its step span gets the error, and step records
// the failure and returns the StepError of the first wallet (in the order
// given) that failed.
//
// replies is non-nil for a call that changes the wallets' address
// (make_multisig, exchange_multisig_keys): fn fills replies[i] with the
// address wallet i's call returned. The snapshots before the call are
// checked against the address expected before it, those after against the
// address the participants agree on after it (see identity).
func (s *setup) step(ctx context.Context, round *Round, op, pre, post string, replies []string, fn func(ctx context.Context, i int, w Wallet) error) error {
	n := len(s.wallets)
	errs := make([]*StepError, n)
	snap := s.esc.snapshotting(ctx)
	var preSnaps, postSnaps []WalletSnapshot
	if snap {
		preSnaps, postSnaps = make([]WalletSnapshot, n), make([]WalletSnapshot, n)
	}
	perEndpoint(s.wallets, func(i int) {
		w := s.wallets[i]
		ep := w.Client.Endpoint().String()
		ctx, span := s.startStep(ctx, round.Number(), op, w)
		ran := false
		failedOp, err := s.esc.withWallet(ctx, w, false, func(ctx context.Context) error {
			ran = true
			if snap && pre != "" {
				// After the re-open: the snapshot is of the wallet the
				// call will act on.
				start := time.Now()
				sctx, sspan := s.esc.startSnapshotSpan(ctx, pre, w, start)
				preSnaps[i] = s.esc.readWallet(sctx, sspan, pre, w, start, nil)
				if err := s.esc.eps.hungErr(ep); err != nil {
					// A snapshot read timed out: the step's call would
					// wait as long again.
					return err
				}
			}
			if err := fn(ctx, i, w); err != nil {
				s.esc.eps.noteErr(ep, op, err)
				return explain(err)
			}
			if snap && post != "" {
				start := time.Now()
				sctx, sspan := s.esc.startSnapshotSpan(ctx, post, w, start)
				postSnaps[i] = s.esc.readWallet(sctx, sspan, post, w, start, nil)
			}
			return nil
		})
		if !ran && snap && pre != "" {
			// The wallet could not be re-opened, or its endpoint is hung:
			// say so in its snapshot.
			start := time.Now()
			sctx, sspan := s.esc.startSnapshotSpan(ctx, pre, w, start)
			preSnaps[i] = s.esc.readWallet(sctx, sspan, pre, w, start, opError(failedOp, err))
		}
		if err != nil {
			if failedOp == "" {
				failedOp = op
			}
			errs[i] = s.stepError(round.Number(), failedOp, i, err)
			recordError(span, errs[i])
		}
		span.End()
	})
	if snap {
		s.esc.recordSnapshots(preSnaps, s.wallets, nil)
		if replies != nil {
			s.esc.ident.afterStep(replies, postSnaps, !slices.ContainsFunc(errs, func(se *StepError) bool { return se != nil }))
		}
		s.esc.recordSnapshots(postSnaps, s.wallets, replies)
	}
	for _, se := range errs {
		if se != nil {
			return s.fail(ctx, round, se)
		}
	}
	return nil
}

// startStep starts the wallet step span of w's op in round n, child of the
// round in ctx; with the escrow not recording, it returns ctx and its
// no-op span.
func (s *setup) startStep(ctx context.Context, n int, op string, w Wallet) (context.Context, trace.Span) {
	if !s.esc.span.IsRecording() {
		return ctx, trace.SpanFromContext(context.Background()) // no-op
	}
	return s.esc.tracer.Start(ctx, validUTF8(escrowconv.StepSpanName(w.Role, op)),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			s.esc.idAttr,
			escrowconv.Round.Int(n),
			str(escrowconv.WalletStep, op),
			str(escrowconv.WalletRole, w.Role),
			str(escrowconv.WalletID, w.ID),
		))
}

func (s *setup) stepError(round int, op string, i int, err error) *StepError {
	w := s.wallets[i]
	return &StepError{EscrowID: s.esc.id, Round: round, Operation: op, Role: w.Role, WalletID: w.ID, Err: err}
}

// fail records se on the escrow and on round (nil before round 1).
func (s *setup) fail(ctx context.Context, round *Round, se *StepError) error {
	s.esc.Fail(ctx, se, ErrorContext{Round: se.Round, Operation: se.Operation, Role: se.Role, WalletID: se.WalletID})
	if round != nil {
		round.End(se)
	}
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
