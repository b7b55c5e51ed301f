package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/otelsetup"
)

// The demo with --processes N: the escrows run in N worker processes (this
// program again, see worker.go), each with its own SDK exporting OTLP to an
// escrowtrace collector, which writes the legacy files into --out. The
// demo starts the wallet-rpcs and the collector, hands each worker its
// escrows, starts them all together, waits for the workers and then for
// the collector's files, stops what it started and reports from the files,
// as without --processes.

const (
	// filesWait bounds the wait for the collector's files after the last
	// worker ended: groupbytrace holds each trace for its wait (2 s in the
	// demo's collector, 5 s in the shipped config) before the exporter
	// writes it.
	filesWait = 30 * time.Second
	// workerStopTimeout bounds a worker's exit once told to stop: its SDK's
	// shutdown takes up to shutdownTimeout.
	workerStopTimeout = shutdownTimeout + 15*time.Second
)

// envResourceAttributes is the SDK's variable for resource attributes,
// key=value pairs separated by commas.
const envResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"

// sink is where the workers' traces go.
type sink struct {
	// external is the OTLP endpoint (URL and protocol) of a collector the
	// user runs, from OTEL_EXPORTER_OTLP_*; "" when the demo runs its own.
	external string
	bin      string // the demo's own collector's binary
	// jaeger is where the demo's own collector exports (host:port), ""
	// for nowhere; jaegerWhy says how it was chosen.
	jaeger, jaegerWhy string
}

// planSink decides, before anything starts, where the traces go: the
// collector OTEL_EXPORTER_OTLP_ENDPOINT names, which must answer, or one
// the demo starts, which must be there.
func planSink(ctx context.Context) (sink, error) {
	p, err := otelsetup.PlanSetup(ctx, otelsetup.WithEnabled(true), otelsetup.WithoutFiles())
	if err != nil {
		return sink{}, err
	}
	if !p.Enabled {
		return sink{}, usageError{fmt.Errorf("%s=%s turns the instrumentation off, and the demo shows what it records: unset it",
			p.Off, os.Getenv(p.Off))}
	}
	if p.OTLP() {
		if err := reachable(ctx, p.OTLPEndpoint); err != nil {
			return sink{}, fmt.Errorf("nothing was started: no collector answers at %s (OTEL_EXPORTER_OTLP_*): %w; "+
				"start one (bin/%s --config=file:deploy/collector/config.yaml), or unset OTEL_EXPORTER_OTLP_ENDPOINT and the demo starts its own",
				p.OTLPEndpoint, err, collectorName)
		}
		return sink{external: p.OTLPEndpoint + " over " + p.OTLPProtocol}, nil
	}
	if v := os.Getenv("OTEL_TRACES_EXPORTER"); v != "" {
		return sink{}, usageError{fmt.Errorf("--processes sends every process's traces to a collector over OTLP, and OTEL_TRACES_EXPORTER=%s would not: unset it", v)}
	}
	bin, err := findCollector()
	if err != nil {
		return sink{}, err
	}
	s := sink{bin: bin}
	s.jaeger, s.jaegerWhy = collectorJaeger(ctx)
	return s, nil
}

// workerEnv is the environment of the worker processes: the demo's, with
// instrumentation on and, with the demo's own collector, OTLP/HTTP to it.
func (s sink) workerEnv(col *ownCollector) []string {
	drop := map[string]bool{otelsetup.EnvEnable: true}
	if col != nil {
		for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
			"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
			drop[k] = true
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			env = append(env, kv)
		}
	}
	env = append(env, otelsetup.EnvEnable+"=1")
	if col != nil {
		env = append(env, "OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+col.OTLPHTTP)
	}
	return env
}

func (d *demo) runProcesses(ctx context.Context) (err error) {
	o := d.opts
	// Everything that can be checked is checked before any process starts.
	if err := checkBinaries(); err != nil {
		return err
	}
	if _, _, err := instrumentationSwitch(); err != nil {
		return err
	}
	out, err := checkWritableDir(o.out)
	if err != nil {
		return err
	}
	s, err := planSink(ctx)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	d.log.Printf("demo: %d escrow%s in %d processes, %s", o.escrows, plural(o.escrows, "s"), o.processes, layoutLine(o))

	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("gave up after --timeout %v", o.timeout))
	defer cancel()

	var col *ownCollector
	if s.external == "" {
		start := time.Now()
		if col, err = startCollector(ctx, s.bin, out, s.jaeger); err != nil {
			return err
		}
		defer func() {
			if serr := col.Stop(); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
		to := "no Jaeger (none answers at " + localJaegerOTLP + "; make jaeger-run, or set " + envCollectorJaeger + ")"
		if s.jaeger != "" {
			to = "Jaeger at " + s.jaeger + " (" + s.jaegerWhy + ")"
		}
		d.log.Printf("%s pid %d up in %v: OTLP/HTTP on %s, legacy files into %s, traces to %s",
			collectorName, col.PID(), since(start), col.OTLPHTTP, out, to)
		d.jaeger = s.jaeger != ""
	} else {
		d.log.Printf("collector: %s, from OTEL_EXPORTER_OTLP_*; its escrowjson exporter must write into --out %s", s.external, out)
		d.jaeger = true
		d.externalCollector = true
	}
	d.log.Printf("instrumentation on in each process: OTLP to the collector, no files of their own (otelsetup.WithoutFiles)")

	plans, stopRig, err := d.startRig(ctx, o)
	defer func() { err = errors.Join(err, stopRig()) }()
	if err != nil {
		return err
	}

	ws, err := d.startWorkers(ctx, exe, s.workerEnv(col), plans)
	defer stopWorkers(ws)
	d.instances = map[string]int{}
	for _, w := range ws {
		d.instances[w.instance] = w.n
	}
	if err != nil {
		if ctx.Err() != nil {
			return interruption(ctx)
		}
		return err
	}
	results, exportErr, workerErr := d.runWorkers(ctx, ws)
	if ctx.Err() != nil {
		return interruption(ctx)
	}
	if serr := stopRig(); serr != nil {
		return serr
	}

	hint := ""
	if s.external != "" {
		hint = fmt.Sprintf(": is the collector at %s an escrowtrace collector writing into --out?", s.external)
	}
	d.awaitFiles(ctx, out, results, hint)
	var colErr error
	if col != nil {
		start := time.Now()
		// It writes what it still holds: the escrows of a process that
		// died, as _PARTIAL.
		if colErr = col.Stop(); colErr == nil {
			d.log.Printf("stopped %s pid %d in %v", collectorName, col.PID(), since(start))
		}
	}
	err = d.report(out, results, exportErr)
	d.writeRaceReport(out, results)
	return errors.Join(err, workerErr, colErr)
}

// layoutLine describes the wallet-rpc layout for the first progress line.
func layoutLine(o demoOptions) string {
	if o.rpc != layoutShared {
		return "one monero-wallet-rpc per role per escrow (--rpc dedicated)"
	}
	l := "one monero-wallet-rpc per role shared by all escrows (--rpc shared)"
	switch {
	case o.safe && o.processes > 1:
		l += ", per-endpoint lock on in each process (--safe; it does not hold across processes)"
	case o.safe:
		l += ", per-endpoint lock on (--safe)"
	default:
		l += ", no lock"
	}
	return l
}

// workerProc is one worker process.
type workerProc struct {
	n     int // 1..--processes
	plans []escrowPlan
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// instance is its service.instance.id, which the demo gives it, so
	// that the collector's findings name the process.
	instance string

	ready  chan struct{} // closed at its {"ready":true}
	exited chan struct{} // closed once its output is read and it is reaped

	// Set by its readers, read after exited closes.
	results   map[string]result
	done      bool   // it sent {"done":true}
	exportErr string // what its SDK did not export
	protoErr  error  // stdout that did not follow the protocol
	waitErr   error
}

func (w *workerProc) String() string {
	return fmt.Sprintf("process %d (pid %d)", w.n, w.cmd.Process.Pid)
}

// startWorkers starts one worker per share of the plans and hands each its
// job. The workers started are returned even with an error, to be stopped.
func (d *demo) startWorkers(ctx context.Context, exe string, env []string, plans []escrowPlan) ([]*workerProc, error) {
	n := d.opts.processes
	var ws []*workerProc
	for k := range n {
		w := &workerProc{n: k + 1, plans: plans[k*len(plans)/n : (k+1)*len(plans)/n],
			ready: make(chan struct{}), exited: make(chan struct{}), results: map[string]result{}}
		if err := d.startWorker(exe, env, w); err != nil {
			return ws, err
		}
		ws = append(ws, w)
		ids := make([]string, len(w.plans))
		for i, p := range w.plans {
			ids[i] = p.id
		}
		d.log.Printf("%v started: escrow%s %s", w, plural(len(ids), "s"), strings.Join(ids, ", "))
	}
	for _, w := range ws {
		select {
		case <-w.ready:
		case <-w.exited:
			return ws, fmt.Errorf("%v exited before it was ready (%v)", w, w.waitErr)
		case <-ctx.Done():
			return ws, context.Cause(ctx)
		}
	}
	return ws, nil
}

func (d *demo) startWorker(exe string, env []string, w *workerProc) error {
	w.cmd = exec.Command(exe, workerCommand)
	// Its own service.instance.id, after any the environment gives: the
	// last value of a key wins, and two workers must never share one.
	w.instance = uuid.NewString()
	attrs := "service.instance.id=" + w.instance
	if v := os.Getenv(envResourceAttributes); v != "" {
		attrs = v + "," + attrs
	}
	w.cmd.Env = append(slices.Clip(env), envResourceAttributes+"="+attrs)
	// Killed if the demo dies; a Ctrl-C reaches it with the demo (one
	// process group), and the demo also closes its stdin.
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		return err
	}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := w.cmd.Start(); err != nil {
		return fmt.Errorf("start worker process %d (%s %s): %w", w.n, exe, workerCommand, err)
	}
	var readers sync.WaitGroup
	readers.Go(func() { d.readWorker(w, stdout) })
	readers.Go(func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.log.Printf("%v: %s", w, oneLine(sc.Text()))
		}
		_, _ = io.Copy(io.Discard, stderr)
	})
	go func() {
		readers.Wait()
		w.waitErr = w.cmd.Wait()
		close(w.exited)
	}()

	job := workerJob{Process: w.n, Shared: d.opts.rpc == layoutShared, Safe: d.opts.safe}
	for _, p := range w.plans {
		e := workerEscrow{ID: p.id}
		for i, wl := range p.wallets {
			e.Wallets = append(e.Wallets, workerWallet{Role: wl.Role, ID: wl.ID, Filename: wl.Filename, Path: wl.Path, URL: p.urls[i]})
		}
		job.Escrows = append(job.Escrows, e)
	}
	// A worker that died already shows in exited.
	_ = json.NewEncoder(w.stdin).Encode(job)
	return nil
}

// readWorker reads a worker's messages until it closes its stdout.
func (d *demo) readWorker(w *workerProc, stdout io.Reader) {
	plans := map[string]escrowPlan{}
	for _, p := range w.plans {
		plans[p.id] = p
	}
	dec := json.NewDecoder(stdout)
	for {
		var m workerMsg
		if err := dec.Decode(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				w.protoErr = fmt.Errorf("%v: unreadable output: %w", w, err)
				_, _ = io.Copy(io.Discard, stdout)
			}
			return
		}
		switch {
		case m.Ready:
			select {
			case <-w.ready: // said twice
			default:
				close(w.ready)
			}
		case m.Result != nil:
			p, ok := plans[m.Result.ID]
			if !ok {
				w.protoErr = fmt.Errorf("%v: a result for escrow %q, which it was not given", w, m.Result.ID)
				continue
			}
			r := result{plan: p, address: m.Result.Address, err: m.Result.err(), start: m.Result.Start, took: m.Result.Took, process: w.n}
			w.results[p.id] = r
			d.log.Printf("escrow %s after %v: %s, in %v", p.id, r.took.Round(time.Millisecond), status(r.err), w)
		case m.Done:
			w.done, w.exportErr = true, m.ExportError
		}
	}
}

// runWorkers starts every worker's escrows together and waits for the
// workers to exit. It returns every escrow's result (an escrow whose
// process died without a result is a *lostError), what the workers' SDKs
// did not export, and what went wrong with the workers themselves.
func (d *demo) runWorkers(ctx context.Context, ws []*workerProc) (results []result, exportErr, workerErr error) {
	total := 0
	for _, w := range ws {
		total += len(w.plans)
	}
	d.log.Printf("all %d processes ready; starting %d escrow setup%s together", len(ws), total, plural(total, "s"))
	started := time.Now()
	for _, w := range ws {
		// A worker that died already shows when it is waited for.
		_ = json.NewEncoder(w.stdin).Encode(workerStart{Start: true})
	}
	ended := make([]time.Duration, len(ws))
	for i, w := range ws {
		select {
		case <-w.exited:
			ended[i] = time.Since(started)
		case <-ctx.Done():
			return nil, nil, context.Cause(ctx)
		}
	}
	var exportErrs, workerErrs []error
	for i, w := range ws {
		for _, p := range w.plans {
			r, ok := w.results[p.id]
			if !ok {
				// At most as long as its process ran (for the Jaeger URL).
				r = result{plan: p, process: w.n, start: started, took: ended[i],
					err: &lostError{process: w.n, pid: w.cmd.Process.Pid, how: exitText(w.waitErr)}}
			}
			results = append(results, r)
		}
		if w.exportErr != "" {
			exportErrs = append(exportErrs, fmt.Errorf("%v: %s", w, w.exportErr))
		}
		switch {
		case w.waitErr != nil:
			workerErrs = append(workerErrs, fmt.Errorf("%v %s", w, exitText(w.waitErr)))
			d.log.Printf("%v %s", w, exitText(w.waitErr))
		case !w.done:
			workerErrs = append(workerErrs, fmt.Errorf("%v exited without reporting its export", w))
		}
		if w.protoErr != nil {
			workerErrs = append(workerErrs, w.protoErr)
		}
	}
	return results, errors.Join(exportErrs...), errors.Join(workerErrs...)
}

// exitText says how a worker ended: "died (signal: killed)", "exited
// (exit status 1)".
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && !ee.Exited() {
		return "died (" + err.Error() + ")"
	}
	return "exited (" + fmt.Sprint(err) + ")"
}

// stopWorkers tells the workers still running to stop (the end of their
// stdin cancels their escrows; their SDK exports what it has), waits for
// them, and kills those that do not exit in time.
func stopWorkers(ws []*workerProc) {
	for _, w := range ws {
		_ = w.stdin.Close()
	}
	deadline := time.After(workerStopTimeout)
	for _, w := range ws {
		select {
		case <-w.exited:
		case <-deadline:
			_ = w.cmd.Process.Kill()
			<-w.exited
		}
	}
}

// lostError is the error of an escrow whose worker process ended before
// reporting it: what it exported is in the collector's _PARTIAL file.
type lostError struct {
	process, pid int
	how          string // "died (signal: killed)"
}

func (e *lostError) Error() string {
	return fmt.Sprintf("process %d (pid %d) %s before the escrow ended", e.process, e.pid, e.how)
}

// awaitFiles waits, at most filesWait, until the collector has written the
// file of every escrow whose process reported it ended: its root span was
// exported, and the collector writes the file once groupbytrace releases
// it. The escrows of a process that died have no root; their _PARTIAL
// files come when the collector stops.
// hint follows the line that says files are missing.
func (d *demo) awaitFiles(ctx context.Context, dir string, results []result, hint string) {
	var ids []string
	for _, r := range results {
		if !errors.As(r.err, new(*lostError)) {
			ids = append(ids, r.plan.id)
		}
	}
	if len(ids) == 0 {
		return
	}
	start := time.Now()
	d.log.Printf("waiting for the collector to write %d file%s into %s", len(ids), plural(len(ids), "s"), dir)
	deadline := time.After(filesWait)
	for {
		missing := 0
		for _, id := range ids {
			if !hasFinalFile(dir, id) {
				missing++
			}
		}
		if missing == 0 {
			d.log.Printf("the collector wrote %d file%s in %v", len(ids), plural(len(ids), "s"), since(start))
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			d.log.Printf("after %v, %d of %d files are still missing%s", filesWait, missing, len(ids), hint)
			return
		case <-ctx.Done():
			return
		}
	}
}

func hasFinalFile(dir, id string) bool {
	for _, failed := range []bool{false, true} {
		if _, err := os.Stat(filepath.Join(dir, escrowjson.FileName(id, failed))); err == nil {
			return true
		}
	}
	return false
}
