package jaegerquery

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
	"github.com/escrowtrace/escrowtrace/internal/jaegerv1"
	"github.com/escrowtrace/escrowtrace/report"
)

// Tags Jaeger adds for what OTLP carries outside the attributes.
const (
	tagSpanKind   = "span.kind"
	tagStatusCode = "otel.status_code"
	tagStatusDesc = "otel.status_description"
	tagError      = "error"
	tagScopeName  = "otel.scope.name"
	tagScopeVer   = "otel.scope.version"
	fieldEvent    = "event"
)

// convert runs the traces through the legacy exporter and reads its files.
func convert(ctx context.Context, base string, traces []jaegerv1.Trace) ([]report.Input, error) {
	dir, err := os.MkdirTemp(tempDir(), "escrowtrace-jaeger-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	exp, err := jsonfile.New(jsonfile.WithDir(dir), jsonfile.WithSync(false))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var spans []sdktrace.ReadOnlySpan
	for _, t := range traces {
		if seen[t.TraceID] {
			continue
		}
		seen[t.TraceID] = true
		stubs, err := stubsOf(t)
		if err != nil {
			return nil, fmt.Errorf("jaeger trace %s: %w", t.TraceID, err)
		}
		spans = append(spans, stubs.Snapshots()...)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		return nil, fmt.Errorf("converting Jaeger spans to legacy events: %w", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		return nil, fmt.Errorf("converting Jaeger spans to legacy events: %w", err)
	}
	in, err := report.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("jaeger %s: the traces hold no escrow (no %s spans with escrow.id): %w", base, "escrow.setup", err)
	}
	for i := range in {
		id := strings.TrimSuffix(filepath.Base(in[i].Source), ".json")
		in[i].Source = base + " (" + id + ")"
		if len(in[i].Events) > 0 {
			in[i].Source = base + "/search?tags=" + jsonTag(in[i].Events[0].TraceID)
		}
	}
	return in, nil
}

func jsonTag(legacyTraceID string) string {
	id := legacyTraceID
	if i := strings.LastIndexByte(id, '-'); i > 0 {
		id = id[:i]
	}
	b, _ := json.Marshal(map[string]string{"escrow.id": id})
	return string(b)
}

// stubsOf turns one Jaeger trace back into SDK span stubs.
func stubsOf(t jaegerv1.Trace) (tracetest.SpanStubs, error) {
	tid, err := traceIDOf(t.TraceID)
	if err != nil {
		return nil, err
	}
	out := make(tracetest.SpanStubs, 0, len(t.Spans))
	for _, s := range t.Spans {
		sid, err := spanIDOf(s.SpanID)
		if err != nil {
			return nil, fmt.Errorf("span %q: %w", s.SpanID, err)
		}
		st := tracetest.SpanStub{
			Name:        s.OperationName,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
			StartTime:   time.UnixMicro(s.StartTime),
			EndTime:     time.UnixMicro(s.StartTime + max(s.Duration, 0)),
			SpanKind:    trace.SpanKindInternal,
		}
		if p := s.Parent(); p != "" {
			if pid, err := spanIDOf(p); err == nil {
				st.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled})
			}
		}
		for _, kv := range s.Tags {
			switch kv.Key {
			case tagSpanKind:
				st.SpanKind = trace.ValidateSpanKind(kindOf(fmt.Sprint(kv.Value)))
			case tagStatusCode:
				switch strings.ToUpper(fmt.Sprint(kv.Value)) {
				case "ERROR":
					st.Status.Code = codes.Error
				case "OK":
					st.Status.Code = codes.Ok
				}
			case tagStatusDesc:
				st.Status.Description = fmt.Sprint(kv.Value)
			case tagError, tagScopeName, tagScopeVer:
			default:
				if a, ok := attr(kv); ok {
					st.Attributes = append(st.Attributes, a)
				}
			}
		}
		if st.Status.Code == codes.Unset && hasTrue(s.Tags, tagError) {
			st.Status.Code = codes.Error
		}
		for _, l := range s.Logs {
			ev := sdktrace.Event{Time: time.UnixMicro(l.Timestamp)}
			for _, kv := range l.Fields {
				if kv.Key == fieldEvent && ev.Name == "" {
					ev.Name = fmt.Sprint(kv.Value)
					continue
				}
				if a, ok := attr(kv); ok {
					ev.Attributes = append(ev.Attributes, a)
				}
			}
			st.Events = append(st.Events, ev)
		}
		out = append(out, st)
	}
	return out, nil
}

func hasTrue(kvs []jaegerv1.KeyValue, key string) bool {
	for _, kv := range kvs {
		if kv.Key == key {
			if b, ok := kv.Value.(bool); ok {
				return b
			}
		}
	}
	return false
}

func kindOf(s string) trace.SpanKind {
	switch strings.ToLower(s) {
	case "client":
		return trace.SpanKindClient
	case "server":
		return trace.SpanKindServer
	case "producer":
		return trace.SpanKindProducer
	case "consumer":
		return trace.SpanKindConsumer
	}
	return trace.SpanKindInternal
}

// attr converts a Jaeger tag to an attribute, by its declared type.
func attr(kv jaegerv1.KeyValue) (attribute.KeyValue, bool) {
	k := attribute.Key(kv.Key)
	switch kv.Type {
	case "bool":
		if b, ok := kv.Value.(bool); ok {
			return k.Bool(b), true
		}
	case "int64":
		switch v := kv.Value.(type) {
		case json.Number:
			if n, err := v.Int64(); err == nil {
				return k.Int64(n), true
			}
		case float64:
			return k.Int64(int64(v)), true
		}
	case "float64":
		switch v := kv.Value.(type) {
		case json.Number:
			if f, err := v.Float64(); err == nil {
				return k.Float64(f), true
			}
		case float64:
			return k.Float64(v), true
		}
	case "string", "":
		if s, ok := kv.Value.(string); ok {
			return k.String(s), true
		}
	}
	if kv.Value == nil {
		return attribute.KeyValue{}, false
	}
	return k.String(fmt.Sprint(kv.Value)), true
}

func traceIDOf(s string) (trace.TraceID, error) {
	var id trace.TraceID
	s = strings.Repeat("0", max(32-len(s), 0)) + s
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return id, fmt.Errorf("trace id %q is not 32 hex digits", s)
	}
	copy(id[:], b)
	return id, nil
}

func spanIDOf(s string) (trace.SpanID, error) {
	var id trace.SpanID
	s = strings.Repeat("0", max(16-len(s), 0)) + s
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8 {
		return id, fmt.Errorf("span id %q is not 16 hex digits", s)
	}
	copy(id[:], b)
	return id, nil
}
