// Package escrowconv holds escrowtrace's conventions for escrow traces: span
// names, attribute keys and span event names, on top of the OpenTelemetry
// semantic conventions.
//
// It is the contract between the code that records escrow traces (otelmsig)
// and the code that reads them back (the legacy JSON exporter in
// exporter/jsonfile, Jaeger queries, tests). Neither side spells a key out on
// its own.
//
// The trace of one escrow setup:
//
//	escrow.setup                         SpanEscrow, root, INTERNAL
//	├── get_version                      CLIENT, once per endpoint (SetupMultisig's check)
//	├── multisig.round (1)               SpanRound, INTERNAL
//	│   ├── prepare_multisig             CLIENT, one per wallet RPC call
//	│   ├── make_multisig
//	│   └── event wallet.snapshot        one per wallet per snapshot point
//	├── multisig.round (2)
//	│   └── exchange_multisig_keys ...
//	└── multisig.round (3)               (0.18; 0.17.3 is done after round 2)
//
// RPC calls made only to take a snapshot (is_multisig, get_balance,
// get_address) and SetupMultisig's get_version check are CLIENT spans too,
// marked AttrSnapshotCall=true, so that Jaeger shows them and the legacy
// exporter leaves them out. Once the version is known, the escrow's RPC
// spans and snapshots carry WalletRPCVersion.
package escrowconv
