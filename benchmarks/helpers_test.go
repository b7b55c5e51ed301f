package benchmarks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
)

const (
	// callsPerEscrow is how many RPC calls the enabled benchmarks make in
	// one escrow before starting the next: a 2-of-3 setup makes 12 calls
	// besides its snapshots.
	callsPerEscrow = 12
	// benchService is the service.name of the benchmarks' spans.
	benchService = "escrowtrace-bench"
	// stopTimeout bounds a provider's shutdown, retries to a dead collector
	// included (OTEL_EXPORTER_OTLP_TIMEOUT is set to 5s by enabled).
	stopTimeout = 20 * time.Second
)

var roles = []string{"buyer", "vendor", "arbiter"}

func TestMain(m *testing.M) {
	// The SDK reports export failures (the collector-down benchmark has
	// plenty) through the global error handler, which logs them by default:
	// count them instead, so the benchmark output stays readable and the
	// benchmarks can report them.
	otel.SetErrorHandler(&exportErrors)
	code := m.Run()
	os.Exit(code)
}

// exportErrors counts the errors the SDK hands to the global error handler.
var exportErrors errorCounter

type errorCounter struct {
	n     atomic.Int64
	mu    sync.Mutex
	first error
}

func (c *errorCounter) Handle(err error) {
	if c.n.Add(1) == 1 {
		c.mu.Lock()
		c.first = err
		c.mu.Unlock()
	}
}

func (c *errorCounter) reset() {
	c.mu.Lock()
	c.n.Store(0)
	c.first = nil
	c.mu.Unlock()
}

func (c *errorCounter) get() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n.Load(), c.first
}

// sample is what one run of a sub-benchmark measured, per operation.
type sample struct {
	ns     float64
	allocs float64
}

// stopwatch times the operations of a sub-benchmark and counts, over the
// same windows, the heap allocations (all goroutines, as -benchmem does)
// and the CPU time of this process and of the watched ones (Jaeger,
// wallet-rpc), so that a variant can report its ratio to its baseline and
// where the time went: on 2 cores, CPU spent by an exporter or by Jaeger is
// wall time taken from the calls.
type stopwatch struct {
	b       *testing.B
	mallocs uint64
	cpu     time.Duration // this process, user + system
	others  []*watched
	ms      runtime.MemStats
}

// watched is a set of other processes whose CPU time is reported as
// NAME-cpu-ns/op.
type watched struct {
	name string
	pids []int
	cpu  time.Duration
}

// newStopwatch stops and zeroes the benchmark timer: only what runs
// between start and stop is measured.
func newStopwatch(b *testing.B) *stopwatch {
	b.ReportAllocs()
	b.StopTimer()
	b.ResetTimer()
	return &stopwatch{b: b}
}

// watch adds processes whose CPU time is to be reported as name-cpu-ns/op.
func (w *stopwatch) watch(name string, pids ...int) *stopwatch {
	w.others = append(w.others, &watched{name: name, pids: pids})
	return w
}

func (w *stopwatch) start() {
	for _, o := range w.others {
		o.cpu -= procCPU(o.pids)
	}
	w.cpu -= selfCPU()
	runtime.ReadMemStats(&w.ms)
	w.mallocs -= w.ms.Mallocs
	w.b.StartTimer()
}

func (w *stopwatch) stop() {
	w.b.StopTimer()
	runtime.ReadMemStats(&w.ms)
	w.mallocs += w.ms.Mallocs
	w.cpu += selfCPU()
	for _, o := range w.others {
		o.cpu += procCPU(o.pids)
	}
}

// finish reports the CPU metrics and returns the sample.
func (w *stopwatch) finish() sample {
	n := float64(w.b.N)
	w.b.ReportMetric(float64(w.cpu.Nanoseconds())/n, "cpu-ns/op")
	for _, o := range w.others {
		w.b.ReportMetric(float64(o.cpu.Nanoseconds())/n, o.name+"-cpu-ns/op")
	}
	return sample{ns: float64(w.b.Elapsed().Nanoseconds()) / n, allocs: float64(w.mallocs) / n}
}

// selfCPU is the CPU time (user + system) of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU is the CPU time (user + system) of the processes so far, from
// /proc/PID/stat, in 10 ms ticks; a process that is gone counts 0.
func procCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// The command name, field 2, is in parentheses and may hold
		// spaces; utime and stime are fields 14 and 15.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * clockTick
	}
	return total
}

// baseline holds the last sample of a benchmark's baseline sub-benchmark,
// which runs right before its variants (sub-benchmarks run in order).
// -count=N repeats each sub-benchmark N times back to back, so the ratios
// pair a variant with the last of the baseline's runs; make bench runs
// -count=1 N times instead, which pairs each variant with the baseline run
// right before it.
type baseline struct {
	name string // the baseline's mode, for the metric's unit: x-raw
	s    *sample
}

func (bl *baseline) set(s sample) { bl.s = &s }

// report adds the variant's ratios to the baseline as metrics: x-NAME is
// the time per operation over the baseline's, extra-allocs/op the
// allocations per operation over the baseline's. Nothing is reported when
// the baseline did not run (filtered out with -bench).
func (bl *baseline) report(b *testing.B, s sample) {
	if bl.s == nil || bl.s.ns == 0 {
		return
	}
	b.ReportMetric(s.ns/bl.s.ns, "x-"+bl.name)
	b.ReportMetric(s.allocs-bl.s.allocs, "extra-allocs/op")
}

// disabled installs what otelsetup.Setup installs when ENABLE_INSTRUMENTATION
// is unset, and checks that it is the no-op provider.
func disabled(b *testing.B) {
	b.Helper()
	b.Setenv(otelsetup.EnvEnable, "")
	if err := os.Unsetenv(otelsetup.EnvEnable); err != nil {
		b.Fatal(err)
	}
	shutdown, err := otelsetup.Setup(context.Background())
	if err != nil {
		b.Fatalf("otelsetup.Setup with %s unset: %v", otelsetup.EnvEnable, err)
	}
	b.Cleanup(func() { _ = shutdown(context.Background()) })
	if tp, ok := otel.GetTracerProvider().(noop.TracerProvider); !ok {
		b.Fatalf("otelsetup.Setup with %s unset installed %T, want the no-op provider", otelsetup.EnvEnable, tp)
	}
}

// instrumentation is the provider otelsetup.Setup built and installed.
type instrumentation struct {
	tp       *sdktrace.TracerProvider
	dir      string // ESCROW_TRACE_DIR: the legacy JSON files
	shutdown func(context.Context) error
	stopped  bool
}

// enabled runs otelsetup.Setup with instrumentation on, the legacy JSON
// files in a temporary directory and OTLP/gRPC to otlp (host:port,
// insecure), as an application configured with ENABLE_INSTRUMENTATION=1,
// ESCROW_TRACE_DIR, OTEL_EXPORTER_OTLP_PROTOCOL=grpc and
// OTEL_EXPORTER_OTLP_ENDPOINT=http://otlp would be.
// The provider is shut down, and the no-op provider put back, when the
// (sub-)benchmark ends, unless stop was called.
func enabled(b *testing.B, otlp string) *instrumentation {
	b.Helper()
	in := &instrumentation{dir: b.TempDir()}
	b.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	b.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+otlp)
	b.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
	shutdown, err := otelsetup.Setup(context.Background(),
		otelsetup.WithEnabled(true),
		otelsetup.WithTraceDir(in.dir),
		otelsetup.WithServiceName(benchService))
	if err != nil {
		b.Fatalf("otelsetup.Setup enabled: %v", err)
	}
	in.shutdown = shutdown
	tp, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider)
	if !ok {
		_ = shutdown(context.Background())
		b.Fatalf("otelsetup.Setup enabled installed %T, want the SDK provider", otel.GetTracerProvider())
	}
	in.tp = tp
	exportErrors.reset()
	b.Cleanup(func() { _ = in.stop() })
	return in
}

// flush exports everything the batch processors hold.
func (in *instrumentation) flush(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := in.tp.ForceFlush(ctx); err != nil {
		b.Fatalf("ForceFlush: %v", err)
	}
}

// stop shuts the provider down (flushing the files) and puts the no-op
// provider back.
func (in *instrumentation) stop() error { return in.stopWithin(stopTimeout) }

// stopWithin is stop with a deadline: Setup's provider shuts the JSON
// exporter down first, so a short one only cuts the wait for a dead
// collector.
func (in *instrumentation) stopWithin(d time.Duration) error {
	if in.stopped {
		return nil
	}
	in.stopped = true
	otel.SetTracerProvider(noop.NewTracerProvider())
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return in.shutdown(ctx)
}

// checkFiles checks, after stop, the legacy JSON files against the escrows
// that ran: it returns how many escrows of ids have no complete file (their
// spans were dropped: the SDK's batch processor drops spans when its queue
// of 2048 is full), fails on any other file (a _PARTIAL file is an escrow
// that lost only some spans, counted as lost too), and validates a few of
// the files against the legacy contract. wantEvents > 0 is the event count
// each file must have.
func (in *instrumentation) checkFiles(b *testing.B, ids []string, wantEvents int) (lost int) {
	b.Helper()
	entries, err := os.ReadDir(in.dir)
	if err != nil {
		b.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	var written []string
	for _, id := range ids {
		name := escrowjson.FileName(id, false)
		if !have[name] {
			lost++
			continue
		}
		delete(have, name)
		written = append(written, name)
	}
	for _, id := range ids {
		delete(have, escrowjson.PartialFileName(id))
	}
	if len(have) > 0 {
		var other []string
		for name := range have {
			other = append(other, name)
		}
		b.Fatalf("JSON exporter: unexpected files in %s: %q", in.dir, other[:min(len(other), 5)])
	}
	// Validating every file would cost more than the benchmark; the
	// first, a middle one and the last show the files are whole.
	for _, i := range []int{0, len(written) / 2, len(written) - 1} {
		if i < 0 || i >= len(written) {
			continue
		}
		path := filepath.Join(in.dir, written[i])
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := escrowjson.Validate(data); err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		if wantEvents > 0 {
			evs, err := escrowjson.Load(path)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) != wantEvents {
				b.Fatalf("%s has %d events, want %d", path, len(evs), wantEvents)
			}
		}
	}
	return lost
}

// escrows puts wallet RPC calls inside escrows, as they are in a setup: a
// root span (StartEscrow), a round, the wallet in the context, and a new
// escrow every callsPerEscrow calls.
type escrows struct {
	prefix string
	wallet otelmsig.Wallet
	calls  int
	ids    []string
	esc    *otelmsig.Escrow
	round  *otelmsig.Round
	ctx    context.Context
}

// next returns the context for the next call.
func (e *escrows) next(parent context.Context) context.Context {
	if e.calls%callsPerEscrow == 0 {
		e.end()
		id := e.prefix + strconv.Itoa(len(e.ids))
		ctx, esc := otelmsig.StartEscrow(parent, id)
		ctx, round := esc.StartRound(ctx, 1, "make_multisig")
		e.esc, e.round, e.ctx = esc, round, otelmsig.ContextWithWallet(ctx, e.wallet)
		e.ids = append(e.ids, id)
	}
	e.calls++
	return e.ctx
}

// end ends the current escrow, if any.
func (e *escrows) end() {
	if e.esc != nil {
		e.round.End(nil)
		e.esc.End(nil)
		e.esc, e.round, e.ctx = nil, nil, nil
	}
}
