package otelmsig

import (
	"time"

	"go.opentelemetry.io/otel/trace"
)

// config is what Options set. Middleware reads the tracer provider and the
// tracker; StartEscrow and SetupMultisig read all of it.
type config struct {
	tp           trace.TracerProvider // nil: parent span's provider, else the global one, at call time
	tracker      *Tracker
	threshold    int
	participants int
	shared       bool
	endpointLock bool
	noSnapshots  bool
	// keepMultisigSwitch: SetupMultisig sends prepare_multisig without
	// enable_multisig_experimental (WithoutEnablingMultisig).
	keepMultisigSwitch bool
	snapshotTimeout    time.Duration // 0: DefaultSnapshotTimeout; <0: none
}

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.tracker == nil {
		c.tracker = DefaultTracker()
	}
	return c
}

// Option configures Middleware, WithTracing, StartEscrow and SetupMultisig.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider makes spans come from tp. Without it, Middleware uses
// the provider of the span in the call's context (so RPC spans land where
// their escrow's spans do) and otherwise the global provider, looked up at
// call time so that a provider installed later by Setup is picked up.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithTracker makes the instrumentation record which wallet is open on which
// endpoint in t instead of the process-wide DefaultTracker, and take
// endpoint locks from t. Give the same tracker to the clients' Middleware
// and to SetupMultisig/StartEscrow. Tests use it to stay isolated.
func WithTracker(t *Tracker) Option {
	return optionFunc(func(c *config) {
		if t != nil {
			c.tracker = t
		}
	})
}

// WithThreshold sets M of an M-of-N escrow (default 2). StartEscrow records
// it on the root span; SetupMultisig passes it to make_multisig.
func WithThreshold(m int) Option {
	return optionFunc(func(c *config) { c.threshold = m })
}

// WithParticipants sets N of an M-of-N escrow for StartEscrow's root span.
// SetupMultisig sets it from the number of wallets.
func WithParticipants(n int) Option {
	return optionFunc(func(c *config) { c.participants = n })
}

// WithSharedEndpoints says that a wallet-rpc endpoint serves several wallets
// (for example one process per role shared by many escrows): before every
// step and every snapshot, the escrow re-opens the wallet the step is for,
// with Wallet.Filename and Wallet.Password. Without it, each wallet is
// assumed to be open on its own wallet-rpc already.
func WithSharedEndpoints() Option {
	return optionFunc(func(c *config) { c.shared = true })
}

// WithEndpointLock holds a process-wide lock per wallet-rpc endpoint (from
// the Tracker) across re-open + operation, and across re-open + the reads
// of a snapshot, so that escrows sharing an endpoint cannot switch the open
// wallet under each other. Without it they can, and the pollution detection
// shows it. It only guards escrows of this process that use it.
func WithEndpointLock() Option {
	return optionFunc(func(c *config) { c.endpointLock = true })
}

// WithSnapshots turns snapshots on (the default) or off. Off, Snapshot makes
// no calls and records nothing.
func WithSnapshots(on bool) Option {
	return optionFunc(func(c *config) { c.noSnapshots = !on })
}

// DefaultSnapshotTimeout bounds the reads of one wallet's snapshot
// (is_multisig, get_balance, get_address together) when
// WithSnapshotTimeout is not given. Each read takes milliseconds on a
// wallet-rpc that answers at all, but on a shared endpoint a read waits in
// wallet-rpc's one queue behind other escrows' open_wallet calls, seconds
// each (three escrows racing on a loaded 2-core machine were measured
// queueing reads past 10 s). A read that runs out of this time marks the
// endpoint as hung, so the bound must not mistake a busy endpoint for one.
const DefaultSnapshotTimeout = time.Minute

// WithSnapshotTimeout bounds the reads of each wallet's snapshot together;
// zero or less leaves only the client's own timeout per call. A snapshot
// that runs out of time records the timeout, and its endpoint counts as
// hung for the rest of the escrow (see SetupMultisig).
func WithSnapshotTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			d = -1
		}
		c.snapshotTimeout = d
	})
}

// WithoutEnablingMultisig makes SetupMultisig call prepare_multisig without
// enable_multisig_experimental, for wallets whose multisig switch is set
// already (made with monero-wallet-cli and "set enable-multisig-experimental
// 1") or that must not be changed. On monero 0.18 a wallet with the switch
// off then fails round 2 with -48 (ErrMultisigDisabled) and cannot be
// rescued. Without this option SetupMultisig switches multisig on in
// round 1, as an escrow server that creates its wallets with create_wallet
// needs.
func WithoutEnablingMultisig() Option {
	return optionFunc(func(c *config) { c.keepMultisigSwitch = true })
}

// snapshotDeadline returns the bound of one wallet's snapshot reads, 0 for
// none.
func (c *config) snapshotDeadline() time.Duration {
	switch {
	case c.snapshotTimeout == 0:
		return DefaultSnapshotTimeout
	case c.snapshotTimeout < 0:
		return 0
	}
	return c.snapshotTimeout
}
