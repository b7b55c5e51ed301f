package escrowjsonexporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// escrowTraces is a minimal finished escrow in pdata: a root and one
// wallet RPC call.
func escrowTraces(id string, tid byte) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.instance.id", "proc-1")
	ss := rs.ScopeSpans().AppendEmpty()
	start := pcommon.NewTimestampFromTime(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	traceID := pcommon.TraceID{tid, 1}

	call := ss.Spans().AppendEmpty()
	call.SetTraceID(traceID)
	call.SetSpanID(pcommon.SpanID{tid, 2})
	call.SetParentSpanID(pcommon.SpanID{tid, 1})
	call.SetName("prepare_multisig")
	call.SetKind(ptrace.SpanKindClient)
	call.SetStartTimestamp(start + 1e6)
	call.SetEndTimestamp(start + 5e6)
	call.Attributes().PutStr(string(escrowconv.EscrowID), id)
	call.Attributes().PutStr("rpc.method", "prepare_multisig")
	call.Attributes().PutStr("rpc.system.name", "jsonrpc")
	call.Attributes().PutInt("server.port", 18083)
	call.Attributes().PutStr(string(escrowconv.WalletRole), "buyer")

	root := ss.Spans().AppendEmpty()
	root.SetTraceID(traceID)
	root.SetSpanID(pcommon.SpanID{tid, 1})
	root.SetName(escrowconv.SpanEscrow)
	root.SetStartTimestamp(start)
	root.SetEndTimestamp(start + 9e6)
	root.Attributes().PutStr(string(escrowconv.EscrowID), id)
	return td
}

func metricValue(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return -1
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		return d.DataPoints[0].Value
	case metricdata.Gauge[int64]:
		return d.DataPoints[0].Value
	}
	t.Fatalf("%s: unexpected data %T", name, m.Data)
	return 0
}

// A removed directory: the push still succeeds (the events are buffered),
// the failure shows in the component's metrics, and once the directory is
// back the flush loop writes the file without another span arriving.
func TestRemovedDirectoryIsReportedAndRecovered(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	dir := filepath.Join(t.TempDir(), "traces")
	exp := newTestExporter(t, dir, tel)
	defer exp.Shutdown(context.Background())
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := exp.ConsumeTraces(context.Background(), escrowTraces("gone", 1)); err != nil {
		t.Fatalf("ConsumeTraces = %v, want nil: the events are buffered", err)
	}
	if n := metricValue(t, tel, "escrowjson.write_errors"); n < 1 {
		t.Errorf("escrowjson.write_errors = %d, want at least 1", n)
	}
	if n := metricValue(t, tel, "escrowjson.unwritten_escrows"); n != 1 {
		t.Errorf("escrowjson.unwritten_escrows = %d, want 1", n)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, escrowjson.FileName("gone", false))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written after the directory came back", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := metricValue(t, tel, "escrowjson.files_written"); n != 1 {
		t.Errorf("escrowjson.files_written = %d, want 1", n)
	}
	if n := metricValue(t, tel, "escrowjson.dropped_escrows"); n != 0 {
		t.Errorf("escrowjson.dropped_escrows = %d, want 0", n)
	}
}

// Hostile escrow ids land inside the directory under a safe name, and the
// events keep the real id.
func TestHostileEscrowID(t *testing.T) {
	dir := t.TempDir()
	exp := newTestExporter(t, dir, nil)
	id := "../../etc/passwd\xff<script>"
	if err := exp.ConsumeTraces(context.Background(), escrowTraces(id, 2)); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := names(t, dir)
	if len(got) != 1 || got[0] != escrowjson.FileName(id, false) || strings.ContainsAny(got[0], "/\xff<") {
		t.Fatalf("directory holds %q", got)
	}
	evs, err := escrowjson.Load(filepath.Join(dir, got[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !strings.HasPrefix(evs[0].TraceID, "../../etc/passwd") {
		t.Errorf("events %+v", evs)
	}
}

// A directory that cannot be made stops the exporter from starting, with
// the reason.
func TestStartFailsOnUnusableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = file
	exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Start = %v, want a not-a-directory error", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
