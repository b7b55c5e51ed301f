// Package benchmarks measures what tracing costs, side by side: every
// figure is a sub-benchmark next to its baseline, run in the same process
// right before it, named .../mode=BASELINE and .../mode=VARIANT so that
//
//	benchstat -col /mode bench.txt
//
// compares them, and each variant also reports its ratio to the baseline
// run right before it as a custom metric (x-BASELINE, and
// extra-allocs/op). go test's -count=N repeats each sub-benchmark N times
// back to back, which on a shared machine puts minutes of drift between a
// baseline and its variant; make bench therefore runs -count=1 six times.
// BENCHMARKS.md at the repository root has the figures, the budgets and
// how to reproduce them.
//
// The package has no code of its own; the benchmarks are in its tests:
//
//   - BenchmarkRPCDisabled: one wallet RPC call (is_multisig) to the
//     in-process fake wallet-rpc (internal/fakewalletrpc, over httptest),
//     raw versus through the otelmsig middleware with the provider that
//     otelsetup.Setup installs when ENABLE_INSTRUMENTATION is unset (a no-op
//     provider). A third variant makes the calls inside escrows
//     (StartEscrow and a round every 12 calls) with instrumentation off.
//   - BenchmarkRPCEnabled: the same call, raw versus instrumented with what
//     otelsetup.Setup builds when instrumentation is on: the SDK provider, a
//     batch span processor per exporter, the legacy JSON exporter
//     (exporter/jsonfile, fsync on) and OTLP/gRPC to a real local Jaeger
//     (internal/jaegertest). The calls run inside escrows: StartEscrow, a
//     round, the wallet in the context (otelmsig.ContextWithWallet), a new
//     escrow every 12 calls as in a real setup, so the escrow and round spans
//     and the JSON files are part of the figure. The timed part ends with a
//     ForceFlush, so the export of the spans the calls made is paid for.
//   - BenchmarkRPCReal: raw get_version on a real monero-wallet-rpc process
//     versus the same call enabled as above.
//   - BenchmarkCallHotPath: the client-side cost alone. The HTTP transport
//     answers from memory, so only the client, the middleware and the SDK
//     are left; enabled uses the SDK with a batch processor and a discarding
//     exporter. It gives the nanoseconds and allocations the instrumentation
//     adds to a call, without the noise of a loopback round trip.
//   - BenchmarkMiddleware: the middleware alone around an invoker that
//     returns at once (none, disabled, enabled with a discarding exporter):
//     exactly the nanoseconds and allocations it adds to a call, without
//     the round trip, whose time varies by tens of percent from one second
//     to the next on a shared machine.
//   - BenchmarkRecordedCall: what recording one call costs the calling
//     goroutine, on the same client and in-memory transport with one SDK
//     provider: raw, a bare SDK span with otelmsig's attributes (the
//     floor), otelmsig's middleware, and otelhttp.NewTransport (what a user
//     would otherwise reach for; a benchmark-only dependency).
//   - BenchmarkBurst: N setups at once on the fake wallet-rpc through
//     otelsetup.Setup's default pipeline into the legacy files (100, and
//     260: 10x the default batch queue in spans): escrows/s, shutdown
//     included, and lost-escrows (files missing or short; must be 0).
//   - BenchmarkSetup2of3: a whole 2-of-3 multisig setup (otelmsig.SetupMultisig)
//     on three real wallet-rpc processes, one per role, with instrumentation
//     disabled, enabled with all 21 snapshots and the collector up (the real
//     Jaeger), and enabled with the collector down (OTLP to a closed port).
//     The providers live across iterations and export in the background,
//     every 200 ms (OTEL_BSP_SCHEDULE_DELAY), so that exports and, with the
//     collector down, failing exports and their retries overlap the timed
//     setups. The enabled mode also reports snapshot-wall-ns/op: the wall
//     time the 21 snapshots added to each setup, read from its trace in
//     Jaeger (at each of the seven points, the longest wallet's three
//     calls), a direct measure of the overhead on the critical path where
//     the difference of two setups is lost in the seconds of key exchange.
//
// Every benchmark also reports cpu-ns/op, the CPU time of the benchmark
// process per operation, and, where they take part, jaeger-cpu-ns/op and
// wallet-rpc-cpu-ns/op for those processes: on a 2-core machine, CPU that
// an exporter or Jaeger takes is wall time the calls lose.
//
// A setup needs wallets that have never been multisig. Three are made once
// per test binary over RPC (create_wallet, as escrow servers make them;
// SetupMultisig switches multisig on in round 1) and, before each iteration
// and outside the timer, copied under new names into the processes' wallet
// directories and opened there: a fresh, never-multisig wallet per role per
// iteration, on long-lived dedicated processes, as an escrow service runs
// them.
//
// The real parts are required: without monero-wallet-rpc (apt-get install
// -y monero) or bin/jaeger (make jaeger) the benchmarks fail and say how to
// install them.
package benchmarks
