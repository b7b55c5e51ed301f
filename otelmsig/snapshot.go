package otelmsig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// WalletSnapshot is the state of one wallet at one snapshot point, as
// recorded in its wallet.snapshot event.
type WalletSnapshot struct {
	Point    string // one of the escrowconv Point* names
	Role     string
	WalletID string
	Filename string
	Endpoint string // host:port of the wallet-rpc
	Port     int
	// RPCVersion is what the wallet-rpc answered to get_version
	// (major<<16|minor), 0 when not known: SetupMultisig asks it once per
	// endpoint before round 1.
	RPCVersion uint32

	Time     time.Time     // when the snapshot started (its span's start)
	Duration time.Duration // how long it took (its event is at Time+Duration)

	Multisig    *walletrpc.IsMultisigResult // nil when is_multisig failed
	Balance     *walletrpc.GetBalanceResult // nil when get_balance failed
	Address     string                      // "" when get_address failed
	AddressHash string                      // lower-case hex SHA-256 of Address

	FileExists bool   // whether Wallet.Path exists; false when no path is known
	FilePerms  string // owner permission bits such as "rw-"; "" when not known

	// MixedWallets says the reads may have come from different wallets:
	// this process sent an open_wallet (or create/close) to the endpoint
	// between the first and the last read, or, with WithSharedEndpoints,
	// get_address answered differently before and after the other reads.
	// Err says which.
	MixedWallets bool

	// Err says what could not be read; the fields that could be read are
	// set anyway. The reads stop at the first transport error (a wallet-rpc
	// that timed out once would time out again).
	Err error

	span trace.Span // the snapshot's span, ended by recordSnapshots
	// opened is what the Tracker knew to be open on the endpoint right
	// after the reads (openKnown false: nothing), to name the wallet the
	// reads met if they met another one.
	opened    OpenWallet
	openKnown bool
}

// Snapshot records the state of each wallet at the named point (one of the
// escrowconv Point* constants) as one snapshot span per wallet, child of
// the span in ctx, named "<role> <point>" (escrowconv.SnapshotSpanName),
// carrying one wallet.snapshot event stamped when the values were read. Its
// reads are is_multisig, get_balance and get_address over the wallet's
// client, CLIENT children of the snapshot span (marked
// escrow.snapshot_call=true when the client is instrumented); the event
// also has the SHA-256 of the address, whether Wallet.Path exists and its
// owner permission bits, the RPC port and version, when the snapshot
// started (the span's start too) and how long it took.
//
// The reads of one wallet share one deadline (WithSnapshotTimeout, default
// DefaultSnapshotTimeout) and stop at the first transport error. A read
// that timed out marks the endpoint as hung for the rest of the escrow:
// later snapshots and steps there make no calls and record ErrEndpointHung.
// With WithSharedEndpoints the snapshot reads get_address before and after
// the other reads; an address that changed, or an open_wallet that this
// process sent to the endpoint between the reads, sets MixedWallets.
//
// Wallets on different endpoints are read concurrently. With
// WithSharedEndpoints each wallet is re-opened first, under its snapshot
// span (and with WithEndpointLock the endpoint stays locked across the
// re-open and the reads). A wallet that cannot be read gets snapshot.error
// with what could be read; Snapshot never fails the escrow.
//
// At SNAPSHOT_PRE_ROUND1 it also looks for cache pollution: a wallet that is
// already multisig, and two roles of the escrow showing the same address;
// the snapshot span of the wallet concerned is marked (see Pollution). At
// any point a wallet that shows the own address of another wallet this
// process's snapshots read (on the same endpoint) is marked as
// wrong_wallet_open; SetupMultisig's snapshots also check each address
// against the one the escrow expects (see the package doc).
//
// When the span in ctx is not recording (instrumentation disabled), or
// snapshots are off, Snapshot makes no calls at all and returns nil.
// Otherwise it returns the snapshots in the order of wallets.
func (e *Escrow) Snapshot(ctx context.Context, point string, wallets ...Wallet) []WalletSnapshot {
	if !e.snapshotting(ctx) || len(wallets) == 0 {
		return nil
	}
	out := make([]WalletSnapshot, len(wallets))
	perEndpoint(wallets, func(i int) { out[i] = e.snapshotOne(ctx, point, wallets[i]) })
	e.recordSnapshots(out, wallets, nil)
	return out
}

// snapshotting reports whether snapshots go on the span in ctx: they are on
// and the span is recording.
func (e *Escrow) snapshotting(ctx context.Context) bool {
	return !e.cfg.noSnapshots && e.span.IsRecording() && trace.SpanFromContext(ctx).IsRecording()
}

// startSnapshotSpan starts the snapshot span of w at point, child of the
// span in ctx, at start (the collection start).
func (e *Escrow) startSnapshotSpan(ctx context.Context, point string, w Wallet, start time.Time) (context.Context, trace.Span) {
	return e.tracer.Start(ctx, validUTF8(escrowconv.SnapshotSpanName(w.Role, point)),
		trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			e.idAttr,
			str(escrowconv.SnapshotPoint, point),
			str(escrowconv.WalletRole, w.Role),
			str(escrowconv.WalletID, w.ID),
		))
}

// recordSnapshots adds the wallet.snapshot event of each taken snapshot
// (those with a Point) to its snapshot span, stamped when the values were
// read, makes the pollution checks of PRE_ROUND1 and the identity check
// (checkIdentity, with the step's reply addresses, nil for none) and ends
// the spans.
func (e *Escrow) recordSnapshots(snaps []WalletSnapshot, wallets []Wallet, replies []string) {
	pre1 := false
	for i := range snaps {
		if snaps[i].Point == "" || snaps[i].span == nil {
			continue
		}
		snaps[i].span.AddEvent(escrowconv.EventSnapshot,
			trace.WithTimestamp(snaps[i].Time.Add(snaps[i].Duration)),
			trace.WithAttributes(snaps[i].attributes(e)...))
		pre1 = pre1 || snaps[i].Point == escrowconv.PointPreRound1
	}
	if pre1 {
		e.checkPreRound1(snaps, wallets)
	}
	e.checkIdentity(snaps, wallets, replies)
	for i := range snaps {
		if sp := snaps[i].span; sp != nil {
			sp.End(trace.WithTimestamp(snaps[i].Time.Add(snaps[i].Duration)))
		}
	}
}

// snapshotOne takes the snapshot of one wallet under its snapshot span,
// re-opening it first (under the endpoint lock) when the escrow's options
// say so.
func (e *Escrow) snapshotOne(ctx context.Context, point string, w Wallet) WalletSnapshot {
	start := time.Now()
	ctx, span := e.startSnapshotSpan(ctx, point, w, start)
	if w.Client == nil {
		return e.readWallet(ctx, span, point, w, start, errors.New("no client"))
	}
	var s WalletSnapshot
	read := false
	op, err := e.withWallet(ctx, w, true, func(ctx context.Context) error {
		s, read = e.readWallet(ctx, span, point, w, start, nil), true
		return nil
	})
	if !read {
		s = e.readWallet(ctx, span, point, w, start, opError(op, err))
	}
	return s
}

// opError prefixes err with the step that failed, when there is one.
func opError(op string, err error) error {
	if op == "" {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// readWallet reads the state of w, which must be the open wallet on its
// endpoint, with ctx marked for snapshot calls; ctx holds span, the
// snapshot's span (recordSnapshots ends it). With a non-nil skip, or when
// the endpoint is known to be hung, it makes no calls and records why.
func (e *Escrow) readWallet(ctx context.Context, span trace.Span, point string, w Wallet, start time.Time, skip error) WalletSnapshot {
	s := WalletSnapshot{Point: point, Role: w.Role, WalletID: w.ID, Filename: w.Filename, Time: start, span: span}
	var errs []error
	if w.Client != nil {
		ep := w.Client.Endpoint()
		s.Endpoint, s.Port = ep.String(), ep.Port
		s.RPCVersion = e.eps.versionOf(s.Endpoint)
		if skip == nil {
			skip = e.eps.hungErr(s.Endpoint)
		}
	}
	if skip != nil {
		errs = append(errs, skip)
	} else {
		errs = e.readRPC(ctx, &s, w)
	}
	if w.Path != "" {
		fi, err := os.Stat(w.Path)
		switch {
		case err == nil:
			s.FileExists, s.FilePerms = true, ownerPerms(fi.Mode())
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("wallet file: %w", err))
		}
	}
	s.Duration = time.Since(start)
	s.Err = errors.Join(errs...)
	return s
}

// readRPC makes the snapshot's reads into s, under the snapshot deadline,
// stopping at the first transport error, and returns what failed.
func (e *Escrow) readRPC(ctx context.Context, s *WalletSnapshot, w Wallet) []error {
	if ci := callFromContext(ctx); ci == nil || !ci.snapshot {
		ctx = context.WithValue(ctx, callKey, newCallInfo(w, true, s.RPCVersion))
	}
	if d := e.cfg.snapshotDeadline(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	type snapshotRead struct {
		method string
		read   func() error
	}
	var before string // get_address before the other reads (shared endpoints)
	reads := []snapshotRead{
		{walletrpc.MethodIsMultisig, func() (err error) { s.Multisig, err = w.Client.IsMultisig(ctx); return err }},
		{walletrpc.MethodGetBalance, func() (err error) { s.Balance, err = w.Client.GetBalance(ctx); return err }},
		{walletrpc.MethodGetAddress, func() error {
			a, err := w.Client.GetAddress(ctx)
			if err == nil {
				s.Address = a.Address
				s.AddressHash = addressHash(a.Address)
			}
			return err
		}},
	}
	if e.cfg.shared {
		// On a shared endpoint another client may switch wallets between
		// the reads: an address read first and last shows it.
		reads = append([]snapshotRead{{walletrpc.MethodGetAddress, func() error {
			a, err := w.Client.GetAddress(ctx)
			if err == nil {
				before = a.Address
			}
			return err
		}}}, reads...)
	}

	seq0, _ := e.cfg.tracker.openSeq(s.Endpoint)
	var errs []error
	for i, r := range reads {
		err := r.read()
		if err == nil {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %w", r.method, err))
		e.eps.noteErr(s.Endpoint, r.method, err)
		var te *walletrpc.TransportError
		if errors.As(err, &te) {
			// The next read would fail the same way, or wait as long.
			if i < len(reads)-1 {
				errs = append(errs, fmt.Errorf("later reads skipped after %s's %s error", r.method, te.Kind))
			}
			return errs
		}
	}
	s.opened, s.openKnown = e.cfg.tracker.Open(s.Endpoint)
	if seq1, open := e.cfg.tracker.openSeq(s.Endpoint); seq1 != seq0 {
		s.MixedWallets = true
		errs = append(errs, fmt.Errorf("reads may come from different wallets: this process switched %s to wallet %q between them", s.Endpoint, open))
	}
	if before != "" && s.Address != "" && before != s.Address {
		s.MixedWallets = true
		errs = append(errs, errors.New("reads come from different wallets: get_address answered differently before and after the other reads"))
	}
	return errs
}

// ownerPerms spells the owner's permission bits like ls: "rw-".
func ownerPerms(m fs.FileMode) string {
	b := []byte("---")
	if m&0o400 != 0 {
		b[0] = 'r'
	}
	if m&0o200 != 0 {
		b[1] = 'w'
	}
	if m&0o100 != 0 {
		b[2] = 'x'
	}
	return string(b)
}

func (s *WalletSnapshot) attributes(e *Escrow) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 24)
	a = append(a,
		e.idAttr,
		str(escrowconv.SnapshotPoint, s.Point),
		escrowconv.SnapshotTimeMs.Int64(s.Time.UnixMilli()),
		escrowconv.SnapshotDurationMs.Int64(s.Duration.Milliseconds()),
		str(escrowconv.WalletRole, s.Role),
		str(escrowconv.WalletID, s.WalletID),
		escrowconv.WalletFileExists.Bool(s.FileExists),
	)
	if s.Filename != "" {
		a = append(a, filenameAttr(s.Filename))
	}
	if s.Port != 0 {
		a = append(a, escrowconv.WalletRPCPort.Int(s.Port))
	}
	if s.RPCVersion != 0 {
		a = append(a, escrowconv.WalletRPCVersion.Int64(int64(s.RPCVersion)))
	}
	if s.MixedWallets {
		a = append(a, escrowconv.SnapshotMixedWallets.Bool(true))
	}
	if s.FilePerms != "" {
		a = append(a, str(escrowconv.WalletFilePerms, s.FilePerms))
	}
	if m := s.Multisig; m != nil {
		a = append(a,
			escrowconv.WalletIsMultisig.Bool(m.Multisig),
			escrowconv.WalletMultisigReady.Bool(m.Ready),
			escrowconv.WalletThreshold.Int64(int64(m.Threshold)),
			escrowconv.WalletTotal.Int64(int64(m.Total)),
		)
	}
	if b := s.Balance; b != nil {
		a = append(a,
			escrowconv.WalletBalance.Int64(clampInt64(b.Balance)),
			escrowconv.WalletUnlockedBalance.Int64(clampInt64(b.UnlockedBalance)),
		)
	}
	if s.Address != "" {
		a = append(a,
			str(escrowconv.WalletAddress, s.Address),
			str(escrowconv.WalletAddressHash, s.AddressHash),
		)
	}
	if s.Err != nil {
		a = append(a, escrowconv.SnapshotError.String(redact(s.Err.Error())))
	}
	return a
}

// clampInt64: attributes have no uint64; no real balance reaches 2^63
// piconero (Monero's supply is about 1.8e19, but no wallet holds half of it).
func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// checkPreRound1 records pollution visible before round 1, on the snapshot
// span of the wallet concerned: a wallet already multisig, or an address
// another role of this escrow already showed.
func (e *Escrow) checkPreRound1(snaps []WalletSnapshot, wallets []Wallet) {
	for i, s := range snaps {
		if s.span == nil {
			continue
		}
		if s.Multisig != nil && s.Multisig.Multisig {
			recordPollution(s.span, Pollution{
				Reason: escrowconv.ReasonMultisigTooEarly, ExpectedWallet: s.Filename,
				Endpoint: s.Endpoint, Port: s.Port, Role: s.Role, WalletID: s.WalletID,
			}, e)
		}
		if s.Address == "" {
			continue
		}
		e.mu.Lock()
		if e.preRound1 == nil {
			e.preRound1 = map[string]Wallet{}
		}
		other, seen := e.preRound1[s.Address]
		if !seen {
			e.preRound1[s.Address] = wallets[i]
		}
		e.mu.Unlock()
		if seen && (other.Role != s.Role || other.ID != s.WalletID) {
			recordPollution(s.span, Pollution{
				Reason: escrowconv.ReasonDuplicateAddress, ExpectedWallet: s.WalletID, ActualWallet: other.ID,
				Endpoint: s.Endpoint, Port: s.Port, Role: s.Role, WalletID: s.WalletID,
			}, e)
		}
	}
}

// withWallet runs fn with a context for w's calls, after taking the
// endpoint lock and re-opening w when the escrow's options say so. op names
// the step that failed when it was the re-open ("open_wallet") or the lock
// ("endpoint_lock"); it is "" when fn failed or did not run because the
// endpoint is hung.
func (e *Escrow) withWallet(ctx context.Context, w Wallet, snapshot bool, fn func(context.Context) error) (op string, err error) {
	ep := w.Client.Endpoint().String()
	if err := e.eps.hungErr(ep); err != nil {
		return "", err
	}
	ctx = context.WithValue(ctx, callKey, newCallInfo(w, snapshot, e.eps.versionOf(ep)))
	if e.cfg.endpointLock {
		unlock, err := e.cfg.tracker.Lock(ctx, ep)
		if err != nil {
			return "endpoint_lock", err
		}
		defer unlock()
	}
	// Under the lock, a wallet the tracker has seen opened (with nothing in
	// flight) is still open: no other escrow of this process can have
	// switched it. Re-opening costs wallet-rpc seconds (it saves the
	// previous wallet and loads the next).
	if e.cfg.shared && !(e.cfg.endpointLock && e.cfg.tracker.isOpen(ep, w.Filename)) {
		if err := w.Client.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: w.Filename, Password: w.Password}); err != nil {
			e.eps.noteErr(ep, walletrpc.MethodOpenWallet, err)
			return walletrpc.MethodOpenWallet, err
		}
	}
	return "", fn(ctx)
}

// perEndpoint runs fn(i) for every wallet: concurrently across wallet-rpc
// endpoints, one after the other for wallets that share one (a wallet-rpc
// has one open wallet and serves one call at a time anyway).
func perEndpoint(wallets []Wallet, fn func(i int)) {
	groups := map[string][]int{}
	var order []string
	for i, w := range wallets {
		key := ""
		if w.Client != nil {
			key = w.Client.Endpoint().String()
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	if len(order) == 1 {
		for _, i := range groups[order[0]] {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for _, k := range order {
		idx := groups[k]
		wg.Go(func() {
			for _, i := range idx {
				fn(i)
			}
		})
	}
	wg.Wait()
}
