package walletpollutionprocessor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

func TestMaxHeldSpansReleasesEarly(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxHeldSpans = 3 })
	h.send(open("e1-open", p1, e1, w1, 0, 100), open("e2-open", p2, e2, w2, 200, 300)) // 2 held
	assert.Equal(t, 0, h.sink.SpanCount())
	h.send(mm("e1-mm", p1, e1, w1, 400, 700), mm("e1-mm2", p1, e1, w1, 800, 900)) // 4 > 3: the first batch goes
	assert.Equal(t, 2, h.sink.SpanCount())
	assert.Equal(t, int64(2), h.counter(MetricReleasedEarly))
	h.send(mm("e1-mm3", p1, e1, w1, 1000, 1100), mm("e1-mm4", p1, e1, w1, 1200, 1300), mm("e1-mm5", p1, e1, w1, 1400, 1500), mm("e1-mm6", p1, e1, w1, 1600, 1700))
	// 6 > 3: both batches go, the one just received too; judged first.
	assert.Equal(t, 8, h.sink.SpanCount())
	assert.Equal(t, int64(8), h.counter(MetricReleasedEarly))
	assert.Equal(t, int64(6), h.counter(MetricFindings), "released early, still judged")
	h.p.mu.Lock()
	assert.Empty(t, h.p.held)
	assert.Zero(t, h.p.heldSpans)
	h.p.mu.Unlock()
	h.shutdown()
	assert.Equal(t, 8, h.sink.SpanCount())
}

func TestMaxEntriesPerEndpoint(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxEntriesPerEndpoint = 4 })
	for i := range 10 {
		h.send(open(fmt.Sprint("open-", i), p1, e1, fmt.Sprint("w-", i), i*100, i*100+50))
	}
	h.p.mu.Lock()
	ep := h.p.endpoints[endpointKey{"127.0.0.1", 18083}]
	require.NotNil(t, ep)
	assert.Len(t, ep.entries, 4, "opens kept")
	assert.Len(t, ep.seenOrder, 4, "span ids kept")
	assert.Len(t, ep.seen, 4)
	assert.Equal(t, "w-9", ep.entries[3].wallet.Value(), "the newest kept")
	h.p.mu.Unlock()
	assert.Equal(t, int64(12), h.counter(MetricEntriesDropped), "6 opens and 6 ids")

	// The oldest opens are gone: a late call from their time is not judged.
	h.send(mm("old-call", p1, e1, "w-x", 60, 90))
	h.send(mm("new-call", p1, e1, "w-x", 960, 990))
	h.shutdown()
	assert.Equal(t, int64(1), h.counter(MetricFindings), "only the call after a kept open")
	assert.Len(t, collectorEvents(h.out()[spanIDOf("new-call")][0]), 1)
}

func TestMaxEndpoints(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxEndpoints = 2 })
	for i := range 5 {
		h.clock.Advance(time.Millisecond) // least recently used = the first
		h.send(with(open(fmt.Sprint("open-", i), p1, e1, w1, 0, 100), func(c *call) { c.port = 18080 + i }))
	}
	h.p.mu.Lock()
	assert.Len(t, h.p.endpoints, 2)
	assert.Contains(t, h.p.endpoints, endpointKey{"127.0.0.1", 18083})
	assert.Contains(t, h.p.endpoints, endpointKey{"127.0.0.1", 18084})
	h.p.mu.Unlock()
	assert.Equal(t, int64(6), h.counter(MetricEntriesDropped), "3 endpoints of one open and one id each")
	h.shutdown()
	assert.Equal(t, 5, h.sink.SpanCount())
}

func TestPruneKeepsTheCurrentState(t *testing.T) {
	h := newHarness(t, nil)
	h.send(open("e1-open", p1, e1, w1, 0, 100), open("e2-open", p2, e2, w2, 200, 300), mm("e2-mm", p2, e2, w2, 400, 500))
	h.release()
	h.clock.Advance(retainWindows * DefaultDecisionWindow)
	h.p.releaseDue()
	h.p.mu.Lock()
	ep := h.p.endpoints[endpointKey{"127.0.0.1", 18083}]
	require.NotNil(t, ep, "an endpoint with a known state is kept")
	require.Len(t, ep.entries, 1)
	assert.Equal(t, w2, ep.entries[0].wallet.Value())
	assert.Empty(t, ep.seenOrder, "span ids forgotten")
	h.p.mu.Unlock()

	// Much later, escrow 1 calls without re-opening: escrow 2's wallet is
	// still known to be open.
	h.send(mm("e1-mm", p1, e1, w1, 60_000, 60_100))
	h.shutdown()
	assert.Equal(t, int64(1), h.counter(MetricFindings))

	// An endpoint whose calls name no open is forgotten altogether.
	h2 := newHarness(t, nil)
	h2.send(mm("e1-mm", p1, e1, w1, 0, 100))
	h2.release()
	h2.clock.Advance(retainWindows * DefaultDecisionWindow)
	h2.p.releaseDue()
	h2.p.mu.Lock()
	assert.Empty(t, h2.p.endpoints)
	h2.p.mu.Unlock()
	h2.shutdown()
}

func TestShutdownReleasesEverything(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DecisionWindow = time.Hour })
	h.send(open("e1-open", p1, e1, w1, 0, 100), mm("e1-mm", p1, e1, w1, 400, 700))
	h.send(open("e2-open", p2, e2, w2, 200, 300))
	h.p.releaseDue() // nothing is due
	assert.Equal(t, 0, h.sink.SpanCount())
	h.shutdown()
	assert.Equal(t, 3, h.sink.SpanCount())
	assert.Equal(t, int64(1), h.counter(MetricFindings), "decided, then forwarded")

	// After Shutdown, batches are judged and forwarded at once.
	h.send(mm("e1-mm2", p1, e1, w1, 800, 900))
	assert.Equal(t, 4, h.sink.SpanCount())
	assert.Equal(t, int64(2), h.counter(MetricFindings))
	require.NoError(t, h.p.Shutdown(context.Background()), "a second Shutdown")
}

// The release goroutine forwards a batch when its window ends.
func TestStartReleasesAfterTheWindow(t *testing.T) {
	done := make(chan ptrace.Traces, 1)
	next := &signalSink{done: done}
	cfg := createDefaultConfig().(*Config)
	cfg.DecisionWindow = 10 * time.Millisecond
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeTraces(context.Background(), batch(open("e1-open", p1, e1, w1, 0, 100), open("e2-open", p2, e2, w2, 200, 300), mm("e1-mm", p1, e1, w1, 400, 700))))
	select {
	case td := <-done:
		assert.Equal(t, 3, td.SpanCount())
	case <-time.After(time.Minute):
		t.Fatal("the batch was not released within a minute of a 10 ms window")
	}
	require.NoError(t, p.Shutdown(context.Background()))
}

// Concurrent senders with the release goroutine running: every span comes
// out once (run with -race).
func TestConcurrentConsumers(t *testing.T) {
	sink := new(consumertest.TracesSink)
	cfg := createDefaultConfig().(*Config)
	cfg.DecisionWindow = time.Millisecond
	cfg.MaxHeldSpans = 50
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	var g errgroup.Group
	for w := range 4 {
		g.Go(func() error {
			inst := fmt.Sprint("proc-", w)
			for i := range 200 {
				esc := fmt.Sprint("escrow-", w, "-", i%3)
				at := i * 100
				if err := p.ConsumeTraces(context.Background(), batch(
					open(fmt.Sprint(w, "-", i, "-open"), inst, esc, "wallet-"+esc, at, at+10),
					mm(fmt.Sprint(w, "-", i, "-mm"), inst, esc, "wallet-"+esc, at+20, at+30))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	require.NoError(t, p.Shutdown(context.Background()))
	assert.Equal(t, 4*200*2, sink.SpanCount())
}

type signalSink struct {
	consumertest.TracesSink
	done chan ptrace.Traces
}

func (s *signalSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	s.done <- td
	return nil
}

func TestVerifyShutdown(t *testing.T) {
	processortest.VerifyShutdown(t, NewFactory(), createDefaultConfig())
}

// A long stream of random calls, batches, duplicates, releases and caps:
// every span received is forwarded exactly as often as it was received,
// and no span carries two collector findings.
func TestEverySpanForwardedOnce(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			h := newHarness(t, func(c *Config) {
				c.MaxHeldSpans = 40
				c.MaxEntriesPerEndpoint = 8
				c.MaxEndpoints = 4
			})
			var steps []step
			var batches [][]call
			clock := 0
			for i := range 400 {
				var b []call
				delay := 0
				if rng.IntN(10) == 0 {
					delay = 1000 // a process that exports late
				}
				for j := range 1 + rng.IntN(6) {
					esc := fmt.Sprint("escrow-", rng.IntN(6))
					port := 18083 + rng.IntN(5)
					start := clock - delay + rng.IntN(50) - 25 // some skew and overlap
					c := call{id: fmt.Sprint(i, "-", j), instance: fmt.Sprint("proc-", rng.IntN(3)), escrow: esc, port: port,
						wallet: "wallet-" + esc, role: "buyer", start: start, end: start + 1 + rng.IntN(200)}
					switch r := rng.IntN(10); {
					case r < 3:
						c.method = "open_wallet"
					case r < 4:
						c.method = "close_wallet"
					default:
						c.method = "make_multisig"
					}
					if rng.IntN(10) == 0 {
						c.rpcError = -1
					}
					clock += 10
					b = append(b, c)
				}
				if len(batches) > 0 && rng.IntN(8) == 0 {
					b = batches[len(batches)-1] // a retry of the previous batch
				}
				batches = append(batches, b)
				s := step{send: b, advance: time.Duration(rng.IntN(1500)) * time.Millisecond}
				steps = append(steps, s)
				h.clock.Advance(s.advance)
				h.send(b...)
				if rng.IntN(5) == 0 {
					h.p.releaseDue()
				}
			}
			h.shutdown()
			assertForwardedOnce(t, h, steps)
			for _, spans := range h.out() {
				for _, s := range spans {
					assert.LessOrEqual(t, len(collectorEvents(s)), 1)
				}
			}
			t.Logf("findings %d, ambiguous %d, late %d, duplicates %d, released early %d, dropped %d",
				h.counter(MetricFindings), h.counter(MetricAmbiguous), h.counter(MetricLateSpans),
				h.counter(MetricDuplicates), h.counter(MetricReleasedEarly), h.counter(MetricEntriesDropped))
			assert.Positive(t, h.counter(MetricFindings))
			assert.Positive(t, h.counter(MetricDuplicates))
			assert.Positive(t, h.counter(MetricReleasedEarly))
			assert.Positive(t, h.counter(MetricLateSpans))
			assert.Positive(t, h.counter(MetricAmbiguous))
		})
	}
}
