// Package otelmsig traces Monero multisig escrow setups done through
// monero-wallet-rpc with OpenTelemetry: one trace per escrow, one span per
// key-exchange round, one span per wallet step in it, one CLIENT span per
// wallet RPC call, one span per wallet snapshot (with the snapshot as its
// event), errors with their context, the outcome on the root, and live
// detection of "cache pollution" (a wallet-rpc acting on another escrow's
// wallet), marked on the span where it was met and linked to the span that
// opened the wrong wallet.
//
// Names and attribute keys come from package escrowconv, the contract with
// the legacy JSON exporter (exporter/jsonfile) and with Jaeger queries.
//
// # Three ways to use it
//
// Only wrap a client. Every call gets a span, child of the span in the
// call's context; nothing else changes:
//
//	c, err := walletrpc.New(url, otelmsig.WithTracing())
//	ctx = otelmsig.ContextWithWallet(ctx, otelmsig.Wallet{Role: "buyer", ID: "w-1", Filename: "buyer-1"})
//	info, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
//
// Instrument an existing orchestrator by hand: StartEscrow, StartRound and
// Round.End around its steps, Snapshot at the points it wants, Fail when a
// step fails, End at the end. The RPC spans of instrumented clients called
// with the returned contexts land under the right round.
//
// Or let SetupMultisig run the whole setup (a get_version check,
// prepare_multisig with multisig switched on, make_multisig,
// exchange_multisig_keys rounds until wallet-rpc says the exchange is
// complete, up to seven snapshots) and return the shared address. It is
// built on the manual API.
//
// This package imports the OpenTelemetry API only. Applications call
// otelsetup.Setup once at start-up: it reads ENABLE_INSTRUMENTATION and the
// standard OTEL_* variables, builds the SDK's TracerProvider (legacy JSON
// files, the exporter OTEL_TRACES_EXPORTER names) and installs it as the
// global one. The instrumentation never needs it: it takes
// WithTracerProvider, else the global provider at call time. Its tracer
// carries Version and the semconv schema URL.
//
// Strings recorded on spans are valid UTF-8: invalid bytes are replaced by
// U+FFFD (an escrow id that had some also gets a hash of its bytes, so two
// ids stay two). A Wallet.Filename that is not valid UTF-8 is refused by
// SetupMultisig before any call.
//
// # Cost
//
// The middleware computes the endpoint's attributes once per client and
// does no formatting per call; when the span is not recording (nothing
// installed, instrumentation disabled, not sampled) it only starts and ends
// a no-op span. Snapshots make RPC calls, so they are taken only when the
// span they go on is recording: with instrumentation disabled an escrow
// makes exactly the calls it would make without this package, except for
// SetupMultisig's one get_version per endpoint, which is part of the setup
// (it refuses participants on different wallet-rpc versions).
//
// # Hung wallet-rpcs
//
// A wallet-rpc busy refreshing answers nothing, not even get_version. Each
// snapshot's reads share a deadline (WithSnapshotTimeout) and stop at the
// first transport error; a call or read that times out marks its endpoint
// as hung for the escrow, so that no later call waits there again and
// SetupMultisig fails after one timed-out call.
//
// # Secrets
//
// Params and results are never recorded: they hold passwords and
// multisig_info key material. Error messages are recorded with anything that
// looks like multisig key material (words starting with "Multisig")
// replaced. Wallet.Password is only sent to wallet-rpc.
//
// # Cache pollution
//
// A monero-wallet-rpc process has one open wallet, and after open_wallet(B)
// every call acts on B, whoever makes it. Escrow services that share one
// wallet-rpc per role between escrows race on this. A Tracker (process-wide
// by default) follows create/open/restore/close_wallet through every
// instrumented client, including those still in flight (wallet-rpc serves
// requests one at a time, in order, so a call sent after another client's
// open_wallet(B) will act on B). When a call for wallet A (ContextWithWallet
// with a Filename) goes to an endpoint where the Tracker knows B is or will
// be open, the call's span gets a cache_pollution event naming both
// wallets, the endpoint and the escrow that opened B, status Error,
// escrow.cache_pollution=true and a link to the span of B's open; no RPC
// call is made for this. Snapshots add two more checks before round 1: a wallet that is
// already multisig, and two roles showing one address.
//
// The Tracker only sees this process. So SetupMultisig's snapshots also
// check, before and after each multisig call, that the wallet they read is
// the one the escrow expects, by its address: its own as read at
// SNAPSHOT_PRE_ROUND1, and after make_multisig and each exchange the
// address most participants returned or show (on wallet-rpc 0.18.0.0 a
// placeholder per group after make_multisig, then the shared address).
// A read of another address gets the same cache_pollution event, on the
// snapshot span, naming the wallet met when this process's snapshots saw
// it show that address (or this process opened it there), else "unknown"
// with the address's hash (UnknownWallet). That catches another process's
// open_wallet on a shared wallet-rpc right before make_multisig, which
// turns the wrong wallet multisig. Every snapshot, manual ones too, also
// flags a wallet showing the own address of another wallet this process
// knows. WithEndpointLock
// makes SetupMultisig hold a per-endpoint lock across re-open and operation
// (and the snapshot reads that go with it), which removes the race between
// escrows of one process.
//
// # Layouts
//
// SetupMultisig works with each wallet already open on its own wallet-rpc
// (the default), or with WithSharedEndpoints, where one wallet-rpc serves
// many wallets and each step re-opens the wallet it is for. Switching
// wallets costs real wallet-rpc seconds (it saves one wallet and loads the
// other), so a wallet's snapshots before and after a round share its step's
// re-open, and under WithEndpointLock a wallet the Tracker knows to be open
// is not re-opened.
package otelmsig
