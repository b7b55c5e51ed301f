package escrowjsonexporter

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/exporter/assembly"
)

// OTLP span flags (proto SpanFlags): whether the parent's remoteness is
// known, and that it is remote.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// fromPdata is the assembly's view of a batch. Attribute values are not
// copied beyond what the conversion to attribute.Value takes: the Assembler
// copies what it keeps before Add returns. Resource attributes are not
// read: escrows are told apart by trace and escrow.id, whichever process
// sent them.
func fromPdata(td ptrace.Traces) []assembly.Span {
	out := make([]assembly.Span, 0, td.SpanCount())
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				out = append(out, spanOf(spans.At(k)))
			}
		}
	}
	return out
}

func spanOf(s ptrace.Span) assembly.Span {
	flags := s.Flags()
	out := assembly.Span{
		TraceID: trace.TraceID(s.TraceID()),
		Name:    s.Name(),
		Kind:    kindOf(s.Kind()),
		// A span whose parent is remote tops its process's part of the
		// trace, as in the SDK (otelsetup sends the flags over OTLP).
		LocalRoot:         s.ParentSpanID().IsEmpty() || flags&(flagHasIsRemote|flagIsRemote) == flagHasIsRemote|flagIsRemote,
		Start:             s.StartTimestamp().AsTime(),
		End:               s.EndTimestamp().AsTime(),
		Attributes:        attrsOf(s.Attributes()),
		StatusDescription: s.Status().Message(),
	}
	switch s.Status().Code() {
	case ptrace.StatusCodeError:
		out.StatusCode = codes.Error
	case ptrace.StatusCodeOk:
		out.StatusCode = codes.Ok
	}
	if evs := s.Events(); evs.Len() > 0 {
		out.Events = make([]assembly.Event, evs.Len())
		for i := range out.Events {
			ev := evs.At(i)
			out.Events[i] = assembly.Event{Name: ev.Name(), Time: ev.Timestamp().AsTime(), Attributes: attrsOf(ev.Attributes())}
		}
	}
	return out
}

func kindOf(k ptrace.SpanKind) trace.SpanKind {
	switch k {
	case ptrace.SpanKindInternal:
		return trace.SpanKindInternal
	case ptrace.SpanKindServer:
		return trace.SpanKindServer
	case ptrace.SpanKindClient:
		return trace.SpanKindClient
	case ptrace.SpanKindProducer:
		return trace.SpanKindProducer
	case ptrace.SpanKindConsumer:
		return trace.SpanKindConsumer
	}
	return trace.SpanKindUnspecified
}

// attrsOf converts a pdata map. Values the conversion never reads as
// anything but strings (arrays, maps, bytes, empty) become their string
// form.
func attrsOf(m pcommon.Map) []attribute.KeyValue {
	if m.Len() == 0 {
		return nil
	}
	kvs := make([]attribute.KeyValue, 0, m.Len())
	for k, v := range m.All() {
		kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(k), Value: valueOf(v)})
	}
	return kvs
}

func valueOf(v pcommon.Value) attribute.Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return attribute.StringValue(v.Str())
	case pcommon.ValueTypeInt:
		return attribute.Int64Value(v.Int())
	case pcommon.ValueTypeBool:
		return attribute.BoolValue(v.Bool())
	case pcommon.ValueTypeDouble:
		return attribute.Float64Value(v.Double())
	}
	return attribute.StringValue(v.AsString())
}
