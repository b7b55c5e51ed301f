package walletpollutionprocessor

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"time"
	"unique"

	"go.uber.org/zap"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// walletPollution is the processor: it holds each batch for the decision
// window, keeps every endpoint's timeline of opens and closes up to date
// as batches arrive, and judges a batch's calls when it releases it.
type walletPollution struct {
	cfg       Config
	retention int64 // ns: how long entries and span ids are kept after they arrived
	next      consumer.Traces
	logger    *zap.Logger
	tel       *telemetry
	now       func() time.Time

	mu        sync.Mutex
	endpoints map[endpointKey]*endpoint
	held      []*heldBatch // in arrival order, so by due time
	heldSpans int
	started   bool
	stopped   bool

	wake chan struct{} // a batch was held while none was
	stop chan struct{}
	done chan struct{}
}

// heldBatch is one incoming batch, owned by the processor until forwarded.
type heldBatch struct {
	td    ptrace.Traces
	spans int
	due   int64 // unix ns, collector clock
	calls []heldCall
}

// heldCall is a call of the batch to judge when it is released.
type heldCall struct {
	span       ptrace.Span
	endpoint   endpointKey
	expected   string // wallet.filename; points into the batch, which lives as long
	start, end int64
}

func newProcessor(set processor.Settings, cfg *Config, next consumer.Traces, now func() time.Time) (*walletPollution, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &walletPollution{
		cfg:       *cfg,
		retention: retainWindows * int64(cfg.DecisionWindow),
		next:      next,
		logger:    set.Logger,
		tel:       tel,
		now:       now,
		endpoints: map[endpointKey]*endpoint{},
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}, nil
}

// Capabilities says the processor changes the spans it is given (it marks
// victims, and takes the batch over to hold it).
func (p *walletPollution) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// Start starts the goroutine that releases batches when their window ends.
func (p *walletPollution) Start(context.Context, component.Host) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.stopped {
		return nil
	}
	p.started = true
	go p.run()
	return nil
}

// Shutdown stops the release goroutine, then judges and forwards every
// batch still held. Spans consumed after it are judged and forwarded at
// once.
func (p *walletPollution) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	started := p.started
	p.mu.Unlock()
	if started {
		close(p.stop)
		<-p.done
	}

	var c counts
	p.mu.Lock()
	out := p.held
	p.held, p.heldSpans = nil, 0
	for _, b := range out {
		p.decide(b, &c)
	}
	p.mu.Unlock()
	p.tel.add(c)
	return p.forward(ctx, out)
}

// ConsumeTraces takes td over, reads its wallet-rpc spans into the
// endpoints' timelines and holds it for the decision window. It returns nil
// once td is held: errors of the next consumer on a held batch are logged.
func (p *walletPollution) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	if n == 0 {
		return p.next.ConsumeTraces(ctx, td)
	}
	b := &heldBatch{td: ptrace.NewTraces(), spans: n}
	td.MoveTo(b.td)

	var c counts
	var out []*heldBatch
	p.mu.Lock()
	now := p.now().UnixNano()
	p.ingest(b, now, &c)
	stopped := p.stopped
	if stopped {
		p.decide(b, &c)
		out = append(out, b)
	} else {
		b.due = now + int64(p.cfg.DecisionWindow)
		p.held = append(p.held, b)
		p.heldSpans += n
		if len(p.held) == 1 {
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
		for p.heldSpans > p.cfg.MaxHeldSpans && len(p.held) > 0 {
			e := p.pop()
			c.releasedEarly += int64(e.spans)
			p.decide(e, &c)
			out = append(out, e)
		}
	}
	p.mu.Unlock()
	p.tel.add(c)
	if stopped {
		return p.forward(ctx, out)
	}
	_ = p.forward(context.WithoutCancel(ctx), out)
	return nil
}

// run releases batches as their windows end, until Shutdown.
func (p *walletPollution) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		p.mu.Lock()
		wait := time.Duration(-1)
		if len(p.held) > 0 {
			wait = max(time.Duration(p.held[0].due-p.now().UnixNano()), 0)
		}
		p.mu.Unlock()
		if wait < 0 {
			select {
			case <-p.wake:
				continue
			case <-p.stop:
				return
			}
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
			p.releaseDue()
		case <-p.wake:
			timer.Stop()
		case <-p.stop:
			timer.Stop()
			return
		}
	}
}

// releaseDue judges and forwards the batches whose window has ended, and
// forgets timeline entries older than the retention.
func (p *walletPollution) releaseDue() {
	var c counts
	var out []*heldBatch
	p.mu.Lock()
	now := p.now().UnixNano()
	for len(p.held) > 0 && p.held[0].due <= now {
		b := p.pop()
		p.decide(b, &c)
		out = append(out, b)
	}
	p.prune(now)
	p.mu.Unlock()
	p.tel.add(c)
	_ = p.forward(context.Background(), out)
}

func (p *walletPollution) pop() *heldBatch {
	b := p.held[0]
	p.held[0] = nil
	p.held = p.held[1:]
	p.heldSpans -= b.spans
	return b
}

func (p *walletPollution) forward(ctx context.Context, out []*heldBatch) error {
	var errs []error
	for _, b := range out {
		if err := p.next.ConsumeTraces(ctx, b.td); err != nil {
			p.logger.Warn("walletpollution: the next consumer refused a batch", zap.Int("spans", b.spans), zap.Error(err))
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ingest reads b's wallet-rpc spans: opens and closes go on their
// endpoint's timeline now, so that calls held in other batches see them;
// calls to judge are kept in b. Called with p.mu held.
func (p *walletPollution) ingest(b *heldBatch, now int64, c *counts) {
	rss := b.td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		instance := str(rs.Resource().Attributes(), keyServiceInstance)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			scope := ss.Scope().Name()
			spans := ss.Spans()
			for k := range spans.Len() {
				span := spans.At(k)
				s, ok := readSpan(span, scope)
				if !ok {
					continue
				}
				p.ingestSpan(b, span, &s, instance, now, c)
			}
		}
	}
}

func (p *walletPollution) ingestSpan(b *heldBatch, span ptrace.Span, s *rpcSpan, instance string, now int64, c *counts) {
	ep := p.endpoint(s.endpoint, now, c)
	dropped, fresh := ep.remember(spanKey{span.TraceID(), span.SpanID()}, now, p.cfg.MaxEntriesPerEndpoint)
	c.dropped += int64(dropped)
	if !fresh {
		c.duplicates++
		return
	}
	if s.start < ep.decidedUntil {
		c.late++
	}
	switch s.role {
	case roleSwitch:
		e := entry{
			start: s.start, end: s.end, received: now,
			escrowID:   unique.Make(s.escrowID),
			instanceID: unique.Make(instance),
			traceID:    span.TraceID(),
			spanID:     span.SpanID(),
		}
		switch {
		case s.outcome == outcomeRPCError || s.outcome == outcomeNotRun:
			return // changed nothing
		case s.outcome == outcomeUnknown:
			e.effect = effectUnknown
		case s.method == walletrpc.MethodCloseWallet:
			e.effect = effectClosed
		case s.filename == "":
			e.effect = effectUnknown // opened something, not known what
		default:
			e.effect, e.wallet = effectOpen, unique.Make(s.filename)
		}
		c.dropped += int64(ep.insert(e, p.cfg.MaxEntriesPerEndpoint))
	case roleCall:
		if s.outcome != outcomeServed && s.outcome != outcomeRPCError {
			return // never ran, or ran who knows when
		}
		if flaggedByProcess(span, escrowconv.ReasonWrongWalletOpen) {
			return
		}
		b.calls = append(b.calls, heldCall{
			span: span, endpoint: s.endpoint, expected: s.filename,
			start: s.start, end: s.end,
		})
	}
}

// endpoint returns the state of key, making it, and forgetting the least
// recently used endpoint when there are max_endpoints already.
func (p *walletPollution) endpoint(key endpointKey, now int64, c *counts) *endpoint {
	ep := p.endpoints[key]
	if ep == nil {
		if len(p.endpoints) >= p.cfg.MaxEndpoints {
			// A linear scan: endpoints are few, and only a deployment
			// with more than max_endpoints of them pays it.
			var oldest endpointKey
			oldestUse := int64(math.MaxInt64)
			for k, e := range p.endpoints {
				if e.lastUsed < oldestUse {
					oldest, oldestUse = k, e.lastUsed
				}
			}
			old := p.endpoints[oldest]
			c.dropped += int64(len(old.entries) + len(old.seenOrder))
			delete(p.endpoints, oldest)
		}
		ep = newEndpoint()
		p.endpoints[endpointKey{strings.Clone(key.host), key.port}] = ep
	}
	ep.lastUsed = now
	return ep
}

// decide judges b's calls and marks those that met another wallet. Called
// with p.mu held.
func (p *walletPollution) decide(b *heldBatch, c *counts) {
	for i := range b.calls {
		hc := &b.calls[i]
		ep := p.endpoints[hc.endpoint]
		if ep == nil {
			continue // forgotten (max_endpoints): nothing known
		}
		v, opener := ep.decide(hc.start, hc.end, hc.expected)
		ep.decidedUntil = max(ep.decidedUntil, hc.end)
		switch v {
		case verdictWrong:
			f := finding{endpoint: hc.endpoint.String(), port: hc.endpoint.port, expected: hc.expected, opener: *opener}
			f.mark(hc.span)
			c.findings++
		case verdictAmbiguous:
			c.ambiguous++
		}
	}
	b.calls = nil
}

// prune forgets what is older than the retention, and endpoints left with
// nothing. Called with p.mu held.
func (p *walletPollution) prune(now int64) {
	cutoff := now - p.retention
	for k, ep := range p.endpoints {
		ep.prune(cutoff)
		if len(ep.entries) == 0 && len(ep.seenOrder) == 0 {
			delete(p.endpoints, k)
		}
	}
}
