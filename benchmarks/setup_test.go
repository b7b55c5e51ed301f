package benchmarks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// setupTimeout bounds one SetupMultisig on real processes (about a second
// on an idle 2-core machine).
const setupTimeout = 2 * time.Minute

// scheduleDelayMs is OTEL_BSP_SCHEDULE_DELAY in the setup benchmarks.
const scheduleDelayMs = "200"

// eventsPerSetup is the number of legacy events of a successful 2-of-3
// setup: 12 calls (start and end each) and 21 snapshots.
const eventsPerSetup = 45

// realSetups runs b.N 2-of-3 setups on procs (one per role), each on fresh
// copies of the template wallets, opened before the timer starts. Only
// SetupMultisig is timed. It returns the escrow ids. The CPU time of the
// wallet-rpc processes and of Jaeger over the timed parts is reported too.
func realSetups(b *testing.B, procs []*wallettest.Process, j *jaegertest.Instance, mode string) ([]string, sample) {
	b.Helper()
	// Instrumented clients, as the application has them; the benchmark
	// opens the wallets with plain ones (an instrumented call outside an
	// escrow would be a trace of its own).
	clients := make([]*walletrpc.Client, len(procs))
	plain := make([]*walletrpc.Client, len(procs))
	for i, p := range procs {
		var err error
		if clients[i], err = p.Client(otelmsig.WithTracing()); err != nil {
			b.Fatal(err)
		}
		if plain[i], err = p.Client(); err != nil {
			b.Fatal(err)
		}
	}
	prefix := fmt.Sprintf("bench-%s-%d-", mode, time.Now().UnixNano())
	var ids []string
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.PID()
	}
	w := newStopwatch(b).watch("wallet-rpc", pids...).watch("jaeger", j.PID())
	for n := range b.N {
		id := prefix + fmt.Sprint(n)
		wallets := make([]otelmsig.Wallet, len(procs))
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		errs := make([]error, len(procs))
		var wg sync.WaitGroup
		for i, p := range procs {
			name := id + "-" + roles[i]
			wallets[i] = otelmsig.Wallet{
				Role: roles[i], ID: "wallet-" + name, Filename: name,
				Path: filepath.Join(p.WalletDir, name), Client: clients[i],
			}
			wg.Go(func() {
				// A new wallet per escrow, as escrow servers make them
				// (create_wallet opens it). Not copies of one wallet:
				// copies share their keys and address, and otelmsig's
				// identity check takes a wallet showing another known
				// wallet's address for that wallet.
				if err := plain[i].CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: name}); err != nil {
					errs[i] = fmt.Errorf("create_wallet %s on %s: %w", name, p.URL, err)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		w.start()
		addr, err := otelmsig.SetupMultisig(ctx, id, wallets)
		w.stop()
		cancel()
		if err != nil {
			b.Fatalf("SetupMultisig %s (%s): %v", id, mode, err)
		}
		if addr == "" || fakewalletrpc.IsPlaceholder(addr) {
			b.Fatalf("SetupMultisig %s: address %q", id, addr)
		}
		ids = append(ids, id)
	}
	return ids, w.finish()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	return addr
}

// BenchmarkSetup2of3: whole 2-of-3 setups (otelmsig.SetupMultisig,
// prepare_multisig, make_multisig, two exchange_multisig_keys rounds) on
// three real monero-wallet-rpc processes, one per role:
//
//   - mode=disabled: ENABLE_INSTRUMENTATION unset (no-op provider, so no
//     snapshots and no export), the baseline;
//   - mode=enabled: otelsetup.Setup enabled, all 21 snapshots, legacy JSON
//     files and OTLP to the real Jaeger (collector up). Budget ≤ 1.02× of
//     disabled;
//   - mode=collector-down: the same with OTLP to a closed port. Budget
//     ≤ 1.05× of enabled (reported as x-collector-up).
//
// The providers live across the iterations, exporting in the background
// as in a service; they are flushed and shut down after the timed part.
// The batch processors run with OTEL_BSP_SCHEDULE_DELAY=200 (ms; the
// default is 5 s) so that the exports, and with the collector down the
// failing exports and their retries, happen during the timed setups, as
// they do in a service that runs setups all the time, rather than after a
// 1-2 s measurement is over.
func BenchmarkSetup2of3(b *testing.B) {
	if err := wallettest.CheckBinaries(); err != nil {
		b.Fatal(err)
	}
	j := jaegertest.Start(b)
	procs := wallettest.Start(b, len(roles), wallettest.Config{})
	off := &baseline{name: "disabled"}
	up := &baseline{name: "collector-up"}

	b.Run("mode=disabled", func(b *testing.B) {
		disabled(b)
		_, s := realSetups(b, procs, j, "off")
		off.set(s)
	})
	b.Run("mode=enabled", func(b *testing.B) {
		b.Setenv("OTEL_BSP_SCHEDULE_DELAY", scheduleDelayMs)
		in := enabled(b, j.OTLPGRPC)
		ids, s := realSetups(b, procs, j, "on")
		off.report(b, s)
		up.set(s)
		in.flush(b)
		if n, first := exportErrors.get(); n > 0 {
			b.Fatalf("%d export errors with the collector up; first: %v", n, first)
		}
		waitForTrace(b, j, ids[len(ids)-1])
		var snap time.Duration
		for _, id := range ids {
			snap += snapshotWall(b, j, id)
		}
		b.ReportMetric(float64(snap.Nanoseconds())/float64(len(ids)), "snapshot-wall-ns/op")
		if err := in.stop(); err != nil {
			b.Fatalf("shutdown: %v", err)
		}
		if lost := in.checkFiles(b, ids, eventsPerSetup); lost > 0 {
			b.Fatalf("%d of %d escrows have no JSON file", lost, len(ids))
		}
	})
	b.Run("mode=collector-down", func(b *testing.B) {
		b.Setenv("OTEL_BSP_SCHEDULE_DELAY", scheduleDelayMs)
		in := enabled(b, closedPort(b))
		ids, s := realSetups(b, procs, j, "down")
		up.report(b, s)
		// Shutdown gives up on the dead collector at its deadline (else
		// after the OTLP timeout, 5 s) and says so; the JSON files are
		// written first, whatever happens.
		err := in.stopWithin(2 * time.Second)
		n, _ := exportErrors.get()
		b.ReportMetric(float64(n), "export-errors")
		if err == nil && n == 0 {
			b.Fatalf("no export error with OTLP to a closed port: is the collector-down case real?")
		}
		if lost := in.checkFiles(b, ids, eventsPerSetup); lost > 0 {
			b.Fatalf("%d of %d escrows have no JSON file with the collector down", lost, len(ids))
		}
	})
}

// snapshotWall returns the wall time that the snapshots of escrow id added
// to its setup, read from its trace in Jaeger (µs resolution): at each of
// the seven points every wallet makes is_multisig, get_balance and
// get_address one after the other, the wallets at once, so a point costs
// the longest wallet's three calls, from the first one's start to the last
// one's end. This is the part of the instrumentation's cost that sits on the
// setup's critical path besides span bookkeeping, measured directly rather
// than as the difference of two setups whose crypto takes seconds.
func snapshotWall(b *testing.B, j *jaegertest.Instance, id string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trs, err := j.FindTraces(ctx, benchService, map[string]string{string(escrowconv.EscrowID): id})
	if err != nil || len(trs) != 1 {
		b.Fatalf("Jaeger: trace of escrow %s: %d traces, %v", id, len(trs), err)
	}
	// The reads of one wallet at one point are the CLIENT children of its
	// snapshot span, which carries the point.
	pointOf := map[string]string{} // snapshot span id -> point
	for _, s := range trs[0].Spans {
		if p, ok := s.Tag(string(escrowconv.SnapshotPoint)); ok {
			pointOf[s.SpanID] = fmt.Sprint(p)
		}
	}
	calls := map[string][]jaegertest.Span{} // snapshot span id -> its reads
	for _, s := range trs[0].Spans {
		if v, _ := s.Tag(string(escrowconv.AttrSnapshotCall)); v != true || s.OperationName == walletrpc.MethodGetVersion {
			// (get_version is SetupMultisig's version check, not a
			// snapshot read, though marked the same way.)
			continue
		}
		if _, ok := pointOf[s.Parent()]; !ok {
			b.Fatalf("escrow %s: snapshot read %s not under a snapshot span", id, s.OperationName)
		}
		calls[s.Parent()] = append(calls[s.Parent()], s)
	}
	wall := map[string]int64{} // point -> µs
	n := 0
	for parent, ss := range calls {
		if len(ss) != 3 {
			b.Fatalf("escrow %s: %d snapshot reads under span %s, want three", id, len(ss), parent)
		}
		slices.SortFunc(ss, func(x, y jaegertest.Span) int { return cmp.Compare(x.StartTime, y.StartTime) })
		p := pointOf[parent]
		wall[p] = max(wall[p], ss[2].StartTime+ss[2].Duration-ss[0].StartTime)
		n += 3
	}
	if len(wall) != 7 || n != 63 {
		b.Fatalf("escrow %s: %d snapshot points and %d snapshot calls in Jaeger, want 7 and 63", id, len(wall), n)
	}
	var total int64
	for _, us := range wall {
		total += us
	}
	return time.Duration(total) * time.Microsecond
}
