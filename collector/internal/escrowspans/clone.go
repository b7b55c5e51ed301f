package escrowspans

import (
	"encoding/binary"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// BatchSize is the SDK batch span processor's default export batch
// (OTEL_BSP_MAX_EXPORT_BATCH_SIZE): the benchmarks send spans in batches
// of this many, as a server process's SDK does under load.
const BatchSize = 512

// ID is the escrow id of escrow n: "bench-<n>".
func ID(n uint64) string { return "bench-" + strconv.FormatUint(n, 10) }

// TraceID is the trace id of escrow n: 0xbe7c4 in the high half, n in the
// low half.
func TraceID(n uint64) trace.TraceID {
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[:8], 0xbe7c4)
	binary.BigEndian.PutUint64(tid[8:], n)
	return tid
}

// Clone returns escrow n: the template's spans, in the same order, with
// trace id TraceID(n), escrow.id ID(n), and escrow.trace_id and the
// attributes that held the template's escrow id in their value (wallet
// ids) rewritten to match. Everything else is shared with the template,
// which Clone does not modify.
func Clone(template []sdktrace.ReadOnlySpan, n uint64) []sdktrace.ReadOnlySpan {
	tid := TraceID(n)
	id := ID(n)
	oldID := escrowIDOf(template)
	out := make([]sdktrace.ReadOnlySpan, len(template))
	for i, s := range template {
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		stub.SpanContext = stub.SpanContext.WithTraceID(tid)
		if stub.Parent.IsValid() {
			stub.Parent = stub.Parent.WithTraceID(tid)
		}
		stub.Attributes = rewrite(stub.Attributes, oldID, id)
		if len(stub.Events) > 0 {
			evs := make([]sdktrace.Event, len(stub.Events))
			copy(evs, stub.Events)
			for j := range evs {
				evs[j].Attributes = rewrite(evs[j].Attributes, oldID, id)
			}
			stub.Events = evs
		}
		out[i] = stub.Snapshot()
	}
	return out
}

// rewrite returns attrs with oldID replaced by id in string values; attrs
// itself when nothing changes.
func rewrite(attrs []attribute.KeyValue, oldID, id string) []attribute.KeyValue {
	var out []attribute.KeyValue
	for j, kv := range attrs {
		if kv.Value.Type() != attribute.STRING || !strings.Contains(kv.Value.AsString(), oldID) {
			continue
		}
		if out == nil {
			out = make([]attribute.KeyValue, len(attrs))
			copy(out, attrs)
		}
		out[j] = kv.Key.String(strings.ReplaceAll(kv.Value.AsString(), oldID, id))
	}
	if out == nil {
		return attrs
	}
	return out
}

// escrowIDOf is the escrow id of the template's root.
func escrowIDOf(spans []sdktrace.ReadOnlySpan) string {
	for _, s := range spans {
		if s.Name() != escrowconv.SpanEscrow {
			continue
		}
		for _, kv := range s.Attributes() {
			if kv.Key == escrowconv.EscrowID {
				return kv.Value.AsString()
			}
		}
	}
	return ""
}
