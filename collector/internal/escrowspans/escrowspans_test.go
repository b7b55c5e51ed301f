package escrowspans_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/escrowtrace/escrowtrace/collector/internal/escrowspans"
	"github.com/escrowtrace/escrowtrace/escrowconv"
)

func record(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmpl, err := escrowspans.Record(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// A recorded setup is the tree otelmsig makes today, root last; a clone
// carries the new ids everywhere and leaves the template as it was.
func TestRecordClone(t *testing.T) {
	tmpl := record(t)
	if len(tmpl) != 115 {
		t.Errorf("recorded %d spans, want 115 (a dedicated 2-of-3 success)", len(tmpl))
	}
	if got := len(escrowspans.WithoutRoot(tmpl)); got != len(tmpl)-1 {
		t.Errorf("WithoutRoot left %d of %d spans", got, len(tmpl))
	}
	c := escrowspans.Clone(tmpl, 42)
	if len(c) != len(tmpl) {
		t.Fatalf("clone has %d spans, template %d", len(c), len(tmpl))
	}
	ids := 0
	for i, s := range c {
		if s.SpanContext().TraceID() != escrowspans.TraceID(42) {
			t.Fatalf("span %d (%s): trace id %s", i, s.Name(), s.SpanContext().TraceID())
		}
		if s.Parent().IsValid() && s.Parent().TraceID() != escrowspans.TraceID(42) {
			t.Fatalf("span %d (%s): parent in trace %s", i, s.Name(), s.Parent().TraceID())
		}
		if s.SpanContext().SpanID() != tmpl[i].SpanContext().SpanID() {
			t.Fatalf("span %d: span id changed", i)
		}
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case escrowconv.EscrowID:
				ids++
				if kv.Value.AsString() != "bench-42" {
					t.Fatalf("span %d (%s): escrow.id %q", i, s.Name(), kv.Value.AsString())
				}
			case escrowconv.EscrowTraceID:
				if v := kv.Value.AsString(); len(v) < 10 || v[:9] != "bench-42-" {
					t.Fatalf("span %d: escrow.trace_id %q", i, v)
				}
			}
		}
	}
	if ids == 0 {
		t.Fatal("no span of the clone has escrow.id")
	}
	for _, kv := range tmpl[len(tmpl)-1].Attributes() {
		if kv.Key == escrowconv.EscrowID && kv.Value.AsString() == "bench-42" {
			t.Fatal("Clone changed the template")
		}
	}
}

// Traces gives the same spans as pdata, ids and attributes intact.
func TestTraces(t *testing.T) {
	spans := escrowspans.Clone(record(t), 7)
	td, err := escrowspans.Traces(spans)
	if err != nil {
		t.Fatal(err)
	}
	if td.SpanCount() != len(spans) {
		t.Fatalf("pdata has %d spans, want %d", td.SpanCount(), len(spans))
	}
	root := 0
	forEach(td, func(s ptrace.Span) {
		if s.TraceID() != pcommon.TraceID(escrowspans.TraceID(7)) {
			t.Fatalf("%s: trace id %s", s.Name(), s.TraceID())
		}
		if s.Name() == escrowconv.SpanEscrow {
			root++
			if v, _ := s.Attributes().Get(string(escrowconv.EscrowID)); v.Str() != "bench-7" {
				t.Errorf("root's escrow.id %q", v.Str())
			}
		}
	})
	if root != 1 {
		t.Fatalf("%d roots in the pdata", root)
	}
	svc, _ := td.ResourceSpans().At(0).Resource().Attributes().Get("service.name")
	if svc.Str() != escrowspans.ServiceName {
		t.Errorf("service.name %q", svc.Str())
	}
}

func forEach(td ptrace.Traces, f func(ptrace.Span)) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				f(s)
			}
		}
	}
}
