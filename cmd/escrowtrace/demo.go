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
	"syscall"
	"time"

	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// shutdownTimeout bounds flushing the exporters at the end (the legacy files
// are written whatever it says); past it, shutdown reports what the OTLP
// exporter did not deliver.
const shutdownTimeout = 15 * time.Second

func demoCmd(args []string, stdout, stderr io.Writer) int {
	opts, err := parseDemoFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	// Ctrl-C or SIGTERM cancels ctx: starts, wallet creation and escrows
	// stop, and every process started is stopped before exiting.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills at once (the processes go
	// too: the kernel sends them SIGKILL when their parent dies).
	context.AfterFunc(ctx, stop)
	d := &demo{opts: opts, stdout: stdout, stderr: stderr, log: newProgress(stderr)}
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(stderr, "escrowtrace demo: %v\n", err)
		if errors.As(err, new(usageError)) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}

type demo struct {
	opts           demoOptions
	stdout, stderr io.Writer
	log            *progress
	jaeger         bool // the traces go to a Jaeger: print search URLs

	// With --processes: each worker's service.instance.id → its number,
	// to name the process of the collector's findings; and whether the
	// collector is the user's (OTEL_EXPORTER_OTLP_ENDPOINT).
	instances         map[string]int
	externalCollector bool
}

// result is how one escrow went.
type result struct {
	plan    escrowPlan
	address string
	err     error
	start   time.Time // when SetupMultisig was called
	took    time.Duration
	process int // the worker process that ran it (--processes), from 1
}

func (d *demo) run(ctx context.Context) (err error) {
	o := d.opts
	if o.processes > 0 {
		return d.runProcesses(ctx)
	}
	// Everything that can be checked is checked before any process starts.
	if err := checkBinaries(); err != nil {
		return err
	}
	setupOpts, turnedOn, err := instrumentationSwitch()
	if err != nil {
		return err
	}
	out, err := checkWritableDir(o.out)
	if err != nil {
		return err
	}
	d.log.Printf("demo: %d escrow%s, %s", o.escrows, plural(o.escrows, "s"), layoutLine(o))

	shutdown, err := d.setupTracing(ctx, out, setupOpts, turnedOn)
	if err != nil {
		return err
	}
	shutdownOnce := sync.OnceValue(func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return shutdown(sctx)
	})
	defer func() { _ = shutdownOnce() }()

	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("gave up after --timeout %v", o.timeout))
	defer cancel()

	plans, stopRig, err := d.startRig(ctx, o)
	defer func() { err = errors.Join(err, stopRig()) }()
	if err != nil {
		return err
	}
	results := d.runEscrows(ctx, plans)
	if ctx.Err() != nil {
		return interruption(ctx)
	}

	// Flush: the JSON exporter writes each file when its escrow's root span
	// reaches it, and OTLP sends what is left.
	exportErr := shutdownOnce()
	if serr := stopRig(); serr != nil {
		return serr
	}
	d.jaeger = otlpConfigured()
	err = d.report(out, results, exportErr)
	d.writeRaceReport(out, results)
	return err
}

// usageError is a bad setting found after the flags were parsed.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// interruption says why ctx ended: Ctrl-C, SIGTERM or --timeout.
func interruption(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return errors.New("interrupted")
}

func checkBinaries() error {
	if err := wallettest.CheckBinaries(); err != nil {
		return fmt.Errorf("nothing was started: %w (or: make tools)", err)
	}
	return nil
}

// checkWritableDir creates dir if needed and proves a file can be written
// there, and returns its absolute path.
func checkWritableDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", dir, err)
	}
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("--out %s is not a writable directory (nothing was started): %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(abs, ".escrowtrace-write-check-*")
	if err != nil {
		return fail(err)
	}
	name := f.Name()
	_, werr := f.Write([]byte("ok\n"))
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return fail(err)
	}
	return abs, nil
}

// instrumentationSwitch reads ENABLE_INSTRUMENTATION: unset, the demo turns
// the instrumentation on (said is true); off or garbled, it is a usage
// error, as there would be nothing to show.
func instrumentationSwitch() (opts []otelsetup.Option, said bool, err error) {
	env, set := os.LookupEnv(otelsetup.EnvEnable)
	if !set || strings.TrimSpace(env) == "" {
		return []otelsetup.Option{otelsetup.WithEnabled(true)}, true, nil
	}
	on, err := otelsetup.ParseEnabled(env)
	if err != nil {
		return nil, false, usageError{err}
	}
	if !on {
		// Off means no spans, no files, no snapshot calls.
		return nil, false, usageError{fmt.Errorf("%s=%s turns the instrumentation off, and the demo shows what it records: unset it or set it to 1",
			otelsetup.EnvEnable, env)}
	}
	return nil, false, nil
}

// setupTracing installs the instrumentation with otelsetup.Setup, the files
// going to out.
func (d *demo) setupTracing(ctx context.Context, out string, opts []otelsetup.Option, turnedOn bool) (func(context.Context) error, error) {
	if turnedOn {
		d.log.Printf("%s is unset: the demo turns instrumentation on", otelsetup.EnvEnable)
	}
	if p := plan(ctx); !p.Enabled {
		return nil, usageError{fmt.Errorf("%s=%s turns the instrumentation off, and the demo shows what it records: unset it",
			p.Off, os.Getenv(p.Off))}
	}
	shutdown, err := otelsetup.Setup(ctx, append(opts, otelsetup.WithTraceDir(out))...)
	if err != nil {
		return nil, err
	}
	what := "legacy JSON files in " + out
	if otlpConfigured() {
		what += ", OTLP to " + otlpEndpoint()
	}
	d.log.Printf("instrumentation on: %s", what)
	return shutdown, nil
}

// runEscrows runs every plan at once, saying when they start and how
// each ended.
func (d *demo) runEscrows(ctx context.Context, plans []escrowPlan) []result {
	return runTogether(ctx, plans, setupOptions(d.opts.rpc == layoutShared, d.opts.safe),
		func() {
			d.log.Printf("all wallets ready; starting %d escrow setup%s together", len(plans), plural(len(plans), "s"))
		},
		func(r result) {
			// By id: the summary numbers escrows by start time, as the
			// race report does, which need not be the launch order.
			d.log.Printf("escrow %s after %v: %s", r.plan.id, r.took.Round(time.Millisecond), status(r.err))
		})
}

// setupOptions are SetupMultisig's options for a layout.
func setupOptions(shared, safe bool) []otelmsig.Option {
	var sopts []otelmsig.Option
	if shared {
		sopts = append(sopts, otelmsig.WithSharedEndpoints())
	}
	if safe {
		sopts = append(sopts, otelmsig.WithEndpointLock())
	}
	return sopts
}

func status(err error) string {
	if err != nil {
		return "FAILED: " + oneLine(err.Error())
	}
	return "ok"
}

// runTogether runs every plan at once: all goroutines wait at a barrier and
// start together, so that the escrows really overlap. started is called
// when they are about to start, ended as each escrow ends (from its
// goroutine).
func runTogether(ctx context.Context, plans []escrowPlan, sopts []otelmsig.Option, started func(), ended func(result)) []result {
	results := make([]result, len(plans))
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(len(plans))
	for i, p := range plans {
		done.Go(func() {
			ready.Done()
			<-gate
			start := time.Now()
			addr, err := otelmsig.SetupMultisig(ctx, p.id, p.wallets, sopts...)
			results[i] = result{plan: p, address: addr, err: err, start: start, took: time.Since(start)}
			ended(results[i])
		})
	}
	ready.Wait()
	started()
	close(gate)
	done.Wait()
	return results
}
