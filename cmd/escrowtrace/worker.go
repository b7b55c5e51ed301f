package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// A worker process of `escrowtrace demo --processes N` is this program run
// again as `escrowtrace demo-worker`, a subcommand not in the usage. It
// sets up its own SDK with otelsetup.Setup from the environment the demo
// gives it (OTLP to the collector, WithoutFiles: the collector writes the
// files; a service.instance.id the demo chose, in OTEL_RESOURCE_ATTRIBUTES,
// by which the demo names the process in the collector's findings), runs
// the escrows it is given on the demo's wallet-rpcs with the usual
// instrumentation (in-process pollution detection included), and reports
// back. It talks to the demo over its standard streams, one JSON
// value per line:
//
//	stdin   a workerJob; then a workerStart once every worker is ready, so
//	        that the escrows of all processes start together. The end of
//	        stdin (the demo stopping, or gone) cancels the escrows.
//	stdout  workerMsg values: {"ready":true}; a "result" per escrow as it
//	        ends; {"done":true,"export_error":...} after the SDK's
//	        shutdown said what it could not export.
//	stderr  text (errors, the SDK's export errors), which the demo prints
//	        prefixed with the process number and pid.
const workerCommand = "demo-worker"

// envCrash makes a worker die mid-escrow, to show (and test) what a server
// process that crashes leaves: "P:METHOD" has worker process P, once its
// first METHOD call (a wallet RPC method, e.g. make_multisig) has
// returned, export the spans it has and kill itself with SIGKILL, as the
// OOM killer would. Its escrows' roots never reach the collector, which
// writes them as _PARTIAL when it stops.
const envCrash = "ESCROWTRACE_DEMO_CRASH"

// workerJob is what one worker runs.
type workerJob struct {
	Process int            `json:"process"` // 1..N
	Shared  bool           `json:"shared"`  // --rpc shared: otelmsig.WithSharedEndpoints
	Safe    bool           `json:"safe"`    // --safe: otelmsig.WithEndpointLock
	Escrows []workerEscrow `json:"escrows"`
}

type workerEscrow struct {
	ID      string         `json:"id"`
	Wallets []workerWallet `json:"wallets"` // buyer, vendor, arbiter
}

type workerWallet struct {
	Role     string `json:"role"`
	ID       string `json:"id"`
	Filename string `json:"filename"`
	Path     string `json:"path"`
	URL      string `json:"url"` // its wallet-rpc
}

type workerStart struct {
	Start bool `json:"start"`
}

// workerMsg is one line a worker writes on stdout.
type workerMsg struct {
	Ready       bool          `json:"ready,omitempty"`
	Result      *workerResult `json:"result,omitempty"`
	Done        bool          `json:"done,omitempty"`
	ExportError string        `json:"export_error,omitempty"` // with Done: what the SDK did not export
}

// workerResult is how one escrow ended.
type workerResult struct {
	ID      string        `json:"id"`
	Address string        `json:"address,omitempty"`
	Error   string        `json:"error,omitempty"`
	Step    *workerStep   `json:"step,omitempty"` // when Error is an *otelmsig.StepError
	Start   time.Time     `json:"start"`
	Took    time.Duration `json:"took_ns"`
}

type workerStep struct {
	Round     int    `json:"round"`
	Operation string `json:"operation"`
	Role      string `json:"role"`
	WalletID  string `json:"wallet_id"`
	Err       string `json:"err"`
}

func newWorkerResult(r result) *workerResult {
	w := &workerResult{ID: r.plan.id, Address: r.address, Start: r.start, Took: r.took}
	if r.err != nil {
		w.Error = r.err.Error()
		var se *otelmsig.StepError
		if errors.As(r.err, &se) {
			w.Step = &workerStep{Round: se.Round, Operation: se.Operation, Role: se.Role, WalletID: se.WalletID, Err: fmt.Sprint(se.Err)}
		}
	}
	return w
}

// err is the escrow's error as the demo reports it: a StepError again when
// it was one.
func (w *workerResult) err() error {
	switch {
	case w.Error == "":
		return nil
	case w.Step != nil:
		return &otelmsig.StepError{EscrowID: w.ID, Round: w.Step.Round, Operation: w.Step.Operation,
			Role: w.Step.Role, WalletID: w.Step.WalletID, Err: errors.New(w.Step.Err)}
	}
	return errors.New(w.Error)
}

// demoWorkerCmd runs a worker process; the exit status is 0 when it ran
// its escrows, whatever their outcome.
func demoWorkerCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "escrowtrace %s: run by `escrowtrace demo --processes N`, with no arguments\n", workerCommand)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := &worker{enc: json.NewEncoder(stdout)}
	if err := w.run(ctx, stdin); err != nil {
		fmt.Fprintln(stderr, oneLine(err.Error()))
		return exitFailure
	}
	return exitOK
}

type worker struct {
	mu  sync.Mutex // serialises enc
	enc *json.Encoder
}

func (w *worker) send(m workerMsg) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(m)
}

func (w *worker) run(ctx context.Context, stdin io.Reader) error {
	dec := json.NewDecoder(stdin)
	var job workerJob
	if err := dec.Decode(&job); err != nil {
		return fmt.Errorf("reading the job from the demo: %w", err)
	}
	opts := []otelsetup.Option{otelsetup.WithEnabled(true), otelsetup.WithoutFiles()}
	if p, err := otelsetup.PlanSetup(ctx, opts...); err != nil {
		return err
	} else if !p.OTLP() {
		return errors.New("no OTLP export configured: the demo gives its workers OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	crash, err := crashHook(job.Process)
	if err != nil {
		return err
	}
	shutdown, err := otelsetup.Setup(ctx, opts...)
	if err != nil {
		return err
	}
	plans, err := job.plans(crash)
	if err == nil {
		err = w.send(workerMsg{Ready: true})
	}
	if err == nil {
		var start workerStart
		if err = dec.Decode(&start); err != nil || !start.Start {
			err = fmt.Errorf("the demo stopped before the escrows started (%v)", err)
		}
	}
	if err != nil {
		return errors.Join(err, shutdown(context.Background()))
	}

	// The demo keeps stdin open while it waits for this process; its end
	// means the demo is stopping.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		_, _ = io.Copy(io.Discard, io.MultiReader(dec.Buffered(), stdin))
		cancel(errors.New("the demo stopped this process"))
	}()

	var sendErr error
	var sendOnce sync.Once
	runTogether(ctx, plans, setupOptions(job.Shared, job.Safe), func() {}, func(r result) {
		if err := w.send(workerMsg{Result: newWorkerResult(r)}); err != nil {
			sendOnce.Do(func() { sendErr = err })
		}
	})

	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer scancel()
	done := workerMsg{Done: true}
	if err := shutdown(sctx); err != nil {
		done.ExportError = err.Error()
	}
	return errors.Join(sendErr, w.send(done))
}

// plans makes the job's escrows ready to run: a traced client per wallet.
func (j workerJob) plans(crash walletrpc.Option) ([]escrowPlan, error) {
	// The crash hook wraps the tracing middleware, so that the call's span
	// has ended when it runs.
	copts := []walletrpc.Option{otelmsig.WithTracing()}
	if crash != nil {
		copts = append([]walletrpc.Option{crash}, copts...)
	}
	plans := make([]escrowPlan, len(j.Escrows))
	for i, e := range j.Escrows {
		plans[i] = escrowPlan{id: e.ID}
		for _, wl := range e.Wallets {
			c, err := walletrpc.New(wl.URL, copts...)
			if err != nil {
				return nil, err
			}
			plans[i].wallets = append(plans[i].wallets, otelmsig.Wallet{
				Role: wl.Role, ID: wl.ID, Filename: wl.Filename, Path: wl.Path, Client: c,
			})
			plans[i].urls = append(plans[i].urls, wl.URL)
		}
	}
	return plans, nil
}

// crashHook reads ESCROWTRACE_DEMO_CRASH and returns the middleware that
// kills this process, when it names this process, else nil.
func crashHook(process int) (walletrpc.Option, error) {
	v := os.Getenv(envCrash)
	if v == "" {
		return nil, nil
	}
	p, method, ok := strings.Cut(v, ":")
	n, err := strconv.Atoi(p)
	if !ok || err != nil || n < 1 || method == "" {
		return nil, fmt.Errorf("%s=%q: want PROCESS:METHOD, e.g. 2:make_multisig", envCrash, v)
	}
	if n != process {
		return nil, nil
	}
	var once sync.Once
	return walletrpc.WithMiddleware(func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			err := next(ctx, req)
			if req.Method == method {
				once.Do(func() {
					fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					if tp, ok := otel.GetTracerProvider().(interface{ ForceFlush(context.Context) error }); ok {
						_ = tp.ForceFlush(fctx)
					}
					fmt.Fprintf(os.Stderr, "%s=%s: killing this process after %s\n", envCrash, v, method)
					_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					time.Sleep(time.Minute) // the signal lands first
				})
			}
			return err
		}
	}), nil
}
