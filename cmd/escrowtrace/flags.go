package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/escrowtrace/escrowtrace/otelsetup"
)

// Bounds of the demo's flags. Each escrow costs three wallets, and
// create_wallet takes wallet-rpc about 1.6 s per wallet.
const (
	maxEscrows = 20
	maxJobs    = 16
)

// RPC layouts.
const (
	layoutDedicated = "dedicated"
	layoutShared    = "shared"
)

type demoOptions struct {
	escrows  int
	rpc      string
	safe     bool
	out      string
	jobs     int
	timeout  time.Duration
	timeline bool
	// processes is how many OS processes run the escrows (--processes);
	// 0: all in this one, as without the flag.
	processes int
}

// defaultJobs is how many create_wallet calls run at once (each on its own
// wallet-rpc; one wallet-rpc serves one at a time): one per core, at most
// four (more only makes each slower).
func defaultJobs() int { return min(max(runtime.NumCPU(), 1), 4) }

// parseDemoFlags parses the demo's arguments. It returns flag.ErrHelp for
// -h, and an error already reported on stderr for bad usage.
func parseDemoFlags(args []string, stderr io.Writer) (demoOptions, error) {
	defOut := os.Getenv(otelsetup.EnvTraceDir)
	if defOut == "" {
		defOut = "./traces"
	}
	o := demoOptions{}
	fs := flag.NewFlagSet("escrowtrace demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.escrows, "escrows", 1, fmt.Sprintf("number of escrow setups to run at once (1..%d)", maxEscrows))
	fs.StringVar(&o.rpc, "rpc", layoutDedicated, "wallet-rpc layout: dedicated (three processes per escrow) or shared (one process per role for all escrows)")
	fs.BoolVar(&o.safe, "safe", false, "hold a per-endpoint lock across re-open and call (otelmsig.WithEndpointLock), which prevents cache pollution with --rpc shared")
	fs.StringVar(&o.out, "out", defOut, "directory for the escrow_<id>.json files; the default is $"+otelsetup.EnvTraceDir+" when set")
	fs.IntVar(&o.jobs, "jobs", defaultJobs(), fmt.Sprintf("wallets created at once, over RPC with create_wallet (1..%d)", maxJobs))
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.BoolVar(&o.timeline, "timeline", false, "print every escrow's timeline, not only a single escrow's")
	fs.IntVar(&o.processes, "processes", 0, "run the escrows in this many OS processes (1..--escrows), each exporting OTLP to an escrowtrace collector, which writes the files into --out (see Many processes above)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, `Usage: escrowtrace demo [flags]

Starts real monero-wallet-rpc processes (offline, testnet, loopback only),
creates wallets over RPC, runs instrumented 2-of-3 multisig setups
(otelmsig.SetupMultisig), writes escrow_<id>.json into --out, and prints what
the tracing recorded: a timeline for one escrow, a summary table for several.

Instrumentation comes from otelsetup.Setup: ENABLE_INSTRUMENTATION (turned
on by the demo when unset; 0 and OTEL_SDK_DISABLED=true are refused),
OTEL_EXPORTER_OTLP_ENDPOINT (a URL; OTLP export over
OTEL_EXPORTER_OTLP_PROTOCOL, http/protobuf by default, or grpc; the demo then
prints Jaeger search URLs, base from JAEGER_UI_URL, default
http://localhost:16686), OTEL_SERVICE_NAME, OTEL_TRACES_EXPORTER.

Many processes (--processes N): the escrows are spread over N worker
processes (this program again), each with its own SDK exporting OTLP to an
escrowtrace collector, which writes the escrow_<id>.json files into --out;
the workers write none. The collector is the one OTEL_EXPORTER_OTLP_ENDPOINT
names (--out must then be its directory), else one the demo starts from
$ESCROWTRACE_COLLECTOR or escrowtrace-collector beside this program
(make collector) on free loopback ports, exporting to the Jaeger at
$ESCROWTRACE_COLLECTOR_JAEGER, else to a local Jaeger's OTLP/gRPC on
127.0.0.1:4317 when one answers there. The wallet-rpc processes are the
demo's: with --rpc shared every worker uses the same three.

Progress goes to stderr, the report to stdout. Exit status: 0 when the demo
did what it shows (with --rpc shared and no --safe, escrows failing from the
race is that), 1 on failure, 2 on bad usage.

Examples:
  escrowtrace demo
  escrowtrace demo --escrows 3 --rpc shared          # escrows race on shared wallet-rpcs
  escrowtrace demo --escrows 3 --rpc shared --safe   # the per-endpoint lock fixes it
  escrowtrace demo --processes 2 --escrows 4         # two processes, files written by a collector

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	processesSet := false
	fs.Visit(func(f *flag.Flag) { processesSet = processesSet || f.Name == "processes" })
	bad := func(format string, args ...any) (demoOptions, error) {
		err := fmt.Errorf(format, args...)
		fmt.Fprintf(stderr, "escrowtrace demo: %v\nRun \"escrowtrace demo -h\" for usage.\n", err)
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case o.escrows < 1 || o.escrows > maxEscrows:
		return bad("--escrows %d: want 1 to %d", o.escrows, maxEscrows)
	case o.rpc != layoutDedicated && o.rpc != layoutShared:
		return bad("--rpc %q: want %s or %s", o.rpc, layoutDedicated, layoutShared)
	case o.jobs < 1 || o.jobs > maxJobs:
		return bad("--jobs %d: want 1 to %d", o.jobs, maxJobs)
	case o.timeout <= 0:
		return bad("--timeout %v: want a positive duration", o.timeout)
	case o.out == "":
		return bad("--out is empty")
	case processesSet && (o.processes < 1 || o.processes > o.escrows):
		return bad("--processes %d: want 1 to --escrows (%d); each process runs at least one escrow", o.processes, o.escrows)
	}
	return o, nil
}
