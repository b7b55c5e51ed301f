package escrowjsonexporter

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/collector/internal/escrowspans"
	"github.com/escrowtrace/escrowtrace/exporter/assembly"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

// The two front ends of package assembly side by side, in this process,
// on the same escrows: exporter/jsonfile's ExportSpans takes the SDK's
// spans, this exporter's ConsumeTraces takes pdata (what the OTLP receiver
// decoded). Whatever differs between mode=sdk and mode=pdata is the front
// end: the assembly, the JSON and the files are the same code. The
// end-to-end figures, through the built collector, are in
// collector/benchmarks.

// frontEnd feeds one batch of spans to an exporter; prepare turns the
// batch into the front end's input, outside the timer.
type frontEnd struct {
	prepare func(tb testing.TB, batch []sdktrace.ReadOnlySpan) any
	push    func(ctx context.Context, in any) error
	pending func(tb testing.TB) int
	close   func(ctx context.Context) error
}

// newFrontEnd starts an exporter of the mode's kind writing into dir:
// "sdk" is exporter/jsonfile, "pdata" this exporter through its factory.
// Both without fsync and without the late-span grace (the comparison is of
// the front ends, not of the disk), and with room for maxPending escrows
// in flight (0: the default, 4,096).
func newFrontEnd(tb testing.TB, mode, dir string, maxPending int) frontEnd {
	tb.Helper()
	maxPending = max(maxPending, assembly.DefaultConfig().MaxPendingTraces)
	switch mode {
	case "sdk":
		exp, err := jsonfile.New(jsonfile.WithDir(dir), jsonfile.WithSync(false), jsonfile.WithLateSpanGrace(0),
			jsonfile.WithMaxPendingTraces(maxPending))
		if err != nil {
			tb.Fatal(err)
		}
		return frontEnd{
			prepare: func(_ testing.TB, batch []sdktrace.ReadOnlySpan) any { return batch },
			push:    func(ctx context.Context, in any) error { return exp.ExportSpans(ctx, in.([]sdktrace.ReadOnlySpan)) },
			pending: func(testing.TB) int { return exp.Stats().Pending },
			close:   exp.Shutdown,
		}
	case "pdata":
		tel := componenttest.NewTelemetry()
		exp := benchExporter(tb, dir, tel, maxPending)
		return frontEnd{
			prepare: func(tb testing.TB, batch []sdktrace.ReadOnlySpan) any {
				td, err := escrowspans.Traces(batch)
				if err != nil {
					tb.Fatal(err)
				}
				return td
			},
			push:    func(ctx context.Context, in any) error { return exp.ConsumeTraces(ctx, in.(ptrace.Traces)) },
			pending: func(tb testing.TB) int { return int(gaugeValue(tb, tel, "escrowjson.pending_escrows")) },
			close: func(ctx context.Context) error {
				err := exp.Shutdown(ctx)
				_ = tel.Shutdown(ctx)
				return err
			},
		}
	}
	tb.Fatalf("unknown mode %q", mode)
	return frontEnd{}
}

// benchExporter is the escrowjson exporter, through its factory and
// started, with the settings of newFrontEnd; its flush loop does not run
// during a benchmark.
func benchExporter(tb testing.TB, dir string, tel *componenttest.Telemetry, maxPending int) exporter.Traces {
	tb.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.Sync = false
	cfg.LateSpanGrace = 0
	cfg.FlushInterval = time.Hour
	cfg.MaxPendingTraces = maxPending
	set := exportertest.NewNopSettings(Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	exp, err := f.CreateTraces(context.Background(), set, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	return exp
}

func gaugeValue(tb testing.TB, tel *componenttest.Telemetry, name string) int64 {
	tb.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		tb.Fatal(err)
	}
	g, ok := m.Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) != 1 {
		tb.Fatalf("%s: %T %+v", name, m.Data, m.Data)
	}
	return g.DataPoints[0].Value
}

// batchesOf cuts spans into the SDK batch processor's batches.
func batchesOf(spans []sdktrace.ReadOnlySpan) [][]sdktrace.ReadOnlySpan {
	return slices.Collect(slices.Chunk(spans, escrowspans.BatchSize))
}

// BenchmarkFrontEnds: whole escrows (115 spans, 45 events each) in
// batches of 512 spans into exporter/jsonfile (mode=sdk, SDK spans) and
// into this exporter's ConsumeTraces (mode=pdata, the same spans as
// pdata), files written without fsync. An op is one escrow; mode=pdata
// also reports x-sdk, its ns/op over mode=sdk's in the same run.
func BenchmarkFrontEnds(b *testing.B) {
	tmpl := escrowspans.Template(b)
	var sdkNs float64
	for _, mode := range []string{"sdk", "pdata"} {
		b.Run("mode="+mode, func(b *testing.B) {
			dir := b.TempDir()
			fe := newFrontEnd(b, mode, dir, 0)
			ctx := context.Background()
			const chunk = 64 // escrows prepared at a time, outside the timer
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				b.StopTimer()
				n := min(chunk, b.N-done)
				var spans []sdktrace.ReadOnlySpan
				for i := range n {
					spans = append(spans, escrowspans.Clone(tmpl, uint64(done+i))...)
				}
				var ins []any
				for _, batch := range batchesOf(spans) {
					ins = append(ins, fe.prepare(b, batch))
				}
				// The garbage of the preparation (much more for pdata,
				// which goes through protobuf) is collected here, not
				// charged to the mode in the GC work of the timed part.
				runtime.GC()
				b.StartTimer()
				for _, in := range ins {
					if err := fe.push(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				done += n
			}
			b.StopTimer()
			if err := fe.close(ctx); err != nil {
				b.Fatal(err)
			}
			if got := countFiles(b, dir, "escrow_"); got != b.N {
				b.Fatalf("%d files for %d escrows", got, b.N)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "escrows/s")
			switch mode {
			case "sdk":
				sdkNs = ns
			case "pdata":
				if sdkNs > 0 {
					b.ReportMetric(ns/sdkNs, "x-sdk")
				}
			}
		})
	}
}

// BenchmarkFromPdata: the pdata front end's own work for one escrow, the
// conversion of its 115 spans to assembly.Span, alone.
func BenchmarkFromPdata(b *testing.B) {
	td, err := escrowspans.Traces(escrowspans.Clone(escrowspans.Template(b), 0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n += len(fromPdata(td))
	}
	if n != b.N*td.SpanCount() {
		b.Fatalf("%d spans converted, want %d", n, b.N*td.SpanCount())
	}
}

// bufferedPerEscrow returns the heap bytes a front end keeps per escrow in
// flight: k escrows whose spans all arrived but the root, fed in batches
// of 512. The input is made after the first measurement and dropped before
// the second, so a front end that keeps parts of its input alive (strings
// of a decoded request) is charged for them.
func bufferedPerEscrow(tb testing.TB, mode string, k int) float64 {
	tmpl := escrowspans.WithoutRoot(escrowspans.Template(tb))
	dir := tb.TempDir()
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	fe := newFrontEnd(tb, mode, dir, k)
	var spans []sdktrace.ReadOnlySpan
	for i := range k {
		spans = append(spans, escrowspans.Clone(tmpl, uint64(i))...)
	}
	var ins []any
	for _, batch := range batchesOf(spans) {
		ins = append(ins, fe.prepare(tb, batch))
	}
	spans = nil
	for i, in := range ins {
		if err := fe.push(ctx, in); err != nil {
			tb.Fatal(err)
		}
		ins[i] = nil
	}
	ins = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := fe.pending(tb); got != k {
		tb.Fatalf("%d escrows pending, want %d", got, k)
	}
	if err := fe.close(ctx); err != nil {
		tb.Fatal(err)
	}
	if got := countFiles(tb, dir, "escrow_"); got != k {
		tb.Fatalf("%d _PARTIAL files after shutdown, want %d", got, k)
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(k)
}

// BenchmarkBufferedPerEscrow: heap held per in-flight escrow by
// exporter/jsonfile (mode=sdk) and by this exporter (mode=pdata), in this
// process, with b.N escrows in flight (without their roots) at once: run
// it with -benchtime=1000x. Reports B/escrow (ns/op is not a figure here).
func BenchmarkBufferedPerEscrow(b *testing.B) {
	for _, mode := range []string{"sdk", "pdata"} {
		b.Run("mode="+mode, func(b *testing.B) {
			per := bufferedPerEscrow(b, mode, b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(per, "B/escrow")
		})
	}
}

// countFiles counts the entries of dir whose names start with prefix.
func countFiles(tb testing.TB, dir, prefix string) int {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			n++
		}
	}
	return n
}
