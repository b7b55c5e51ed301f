package wallettest

import (
	"context"
	"testing"
	"time"
)

// setupTimeout bounds Start and StartDedicated: process starts plus, for
// StartDedicated, a few seconds of CPU per wallet on a possibly busy machine.
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
