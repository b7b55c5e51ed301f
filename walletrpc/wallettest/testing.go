package wallettest

import (
	"context"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"testing"
	"time"
)

// setupTimeout bounds Start and StartDedicated: process starts plus, for
// StartDedicated, one create_wallet each (or a few seconds of CPU per
// wallet with Config.CLIWallets) on a possibly busy machine.
const setupTimeout = 3 * time.Minute

// Start starts n processes for a test and stops them in t.Cleanup. It fails
// the test, with the install command, when the binaries are missing.
func Start(t testing.TB, n int, cfg Config) []*Process {
	t.Helper()
	if err := CheckBinaries(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	procs, err := StartProcesses(ctx, n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, procs)
	return procs
}

// StartDedicated is Dedicated for a test: wallet names[i] open on process i,
// all stopped in t.Cleanup.
func StartDedicated(t testing.TB, cfg Config, names ...string) []*Process {
	t.Helper()
	if err := CheckBinaries(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	procs, err := Dedicated(ctx, cfg, names...)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, procs)
	return procs
}

func cleanup(t testing.TB, procs []*Process) {
	t.Cleanup(func() {
		if err := stopAll(procs); err != nil {
			t.Error(err)
		}
	})
}

// CheckStopped fails the test when a wallet-rpc at one of urls still
// answers get_version: for programs that start wallet-rpc processes
// themselves and must stop them (the demo, the examples). An empty list is
// a failure too: the program did not say what it started.
func CheckStopped(t testing.TB, urls ...string) {
	t.Helper()
	if len(urls) == 0 {
		t.Error("wallettest.CheckStopped: no wallet-rpc URL to check")
	}
	for _, u := range urls {
		c, err := walletrpc.New(u, walletrpc.WithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetVersion(t.Context()); err == nil {
			t.Errorf("the wallet-rpc at %s still runs after the program returned", u)
		}
	}
}
