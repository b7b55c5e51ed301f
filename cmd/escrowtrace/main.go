package main

import (
	"fmt"
	"io"
	"os"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "demo":
		return demoCmd(args[1:], stdout, stderr)
	case "report":
		return reportCmd(args[1:], stdout, stderr)
	case "analyze":
		return analyzeCmd(args[1:], stdout, stderr)
	case "version":
		return versionCmd(args[1:], stdout, stderr)
	case workerCommand: // not in the usage: the demo's --processes runs it
		return demoWorkerCmd(args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "escrowtrace: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `escrowtrace: traced Monero 2-of-3 multisig escrow setups

Usage:
  escrowtrace demo [flags]   run instrumented escrow setups on real monero-wallet-rpc processes
  escrowtrace report [flags] FILE|DIR...    one offline HTML page that shows the race
  escrowtrace analyze [flags] FILE|DIR...   the same facts as text
  escrowtrace version        print the version and the monero-wallet-rpc found

Run "escrowtrace COMMAND -h" for a command's flags.
`)
}
