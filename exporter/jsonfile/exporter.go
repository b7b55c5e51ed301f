package jsonfile

import (
	"context"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/exporter/assembly"
)

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// Stats are the Exporter's counters since New.
type Stats = assembly.Stats

// Exporter writes the spans of escrow setups as legacy escrow_*.json files,
// one per escrow, when the escrow's root span has ended. It is the SDK front
// end of package assembly, which does the work.
type Exporter struct {
	asm *assembly.Assembler
}

// New returns an Exporter writing to the directory set by WithDir, which it
// creates when missing.
func New(opts ...Option) (*Exporter, error) {
	asm, err := assembly.New(newConfig(opts))
	if err != nil {
		return nil, err
	}
	return &Exporter{asm: asm}, nil
}

// ExportSpans buffers the escrow events the spans carry and writes the files
// of the escrows whose root span has arrived. Spans that carry nothing of an
// escrow are ignored. A failed write is reported here and retried by the next
// call, ForceFlush or Shutdown: the events stay buffered. When ctx is done
// the spans are still buffered but no file is written.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	in := make([]assembly.Span, 0, len(spans))
	n := 0
	for _, s := range spans {
		if s != nil {
			n += len(s.Events())
		}
	}
	events := make([]assembly.Event, 0, n) // one allocation for the batch's events
	for _, s := range spans {
		if s != nil {
			var sp assembly.Span
			sp, events = fromSDK(s, events)
			in = append(in, sp)
		}
	}
	return e.asm.Add(ctx, in)
}

// ForceFlush retries the writes that failed before. It writes nothing for
// escrows whose root has not arrived.
func (e *Exporter) ForceFlush(ctx context.Context) error { return e.asm.Flush(ctx) }

// Shutdown writes every buffered escrow, finished ones under their normal
// name and unfinished ones as _PARTIAL, and stops the exporter: later
// ExportSpans calls do nothing. When ctx ends first, it returns ctx's error
// and what was not written stays buffered for another Shutdown call.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.asm.Shutdown(ctx) }

// Stats returns the counters.
func (e *Exporter) Stats() Stats { return e.asm.Stats() }

// MarshalLog describes the Exporter for OTel's logging.
func (e *Exporter) MarshalLog() any {
	return struct {
		Type string
		Dir  string
	}{Type: "jsonfile", Dir: e.asm.Dir()}
}

// fromSDK is the assembly's view of an SDK span. It copies no attribute:
// the Assembler copies what it keeps before Add returns. The span's events
// are appended to events, whose capacity the caller sized.
func fromSDK(s sdktrace.ReadOnlySpan, events []assembly.Event) (assembly.Span, []assembly.Event) {
	parent := s.Parent()
	status := s.Status()
	out := assembly.Span{
		TraceID:           s.SpanContext().TraceID(),
		Name:              s.Name(),
		Kind:              s.SpanKind(),
		LocalRoot:         !parent.IsValid() || parent.IsRemote(),
		Start:             s.StartTime(),
		End:               s.EndTime(),
		Attributes:        s.Attributes(),
		StatusCode:        status.Code,
		StatusDescription: status.Description,
	}
	if evs := s.Events(); len(evs) > 0 {
		first := len(events)
		for _, ev := range evs {
			events = append(events, assembly.Event{Name: ev.Name, Time: ev.Time, Attributes: ev.Attributes})
		}
		out.Events = events[first:len(events):len(events)]
	}
	return out, events
}
