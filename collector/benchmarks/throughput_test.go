package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/collector/collectortest"
	"github.com/escrowtrace/escrowtrace/collector/internal/escrowspans"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
)

// groupWait is groupbytrace's wait_duration in the throughput benchmark:
// short, so that the end-to-end time is the collector's work and not its
// waiting, but longer than a batch takes to arrive, so that each escrow is
// released whole.
const groupWait = 200 * time.Millisecond

// target is where the client sends: Jaeger or the collector, started for
// one run of a sub-benchmark.
type target struct {
	endpoint string
	pid      int
	// done reports whether everything sent has been stored (Jaeger) or
	// written into files (the collector), and how far it got.
	done func() (bool, string)
	// check fails the benchmark for anything lost, after the clock stops.
	check func()
}

// BenchmarkThroughput: b.N recorded escrows (115 spans each) sent by one
// OTLP/gRPC client in batches of 512 spans, one batch after the other as
// the SDK's batch span processor sends them, over loopback to
//
//   - mode=jaeger, the anchor: Jaeger v2 (bin/jaeger) with memory storage,
//     which stores a batch before it answers; done when the last escrow's
//     trace is complete in Jaeger's query API;
//   - mode=collector: the built escrowtrace-collector with the shipped
//     config cut to OTLP receiver → groupbytrace (wait 200 ms) → batch →
//     escrowjson, files fsync'ed into a temporary directory; done when all
//     b.N escrow files are written.
//
// An op is one escrow, from the first export to done. It reports spans/s
// and escrows/s (end to end), send-spans/s (until the client's last export
// returned), tail-ms (from then until done), target-cpu-ns/op (the target
// process's CPU) and cpu-ns/op (this process: the client's encoding and
// the polling); mode=collector also x-jaeger, its ns/op over mode=jaeger's
// in the same run. After the clock stops it fails on anything lost: every
// escrow's trace in Jaeger with all its spans; every span accepted by the
// collector's receiver and sent by the exporter, none refused or failed,
// no trace evicted by groupbytrace, no escrow or event dropped, no write
// error, and b.N valid files.
//
// Each run starts its own target (outside the timer) and clones its input
// before the clock starts, about 120 KB per escrow: run it with
// -benchtime=1000x, say, not a time.
func BenchmarkThroughput(b *testing.B) {
	tmpl := escrowspans.Template(b)
	var jaegerNs float64
	for _, mode := range []string{"jaeger", "collector"} {
		b.Run("mode="+mode, func(b *testing.B) {
			in := batches(tmpl, 0, b.N)
			var t target
			switch mode {
			case "jaeger":
				t = jaegerTarget(b, tmpl, b.N)
			case "collector":
				t = collectorTarget(b, tmpl, b.N)
			}
			exp := client(b, t.endpoint)
			runtime.GC() // the cloning's garbage, not the client's
			cpu0, tcpu0 := selfCPU(b), procCPU(b, t.pid)
			b.ResetTimer()
			send(b, exp, in)
			sent := b.Elapsed()
			waitFor(b, 10*time.Millisecond, time.Minute, mode, t.done)
			b.StopTimer()
			cpu, tcpu := selfCPU(b)-cpu0, procCPU(b, t.pid)-tcpu0
			t.check()

			spans := float64(b.N * len(tmpl))
			secs := b.Elapsed().Seconds()
			b.ReportMetric(spans/secs, "spans/s")
			b.ReportMetric(float64(b.N)/secs, "escrows/s")
			b.ReportMetric(spans/sent.Seconds(), "send-spans/s")
			b.ReportMetric(float64((b.Elapsed() - sent).Milliseconds()), "tail-ms")
			b.ReportMetric(float64(tcpu.Nanoseconds())/float64(b.N), "target-cpu-ns/op")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			switch mode {
			case "jaeger":
				jaegerNs = ns
			case "collector":
				if jaegerNs > 0 {
					b.ReportMetric(ns/jaegerNs, "x-jaeger")
				}
			}
		})
	}
}

// jaegerTarget starts Jaeger with memory storage for n escrows of tmpl.
func jaegerTarget(b *testing.B, tmpl []sdktrace.ReadOnlySpan, n int) target {
	j := jaegertest.Start(b)
	ctx := context.Background()
	hasAll := func(i int) (bool, string) {
		tr, err := j.Trace(ctx, escrowspans.TraceID(uint64(i)).String())
		if err != nil {
			return false, err.Error()
		}
		return len(tr.Spans) == len(tmpl), fmt.Sprintf("%d spans", len(tr.Spans))
	}
	return target{
		endpoint: j.OTLPGRPC,
		pid:      j.PID(),
		done: func() (bool, string) {
			ok, progress := hasAll(n - 1)
			return ok, "the last escrow's trace: " + progress
		},
		check: func() {
			for i := range n {
				if ok, progress := hasAll(i); !ok {
					b.Fatalf("Jaeger: escrow %d: %s, want %d spans", i, progress, len(tmpl))
				}
			}
		},
	}
}

// collectorTarget starts the collector (escrowjson only) for n escrows of
// tmpl.
func collectorTarget(b *testing.B, tmpl []sdktrace.ReadOnlySpan, n int) target {
	c := collectortest.Start(b, collectortest.Config{ConfigFile: collectorConfig(b), GroupWait: groupWait})
	spans := float64(n * len(tmpl))
	return target{
		endpoint: c.OTLPGRPC,
		pid:      c.PID(),
		done: func() (bool, string) {
			got := countFiles(b, c.Dir, "escrow_")
			return got >= n, fmt.Sprintf("%d of %d files", got, n)
		},
		check: func() {
			escrowjsonExp := map[string]string{"exporter": "escrowjson"}
			wantMetrics(b, c, []metricWant{
				{"otelcol_receiver_accepted_spans", nil, spans},
				{"otelcol_receiver_refused_spans", nil, 0},
				{"otelcol_receiver_failed_spans", nil, 0},
				{"otelcol_processor_groupbytrace_traces_evicted", nil, 0},
				{"otelcol_processor_groupbytrace_spans_released", nil, spans},
				{"otelcol_exporter_sent_spans", escrowjsonExp, spans},
				{"otelcol_exporter_send_failed_spans", escrowjsonExp, 0},
				{"escrowjson_files_written", nil, float64(n)},
				{"escrowjson_partial_files", nil, 0},
				{"escrowjson_write_errors", nil, 0},
				{"escrowjson_dropped_escrows", nil, 0},
				{"escrowjson_dropped_events", nil, 0},
				{"escrowjson_pending_escrows", nil, 0},
			})
			if got := countFiles(b, c.Dir, "escrow_"); got != n {
				b.Fatalf("%d files in %s, want %d", got, c.Dir, n)
			}
			for i := range n {
				data, err := os.ReadFile(filepath.Join(c.Dir, escrowjson.FileName(escrowspans.ID(uint64(i)), false)))
				var evs []escrowjson.Event
				if err == nil {
					err = escrowjson.Validate(data)
				}
				if err == nil {
					evs, err = escrowjson.Decode(bytes.NewReader(data))
				}
				if err != nil || len(evs) != 45 {
					b.Fatalf("escrow %d: %d events (%v), want a valid file of 45", i, len(evs), err)
				}
			}
		},
	}
}
