// Command manual-orchestrator shows an existing escrow orchestrator adding
// the escrow trace by hand: StartEscrow, StartRound, Snapshot, Fail and End
// around the steps it already makes (see setupEscrow in orchestrator.go).
// The trace goes wherever otelsetup.Setup sends it: here a legacy
// escrow_<id>.json file in --out, and OTLP when OTEL_EXPORTER_OTLP_ENDPOINT
// is set.
//
//	go run ./examples/manual-orchestrator              # starts three wallet-rpcs
//	go run ./examples/manual-orchestrator --buyer URL --vendor URL --arbiter URL
//	go run ./examples/manual-orchestrator --break-round 2   # see a failure
//
// With your own wallet-rpcs, each must have a fresh wallet open (made with
// create_wallet is fine: prepare_multisig switches multisig on);
// WALLET_PASSWORD is its password, WALLET_RPC_LOGIN=user:pass the RPC
// login, if any.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "manual-orchestrator:", err)
		os.Exit(1)
	}
}

var roles = []string{"buyer", "vendor", "arbiter"}

func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("manual-orchestrator", flag.ContinueOnError)
	urls := make([]*string, len(roles))
	for i, r := range roles {
		urls[i] = fs.String(r, "", "your "+r+"'s monero-wallet-rpc URL (all three or none; none: start three)")
	}
	out := fs.String("out", "./traces", "directory for escrow_<id>.json")
	escrowID := fs.String("escrow-id", "", "escrow id (default: random)")
	breakRound := fs.Int("break-round", 0, "corrupt the buyer's key-exchange message in round 2 or 3, to see a failure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := 0
	for _, u := range urls {
		if *u != "" {
			given++
		}
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case given != 0 && given != len(roles):
		return errors.New("give --buyer, --vendor and --arbiter together, or none")
	case *breakRound != 0 && *breakRound != 2 && *breakRound != 3:
		return fmt.Errorf("--break-round %d: want 2 or 3", *breakRound)
	}
	if *escrowID == "" {
		*escrowID = rand.Text()
	}
	if err := otelmsig.ValidEscrowID(*escrowID); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	// Once, at start-up: the TracerProvider with the legacy JSON exporter
	// (and OTLP if the environment asks). Applications leave the switch to
	// ENABLE_INSTRUMENTATION; this example turns it on.
	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithEnabled(true), otelsetup.WithTraceDir(*out))
	if err != nil {
		return err
	}
	defer func() {
		if shutdown != nil {
			_ = shutdown(context.Background())
		}
	}()

	ps, stop, err := participants(ctx, *escrowID, urls, stdout)
	if err != nil {
		return err
	}
	defer stop()

	addr, setupErr := setupEscrow(ctx, *escrowID, ps, *breakRound)

	// Flush before reading the file back (an application just calls
	// shutdown on exit).
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	serr := shutdown(sctx)
	shutdown = nil
	if serr != nil {
		fmt.Fprintf(stdout, "exporting: %v\n", serr)
	}
	if setupErr == nil {
		fmt.Fprintf(stdout, "escrow %s: multisig address %s\n", *escrowID, addr)
	} else {
		fmt.Fprintf(stdout, "escrow %s: setup failed: %v\n", *escrowID, setupErr)
	}
	path := filepath.Join(*out, escrowjson.FileName(*escrowID, setupErr != nil))
	if err := describe(stdout, path); err != nil {
		return errors.Join(setupErr, err)
	}
	return setupErr
}

// participants connects to the given wallet-rpcs, or starts three with a
// fresh wallet, made over RPC, open on each.
func participants(ctx context.Context, escrowID string, urls []*string, stdout io.Writer) ([]participant, func(), error) {
	ps := make([]participant, len(roles))
	stop := func() {}
	opts := []walletrpc.Option{otelmsig.WithTracing()}
	if *urls[0] == "" {
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = r + "-" + escrowID[:min(8, len(escrowID))]
		}
		fmt.Fprintln(stdout, "starting three monero-wallet-rpc processes with a new wallet each...")
		procs, err := wallettest.Dedicated(ctx, wallettest.Config{}, names...)
		if err != nil {
			return nil, nil, err
		}
		stop = func() {
			for _, p := range procs {
				_ = p.Stop()
			}
		}
		urls := make([]string, len(procs))
		for i, p := range procs {
			urls[i] = p.URL
		}
		fmt.Fprintf(stdout, "wallet-rpcs: %s\n", strings.Join(urls, " "))
		for i, p := range procs {
			c, err := p.Client(opts...)
			if err != nil {
				stop()
				return nil, nil, err
			}
			ps[i] = participant{role: roles[i], walletID: names[i], filename: names[i],
				path: filepath.Join(p.WalletDir, names[i]), client: c}
		}
		return ps, stop, nil
	}
	if login := os.Getenv("WALLET_RPC_LOGIN"); login != "" {
		user, pass, _ := strings.Cut(login, ":")
		opts = append(opts, walletrpc.WithDigestAuth(user, pass))
	}
	for i, r := range roles {
		c, err := walletrpc.New(*urls[i], opts...)
		if err != nil {
			return nil, nil, err
		}
		ps[i] = participant{role: r, walletID: r + "-wallet", password: os.Getenv("WALLET_PASSWORD"), client: c}
	}
	return ps, stop, nil
}

// describe reads the escrow file back and says what it holds.
func describe(w io.Writer, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := escrowjson.Validate(data); err != nil {
		return err
	}
	events, err := escrowjson.Load(path)
	if err != nil {
		return err
	}
	n := map[string]int{}
	snapshots := 0
	for _, ev := range events {
		n[ev.EventType]++
		if strings.HasPrefix(ev.EventType, "SNAPSHOT_") {
			snapshots++
		}
	}
	fmt.Fprintf(w, "%s: %d events: %d snapshots, %d RPC calls (%d failed), %d ERROR_FINAL\n", path, len(events),
		snapshots, n[escrowjson.TypeRPCCallStart], n[escrowjson.TypeRPCCallError], n[escrowjson.TypeErrorFinal])
	for _, ev := range events {
		if d, ok := ev.Details.(*escrowjson.ErrorFinal); ok {
			fmt.Fprintf(w, "ERROR_FINAL: round %d, %s, wallet %s: %s\n", d.Context.Round, d.Context.Operation, d.Context.WalletID, d.Error)
		}
	}
	return nil
}
