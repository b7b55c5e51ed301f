package walletpollutionprocessor

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// t0 is the start of every synthetic stream; call times are ms after it.
var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// call is one synthetic wallet-rpc CLIENT span, as otelmsig makes them.
type call struct {
	id       string // names the span (its span id is derived from it)
	instance string // the process: resource service.instance.id
	escrow   string // escrow.id; the trace id is derived from it
	method   string
	port     int    // server.port; 18083 when 0
	wallet   string // wallet.filename
	role     string // wallet.role; wallet.id is role+"-"+escrow
	start    int    // ms after t0, the process's clock
	end      int
	rpcError int    // a JSON-RPC error code, 0 for none
	errType  string // a transport error kind
	snapshot bool   // escrow.snapshot_call=true
	flagged  bool   // the process already recorded a wrong_wallet_open event
	kind     ptrace.SpanKind
}

func spanIDOf(id string) pcommon.SpanID {
	h := sha256.Sum256([]byte("span " + id))
	return pcommon.SpanID(h[:8])
}

func traceIDOf(escrow string) pcommon.TraceID {
	h := sha256.Sum256([]byte("trace " + escrow))
	return pcommon.TraceID(h[:16])
}

func ts(ms int) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(t0.Add(time.Duration(ms) * time.Millisecond))
}

// batch builds one batch of calls: a resource per instance, in the order
// they first appear, each with otelmsig's scope.
func batch(calls ...call) ptrace.Traces {
	td := ptrace.NewTraces()
	scopes := map[string]ptrace.SpanSlice{}
	for _, c := range calls {
		spans, ok := scopes[c.instance]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", "escrow-service")
			if c.instance != "" {
				rs.Resource().Attributes().PutStr("service.instance.id", c.instance)
			}
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(escrowconv.ScopeName)
			spans = ss.Spans()
			scopes[c.instance] = spans
		}
		c.appendTo(spans)
	}
	return td
}

func (c call) appendTo(spans ptrace.SpanSlice) {
	s := spans.AppendEmpty()
	s.SetName(c.method)
	s.SetTraceID(traceIDOf(c.escrow))
	s.SetSpanID(spanIDOf(c.id))
	s.SetParentSpanID(spanIDOf(c.id + " parent"))
	if c.kind == ptrace.SpanKindUnspecified {
		c.kind = ptrace.SpanKindClient
	}
	s.SetKind(c.kind)
	s.SetStartTimestamp(ts(c.start))
	s.SetEndTimestamp(ts(c.end))
	a := s.Attributes()
	a.PutStr("rpc.system.name", "jsonrpc")
	a.PutStr("rpc.method", c.method)
	a.PutStr("jsonrpc.protocol.version", "2.0")
	a.PutStr("server.address", "127.0.0.1")
	port := c.port
	if port == 0 {
		port = 18083
	}
	a.PutInt("server.port", int64(port))
	if c.escrow != "" {
		a.PutStr("escrow.id", c.escrow)
	}
	if c.role != "" {
		a.PutStr("wallet.role", c.role)
		a.PutStr("wallet.id", c.role+"-"+c.escrow)
	}
	if c.wallet != "" {
		a.PutStr("wallet.filename", c.wallet)
	}
	if c.snapshot {
		a.PutBool("escrow.snapshot_call", true)
	}
	switch {
	case c.rpcError != 0:
		code := strconv.Itoa(c.rpcError)
		a.PutStr("rpc.response.status_code", code)
		a.PutStr("error.type", code)
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage("wallet-rpc error " + code)
	case c.errType != "":
		a.PutStr("error.type", c.errType)
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage(c.errType)
	}
	if c.flagged {
		ev := s.Events().AppendEmpty()
		ev.SetName("cache_pollution")
		ev.SetTimestamp(ts(c.start))
		ev.Attributes().PutStr("pollution.reason", "wrong_wallet_open")
		ev.Attributes().PutStr("pollution.expected_wallet", c.wallet)
		ev.Attributes().PutStr("pollution.actual_wallet", "seen-by-process")
		a.PutBool("escrow.cache_pollution", true)
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage("cache pollution: by the process")
	}
}

// fakeClock is the collector's clock in tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// harness is a processor that is not started: batches are released only
// by release (which runs what the release goroutine runs) and Shutdown.
type harness struct {
	t     *testing.T
	p     *walletPollution
	sink  *consumertest.TracesSink
	clock *fakeClock
	tel   *componenttest.Telemetry
	sent  int
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	h := &harness{t: t, sink: new(consumertest.TracesSink), clock: &fakeClock{now: t0.Add(time.Second)}, tel: tel}
	p, err := newProcessor(set, cfg, h.sink, h.clock.Now)
	require.NoError(t, err)
	h.p = p
	return h
}

func (h *harness) send(calls ...call) {
	h.t.Helper()
	h.sent += len(calls)
	require.NoError(h.t, h.p.ConsumeTraces(context.Background(), batch(calls...)))
}

// release ends the window of what is held and runs the release.
func (h *harness) release() {
	h.clock.Advance(h.p.cfg.DecisionWindow)
	h.p.releaseDue()
}

func (h *harness) shutdown() {
	h.t.Helper()
	require.NoError(h.t, h.p.Shutdown(context.Background()))
}

// out returns every forwarded span by its span id's name; it fails on a
// span forwarded twice unless dups allows it.
func (h *harness) out() map[pcommon.SpanID][]ptrace.Span {
	got := map[pcommon.SpanID][]ptrace.Span{}
	for _, td := range h.sink.AllTraces() {
		rss := td.ResourceSpans()
		for i := range rss.Len() {
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					s := spans.At(k)
					got[s.SpanID()] = append(got[s.SpanID()], s)
				}
			}
		}
	}
	return got
}

// counter returns the sum of one of the processor's counters (0 when it
// was never added to).
func (h *harness) counter(name string) int64 {
	h.t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(h.t, ok, "%s is a %T", name, m.Data)
	var n int64
	for _, dp := range sum.DataPoints {
		n += dp.Value
	}
	return n
}

// collectorEvents returns span's cache_pollution events made by the
// collector.
func collectorEvents(s ptrace.Span) []ptrace.SpanEvent {
	var evs []ptrace.SpanEvent
	for i := range s.Events().Len() {
		ev := s.Events().At(i)
		if ev.Name() == "cache_pollution" && str(ev.Attributes(), "pollution.detected_by") == "collector" {
			evs = append(evs, ev)
		}
	}
	return evs
}
