// Package escrowconv holds escrowtrace's conventions for escrow traces: span
// names, attribute keys and span event names, on top of the OpenTelemetry
// semantic conventions.
//
// It is the contract between the code that records escrow traces (otelmsig)
// and the code that reads them back (the legacy JSON exporter in
// exporter/jsonfile, Jaeger queries, tests). Neither side spells a key out on
// its own.
//
// The trace of one escrow setup (a 2-of-3 on monero 0.18, as
// otelmsig.SetupMultisig records it):
//
//	escrow.setup                            SpanEscrow, root, INTERNAL; the outcome when it ends
//	├── get_version                         CLIENT, once per endpoint (SetupMultisig's check)
//	├── multisig.round 1                    RoundSpanName(1), INTERNAL, Round=1
//	│   ├── buyer prepare_multisig          StepSpanName, INTERNAL, one per wallet per step
//	│   │   ├── open_wallet                 CLIENT, the re-open (shared endpoints only)
//	│   │   ├── buyer SNAPSHOT_PRE_ROUND1   SnapshotSpanName, INTERNAL, event wallet.snapshot
//	│   │   │   └── is_multisig, get_balance, get_address   CLIENT, AttrSnapshotCall=true
//	│   │   └── prepare_multisig            CLIENT, the step's call
//	│   ├── buyer make_multisig
//	│   │   ├── prepare_multisig            CLIENT (shared endpoints: the switch again)
//	│   │   ├── make_multisig               CLIENT
//	│   │   └── buyer SNAPSHOT_POST_MAKE_MULTISIG
//	│   └── … the same for vendor and arbiter
//	├── multisig.round 2                    a step per wallet: PRE_ROUND2 snapshot,
//	│   └── buyer exchange_multisig_keys    exchange_multisig_keys, POST_EXPORT_MULTISIG snapshot
//	├── multisig.round 3                    PRE_ROUND3 / POST_IMPORT_MULTISIG (0.17.3 ends after round 2)
//	└── buyer SNAPSHOT_FINAL                one per wallet, under the root (its re-open under it)
//
// A successful dedicated 2-of-3 is 115 spans: 1 root, 3 rounds, 12 wallet
// steps, 21 snapshot spans, 12 protocol calls, 3 get_version and 63 reads.
// Names stay low-cardinality (a round number, a role, a method, a point),
// so Jaeger's statistics and compare views keep rounds and roles apart.
//
// Every span carries EscrowID. RPC calls made only to take a snapshot
// (is_multisig, get_balance, get_address) and SetupMultisig's get_version
// check are CLIENT spans marked AttrSnapshotCall=true, so that Jaeger shows
// them and the legacy exporter leaves them out; none sits directly under a
// round or a step. Once the version is known, the escrow's RPC spans and
// snapshots carry WalletRPCVersion. A snapshot span starts at the
// collection start (SnapshotTimeMs, the legacy timestamp; on shared
// endpoints the step's re-open comes before it) and its event is stamped
// when the values were read.
//
// The root gets the outcome when it ends: EscrowResult (ResultOK or
// ResultFailed), EscrowRoundsCompleted, EscrowPollutionCount, and on
// success EscrowAddress and EscrowAddressHash. Jaeger's tag search finds
// them (escrow.result=failed). A failed step marks its path: the call, the
// wallet step, the round and the root get status Error.
//
// Cache pollution is recorded as an EventCachePollution event on the span
// where the wrong wallet was met (a call's CLIENT span, or a snapshot span
// for the checks before round 1), which also gets CachePollution=true, status
// Error and, when the call that opened the wrong wallet was instrumented in
// this process, a span link to it (Jaeger: References). Status Error rather
// than only an attribute, because Jaeger draws a span red only for its
// error tag, which it derives from status Error; an attribute alone leaves
// the polluted make_multisig a plain successful bar. The cost is that
// "status Error" no longer means "the call failed" on its own: a failed
// call also has semconv error.type, a polluted one that went through does
// not, and that is how the legacy exporter tells an RPC_CALL_ERROR from an
// RPC_CALL_END.
package escrowconv
