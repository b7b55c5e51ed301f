package assembly

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Span is what the Assembler reads of one ended span. Each front end fills
// it from its own span type: exporter/jsonfile from the SDK's
// ReadOnlySpan, the escrowtrace collector from pdata. Only the attributes
// named in escrowconv are read; the Assembler copies the values it keeps,
// so a Span and its slices may be reused once Add returns.
type Span struct {
	TraceID trace.TraceID
	Name    string
	Kind    trace.SpanKind
	// LocalRoot says the span has no parent, or a remote one: it is the
	// top of the part of its trace made in one process. Spans end before
	// their parents, so it is the last of that part to arrive.
	LocalRoot  bool
	Start, End time.Time
	// Attributes are the span's own attributes (not the resource's).
	Attributes        []attribute.KeyValue
	Events            []Event
	StatusCode        codes.Code
	StatusDescription string
}

// Event is a span event.
type Event struct {
	Name       string
	Time       time.Time
	Attributes []attribute.KeyValue
}
