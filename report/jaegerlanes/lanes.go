// Package jaegerlanes writes a report's per-endpoint lanes as one Jaeger
// trace in the JSON shape of Jaeger's v1 API ({"data": [trace]}), which the
// Jaeger UI's Upload tab (Search → JSON File) opens: for teams who live in
// Jaeger.
//
// The trace has a root span "wallet-rpc lanes" in service "escrowtrace
// report"; under it one span per endpoint ("endpoint 127.0.0.1:18083",
// from its first to its last call), and under each endpoint one span per
// RPC call made there, named by the method, in the service "escrow #N
// <id>" of its escrow, so that the UI colours calls by escrow. A call
// that met the wrong wallet carries error=true and one log per pollution
// event; pollution events not tied to a call in the file become spans of
// their own named cache_pollution, with error=true.
package jaegerlanes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/escrowtrace/escrowtrace/internal/jaegerv1"
	"github.com/escrowtrace/escrowtrace/report"
)

// Write writes r's lanes as a Jaeger JSON trace to w.
func Write(w io.Writer, r *report.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(jaegerv1.Response{Data: []jaegerv1.Trace{Trace(r)}})
}

// Trace builds the lanes trace. Its ids are derived from the escrows'
// trace ids, so that the same files give the same trace.
func Trace(r *report.Report) jaegerv1.Trace {
	h := sha256.New()
	for _, e := range r.Escrows {
		h.Write([]byte(e.TraceID))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	tid := hex.EncodeToString(sum[:16])
	n := uint64(0)
	nextID := func() string {
		n++
		return fmt.Sprintf("%016x", n)
	}
	t := jaegerv1.Trace{TraceID: tid, Processes: map[string]jaegerv1.Process{}, Warnings: nil}
	t.Processes["p0"] = jaegerv1.Process{ServiceName: "escrowtrace report", Tags: []jaegerv1.KeyValue{}}
	for _, e := range r.Escrows {
		t.Processes["p"+strconv.Itoa(e.N)] = jaegerv1.Process{
			ServiceName: fmt.Sprintf("escrow #%d %s", e.N, e.ID),
			Tags: []jaegerv1.KeyValue{
				str("escrow.id", e.ID), str("escrow.trace_id", e.TraceID), str("escrow.status", e.Status()),
			},
		}
	}
	us := func(ms int64) int64 { return ms * 1000 }
	root := jaegerv1.Span{
		TraceID: tid, SpanID: nextID(), OperationName: "wallet-rpc lanes",
		StartTime: us(r.Start), Duration: us(max(r.End-r.Start, 0)) + 1000, ProcessID: "p0",
		References: []jaegerv1.Reference{},
		Tags: []jaegerv1.KeyValue{
			{Key: "escrows", Type: "int64", Value: len(r.Escrows)},
			{Key: "cache_pollution.events", Type: "int64", Value: r.Summary.Pollution},
		},
		Logs: []jaegerv1.Log{},
	}
	if r.Summary.Pollution > 0 {
		root.Tags = append(root.Tags, jaegerv1.KeyValue{Key: "error", Type: "bool", Value: true})
	}
	t.Spans = append(t.Spans, root)
	childOf := func(id string) []jaegerv1.Reference {
		return []jaegerv1.Reference{{RefType: "CHILD_OF", TraceID: tid, SpanID: id}}
	}
	for _, ep := range r.Endpoints {
		start, end := r.End, r.Start
		for _, c := range ep.Calls {
			start, end = min(start, c.Start), max(end, c.End)
		}
		for _, p := range ep.Pollution {
			start, end = min(start, p.Time), max(end, p.Time)
		}
		if start > end {
			continue
		}
		eps := jaegerv1.Span{
			TraceID: tid, SpanID: nextID(), OperationName: "endpoint " + ep.Name, References: childOf(root.SpanID),
			StartTime: us(start), Duration: us(end-start) + 1000, ProcessID: "p0",
			Tags: []jaegerv1.KeyValue{
				str("wallet_rpc.endpoint", ep.Name),
				{Key: "server.port", Type: "int64", Value: ep.Port},
				{Key: "calls", Type: "int64", Value: len(ep.Calls)},
				{Key: "cache_pollution.events", Type: "int64", Value: len(ep.Pollution)},
			},
			Logs: []jaegerv1.Log{},
		}
		if len(ep.Pollution) > 0 {
			eps.Tags = append(eps.Tags, jaegerv1.KeyValue{Key: "error", Type: "bool", Value: true})
		}
		t.Spans = append(t.Spans, eps)
		for _, c := range ep.Calls {
			s := jaegerv1.Span{
				TraceID: tid, SpanID: nextID(), OperationName: c.Method, References: childOf(eps.SpanID),
				StartTime: us(c.Start), Duration: us(max(c.End-c.Start, 0)), ProcessID: "p" + strconv.Itoa(c.Escrow.N),
				Tags: []jaegerv1.KeyValue{
					str("rpc.method", c.Method), str("wallet.role", c.Role), str("escrow.id", c.Escrow.ID),
					{Key: "server.port", Type: "int64", Value: c.Port},
					{Key: "multisig.round", Type: "int64", Value: c.Round},
					str("span.kind", "client"),
				},
				Logs: []jaegerv1.Log{},
			}
			if c.Ended && !c.OK {
				s.Tags = append(s.Tags, jaegerv1.KeyValue{Key: "error", Type: "bool", Value: true}, str("otel.status_description", c.Error))
				if c.Code != nil {
					s.Tags = append(s.Tags, str("rpc.response.status_code", strconv.Itoa(*c.Code)))
				}
			}
			if !c.Ended {
				s.Warnings = []string{"no end recorded in the file"}
			}
			for _, p := range c.Pollution {
				s.Logs = append(s.Logs, pollutionLog(p))
			}
			if len(c.Pollution) > 0 && !(c.Ended && !c.OK) {
				s.Tags = append(s.Tags, jaegerv1.KeyValue{Key: "error", Type: "bool", Value: true})
			}
			t.Spans = append(t.Spans, s)
		}
		for _, p := range ep.Pollution {
			if p.Call != nil {
				continue
			}
			t.Spans = append(t.Spans, jaegerv1.Span{
				TraceID: tid, SpanID: nextID(), OperationName: "cache_pollution", References: childOf(eps.SpanID),
				StartTime: us(p.Time), Duration: 0, ProcessID: "p" + strconv.Itoa(p.Escrow.N),
				Tags: []jaegerv1.KeyValue{
					{Key: "error", Type: "bool", Value: true},
					str("wallet.role", p.Role), str("escrow.id", p.Escrow.ID), str("pollution.reason", p.Reason),
				},
				Logs: []jaegerv1.Log{pollutionLog(p)},
			})
		}
	}
	return t
}

func pollutionLog(p *report.Pollution) jaegerv1.Log {
	f := []jaegerv1.KeyValue{
		str("event", "cache_pollution"), str("pollution.reason", p.Reason),
		str("pollution.expected_wallet", p.Expected), str("pollution.actual_wallet", p.Actual),
		str("pollution.endpoint", p.Endpoint), str("pollution.other_escrow_id", p.OtherID),
	}
	if p.Other != nil {
		f = append(f, str("pollution.other_escrow", fmt.Sprintf("escrow #%d", p.Other.N)))
	}
	if p.OtherInstance != "" {
		f = append(f, str("pollution.other_service_instance_id", p.OtherInstance))
	}
	if p.DetectedBy != "" {
		f = append(f, str("pollution.detected_by", p.DetectedBy))
	}
	return jaegerv1.Log{Timestamp: p.Time * 1000, Fields: f}
}

func str(k, v string) jaegerv1.KeyValue { return jaegerv1.KeyValue{Key: k, Type: "string", Value: v} }
