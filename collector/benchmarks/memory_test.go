package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/collector/collectortest"
	"github.com/escrowtrace/escrowtrace/collector/internal/escrowspans"
	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// BenchmarkInFlightMemory: what the collector process holds per escrow in
// flight, that is, whose spans arrived but not its root. One recorded
// escrow is sent whole first (the connection, the pipeline and the file
// writer warmed up), then b.N escrows without their root spans (114
// spans each) in batches of 512; the collector's RSS (VmRSS of
// /proc/PID/status) and its Go heap (the collector's own
// otelcol_process_runtime_heap_alloc_bytes) are read before and after,
// and the differences divided by b.N:
//
//   - held=groupbytrace: groupbytrace waits 10 minutes, so the escrows
//     are all in it, as pdata (done when it holds them all);
//   - held=escrowjson: groupbytrace waits 200 ms and has released them
//     all to the escrowjson exporter, which buffers their events until
//     the root comes (done when escrowjson_pending_escrows is b.N and
//     groupbytrace holds none).
//
// Garbage that the collector's Go runtime has not collected yet counts in
// both figures: a collector's heap cannot be collected from outside. gogc=100
// runs the collector as users do (Go's default: the heap grows to twice
// what is live before a collection); gogc=10 runs it with GOGC=10, so that
// at most about a tenth of the heap is garbage and heap-B/escrow comes
// close to what is live. The in-process figure for the exporter alone,
// after a GC, is escrowjsonexporter's BenchmarkBufferedPerEscrow.
//
// After the measurement the collector is stopped, which releases and writes
// everything: the benchmark fails unless the b.N escrows are then in
// _PARTIAL files and nothing was refused, evicted or dropped on the way.
//
// Reports rss-B/escrow and heap-B/escrow (ns/op is not a figure here).
// Run it with -benchtime=1000x: 1,000 escrows in flight at once, about
// 110 MB of input cloned in this process and 320 MB held in groupbytrace.
// Past 4,095 the escrowjson exporter's max_pending_traces (4,096) writes
// the oldest early and the benchmark fails.
func BenchmarkInFlightMemory(b *testing.B) {
	tmpl := escrowspans.Template(b)
	for _, held := range []string{"groupbytrace", "escrowjson"} {
		for _, gogc := range []string{"100", "10"} {
			b.Run("held="+held+"/gogc="+gogc, func(b *testing.B) {
				rssPer, heapPer := inFlightPerEscrow(b, tmpl, held, gogc, b.N)
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(rssPer, "rss-B/escrow")
				b.ReportMetric(heapPer, "heap-B/escrow")
			})
		}
	}
}

// inFlightPerEscrow runs BenchmarkInFlightMemory's measurement with
// inFlight escrows in a collector of its own and returns the growth of its
// RSS and of its Go heap per escrow in flight.
func inFlightPerEscrow(b *testing.B, tmpl []sdktrace.ReadOnlySpan, held, gogc string, inFlight int) (rssPer, heapPer float64) {
	wait := groupWait
	if held == "groupbytrace" {
		wait = 10 * time.Minute
	}
	c := collectortest.Start(b, collectortest.Config{ConfigFile: collectorConfig(b), GroupWait: wait, Env: []string{"GOGC=" + gogc}})
	exp := client(b, c.OTLPGRPC)
	partial := escrowspans.WithoutRoot(tmpl)
	in := batches(partial, 0, inFlight)
	spans := float64(len(tmpl) + inFlight*len(partial))

	send(b, exp, batches(tmpl, uint64(inFlight), 1)) // the warm-up escrow, whole
	if held == "escrowjson" {
		waitFor(b, 10*time.Millisecond, time.Minute, "warm-up escrow", func() (bool, string) {
			got := countFiles(b, c.Dir, "escrow_")
			return got == 1, fmt.Sprintf("%d files", got)
		})
	}
	rss0, heap0 := rss(b, c.PID()), heapAlloc(b, c)
	send(b, exp, in)
	waitFor(b, 10*time.Millisecond, time.Minute, held, func() (bool, string) {
		accepted := metric(b, c, "otelcol_receiver_accepted_spans", nil)
		inGroup := metric(b, c, "otelcol_processor_groupbytrace_num_traces_in_memory", nil)
		pending := metric(b, c, "escrowjson_pending_escrows", nil)
		progress := fmt.Sprintf("%v of %v spans accepted, %v traces in groupbytrace, %v escrows pending in escrowjson", accepted, spans, inGroup, pending)
		if held == "groupbytrace" {
			return accepted == spans && inGroup == float64(inFlight+1), progress
		}
		return accepted == spans && inGroup == 0 && pending == float64(inFlight), progress
	})
	rssPer = (rss(b, c.PID()) - rss0) / float64(inFlight)
	heapPer = (heapAlloc(b, c) - heap0) / float64(inFlight)

	// Nothing lost: the shutdown writes every escrow.
	wantMetrics(b, c, []metricWant{
		{"otelcol_receiver_refused_spans", nil, 0},
		{"otelcol_receiver_failed_spans", nil, 0},
		{"otelcol_processor_groupbytrace_traces_evicted", nil, 0},
		{"escrowjson_dropped_escrows", nil, 0},
		{"escrowjson_dropped_events", nil, 0},
	})
	if err := c.Stop(); err != nil {
		b.Fatal(err)
	}
	partials, _ := filepath.Glob(filepath.Join(c.Dir, "escrow_bench-*_PARTIAL.json"))
	if len(partials) != inFlight {
		b.Fatalf("%d _PARTIAL files after the collector stopped, want %d", len(partials), inFlight)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, escrowjson.FileName(escrowspans.ID(uint64(inFlight)), false))); err != nil {
		b.Fatalf("the warm-up escrow: %v", err)
	}
	return rssPer, heapPer
}

// heapAlloc is the collector's Go heap in bytes
// (otelcol_process_runtime_heap_alloc_bytes, runtime.MemStats.HeapAlloc).
// The collector reads its MemStats at most once a second and serves the
// last reading until then: heapAlloc waits that second out first.
func heapAlloc(b *testing.B, c *collectortest.Instance) float64 {
	time.Sleep(memStatsAge)
	return metric(b, c, "otelcol_process_runtime_heap_alloc_bytes", nil)
}

// memStatsAge is how long the collector keeps serving a MemStats reading
// (go.opentelemetry.io/collector/service/internal/proctelemetry), and a
// little more.
const memStatsAge = 1100 * time.Millisecond
