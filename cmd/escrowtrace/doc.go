// Command escrowtrace runs a traced Monero 2-of-3 multisig escrow setup on
// real monero-wallet-rpc processes and shows what the tracing recorded.
//
// Usage:
//
//	escrowtrace demo [flags]     run instrumented escrow setups (see escrowtrace demo -h)
//	escrowtrace report [flags] FILE|DIR...    one offline HTML page that shows the race (see escrowtrace report -h)
//	escrowtrace analyze [flags] FILE|DIR...   the same facts as text
//	escrowtrace version          print the version and the monero-wallet-rpc found
//
// # demo
//
// The demo starts monero-wallet-rpc processes (offline, testnet, loopback,
// temporary wallet directories), creates wallets on them over RPC
// (create_wallet, as escrow servers do; SetupMultisig switches multisig on
// in round 1), and runs otelmsig.SetupMultisig with the
// instrumentation that otelsetup.Setup builds from the environment
// (ENABLE_INSTRUMENTATION, OTEL_*). When ENABLE_INSTRUMENTATION is unset
// the demo turns instrumentation on itself and says so; set to 0 it is a
// usage error, as there would be nothing to show. Every escrow
// produces a legacy escrow_<id>.json file in --out (default ./traces, or
// $ESCROW_TRACE_DIR); the demo reads the files back, checks them against the
// contract and prints a timeline (one escrow) or a summary table (several).
// When OTLP export is configured (OTEL_EXPORTER_OTLP_ENDPOINT, ...), it also
// prints the Jaeger search URL of each escrow; JAEGER_UI_URL sets the Jaeger
// UI's base URL (default http://localhost:16686).
//
// With --escrows N the setups start together. --rpc dedicated gives each
// escrow its own three wallet-rpc processes; --rpc shared runs one process
// per role for all escrows, the usual production layout, so each step
// re-opens its wallet first, and escrows switch wallets under each other:
// the tracing detects and reports this cache pollution. --safe adds the
// per-endpoint lock that prevents it.
//
// Progress (process starts, wallets created, escrows finished, with elapsed
// time and the wallet-rpc PIDs) goes to stderr; the report goes to stdout.
// Every process the demo starts is stopped when it ends, on Ctrl-C too (a
// second Ctrl-C exits at once; the kernel then kills the processes).
//
// The demo also writes report.html (package report/reporthtml) beside the
// files and prints its path.
//
// # report and analyze
//
// report reads legacy escrow files, directories of them, and with --jaeger
// the same escrows from Jaeger's v1 query API, and writes one
// self-contained HTML page: a summary, one swimlane per wallet-rpc endpoint
// (whose wallet was open, every call coloured by escrow), each
// cache-pollution event joined to the escrow that caused it, RPC
// statistics, each escrow's snapshot progression and errors, and a
// comparison of two escrows. --lanes also writes the lanes as a Jaeger JSON
// trace for the Jaeger UI's upload. analyze prints the same facts as text.
//
// Exit status: 0 when the demo did what it shows, 1 on failure (a missing
// monero-wallet-rpc, an unwritable --out, a process that would not start,
// an escrow that failed where it should not have, a trace file missing or
// invalid), 2 on a usage error.
package main
