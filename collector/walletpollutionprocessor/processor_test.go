package walletpollutionprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const (
	p1, p2 = "proc-1", "proc-2" // service.instance.id of two processes
	e1, e2 = "escrow-1", "escrow-2"
	w1, w2 = "buyer-1", "buyer-2" // their buyer wallets, on one wallet-rpc when shared
)

// step sends one batch, after moving the collector's clock on by advance,
// and ends the window of everything held when release is set.
type step struct {
	advance time.Duration
	send    []call
	release bool
}

// victim is the finding expected on a call.
type victim struct {
	actual, otherEscrow, otherInstance string
	opener                             string // the call id of the open
}

// Open, close and call helpers: c(id, instance, escrow, method, wallet, start, end).
func open(id, inst, esc, wallet string, start, end int) call {
	return call{id: id, instance: inst, escrow: esc, method: "open_wallet", wallet: wallet, role: "buyer", start: start, end: end}
}

func mm(id, inst, esc, wallet string, start, end int) call {
	return call{id: id, instance: inst, escrow: esc, method: "make_multisig", wallet: wallet, role: "buyer", start: start, end: end}
}

func with(c call, f func(*call)) call { f(&c); return c }

func TestScenarios(t *testing.T) {
	// One escrow process's view: escrow 1 opens its wallet, escrow 2
	// (another escrow, maybe another process) opens its own 100 ms later,
	// then escrow 1's make_multisig runs on escrow 2's wallet.
	e1Open := open("e1-open", p1, e1, w1, 0, 100)
	e2Open := open("e2-open", p2, e2, w2, 200, 300)
	e1MM := mm("e1-mm", p1, e1, w1, 400, 700)
	flaggedBy := func(opener call) map[string]victim {
		return map[string]victim{"e1-mm": {actual: opener.wallet, otherEscrow: opener.escrow, otherInstance: opener.instance, opener: opener.id}}
	}

	tests := []struct {
		name                        string
		steps                       []step
		want                        map[string]victim
		ambiguous, late, duplicates int64
	}{
		{
			name:  "two escrows of one process, one batch",
			steps: []step{{send: []call{e1Open, with(e2Open, func(c *call) { c.instance = p1 }), e1MM}, release: true}},
			want:  map[string]victim{"e1-mm": {actual: w2, otherEscrow: e2, otherInstance: p1, opener: "e2-open"}},
		},
		{
			name:  "two processes, one batch each, victim's first",
			steps: []step{{send: []call{e1Open, e1MM}}, {send: []call{e2Open}, release: true}},
			want:  flaggedBy(e2Open),
		},
		{
			name: "the opener's batch arrives later within the window",
			steps: []step{
				{send: []call{e1Open, e1MM}},
				{advance: DefaultDecisionWindow * 3 / 4, send: []call{e2Open}},
				{advance: DefaultDecisionWindow / 4, release: true},
			},
			want: flaggedBy(e2Open),
		},
		{
			name: "the opener's batch arrives after the victim's window was decided: late",
			steps: []step{
				{send: []call{e1Open, e1MM}, release: true},
				{send: []call{e2Open}, release: true},
			},
			late: 1,
		},
		{
			name: "a batch delivered twice: flagged once",
			steps: []step{
				{send: []call{e1Open, e1MM}}, {send: []call{e2Open}},
				{send: []call{e1Open, e1MM}}, {send: []call{e2Open}, release: true},
			},
			want:       flaggedBy(e2Open),
			duplicates: 3,
		},
		{
			name: "a batch delivered again after it was decided: not judged again",
			steps: []step{
				{send: []call{e1Open, e1MM}}, {send: []call{e2Open}, release: true},
				{send: []call{e1MM}, release: true},
			},
			want:       flaggedBy(e2Open),
			duplicates: 1,
		},
		{
			name:  "process 2's clock 60 ms ahead, requests 100 ms apart",
			steps: []step{{send: []call{e1Open, e1MM}}, {send: []call{with(e2Open, func(c *call) { c.start, c.end = 260, 360 })}, release: true}},
			want:  flaggedBy(e2Open),
		},
		{
			name:  "process 2's clock 60 ms behind, requests 100 ms apart",
			steps: []step{{send: []call{e1Open, e1MM}}, {send: []call{with(e2Open, func(c *call) { c.start, c.end = 140, 240 })}, release: true}},
			want:  flaggedBy(e2Open),
		},
		{
			name:  "process 2's clock 150 ms ahead: still sent and answered before the call",
			steps: []step{{send: []call{e1Open, e1MM}}, {send: []call{with(e2Open, func(c *call) { c.start, c.end = 350, 450 })}, release: true}},
			want:  flaggedBy(e2Open),
		},
		{
			// The documented limits: skew larger than the gap between the
			// two requests' starts makes the open seem inside the call
			// (ambiguous, not flagged) ...
			name:      "process 2's clock 250 ms ahead, more than the gap between starts: ambiguous",
			steps:     []step{{send: []call{e1Open, e1MM}}, {send: []call{with(e2Open, func(c *call) { c.start, c.end = 450, 550 })}, release: true}},
			ambiguous: 1,
		},
		{
			// ... and larger than the gap between ends makes it seem after
			// the call: missed.
			name:  "process 2's clock 450 ms ahead, more than the gap between ends: missed",
			steps: []step{{send: []call{e1Open, e1MM}}, {send: []call{with(e2Open, func(c *call) { c.start, c.end = 650, 750 })}, release: true}},
		},
		{
			name:  "queued behind the other's slow open: sent and answered after it",
			steps: []step{{send: []call{e1Open, mm("e1-mm", p1, e1, w1, 110, 1800)}}, {send: []call{open("e2-open", p2, e2, w2, 50, 1500)}, release: true}},
			want:  map[string]victim{"e1-mm": {actual: w2, otherEscrow: e2, otherInstance: p2, opener: "e2-open"}},
		},
		{
			name:      "the call's interval inside the other's open: order unknown, ambiguous",
			steps:     []step{{send: []call{e1Open, mm("e1-mm", p1, e1, w1, 200, 800)}}, {send: []call{open("e2-open", p2, e2, w2, 150, 900)}, release: true}},
			ambiguous: 1,
		},
		{
			name: "two opens before the call, one inside the other: which ran last is unknown",
			steps: []step{{send: []call{open("e1-open", p1, e1, w1, 0, 1000), open("e2-open", p2, e2, w2, 100, 500),
				mm("e1-mm", p1, e1, w1, 1100, 1200)}, release: true}},
			ambiguous: 1,
		},
		{
			name: "two opens before the call, one inside the other, both another wallet",
			steps: []step{{send: []call{open("e2-open", p2, e2, w2, 0, 1000), open("e3-open", p2, "escrow-3", "buyer-3", 100, 500),
				mm("e1-mm", p1, e1, w1, 1100, 1200)}, release: true}},
			want: map[string]victim{"e1-mm": {actual: w2, otherEscrow: e2, otherInstance: p2, opener: "e2-open"}},
		},
		{
			name:  "a failed open_wallet leaves the previous wallet open",
			steps: []step{{send: []call{e1Open, e1MM}}, {send: []call{with(e2Open, func(c *call) { c.rpcError = -1 })}, release: true}},
		},
		{
			name: "an open refused with an HTTP status never ran: the other wallet stays open",
			steps: []step{{send: []call{
				open("e2-open", p2, e2, w2, 0, 100),
				with(open("e1-open", p1, e1, w1, 200, 300), func(c *call) { c.errType = "http" }),
				e1MM,
			}, release: true}},
			want: map[string]victim{"e1-mm": {actual: w2, otherEscrow: e2, otherInstance: p2, opener: "e2-open"}},
		},
		{
			name: "an open that timed out may have run: not judged",
			steps: []step{{send: []call{
				open("e2-open", p2, e2, w2, 0, 100),
				with(open("e1-open", p1, e1, w1, 200, 300), func(c *call) { c.errType = "timeout" }),
				e1MM,
			}, release: true}},
		},
		{
			name:  "an open without wallet.filename (an older process): not judged",
			steps: []step{{send: []call{e1Open, with(e2Open, func(c *call) { c.wallet = "" }), e1MM}, release: true}},
		},
		{
			name: "close_wallet after the other's open: no wallet met",
			steps: []step{{send: []call{e1Open, e2Open,
				call{id: "e2-close", instance: p2, escrow: e2, method: "close_wallet", wallet: w2, start: 310, end: 350}, e1MM}, release: true}},
		},
		{
			name: "close_wallet, then the other's open",
			steps: []step{{send: []call{e1Open,
				call{id: "e1-close", instance: p1, escrow: e1, method: "close_wallet", wallet: w1, start: 110, end: 150}, e2Open, e1MM}, release: true}},
			want: flaggedBy(e2Open),
		},
		{
			name: "dedicated endpoints",
			steps: []step{{send: []call{e1Open, with(e2Open, func(c *call) { c.port = 18084 }), e1MM,
				with(mm("e2-mm", p2, e2, w2, 400, 700), func(c *call) { c.port = 18084 })}, release: true}},
		},
		{
			name: "one endpoint, each escrow re-opens its wallet before each call",
			steps: []step{{send: []call{e1Open, mm("e1-mm", p1, e1, w1, 110, 150), e2Open, mm("e2-mm", p2, e2, w2, 310, 350),
				open("e1-open-2", p1, e1, w1, 400, 500), with(mm("e1-x", p1, e1, w1, 510, 600), func(c *call) { c.method = "exchange_multisig_keys" })}, release: true}},
		},
		{
			name:  "already flagged by the process: left as it is",
			steps: []step{{send: []call{e1Open, e2Open, with(e1MM, func(c *call) { c.flagged = true })}, release: true}},
		},
		{
			name: "a snapshot read is judged like any call",
			steps: []step{{send: []call{e1Open, e2Open,
				call{id: "e1-mm", instance: p1, escrow: e1, method: "get_address", wallet: w1, role: "buyer", start: 400, end: 410, snapshot: true}}, release: true}},
			want: flaggedBy(e2Open),
		},
		{
			name:  "a call that failed with a JSON-RPC error ran: flagged, its error kept",
			steps: []step{{send: []call{e1Open, e2Open, with(e1MM, func(c *call) { c.rpcError = -31 })}, release: true}},
			want:  flaggedBy(e2Open),
		},
		{
			name:  "a call that timed out: not judged",
			steps: []step{{send: []call{e1Open, e2Open, with(e1MM, func(c *call) { c.errType = "timeout" })}, release: true}},
		},
		{
			name:  "a call without wallet.filename: not judged",
			steps: []step{{send: []call{e1Open, e2Open, with(e1MM, func(c *call) { c.wallet = "" })}, release: true}},
		},
		{
			name:  "get_version needs no wallet: not judged",
			steps: []step{{send: []call{e1Open, e2Open, with(e1MM, func(c *call) { c.method = "get_version" })}, release: true}},
		},
		{
			name:  "nothing known of the endpoint before the call",
			steps: []step{{send: []call{e1MM, open("e2-open", p2, e2, w2, 800, 900)}, release: true}},
		},
		{
			name:  "an INTERNAL span is no wallet-rpc call",
			steps: []step{{send: []call{e1Open, with(e2Open, func(c *call) { c.kind = ptrace.SpanKindInternal }), e1MM}, release: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			calls := map[string]call{}
			for _, s := range tt.steps {
				h.clock.Advance(s.advance)
				if len(s.send) > 0 {
					for _, c := range s.send {
						calls[c.id] = c
					}
					h.send(s.send...)
				}
				if s.release {
					h.release()
				}
			}
			h.shutdown()

			assertForwardedOnce(t, h, tt.steps)
			for id, spans := range h.out() {
				var c call
				for _, x := range calls {
					if spanIDOf(x.id) == id {
						c = x
					}
				}
				want, isVictim := tt.want[c.id]
				flagged := 0
				for _, s := range spans {
					evs := collectorEvents(s)
					if len(evs) == 0 {
						continue
					}
					flagged++
					require.True(t, isVictim, "%s flagged: %v", c.id, evs[0].Attributes().AsRaw())
					require.Len(t, evs, 1, "%s flagged twice", c.id)
					assertFinding(t, s, evs[0], c, want, calls[want.opener])
				}
				if isVictim {
					assert.Equal(t, 1, flagged, "%s: copies flagged", c.id)
				}
			}
			assert.Equal(t, int64(len(tt.want)), h.counter(MetricFindings), "findings")
			assert.Equal(t, tt.ambiguous, h.counter(MetricAmbiguous), "ambiguous")
			assert.Equal(t, tt.late, h.counter(MetricLateSpans), "late")
			assert.Equal(t, tt.duplicates, h.counter(MetricDuplicates), "duplicates")
		})
	}
}

// assertForwardedOnce checks that each span sent was forwarded as many
// times as it was sent.
func assertForwardedOnce(t *testing.T, h *harness, steps []step) {
	t.Helper()
	sent := map[pcommon.SpanID]int{}
	for _, s := range steps {
		for _, c := range s.send {
			sent[spanIDOf(c.id)]++
		}
	}
	got := map[pcommon.SpanID]int{}
	for id, spans := range h.out() {
		got[id] = len(spans)
	}
	assert.Equal(t, sent, got, "spans forwarded, by span id")
	assert.Equal(t, h.sent, h.sink.SpanCount())
}

// assertFinding checks everything the collector records on a victim.
func assertFinding(t *testing.T, s ptrace.Span, ev ptrace.SpanEvent, victimCall call, want victim, opener call) {
	t.Helper()
	wantAttrs := map[string]any{
		"pollution.reason":          "wrong_wallet_open",
		"pollution.endpoint":        "127.0.0.1:18083",
		"pollution.expected_wallet": victimCall.wallet,
		"pollution.actual_wallet":   want.actual,
		"pollution.other_escrow_id": want.otherEscrow,
		"pollution.detected_by":     "collector",
		"wallet.role":               "buyer",
		"wallet.id":                 "buyer-" + victimCall.escrow,
		"wallet.rpc_port":           int64(18083),
		"escrow.id":                 victimCall.escrow,
	}
	if want.otherInstance != "" {
		wantAttrs["pollution.other_service_instance_id"] = want.otherInstance
	}
	assert.Equal(t, wantAttrs, ev.Attributes().AsRaw())
	assert.Equal(t, s.StartTimestamp(), ev.Timestamp(), "event stamped at the call's start")

	v, ok := s.Attributes().Get("escrow.cache_pollution")
	assert.True(t, ok && v.Bool(), "escrow.cache_pollution=true")
	assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
	if victimCall.rpcError != 0 {
		assert.Equal(t, "wallet-rpc error -31", s.Status().Message(), "a real error's description is kept")
	} else {
		assert.Equal(t, "cache pollution: wrong_wallet_open: "+want.actual+" met instead of "+victimCall.wallet+
			" (opened by escrow "+want.otherEscrow+" in service instance "+want.otherInstance+")", s.Status().Message())
	}

	require.Equal(t, 1, s.Links().Len(), "a link to the opener")
	l := s.Links().At(0)
	assert.Equal(t, traceIDOf(opener.escrow), l.TraceID())
	assert.Equal(t, spanIDOf(opener.id), l.SpanID())
	assert.Equal(t, map[string]any{"pollution.reason": "wrong_wallet_open", "pollution.other_escrow_id": want.otherEscrow}, l.Attributes().AsRaw())
}
