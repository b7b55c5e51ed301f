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
// # demo --processes N
//
// With --processes N (1 to --escrows) the escrows run in N worker
// processes, as in a production service with several server processes:
// the demo runs this program again as `escrowtrace demo-worker` (a
// subcommand not in the usage, worker.go describes its protocol on stdin
// and stdout), once per process, and hands each its share of the escrows;
// all escrows start together across the processes. Each worker sets up
// its own SDK with otelsetup.Setup (its own service.instance.id, which the
// demo chooses and passes in OTEL_RESOURCE_ATTRIBUTES, and process.pid)
// and exports OTLP to an escrowtrace collector, with
// otelsetup.WithoutFiles: the collector's escrowjson exporter writes the
// legacy files, into --out. In-process pollution detection stays in each
// worker. The wallet-rpc processes are the demo's: with --rpc shared all
// workers use the same three (and --safe's lock, which is per process, no
// longer prevents the race), and the collector's walletpollution processor,
// which sees every worker's calls, finds the pollution no worker sees: a
// call that met a wallet another process opened.
//
// The collector is the one OTEL_EXPORTER_OTLP_ENDPOINT names (it must
// answer when the demo starts, and --out must be its directory), else one
// the demo runs: $ESCROWTRACE_COLLECTOR, else escrowtrace-collector beside
// this program (make collector), with deploy/collector/config.yaml on free
// loopback ports, groupbytrace's wait at 2 s (ESCROWTRACE_COLLECTOR_GROUP_WAIT
// changes it), exporting to the Jaeger at $ESCROWTRACE_COLLECTOR_JAEGER, else
// to 127.0.0.1:4317 when a local Jaeger answers there, else to none. After
// the workers exit the demo waits (at most 30 s) for the collector's files,
// stops its collector (SIGTERM: it writes what it still holds) and reports
// from the files as without --processes, with the process of each escrow
// and how many of its pollution events the collector found (detected_by
// "collector"); the verdict counts those found in the processes and those
// found by the collector apart, and the collector's are listed apart,
// each naming the process that switched the wallet.
// A worker that dies is named, and its escrows are reported lost, with the
// _PARTIAL file the collector wrote from what the worker had exported (a
// collector the demo did not start writes it when it stops). An
// escrow whose events are split between a final and a _PARTIAL file (a
// collector restarted mid-escrow) is an error.
//
// ESCROWTRACE_DEMO_CRASH=P:METHOD makes worker P kill itself (SIGKILL)
// after its first METHOD wallet call, once what it had was exported: it
// shows, and the tests check, what a server process that crashes leaves.
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
// monero-wallet-rpc or collector, an unwritable --out, a process that
// would not start or died, an escrow that failed where it should not have,
// a trace file missing, invalid or split), 2 on a usage error.
package main
