package walletpollutionprocessor

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// BenchmarkWindowDelay measures the delay the processor adds to a batch on
// its way through the Collector: from ConsumeTraces taking it to the next
// consumer receiving it, with the processor as the Collector builds it
// (the factory, the real clock, the release goroutine). Each op is one
// polluted batch of 100 spans, sent every 2 ms while earlier ones are
// held; the metrics are the delays over all batches, in ms, and the
// largest excess over decision_window (max-over-window-ms): the window is
// the delay, and the release adds no more than timer and scheduling
// latency. Run it with a fixed count, e.g. -benchtime=300x, so that each
// run sends that many batches (it takes their spacing plus one window).
func BenchmarkWindowDelay(b *testing.B) {
	for _, window := range []time.Duration{100 * time.Millisecond, time.Second, DefaultDecisionWindow} {
		b.Run("window="+window.String(), func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.DecisionWindow = window
			sink := &arrivals{at: map[uint32]time.Time{}, all: make(chan struct{})}
			set := processortest.NewNopSettings(Type)
			p, err := NewFactory().CreateTraces(context.Background(), set, cfg, sink)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			stream := newBenchStream(true)
			batches := make([]ptrace.Traces, b.N)
			for i := range batches {
				batches[i] = stream.next()
			}
			sink.want = b.N
			sent := make([]time.Time, b.N)
			const spacing = 2 * time.Millisecond
			b.ResetTimer()
			start := time.Now()
			for i, td := range batches {
				time.Sleep(time.Until(start.Add(time.Duration(i) * spacing)))
				sent[i] = time.Now()
				if err := p.ConsumeTraces(context.Background(), td); err != nil {
					b.Fatal(err)
				}
			}
			select {
			case <-sink.all:
			case <-time.After(window + time.Minute):
				b.Fatalf("%d of %d batches released a minute after their window", len(sink.at), b.N)
			}
			b.StopTimer()
			if err := p.Shutdown(context.Background()); err != nil {
				b.Fatal(err)
			}
			delays := make([]time.Duration, b.N)
			sink.mu.Lock()
			for i := range delays {
				out, ok := sink.at[uint32(i)]
				if !ok {
					sink.mu.Unlock()
					b.Fatalf("batch %d never released", i)
				}
				delays[i] = out.Sub(sent[i])
			}
			sink.mu.Unlock()
			slices.Sort(delays)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(delays[0]), "min-ms")
			b.ReportMetric(ms(delays[len(delays)/2]), "p50-ms")
			b.ReportMetric(ms(delays[len(delays)*99/100]), "p99-ms")
			b.ReportMetric(ms(delays[len(delays)-1]), "max-ms")
			b.ReportMetric(ms(delays[len(delays)-1]-window), "max-over-window-ms")
			b.ReportMetric(0, "ns/op") // the op is paced, not timed
		})
	}
}

// arrivals is the next consumer: it notes when each batch of a
// benchStream arrives, by the batch number in its first span's id.
type arrivals struct {
	mu   sync.Mutex
	at   map[uint32]time.Time
	want int
	all  chan struct{} // closed when want batches have arrived
}

var _ consumer.Traces = (*arrivals)(nil)

func (a *arrivals) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (a *arrivals) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	now := time.Now()
	id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID()
	n := uint32(id[4]) | uint32(id[5])<<8 | uint32(id[6])<<16 | uint32(id[7])<<24
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at[n] = now
	if len(a.at) == a.want {
		close(a.all)
	}
	return nil
}
