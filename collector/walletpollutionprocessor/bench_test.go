package walletpollutionprocessor

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unique"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// benchStream makes batches like those of escrow processes sharing
// wallet-rpcs: 100 spans each, from two processes, of which 10 are
// INTERNAL (rounds, steps, snapshots), 10 opens and 80 calls for a wallet,
// on 8 endpoints. Clean: each escrow has its endpoint to itself within a
// batch, opens its wallet, then makes its calls, so no call is polluted.
// Polluted: the two processes take turns on every endpoint, and nearly
// every call is a victim (the worst case: each is marked). Batch n is a
// copy of a template with fresh span ids and times n s later.
type benchStream struct {
	template ptrace.Traces
	n        int
}

func newBenchStream(polluted bool) *benchStream {
	var calls []call
	for proc := range 2 {
		for i := range 50 {
			ep := 18080 + i%8
			if !polluted {
				ep = 18080 + proc*4 + i%4 // each process on its own 4 endpoints
			}
			esc := fmt.Sprint("escrow-", proc, "-", ep)
			at := i * 10
			if polluted {
				at += proc * 5 // the other process's open lands between
				esc = fmt.Sprint("escrow-", proc, "-", i%4)
			}
			c := call{id: fmt.Sprint(proc, "-", i), instance: fmt.Sprint("proc-", proc), escrow: esc, port: ep,
				wallet: "wallet-" + esc, role: "buyer", start: at, end: at + 4, method: "make_multisig"}
			switch {
			case i < 5:
				c.kind = ptrace.SpanKindInternal
				c.method = "multisig.round 1"
			case i < 10 || (polluted && i%8 == 0):
				c.method = "open_wallet"
			}
			if !polluted && i >= 10 && i < 18 {
				c.method = "open_wallet" // each endpoint's escrow opens first
			}
			calls = append(calls, c)
		}
	}
	return &benchStream{template: batch(calls...)}
}

func (s *benchStream) next() ptrace.Traces {
	td := ptrace.NewTraces()
	s.template.CopyTo(td)
	shift := pcommon.Timestamp(s.n) * pcommon.Timestamp(time.Second)
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		spans := rss.At(i).ScopeSpans().At(0).Spans()
		for j := range spans.Len() {
			sp := spans.At(j)
			id := sp.SpanID()
			id[4], id[5], id[6], id[7] = byte(s.n), byte(s.n>>8), byte(s.n>>16), byte(s.n>>24)
			sp.SetSpanID(id)
			sp.SetStartTimestamp(sp.StartTimestamp() + shift)
			sp.SetEndTimestamp(sp.EndTimestamp() + shift)
		}
	}
	s.n++
	return td
}

// BenchmarkDetector measures spans/s through the processor on one core:
// ConsumeTraces (read the batch, update the timelines, hold it) and the
// release (judge the calls, mark the victims, forward to a no-op), with
// 16 batches per decision window.
func BenchmarkDetector(b *testing.B) {
	for _, tc := range []struct {
		name     string
		polluted bool
	}{{"clean", false}, {"polluted", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.MaxHeldSpans = 1 << 30
			clock := &fakeClock{now: t0}
			tel := componenttest.NewTelemetry()
			defer tel.Shutdown(context.Background())
			set := processortest.NewNopSettings(Type)
			set.TelemetrySettings = tel.NewTelemetrySettings()
			p, err := newProcessor(set, cfg, consumertest.NewNop(), clock.Now)
			if err != nil {
				b.Fatal(err)
			}
			stream := newBenchStream(tc.polluted)
			const chunk = 256
			pending := make([]ptrace.Traces, 0, chunk)
			spans := 0
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if len(pending) == 0 {
					b.StopTimer()
					for range chunk {
						pending = append(pending, stream.next())
					}
					b.StartTimer()
				}
				td := pending[len(pending)-1]
				pending = pending[:len(pending)-1]
				spans += td.SpanCount()
				if err := p.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
				clock.Advance(cfg.DecisionWindow / 16)
				if i%16 == 15 {
					p.releaseDue()
				}
			}
			if err := p.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			findings, _ := tel.GetMetric(MetricFindings)
			var found int64
			if sum, ok := findings.Data.(metricdata.Sum[int64]); ok && len(sum.DataPoints) > 0 {
				found = sum.DataPoints[0].Value
			}
			b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
			b.ReportMetric(float64(found)/float64(spans), "findings/span")
		})
	}
}

// BenchmarkEndpointMemory reports the bytes of state one endpoint holds at
// max_entries_per_endpoint (the default, 1024): that many opens on its
// timeline and that many remembered span ids. The opens name 16 wallets
// of 16 escrows from 2 processes (names are interned).
func BenchmarkEndpointMemory(b *testing.B) {
	const endpoints = 256
	maxEntries := DefaultMaxEntriesPerEndpoint
	// Measured once, whatever -benchtime says: it is a size, not a speed.
	perEndpoint := func() float64 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		eps := make(map[string]*endpoint, endpoints)
		for e := range endpoints {
			ep := newEndpoint()
			for i := range maxEntries {
				esc := fmt.Sprint("0f8fad5b-d9cb-469f-a165-70867728950", i%16)
				var tid pcommon.TraceID
				var sid pcommon.SpanID
				tid[0], tid[1], tid[2] = byte(e), byte(i), byte(i>>8)
				sid[0], sid[1], sid[2] = byte(e), byte(i), byte(i>>8)
				ep.insert(entry{
					start: int64(i) * 1e6, end: int64(i)*1e6 + 5e5, received: int64(i), effect: effectOpen,
					wallet:     unique.Make("wallet-" + esc),
					escrowID:   unique.Make(esc),
					instanceID: unique.Make(fmt.Sprint("proc-", i%2)),
					traceID:    tid, spanID: sid,
				}, maxEntries)
				ep.remember(spanKey{tid, sid}, int64(i), maxEntries)
			}
			eps[fmt.Sprint("127.0.0.1:", 18000+e)] = ep
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(eps)
		return float64(after.HeapAlloc-before.HeapAlloc) / endpoints
	}()
	for b.Loop() {
	}
	b.ReportMetric(perEndpoint, "B/endpoint")
	b.ReportMetric(perEndpoint/float64(maxEntries), "B/entry")
}
