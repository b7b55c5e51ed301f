// Command concurrent-race reproduces the race of escrow servers that share
// one monero-wallet-rpc per role between escrows, shows the tracing
// detecting it, and shows the fix.
//
// A wallet-rpc has one open wallet. With shared endpoints every step of an
// escrow re-opens its wallet first (otelmsig.WithSharedEndpoints), and
// escrows running at once switch the open wallet under each other: calls
// land on another escrow's wallet. The instrumentation sees every
// open_wallet and records cache_pollution events when a call for wallet A
// goes where B is open. otelmsig.WithEndpointLock holds a lock per endpoint
// across re-open and call, and the race is gone.
//
//	go run ./examples/concurrent-race                  # starts three wallet-rpcs
//	go run ./examples/concurrent-race --escrows 3
//	go run ./examples/concurrent-race --buyer URL --vendor URL --arbiter URL --wallets w1,w2,w3,w4
//
// With your own wallet-rpcs, --wallets names 2×--escrows fresh wallet
// files that exist on each of the three (in each one's --wallet-dir; made
// with create_wallet is fine, SetupMultisig switches multisig on); the
// first half race, the second half run with the lock. WALLET_PASSWORD is their password, WALLET_RPC_LOGIN=user:pass the
// RPC login, if any.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "concurrent-race:", err)
		os.Exit(1)
	}
}

var roles = []string{"buyer", "vendor", "arbiter"}

const maxEscrows = 5

// config is what the flags say, or what run makes up when it starts its
// own wallet-rpcs.
type config struct {
	escrows int
	urls    []string // per role
	wallets []string // 2×escrows wallet file names, present on every endpoint
	paths   []string // per role: the wallet directory, when known
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("concurrent-race", flag.ContinueOnError)
	c := config{urls: make([]string, len(roles))}
	fs.IntVar(&c.escrows, "escrows", 2, fmt.Sprintf("escrows run at once in each phase (2..%d)", maxEscrows))
	for i, r := range roles {
		fs.StringVar(&c.urls[i], r, "", "your "+r+"'s monero-wallet-rpc URL (all three or none; none: start three)")
	}
	wallets := fs.String("wallets", "", "with your own wallet-rpcs: 2×escrows comma-separated wallet file names")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	given := 0
	for _, u := range c.urls {
		if u != "" {
			given++
		}
	}
	if *wallets != "" {
		c.wallets = strings.Split(*wallets, ",")
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.escrows < 2 || c.escrows > maxEscrows:
		return c, fmt.Errorf("--escrows %d: want 2 to %d (a race needs two)", c.escrows, maxEscrows)
	case given != 0 && given != len(roles):
		return c, errors.New("give --buyer, --vendor and --arbiter together, or none")
	case given == 0 && len(c.wallets) > 0:
		return c, errors.New("--wallets goes with --buyer, --vendor and --arbiter")
	case given > 0 && len(c.wallets) != 2*c.escrows:
		return c, fmt.Errorf("--wallets: want %d names (2×--escrows), got %d", 2*c.escrows, len(c.wallets))
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if c.urls[0] == "" {
		stop, err := startWalletRPCs(ctx, &c, stdout)
		defer stop()
		if err != nil {
			return err
		}
	}

	// Spans go to a recorder, to count what was detected per escrow. An
	// application would call otelsetup.Setup instead.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	// The clients and the setups share one Tracker: it follows which wallet
	// is open on each endpoint, and hands out the endpoint locks.
	tracker := otelmsig.NewTracker()
	common := []otelmsig.Option{otelmsig.WithTracerProvider(tp), otelmsig.WithTracker(tracker)}
	clients := make([]*walletrpc.Client, len(roles))
	for i, u := range c.urls {
		opts := []walletrpc.Option{otelmsig.WithTracing(common...)}
		if login := os.Getenv("WALLET_RPC_LOGIN"); login != "" {
			user, pass, _ := strings.Cut(login, ":")
			opts = append(opts, walletrpc.WithDigestAuth(user, pass))
		}
		if clients[i], err = walletrpc.New(u, opts...); err != nil {
			return err
		}
	}

	race := phase(ctx, stdout, rec, "Phase 1: escrows at once on shared wallet-rpcs, no lock",
		c, clients, c.wallets[:c.escrows], append(common, otelmsig.WithSharedEndpoints()))
	fixed := phase(ctx, stdout, rec, "Phase 2: the same, with otelmsig.WithEndpointLock()",
		c, clients, c.wallets[c.escrows:], append(common, otelmsig.WithSharedEndpoints(), otelmsig.WithEndpointLock()))
	if ctx.Err() != nil {
		return ctx.Err()
	}

	fmt.Fprintln(stdout)
	switch {
	case race.pollution == 0:
		fmt.Fprintln(stdout, "Phase 1 detected no pollution this time: the race depends on timing; try --escrows 4.")
	default:
		fmt.Fprintf(stdout, "Phase 1: %d cache_pollution events, %d of %d escrows failed.\n", race.pollution, race.failed, c.escrows)
	}
	fmt.Fprintf(stdout, "Phase 2: %d cache_pollution events, %d of %d escrows failed.\n", fixed.pollution, fixed.failed, c.escrows)
	if fixed.pollution > 0 || fixed.failed > 0 {
		return errors.New("escrows failed or were polluted with the endpoint lock")
	}
	return nil
}

type outcome struct{ failed, pollution int }

// phase runs one escrow per wallet name at once (a barrier releases them
// together) and reports, per escrow, how it went and the cache_pollution
// events its spans carry.
func phase(ctx context.Context, w io.Writer, rec *tracetest.SpanRecorder, title string,
	c config, clients []*walletrpc.Client, names []string, opts []otelmsig.Option) outcome {
	fmt.Fprintf(w, "\n%s\n", title)
	ids := make([]string, len(names))
	errs := make([]error, len(names))
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for k, name := range names {
		ids[k] = "race-" + name
		wallets := make([]otelmsig.Wallet, len(roles))
		for i, r := range roles {
			wallets[i] = otelmsig.Wallet{Role: r, ID: r + "/" + name, Filename: name,
				Password: os.Getenv("WALLET_PASSWORD"), Client: clients[i]}
			if c.paths != nil {
				wallets[i].Path = filepath.Join(c.paths[i], name)
			}
		}
		wg.Go(func() {
			<-gate
			_, errs[k] = otelmsig.SetupMultisig(ctx, ids[k], wallets, opts...)
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	fmt.Fprintf(w, "  %d escrows in %v\n", len(names), time.Since(start).Round(100*time.Millisecond))

	events := pollutionByEscrow(rec.Ended())
	var o outcome
	for k, id := range ids {
		status := "ok"
		if errs[k] != nil {
			o.failed++
			status = "FAILED: " + errs[k].Error()
		}
		o.pollution += len(events[id])
		fmt.Fprintf(w, "  %s: %d cache_pollution events; %s\n", id, len(events[id]), status)
		for j, ev := range events[id] {
			if j == 3 {
				fmt.Fprintf(w, "      ... and %d more\n", len(events[id])-j)
				break
			}
			fmt.Fprintf(w, "      %s\n", ev)
		}
	}
	return o
}

// pollutionByEscrow collects the cache_pollution span events by escrow.id
// (every span of an escrow carries it).
func pollutionByEscrow(spans []sdktrace.ReadOnlySpan) map[string][]string {
	out := map[string][]string{}
	for _, s := range spans {
		id := ""
		for _, kv := range s.Attributes() {
			if kv.Key == escrowconv.EscrowID {
				id = kv.Value.AsString()
			}
		}
		for _, ev := range s.Events() {
			if ev.Name == escrowconv.EventCachePollution {
				out[id] = append(out[id], describe(s, ev))
			}
		}
	}
	return out
}

func describe(s sdktrace.ReadOnlySpan, ev sdktrace.Event) string {
	a := map[string]string{}
	for _, kv := range ev.Attributes {
		a[string(kv.Key)] = kv.Value.Emit()
	}
	where := s.Name()
	if s.SpanKind() != trace.SpanKindClient {
		where = "snapshot in " + where
	}
	return fmt.Sprintf("%s on %s: %s wanted %s, %s was open (opened by %s)", a[string(escrowconv.PollutionReason)], where,
		a[string(escrowconv.WalletRole)], a[string(escrowconv.PollutionExpectedWallet)],
		a[string(escrowconv.PollutionActualWallet)], a[string(escrowconv.PollutionOtherEscrowID)])
}

// startWalletRPCs starts one wallet-rpc per role and creates on each, over
// RPC, the 2×escrows wallets of both phases.
func startWalletRPCs(ctx context.Context, c *config, w io.Writer) (stop func(), err error) {
	fmt.Fprintf(w, "starting three monero-wallet-rpc processes and creating %d wallets...\n", 2*c.escrows*len(roles))
	start := time.Now()
	procs, err := wallettest.StartProcesses(ctx, len(roles), wallettest.Config{})
	if err != nil {
		return func() {}, err
	}
	stop = func() {
		for _, p := range procs {
			_ = p.Stop()
		}
	}
	c.wallets = nil
	for k := range 2 * c.escrows {
		c.wallets = append(c.wallets, fmt.Sprintf("escrow%d", k+1))
	}
	// Over RPC, as escrow servers make wallets: create_wallet on each
	// role's wallet-rpc (one at a time there, the processes in parallel).
	// SetupMultisig switches multisig on in round 1.
	errs := make([]error, len(roles))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
	)
	total := len(roles) * len(c.wallets)
	for i, p := range procs {
		c.urls[i] = p.URL
		c.paths = append(c.paths, p.WalletDir)
		wg.Go(func() {
			for _, name := range c.wallets {
				if errs[i] = p.CreateWallets(ctx, name); errs[i] != nil {
					return
				}
				mu.Lock()
				created++
				fmt.Fprintf(w, "  %2d/%d  %s's wallet %s\n", created, total, roles[i], name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return stop, err
	}
	fmt.Fprintf(w, "ready in %v: %s\n", time.Since(start).Round(100*time.Millisecond), strings.Join(c.urls, " "))
	return stop, nil
}
