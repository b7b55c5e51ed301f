package otelsetup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var (
	_ sdktrace.SpanProcessor = (*countedBatcher)(nil)
	_ sdktrace.SpanExporter  = (*countedExporter)(nil)
)

// countedBatcher is a batch span processor whose losses are counted: the
// spans handed to it (sampled ones; the batcher ignores the others) minus
// the spans its exporter accepted is what it dropped (queue full), failed to
// export (collector down, timeout) or had left when shutdown gave up. The
// batcher itself never blocks the application.
type countedBatcher struct {
	sdktrace.SpanProcessor
	name   string
	exp    *countedExporter
	handed atomic.Int64
	closed atomic.Bool

	once    sync.Once
	stopErr error
}

func newCountedBatcher(name string, exp sdktrace.SpanExporter) *countedBatcher {
	ce := &countedExporter{SpanExporter: exp}
	return &countedBatcher{SpanProcessor: sdktrace.NewBatchSpanProcessor(ce), name: name, exp: ce}
}

func (b *countedBatcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() && !b.closed.Load() {
		b.handed.Add(1)
	}
	b.SpanProcessor.OnEnd(s)
}

// Shutdown flushes and stops the batcher within ctx. Later calls return the
// first call's result.
func (b *countedBatcher) Shutdown(ctx context.Context) error {
	b.once.Do(func() {
		b.closed.Store(true)
		if err := b.SpanProcessor.Shutdown(ctx); err != nil {
			b.stopErr = fmt.Errorf("otelsetup: %s exporter: shutdown: %w", b.name, err)
		}
	})
	return b.stopErr
}

// loss says what the exporter lost, nil when nothing.
func (b *countedBatcher) loss() error {
	handed := b.handed.Load()
	accepted, lastErr := b.exp.counts()
	lost := handed - accepted
	if lost <= 0 {
		return nil
	}
	why := "dropped when the queue was full (OTEL_BSP_MAX_QUEUE_SIZE) or not exported before shutdown ended"
	if lastErr != nil {
		why = fmt.Sprintf("dropped, or failed to export (last error: %v)", lastErr)
	}
	return fmt.Errorf("otelsetup: %s exporter: %d of %d spans not exported: %s", b.name, lost, handed, why)
}

// countedExporter counts the spans its exporter accepted and keeps the last
// error, which the batch processor only hands to otel.Handle.
type countedExporter struct {
	sdktrace.SpanExporter
	mu       sync.Mutex
	accepted int64
	lastErr  error
}

func (e *countedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.mu.Lock()
	if err == nil {
		e.accepted += int64(len(spans))
	} else {
		e.lastErr = err
	}
	e.mu.Unlock()
	return err
}

func (e *countedExporter) counts() (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accepted, e.lastErr
}

// MarshalLog describes the wrapped exporter.
func (e *countedExporter) MarshalLog() any {
	if m, ok := e.SpanExporter.(interface{ MarshalLog() any }); ok {
		return m.MarshalLog()
	}
	return fmt.Sprintf("%T", e.SpanExporter)
}

// losses joins the losses of the files and of each exporter.
func (p *pipeline) losses() error {
	errs := []error{p.files.loss()}
	for _, b := range p.batchers {
		errs = append(errs, b.loss())
	}
	return errors.Join(errs...)
}
