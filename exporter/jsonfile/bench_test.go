package jsonfile_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

// Budgets (see the task): at least 1,000 escrows/s through one exporter,
// at most 16 KiB buffered per in-flight escrow, at most 32 KiB per 45-event
// file. The benchmarks report the figures; TestBudgets checks the two that
// do not depend on the disk.

// template is one recorded successful setup (79 spans: root, 3 rounds, 12
// calls, 63 snapshot-only calls), from which escrows with other ids and
// trace ids are cloned.
var template = func() tracetest.SpanStubs {
	spans, _ := spansOf(goldenOK)
	return tracetest.SpanStubsFromReadOnlySpans(spans)
}()

// cloneEscrow returns the spans of escrow number n, in end order, root last.
func cloneEscrow(n uint64) []sdktrace.ReadOnlySpan {
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[:8], 0xbe7c4)
	binary.BigEndian.PutUint64(tid[8:], n)
	id := "bench-" + strconv.FormatUint(n, 10)
	out := make([]sdktrace.ReadOnlySpan, len(template))
	for i, s := range template {
		s.SpanContext = s.SpanContext.WithTraceID(tid)
		attrs := make([]attribute.KeyValue, len(s.Attributes))
		copy(attrs, s.Attributes)
		for j, kv := range attrs {
			switch kv.Key {
			case escrowconv.EscrowID:
				attrs[j] = escrowconv.EscrowID.String(id)
			case escrowconv.EscrowTraceID:
				attrs[j] = escrowconv.EscrowTraceID.String(id + "-1773500966535")
			}
		}
		s.Attributes = attrs
		out[i] = s.Snapshot()
	}
	return out
}

// exportStream exports the spans in batches of 512, as the SDK's batch span
// processor does by default.
func exportStream(b testing.TB, exp *jsonfile.Exporter, spans []sdktrace.ReadOnlySpan) {
	for len(spans) > 0 {
		k := min(len(spans), 512)
		if err := exp.ExportSpans(context.Background(), spans[:k]); err != nil {
			b.Fatal(err)
		}
		spans = spans[k:]
	}
}

// BenchmarkExporterEscrows: complete 45-event escrows through one exporter,
// files written (fsync on) to a temp dir. Reports escrows/s.
func BenchmarkExporterEscrows(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("fsync=%v", sync), func(b *testing.B) {
			exp, err := jsonfile.New(jsonfile.WithDir(b.TempDir()), jsonfile.WithSync(sync), jsonfile.WithLateSpanGrace(0))
			if err != nil {
				b.Fatal(err)
			}
			const chunk = 64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				b.StopTimer()
				n := min(chunk, b.N-done)
				var spans []sdktrace.ReadOnlySpan
				for i := range n {
					spans = append(spans, cloneEscrow(uint64(done+i))...)
				}
				b.StartTimer()
				exportStream(b, exp, spans)
				done += n
			}
			b.StopTimer()
			if st := exp.Stats(); st.FilesWritten != uint64(b.N) {
				b.Fatalf("%d files for %d escrows", st.FilesWritten, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "escrows/s")
		})
	}
}

// bufferedPerEscrow returns the heap bytes an exporter holds per in-flight
// escrow: n escrows whose spans all arrived but the root.
func bufferedPerEscrow(tb testing.TB, n int) float64 {
	spans := make([]sdktrace.ReadOnlySpan, 0, n*len(template))
	for i := range n {
		s := cloneEscrow(uint64(i))
		spans = append(spans, s[:len(s)-1]...) // no root: in flight
	}
	exp, err := jsonfile.New(jsonfile.WithDir(tb.TempDir()))
	if err != nil {
		tb.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	exportStream(tb, exp, spans)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if st := exp.Stats(); st.Pending != n {
		tb.Fatalf("%d escrows pending, want %d", st.Pending, n)
	}
	runtime.KeepAlive(spans)
	runtime.KeepAlive(exp)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// BenchmarkExporterBufferedPerEscrow: memory held for 1,000 in-flight
// escrows (all spans but the root). Reports B/escrow.
func BenchmarkExporterBufferedPerEscrow(b *testing.B) {
	var per float64
	for range b.N {
		per = bufferedPerEscrow(b, 1000)
	}
	b.ReportMetric(per, "B/escrow")
}

// BenchmarkExporterFileSize: one 45-event file. Reports B/file.
func BenchmarkExporterFileSize(b *testing.B) {
	dir := b.TempDir()
	exp, err := jsonfile.New(jsonfile.WithDir(dir), jsonfile.WithLateSpanGrace(0))
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for i := range b.N {
		b.StopTimer()
		spans := cloneEscrow(uint64(i))
		b.StartTimer()
		exportStream(b, exp, spans)
		b.StopTimer()
		fi, err := os.Stat(filepath.Join(dir, escrowjson.FileName("bench-"+strconv.Itoa(i), false)))
		if err != nil {
			b.Fatal(err)
		}
		size = fi.Size()
		b.StartTimer()
	}
	b.ReportMetric(float64(size), "B/file")
}

// The budgets that do not depend on the disk hold.
func TestBudgets(t *testing.T) {
	if per := bufferedPerEscrow(t, 1000); per > 16<<10 {
		t.Errorf("%.0f bytes buffered per in-flight escrow, budget 16 KiB", per)
	} else {
		t.Logf("%.0f bytes buffered per in-flight escrow", per)
	}
	fi, err := os.Stat(filepath.Join("testdata", escrowjson.FileName(goldenOK.escrowID, false)))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 32<<10 {
		t.Errorf("a 45-event file is %d bytes, budget 32 KiB", fi.Size())
	}
}
