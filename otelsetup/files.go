package otelsetup

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

var _ sdktrace.SpanProcessor = (*filesProcessor)(nil)

const (
	// defaultFilesQueue is how many ended spans may wait for the legacy
	// files' goroutine before OnEnd waits for room (back-pressure: a full
	// queue slows the application instead of losing events).
	defaultFilesQueue = 4096
	// filesBatch is the most spans handed to the exporter at once.
	filesBatch = 512
)

// filesProcessor hands every ended, recording span to the legacy JSON
// exporter, whatever the sampler decided and however the batch processors
// are tuned. It has a queue and a goroutine of its own, so converting spans
// and writing files is off the application's goroutine; when the queue is
// full OnEnd waits instead of dropping. Shutdown writes every file even
// when its context is done: the writes are local and bounded by the
// exporter's limits.
type filesProcessor struct {
	exp *jsonfile.Exporter

	mu      sync.RWMutex // held for reading while sending, for writing to close
	closed  bool
	queue   chan filesItem
	done    chan struct{} // closed when the goroutine has exported everything
	stopErr error
	once    sync.Once

	errMu    sync.Mutex
	lastErr  error // the last error of ExportSpans, for the shutdown report
	errCount int
	late     int // spans that ended after Shutdown: in no file
}

// filesItem is an ended span or, with flushed set, a ForceFlush marker.
type filesItem struct {
	span    sdktrace.ReadOnlySpan
	flushed chan struct{}
}

func newFilesProcessor(exp *jsonfile.Exporter, queueSize int) *filesProcessor {
	if queueSize <= 0 {
		queueSize = defaultFilesQueue
	}
	p := &filesProcessor{exp: exp, queue: make(chan filesItem, queueSize), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *filesProcessor) run() {
	defer close(p.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, filesBatch)
	var flushes []chan struct{}
	for it := range p.queue {
		batch, flushes = batch[:0], flushes[:0]
		add := func(it filesItem) {
			if it.flushed != nil {
				flushes = append(flushes, it.flushed)
			} else {
				batch = append(batch, it.span)
			}
		}
		add(it)
	more:
		for len(batch) < filesBatch {
			select {
			case it, ok := <-p.queue:
				if !ok {
					break more
				}
				add(it)
			default:
				break more
			}
		}
		if len(batch) > 0 {
			// Background: the files of ended escrows are written whatever
			// the application's contexts say.
			p.record(p.exp.ExportSpans(context.Background(), batch))
			clear(batch) // let the spans go
		}
		for _, f := range flushes {
			close(f)
		}
	}
}

func (p *filesProcessor) record(err error) {
	if err == nil {
		return
	}
	p.errMu.Lock()
	p.lastErr = err
	p.errCount++
	p.errMu.Unlock()
	otel.Handle(err)
}

// OnStart does nothing: the files are made from ended spans.
func (*filesProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues s for the exporter, waiting for room when the queue is full.
func (p *filesProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		p.errMu.Lock()
		p.late++
		p.errMu.Unlock()
		return
	}
	p.queue <- filesItem{span: s}
}

// ForceFlush waits until the spans that ended before it are handed to the
// exporter, then has the exporter retry failed writes.
func (p *filesProcessor) ForceFlush(ctx context.Context) error {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil
	}
	f := make(chan struct{})
	select {
	case p.queue <- filesItem{flushed: f}:
	case <-ctx.Done():
		p.mu.RUnlock()
		return ctx.Err()
	}
	p.mu.RUnlock()
	select {
	case <-f:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.exp.ForceFlush(ctx)
}

// Shutdown hands every queued span to the exporter and has it write every
// escrow it holds, finished ones under their name and unfinished ones as
// _PARTIAL, whatever ctx says: the files are local. Later calls return the
// first call's result. A nil processor (WithoutFiles) has nothing to do.
func (p *filesProcessor) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		close(p.queue)
		p.mu.Unlock()
		<-p.done
		p.stopErr = p.exp.Shutdown(context.WithoutCancel(ctx))
	})
	return p.stopErr
}

// loss says what the legacy files lost, nil when nothing.
func (p *filesProcessor) loss() error {
	if p == nil {
		return nil
	}
	st := p.exp.Stats()
	p.errMu.Lock()
	late := p.late
	p.errMu.Unlock()
	var errs []error
	if st.DroppedEscrows > 0 || st.DroppedEvents > 0 {
		errs = append(errs, fmt.Errorf("otelsetup: legacy JSON files: %d escrows and %d events dropped (write errors or limits, see jsonfile.Stats)",
			st.DroppedEscrows, st.DroppedEvents))
	}
	if late > 0 {
		errs = append(errs, fmt.Errorf("otelsetup: legacy JSON files: %d spans ended after shutdown and are in no file", late))
	}
	return errors.Join(errs...)
}
