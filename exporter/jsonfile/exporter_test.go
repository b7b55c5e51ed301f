package jsonfile_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

// Stub spans, for control over what arrives when.

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var spanSeq atomic.Uint64

func traceID(n uint64) trace.TraceID {
	var id trace.TraceID
	binary.BigEndian.PutUint64(id[8:], n+1)
	return id
}

func spanCtx(tid trace.TraceID) trace.SpanContext {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], spanSeq.Add(1))
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}

func rootSpan(tid trace.TraceID, escrowID string, start, end time.Time, failed bool) sdktrace.ReadOnlySpan {
	s := tracetest.SpanStub{
		Name: escrowconv.SpanEscrow, SpanContext: spanCtx(tid), StartTime: start, EndTime: end,
		Attributes: []attribute.KeyValue{
			escrowconv.EscrowID.String(escrowID),
			escrowconv.EscrowTraceID.String(fmt.Sprintf("%s-%d", escrowID, start.UnixMilli())),
		},
	}
	if failed {
		s.Status = sdktrace.Status{Code: codes.Error, Description: "setup failed"}
	}
	return s.Snapshot()
}

func rpcSpan(tid trace.TraceID, escrowID, method, role string, port int, start, end time.Time, attrs ...attribute.KeyValue) sdktrace.ReadOnlySpan {
	a := []attribute.KeyValue{
		semconv.RPCMethodKey.String(method), semconv.RPCSystemNameJSONRPC,
		semconv.ServerPortKey.Int(port), escrowconv.WalletRole.String(role),
		escrowconv.WalletID.String(escrowID + "-" + role),
	}
	if escrowID != "" {
		a = append(a, escrowconv.EscrowID.String(escrowID))
	}
	// An RPC span of an escrow always has a parent (a round or the root);
	// one without is a trace of its own.
	return tracetest.SpanStub{
		Name: method, SpanKind: trace.SpanKindClient, SpanContext: spanCtx(tid), Parent: spanCtx(tid),
		StartTime: start, EndTime: end, Attributes: append(a, attrs...),
	}.Snapshot()
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func export(t testing.TB, exp *jsonfile.Exporter, spans ...sdktrace.ReadOnlySpan) {
	t.Helper()
	if err := exp.ExportSpans(ctxT(t), spans); err != nil {
		t.Fatal(err)
	}
}

func TestNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, err := jsonfile.New(jsonfile.WithDir(dir)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir not created 0700: %v %v", fi, err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{file, filepath.Join(file, "sub")} {
		if _, err := jsonfile.New(jsonfile.WithDir(d)); err == nil {
			t.Errorf("New(WithDir(%q)) succeeded on a regular file", d)
		}
	}
}

func TestEmptyEscrowAndFileMode(t *testing.T) {
	exp, dir := newExporter(t)
	export(t, exp, rootSpan(traceID(1), "empty", ms(0), ms(5), false))
	path := filepath.Join(dir, "escrow_empty.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "[]\n" {
		t.Errorf("empty escrow file %q, want %q", data, "[]\n")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	exp2, dir2 := newExporter(t, jsonfile.WithFileMode(0o640))
	export(t, exp2, rootSpan(traceID(1), "e", ms(0), ms(5), false))
	if fi, _ := os.Stat(filepath.Join(dir2, "escrow_e.json")); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
}

func TestIgnoresUnrelatedSpans(t *testing.T) {
	exp, dir := newExporter(t)
	tid := traceID(9)
	export(t, exp,
		tracetest.SpanStub{Name: "GET /", SpanContext: spanCtx(tid), StartTime: ms(0), EndTime: ms(1),
			Attributes: []attribute.KeyValue{attribute.String("http.route", "/")}}.Snapshot(),
		// A gRPC client call has rpc.method too; it is not ours.
		tracetest.SpanStub{Name: "svc/Call", SpanKind: trace.SpanKindClient, SpanContext: spanCtx(tid), StartTime: ms(0), EndTime: ms(1),
			Attributes: []attribute.KeyValue{semconv.RPCMethodKey.String("svc/Call"), semconv.RPCSystemNameGRPC}}.Snapshot(),
		tracetest.SpanStub{Name: "x", SpanContext: spanCtx(tid), StartTime: ms(0), EndTime: ms(1),
			Events: []sdktrace.Event{{Name: "exception", Time: ms(1)}}}.Snapshot(),
	)
	if st := exp.Stats(); st.Pending != 0 || st.Finished != 0 {
		t.Errorf("unrelated spans buffered: %+v", st)
	}
	if err := exp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("files for unrelated spans: %q", files)
	}
}

func TestRPCMapping(t *testing.T) {
	exp, dir := newExporter(t)
	tid := traceID(2)
	fail := rpcSpan(tid, "e1", "open_wallet", "Vendor", 18084, ms(10), ms(10).Add(2500*time.Microsecond))
	stub := tracetest.SpanStubFromReadOnlySpan(fail)
	stub.Status = sdktrace.Status{Code: codes.Error, Description: "Failed to open wallet"}
	stub.Attributes = append(stub.Attributes, semconv.RPCResponseStatusCodeKey.String("-1"), semconv.ErrorTypeKey.String("-1"))
	transport := tracetest.SpanStubFromReadOnlySpan(rpcSpan(tid, "e1", "get_version", "", 0, ms(20), ms(21)))
	transport.Status = sdktrace.Status{Code: codes.Error}
	transport.Attributes = append(transport.Attributes, semconv.ErrorTypeKey.String("timeout"))
	export(t, exp,
		rpcSpan(tid, "e1", "prepare_multisig", "buyer", 18083, ms(1), ms(1)), // zero length: start first
		stub.Snapshot(), transport.Snapshot(),
		rootSpan(tid, "e1", ms(0), ms(30), false),
	)
	evs := load(t, filepath.Join(dir, "escrow_e1.json"))
	var got []string
	for _, e := range evs {
		port := "-"
		if e.RPCPort != nil {
			port = fmt.Sprint(*e.RPCPort)
		}
		d := fmt.Sprintf("%+v", e.Details)
		if c, ok := e.Details.(*escrowjson.RPCCallEnd); ok && c.Code != nil {
			d += fmt.Sprintf(" code=%d", *c.Code)
		}
		got = append(got, fmt.Sprintf("%d %s %s %s %s", e.Timestamp-t0.UnixMilli(), e.EventType, e.Role, port, d))
	}
	want := []string{
		"1 RPC_CALL_START buyer 18083 &{Method:prepare_multisig Timestamp:1767323045001}",
		"1 RPC_CALL_END buyer 18083 &{Method:prepare_multisig DurationMs:0 Success:true Error: Code:<nil>}",
		"10 RPC_CALL_START vendor 18084 &{Method:open_wallet Timestamp:1767323045010}",
		"12 RPC_CALL_ERROR vendor 18084 &{Method:open_wallet DurationMs:2 Success:false Error:Failed to open wallet Code:0xPTR} code=-1",
		"20 RPC_CALL_START coordinator - &{Method:get_version Timestamp:1767323045020}",
		"21 RPC_CALL_ERROR coordinator - &{Method:get_version DurationMs:1 Success:false Error:timeout Code:<nil>}",
	}
	if len(got) != len(want) {
		t.Fatalf("events:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		g := got[i]
		if j := strings.Index(g, "Code:0x"); j >= 0 {
			g = g[:j] + "Code:0xPTR}" + g[strings.Index(g[j:], "}")+j+1:]
		}
		if g != want[i] {
			t.Errorf("event %d:\n got %s\nwant %s", i, g, want[i])
		}
	}
}

func TestSnapshotMapping(t *testing.T) {
	exp, dir := newExporter(t, jsonfile.WithRawAddresses(false))
	tid := traceID(3)
	// A snapshot with nothing known about the wallet file, port or open
	// wallets, on a round span; another on an RPC span of the same wallet
	// (port from the span); a third naming a point the format lacks.
	round := tracetest.SpanStub{
		Name: escrowconv.SpanRound, SpanContext: spanCtx(tid), StartTime: ms(0), EndTime: ms(9),
		Attributes: []attribute.KeyValue{escrowconv.EscrowID.String("s"), escrowconv.Round.Int(1)},
		Events: []sdktrace.Event{
			{Name: escrowconv.EventSnapshot, Time: ms(3), Attributes: []attribute.KeyValue{
				escrowconv.SnapshotPoint.String(escrowconv.PointPreRound1),
				escrowconv.WalletRole.String("buyer"), escrowconv.WalletID.String("w1"),
				escrowconv.SnapshotTimeMs.Int64(ms(2).UnixMilli()), escrowconv.SnapshotDurationMs.Int64(1),
				escrowconv.WalletBalance.Int64(-1), escrowconv.WalletUnlockedBalance.Int64(7),
				escrowconv.WalletAddress.String("9tAddr"),
				escrowconv.WalletFileExists.Bool(true), // ignored: no path known
			}},
			{Name: escrowconv.EventSnapshot, Time: ms(4), Attributes: []attribute.KeyValue{
				escrowconv.SnapshotPoint.String("SNAPSHOT_MID_ROUND"),
				escrowconv.WalletRole.String("arbiter"),
				escrowconv.WalletFilePerms.String("0640"), escrowconv.WalletFileExists.Bool(true),
				escrowconv.WalletOpenCount.Int(1), escrowconv.WalletRPCPort.Int(18085),
			}},
		},
	}.Snapshot()
	rpc := tracetest.SpanStubFromReadOnlySpan(rpcSpan(tid, "s", "is_multisig", "vendor", 18084, ms(5), ms(6), escrowconv.AttrSnapshotCall.Bool(true)))
	rpc.Events = []sdktrace.Event{{Name: escrowconv.EventSnapshot, Time: ms(6), Attributes: []attribute.KeyValue{
		escrowconv.SnapshotPoint.String(escrowconv.PointFinal),
		escrowconv.WalletFilePerms.String("-rw-------"), escrowconv.WalletFileExists.Bool(false),
		escrowconv.WalletIsMultisig.Bool(true), escrowconv.WalletAddressHash.String(strings.Repeat("ab", 32)),
	}}}
	export(t, exp, round, rpc.Snapshot(), rootSpan(tid, "s", ms(0), ms(10), false))
	evs := load(t, filepath.Join(dir, "escrow_s.json"))
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3 (the snapshot-only call makes no RPC events): %+v", len(evs), evs)
	}
	s0 := evs[0].Details.(*escrowjson.Snapshot)
	if evs[0].EventType != escrowconv.PointPreRound1 || evs[0].Timestamp != ms(3).UnixMilli() || s0.Timestamp != ms(2).UnixMilli() ||
		s0.FilePerms != nil || s0.FileExists || s0.RPCPort != nil || s0.OpenWalletsCount != nil || evs[0].RPCPort != nil ||
		s0.Balance != [2]uint64{1<<64 - 1, 7} || s0.Address != "" || s0.WalletID != "w1" || s0.Role != "buyer" || s0.CollectionTimeMs != 1 ||
		s0.AddressHash != sha256hex("9tAddr") {
		t.Errorf("snapshot 0: %+v %+v", evs[0], s0)
	}
	// CUSTOM details decode as a map.
	s1 := evs[1].Details.(map[string]any)
	if evs[1].EventType != escrowjson.TypeCustom || s1["point"] != "SNAPSHOT_MID_ROUND" || s1["file_perms"] != "rw-" || s1["file_exists"] != true ||
		s1["open_wallets_count"] != 1.0 || s1["rpc_port"] != 18085.0 || *evs[1].RPCPort != 18085 || evs[1].Role != "arbiter" {
		t.Errorf("snapshot 1: %+v %+v", evs[1], s1)
	}
	s2 := evs[2].Details.(*escrowjson.Snapshot)
	if evs[2].Role != "vendor" || *evs[2].RPCPort != 18084 || *s2.RPCPort != 18084 || *s2.FilePerms != "rw-" || s2.FileExists ||
		!s2.IsMultisig || s2.AddressHash != strings.Repeat("ab", 32) || s2.WalletID != "s-vendor" {
		t.Errorf("snapshot 2: %+v %+v", evs[2], s2)
	}
}

func TestPollutionAndErrorMapping(t *testing.T) {
	exp, dir := newExporter(t)
	tid := traceID(4)
	root := tracetest.SpanStubFromReadOnlySpan(rootSpan(tid, "p", ms(0), ms(50), true))
	root.Events = []sdktrace.Event{
		{Name: escrowconv.EventCachePollution, Time: ms(5), Attributes: []attribute.KeyValue{
			escrowconv.PollutionReason.String(escrowconv.ReasonWrongWalletOpen),
			escrowconv.WalletRole.String("vendor"), escrowconv.WalletID.String("v1"),
			escrowconv.PollutionExpectedWallet.String("v1"), escrowconv.PollutionActualWallet.String("v0"),
			escrowconv.PollutionEndpoint.String("127.0.0.1:18084"), escrowconv.PollutionOtherEscrowID.String("other"),
			escrowconv.WalletRPCPort.Int(18084),
		}},
		{Name: "exception", Time: ms(40)},
		{Name: escrowconv.EventError, Time: ms(40), Attributes: []attribute.KeyValue{
			escrowconv.ErrorMessage.String("wrong wallet open"), escrowconv.ErrorRound.Int(0),
			escrowconv.ErrorOperation.String("check_wallets"), escrowconv.WalletID.String("v1"),
		}},
	}
	export(t, exp, root.Snapshot())
	evs := load(t, filepath.Join(dir, "escrow_p_FAILED.json"))
	if len(evs) != 2 {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	p := evs[0].Details.(*escrowjson.CachePollution)
	if evs[0].EventType != escrowjson.TypeCachePollution || evs[0].Role != "vendor" || *evs[0].RPCPort != 18084 ||
		*p != (escrowjson.CachePollution{Reason: "wrong_wallet_open", WalletID: "v1", ExpectedWallet: "v1", ActualWallet: "v0",
			Endpoint: "127.0.0.1:18084", OtherEscrowID: "other"}) {
		t.Errorf("pollution %+v %+v", evs[0], p)
	}
	ef := evs[1].Details.(*escrowjson.ErrorFinal)
	if evs[1].Role != escrowjson.RoleCoordinator || evs[1].RPCPort != nil ||
		*ef != (escrowjson.ErrorFinal{Error: "wrong wallet open", Context: escrowjson.ErrorContext{
			Round: 0, Operation: "check_wallets", WalletID: "v1", EscrowID: "p", Timestamp: "2026-01-02T03:04:05.040Z"}}) {
		t.Errorf("error final %+v %+v", evs[1], ef)
	}
}

// A finding of the collector's cross-process detector carries the other
// process and the detector into the file; a process's own finding has
// neither field.
func TestCollectorPollutionFields(t *testing.T) {
	exp, dir := newExporter(t)
	root := tracetest.SpanStubFromReadOnlySpan(rootSpan(traceID(41), "q", ms(0), ms(50), false))
	root.Events = []sdktrace.Event{{Name: escrowconv.EventCachePollution, Time: ms(5), Attributes: []attribute.KeyValue{
		escrowconv.PollutionReason.String(escrowconv.ReasonWrongWalletOpen),
		escrowconv.PollutionExpectedWallet.String("q-buyer"), escrowconv.PollutionActualWallet.String("r-vendor"),
		escrowconv.PollutionOtherEscrowID.String("r"),
		escrowconv.PollutionOtherServiceInstanceID.String("4d6f1c2e-0000-4000-8000-000000000002"),
		escrowconv.PollutionDetectedBy.String(escrowconv.DetectedByCollector),
	}}}
	export(t, exp, root.Snapshot())
	data, err := os.ReadFile(filepath.Join(dir, "escrow_q.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := escrowjson.Validate(data); err != nil {
		t.Fatal(err)
	}
	evs := load(t, filepath.Join(dir, "escrow_q.json"))
	p := evs[0].Details.(*escrowjson.CachePollution)
	if p.OtherServiceInstanceID != "4d6f1c2e-0000-4000-8000-000000000002" || p.DetectedBy != "collector" || p.OtherEscrowID != "r" {
		t.Errorf("pollution %+v", p)
	}
	if !bytes.Contains(data, []byte(`"detected_by": "collector"`)) {
		t.Errorf("file lacks detected_by:\n%s", data)
	}
}

// A failed root without an escrow.error event still gets an ERROR_FINAL,
// made from the root's status and the first failed call.
func TestSynthesizedErrorFinal(t *testing.T) {
	exp, dir := newExporter(t)
	tid := traceID(5)
	call := tracetest.SpanStubFromReadOnlySpan(rpcSpan(tid, "x", "make_multisig", "arbiter", 18085, ms(1), ms(2)))
	call.Status = sdktrace.Status{Code: codes.Error, Description: "boom"}
	round := tracetest.SpanStub{Name: escrowconv.SpanRound, SpanContext: spanCtx(tid), StartTime: ms(0), EndTime: ms(3),
		Status:     sdktrace.Status{Code: codes.Error},
		Attributes: []attribute.KeyValue{escrowconv.EscrowID.String("x"), escrowconv.Round.Int(1)}}
	export(t, exp, call.Snapshot(), round.Snapshot(), rootSpan(tid, "x", ms(0), ms(4), true))
	evs := load(t, filepath.Join(dir, "escrow_x_FAILED.json"))
	last := evs[len(evs)-1]
	ef, ok := last.Details.(*escrowjson.ErrorFinal)
	if !ok || ef.Error != "setup failed" || ef.Context != (escrowjson.ErrorContext{Round: 1, Operation: "make_multisig",
		WalletID: "x-arbiter", EscrowID: "x", Timestamp: "2026-01-02T03:04:05.004Z"}) {
		t.Errorf("last event %+v %+v", last, last.Details)
	}
}

func TestRootWithoutTraceIDAttribute(t *testing.T) {
	exp, dir := newExporter(t)
	s := goldenOK
	s.noTraceIDAttr = true
	spans, _ := spansOf(s)
	export(t, exp, spans...)
	evs := load(t, filepath.Join(dir, escrowjson.FileName(s.escrowID, false)))
	if want := fmt.Sprintf("%s-%d", s.escrowID, s.start.UnixMilli()); evs[0].TraceID != want {
		t.Errorf("trace_id %q, want %q", evs[0].TraceID, want)
	}
}

// Spans without escrow.id (but ours) join the trace's only escrow; two
// escrows in one trace do not mix.
func TestOrphansAndTwoEscrowsInOneTrace(t *testing.T) {
	exp, dir := newExporter(t)
	tid := traceID(6)
	export(t, exp,
		rpcSpan(tid, "", "get_version", "buyer", 18083, ms(1), ms(2)), // before the escrow is known
		rpcSpan(tid, "a", "prepare_multisig", "buyer", 18083, ms(3), ms(4)),
		rpcSpan(tid, "", "get_height", "buyer", 18083, ms(5), ms(6)), // joins "a" directly
		rootSpan(tid, "a", ms(0), ms(10), false),
	)
	evs := load(t, filepath.Join(dir, "escrow_a.json"))
	if len(evs) != 6 {
		t.Errorf("escrow a: %d events, want 6 (2 orphan calls joined)", len(evs))
	}

	tid = traceID(7)
	export(t, exp,
		rpcSpan(tid, "b", "prepare_multisig", "buyer", 18083, ms(1), ms(2)),
		rpcSpan(tid, "c", "prepare_multisig", "vendor", 18084, ms(1), ms(2)),
		rpcSpan(tid, "c", "make_multisig", "vendor", 18084, ms(3), ms(4)),
		rootSpan(tid, "b", ms(0), ms(10), false),
		rootSpan(tid, "c", ms(0), ms(11), true),
	)
	if n := len(load(t, filepath.Join(dir, "escrow_b.json"))); n != 2 {
		t.Errorf("escrow b: %d events, want 2", n)
	}
	if n := len(load(t, filepath.Join(dir, "escrow_c_FAILED.json"))); n != 5 { // + synthesized ERROR_FINAL
		t.Errorf("escrow c: %d events, want 5", n)
	}
}

func TestHostileEscrowIDs(t *testing.T) {
	exp, dir := newExporter(t)
	long := strings.Repeat("a", 300)
	ids := []string{
		"../x", "../../etc/passwd", "/", "/abs/path", `\`, `..\..\win`, "a\x00b", "nul\x00", "tab\there",
		"new\nline", "", ".", "..", "...", long, long + "b", "\xff\xfe", "é", "x/y", "x_y", "x?y",
		strings.Repeat("é", 150), "ok-id_1.2",
	}
	seen := map[string]string{}
	for i, id := range ids {
		name := escrowjson.FileName(id, false)
		if other, dup := seen[name]; dup {
			t.Errorf("ids %q and %q share the file %s", other, id, name)
		}
		seen[name] = id
		if name != filepath.Base(name) || !filepath.IsLocal(name) || len(name) > 255 || !utf8.ValidString(name) ||
			strings.ContainsAny(name, "/\\\x00\n\t") || strings.HasPrefix(name, ".") {
			t.Errorf("FileName(%q) = %q is unsafe", id, name)
		}
		if escrowjson.FileName(id, false) != name || escrowjson.FileName(id, true) == name || escrowjson.PartialFileName(id) == name {
			t.Errorf("FileName(%q) not deterministic or not distinct by outcome", id)
		}
		tid := traceID(uint64(100 + i))
		export(t, exp, rpcSpan(tid, id, "prepare_multisig", "buyer", 18083, ms(1), ms(2)))
		if id == "" {
			// No escrow id at all: nothing says which escrow this is.
			continue
		}
		export(t, exp, rootSpan(tid, id, ms(0), ms(3), false))
		evs := load(t, filepath.Join(dir, name))
		// JSON strings are UTF-8: invalid bytes read back as U+FFFD.
		var want string
		b, _ := json.Marshal(id)
		_ = json.Unmarshal(b, &want)
		if !strings.HasPrefix(evs[0].TraceID, want+"-") {
			t.Errorf("trace_id %q does not keep the real id %q", evs[0].TraceID, id)
		}
	}
	if got, want := escrowjson.FileName("ok-id_1.2", false), "escrow_ok-id_1.2.json"; got != want {
		t.Errorf("a safe id was changed: %q", got)
	}
	if got := escrowjson.FileName("x/y", false); !strings.HasPrefix(got, "escrow_x_y_") {
		t.Errorf("FileName(x/y) = %q", got)
	}
	if err := exp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Everything stayed in dir, flat.
	parent := filepath.Dir(dir)
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != filepath.Base(dir) {
			t.Errorf("file written outside the directory: %s", e.Name())
		}
	}
	for _, name := range listFiles(t, dir) {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file", name)
		}
	}
	if files := listFiles(t, dir); len(files) != len(ids) { // "" makes a PARTIAL on Shutdown (its RPC span has a parent)
		t.Errorf("%d files for %d ids: %q", len(files), len(ids), files)
	}
}

func TestLateSpans(t *testing.T) {
	now := t0
	var mu sync.Mutex
	clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var writes []string
	exp, dir := newExporter(t, jsonfile.WithClock(clk), jsonfile.WithLateSpanGrace(10*time.Second),
		jsonfile.WithOnWrite(func(id, path string) { writes = append(writes, filepath.Base(path)) }))
	tid := traceID(8)
	export(t, exp, rpcSpan(tid, "late", "prepare_multisig", "buyer", 18083, ms(1), ms(2)), rootSpan(tid, "late", ms(0), ms(10), false))
	path := filepath.Join(dir, "escrow_late.json")
	if n := len(load(t, path)); n != 2 {
		t.Fatalf("%d events before the late span", n)
	}
	// A span that ends after its root, within the grace period.
	advance(5 * time.Second)
	export(t, exp, rpcSpan(tid, "late", "make_multisig", "buyer", 18083, ms(8), ms(12)))
	evs := load(t, path)
	if len(evs) != 4 || evs[3].Timestamp != ms(12).UnixMilli() {
		t.Fatalf("after the late span: %+v", evs)
	}
	if st := exp.Stats(); st.LateRewrites != 1 || st.FilesWritten != 2 || st.Finished != 1 {
		t.Errorf("stats %+v", st)
	}
	// Past the grace period the escrow is forgotten: a later span is kept,
	// as a partial escrow, not added to the file.
	advance(6 * time.Second)
	export(t, exp)
	if st := exp.Stats(); st.Finished != 0 {
		t.Errorf("finished escrow kept past the grace period: %+v", st)
	}
	export(t, exp, rpcSpan(tid, "late", "exchange_multisig_keys", "buyer", 18083, ms(9), ms(30)))
	if n := len(load(t, path)); n != 4 {
		t.Errorf("file changed after the grace period: %d events", n)
	}
	if err := exp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(load(t, filepath.Join(dir, "escrow_late_PARTIAL.json"))); n != 2 {
		t.Errorf("partial file: %d events, want 2", n)
	}
	if want := []string{"escrow_late.json", "escrow_late.json", "escrow_late_PARTIAL.json"}; fmt.Sprint(writes) != fmt.Sprint(want) {
		t.Errorf("writes %q, want %q", writes, want)
	}
}

// An escrow written as _PARTIAL before its root arrived (evicted here; a
// collector or process restarted in production) gets one complete final
// file when the root comes: the partial file's events are merged in, once
// each, and the partial file is removed.
func TestPartialMergedIntoFinal(t *testing.T) {
	exp, dir := newExporter(t, jsonfile.WithMaxPendingTraces(1))
	spans, _ := spansOf(goldenOK)
	half := len(spans) / 2
	export(t, exp, spans[:half]...)
	// Another escrow evicts the first one, which is written as _PARTIAL.
	export(t, exp, rpcSpan(traceID(77), "evictor", "prepare_multisig", "buyer", 18083, ms(1), ms(2)))
	partial := filepath.Join(dir, escrowjson.PartialFileName(goldenOK.escrowID))
	if n := len(load(t, partial)); n == 0 {
		t.Fatal("no partial file after the eviction")
	}
	// The first spans again (a retry around a restart) and the rest.
	export(t, exp, spans[half-3:]...)
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file left beside the final one: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, escrowjson.FileName(goldenOK.escrowID, false)))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join("testdata", escrowjson.FileName(goldenOK.escrowID, false)))
	if !bytes.Equal(got, want) {
		t.Errorf("merged file differs from the golden one:\n%s", firstDiff(got, want))
	}
	if st := exp.Stats(); st.MergedPartials != 1 {
		t.Errorf("stats %+v, want 1 merged partial", st)
	}
}

func TestPendingTraceLimit(t *testing.T) {
	exp, dir := newExporter(t, jsonfile.WithMaxPendingTraces(3))
	for i := range 5 {
		id := fmt.Sprintf("p%d", i)
		export(t, exp, rpcSpan(traceID(uint64(200+i)), id, "prepare_multisig", "buyer", 18083, ms(i), ms(i+1)))
	}
	st := exp.Stats()
	if st.Pending != 3 || st.PartialFiles != 2 {
		t.Fatalf("stats %+v, want 3 pending and 2 partial files", st)
	}
	for _, id := range []string{"p0", "p1"} {
		evs := load(t, filepath.Join(dir, escrowjson.PartialFileName(id)))
		if len(evs) != 2 || !strings.HasPrefix(evs[0].TraceID, id+"-") {
			t.Errorf("%s partial: %+v", id, evs)
		}
	}
	// The limit also holds under a flood of events for few escrows.
	exp2, _ := newExporter(t, jsonfile.WithMaxPendingTraces(2))
	for i := range 100 {
		export(t, exp2, rpcSpan(traceID(300), "flood", "get_height", "buyer", 18083, ms(i), ms(i+1)),
			rpcSpan(traceID(301), "other", "get_height", "buyer", 18083, ms(i), ms(i+1)))
	}
	if st := exp2.Stats(); st.PartialFiles == 0 || st.Pending > 2 {
		t.Errorf("event budget not enforced: %+v", st)
	}
	if err := exp2.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestForceFlushAndShutdown(t *testing.T) {
	exp, dir := newExporter(t)
	export(t, exp, rpcSpan(traceID(10), "u", "prepare_multisig", "buyer", 18083, ms(1), ms(2)))
	if err := exp.ForceFlush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Fatalf("ForceFlush wrote %q for an unfinished escrow", files)
	}

	// Shutdown with a context that is already done writes nothing, says
	// so, and keeps the events for another Shutdown.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := exp.Shutdown(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown(canceled ctx) = %v", err)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Fatalf("Shutdown with a canceled ctx wrote %q", files)
	}
	// Stopped: later spans are ignored without error.
	if err := exp.ExportSpans(ctxT(t), []sdktrace.ReadOnlySpan{rootSpan(traceID(11), "after", ms(0), ms(1), false)}); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if files := listFiles(t, dir); fmt.Sprint(files) != "[escrow_u_PARTIAL.json]" {
		t.Fatalf("files %q", files)
	}
	if st := exp.Stats(); st.PartialFiles != 1 || st.Pending != 0 || st.Unwritten != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A context that is done when ExportSpans is called: the spans are kept and
// written by the next call.
func TestExportWithDoneContext(t *testing.T) {
	exp, dir := newExporter(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := exp.ExportSpans(ctx, []sdktrace.ReadOnlySpan{rootSpan(traceID(12), "d", ms(0), ms(1), false)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ExportSpans(done ctx) = %v", err)
	}
	export(t, exp)
	if files := listFiles(t, dir); fmt.Sprint(files) != "[escrow_d.json]" {
		t.Fatalf("files %q", files)
	}
}

// A directory that goes away after New: the error comes back from
// ExportSpans, nothing is lost, and the file is written once the directory
// is back.
func TestWriteErrorAndRecovery(t *testing.T) {
	exp, dir := newExporter(t)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	s := goldenOK
	spans, _ := spansOf(s)
	err := exp.ExportSpans(ctxT(t), spans)
	if err == nil || !strings.Contains(err.Error(), s.escrowID) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ExportSpans into a removed directory = %v", err)
	}
	if st := exp.Stats(); st.WriteErrors != 1 || st.Unwritten != 1 || st.FilesWritten != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Still failing: ForceFlush says so again.
	if err := exp.ForceFlush(ctxT(t)); err == nil {
		t.Fatal("ForceFlush succeeded into a removed directory")
	}
	export2 := rpcSpan(traceID(13), "second", "prepare_multisig", "buyer", 18083, ms(1), ms(2))
	if err := exp.ExportSpans(ctxT(t), []sdktrace.ReadOnlySpan{export2}); err == nil {
		t.Fatal("the retry in ExportSpans succeeded into a removed directory")
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	export(t, exp) // the next export retries
	got, err := os.ReadFile(filepath.Join(dir, escrowjson.FileName(s.escrowID, false)))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join("testdata", escrowjson.FileName(s.escrowID, false)))
	if !bytes.Equal(got, want) {
		t.Errorf("file after recovery differs from the golden one")
	}
	if st := exp.Stats(); st.Unwritten != 0 || st.FilesWritten != 1 || st.Pending != 1 {
		t.Errorf("stats %+v", st)
	}
	if err := exp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// When writes keep failing, a partial escrow whose root arrives meanwhile
// gets its final file, and memory stays bounded: past the limit the oldest
// unwritten escrows are dropped, loudly.
func TestWriteErrorBounds(t *testing.T) {
	exp, dir := newExporter(t, jsonfile.WithMaxPendingTraces(2))
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	var errs []error
	for i := range 5 {
		errs = append(errs, exp.ExportSpans(ctxT(t), []sdktrace.ReadOnlySpan{
			rpcSpan(traceID(uint64(400+i)), fmt.Sprintf("w%d", i), "prepare_multisig", "buyer", 18083, ms(1), ms(2))}))
	}
	all := errors.Join(errs...)
	st := exp.Stats()
	if st.DroppedEscrows != 1 || !strings.Contains(fmt.Sprint(all), "dropped") || st.Unwritten != 2 || st.Pending != 2 {
		t.Fatalf("stats %+v, errors %v", st, all)
	}
	// w2 is evicted (unwritten, partial); its root arrives: it becomes a
	// normal escrow.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	export(t, exp, rootSpan(traceID(402), "w2", ms(0), ms(3), false))
	if n := len(load(t, filepath.Join(dir, "escrow_w2.json"))); n != 2 {
		t.Errorf("w2: %d events", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "escrow_w2_PARTIAL.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file of w2 exists: %v", err)
	}
	if err := exp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// A partial file written before the root arrived is replaced by the final
// file while the escrow is still buffered.
func TestPartialReplacedByFinal(t *testing.T) {
	exp, dir := newExporter(t, jsonfile.WithMaxPendingTraces(1))
	tidA, tidB := traceID(500), traceID(501)
	export(t, exp, rpcSpan(tidA, "A", "prepare_multisig", "buyer", 18083, ms(1), ms(2)))
	// B's arrival pushes A out as a partial file; A's root arrives in the
	// same batch, before A is forgotten.
	export(t, exp, rpcSpan(tidB, "B", "prepare_multisig", "buyer", 18083, ms(1), ms(2)), rootSpan(tidA, "A", ms(0), ms(3), false))
	if n := len(load(t, filepath.Join(dir, "escrow_A.json"))); n != 2 {
		t.Errorf("A: %d events, want 2", n)
	}
	if err := exp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if files := listFiles(t, dir); fmt.Sprint(files) != "[escrow_A.json escrow_B_PARTIAL.json]" {
		t.Errorf("files %q", files)
	}
}

// 200 escrows at once through one exporter (run with -race): each file holds
// exactly its own escrow's events.
func TestConcurrentEscrows(t *testing.T) {
	exp, dir := newExporter(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	const n = 200
	var wg sync.WaitGroup
	counts := make([]int, n)
	for i := range n {
		wg.Go(func() {
			s := setup{escrowID: fmt.Sprintf("conc-%03d", i), start: t0.Add(time.Duration(i) * time.Second),
				basePort: 20000 + 3*i, failRound2: i%10 == 0}
			counts[i] = s.record(tp)
		})
	}
	wg.Wait()
	if err := tp.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if files := listFiles(t, dir); len(files) != n {
		t.Fatalf("%d files, want %d", len(files), n)
	}
	for i := range n {
		id := fmt.Sprintf("conc-%03d", i)
		evs := load(t, filepath.Join(dir, escrowjson.FileName(id, i%10 == 0)))
		if len(evs) != counts[i] {
			t.Errorf("%s: %d events, want %d", id, len(evs), counts[i])
		}
		for _, e := range evs {
			if !strings.HasPrefix(e.TraceID, id+"-") {
				t.Fatalf("%s: event of another escrow: %+v", id, e)
			}
			if e.RPCPort != nil && (*e.RPCPort < 20000+3*i || *e.RPCPort > 20002+3*i) {
				t.Fatalf("%s: port %d of another escrow", id, *e.RPCPort)
			}
			if s, ok := e.Details.(*escrowjson.Snapshot); ok && !strings.HasPrefix(s.WalletID, id+"-") {
				t.Fatalf("%s: wallet %q of another escrow", id, s.WalletID)
			}
		}
	}
	if st := exp.Stats(); st.FilesWritten != n || st.Pending != 0 || st.WriteErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Nothing secret reaches a file: multisig_info strings and passwords in
// attributes the exporter does not read, in error messages, in events.
func TestNoSecretsInFiles(t *testing.T) {
	info := "MultisigxV2R1C9Rp1ao7Jdc8Y3k2ZPyxHgWn5pZbYrMw2ZTx4TeSaB8L1vJcmJxGmbRTzVrQpm4kw5"
	s := goldenFail
	s.extra = []attribute.KeyValue{
		attribute.String("multisig.info", info),
		attribute.StringSlice("multisig.infos", []string{info, info}),
		attribute.String("wallet.password", secret),
		attribute.String("rpc.credentials", "user:"+secret),
	}
	spans, _ := spansOf(s)
	// An error message quoting a multisig_info string.
	for i, sp := range spans {
		if sp.Status().Code == codes.Error && sp.SpanKind() == trace.SpanKindClient {
			stub := tracetest.SpanStubFromReadOnlySpan(sp)
			stub.Status.Description = "bad info " + info + ", rejected"
			spans[i] = stub.Snapshot()
		}
	}
	exp, dir := newExporter(t)
	export(t, exp, spans...)
	data, err := os.ReadFile(filepath.Join(dir, escrowjson.FileName(s.escrowID, true)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("bad info [redacted], rejected")) {
		t.Errorf("the error message was not kept with the info redacted")
	}
	// checkDir (at cleanup) scans the bytes for "Multisig" and the password.
}

// A call marked as polluted has status Error so that Jaeger draws it red,
// but it succeeded: the legacy file says RPC_CALL_END. A polluted call that
// also failed (error.type set) is an RPC_CALL_ERROR. A snapshot event on a
// snapshot span is ordered by the span's start (the collection start),
// not by the event's time (when the values were read).
func TestPollutedCallAndSnapshotSpan(t *testing.T) {
	exp, dir := newExporter(t)
	tid := traceID(11)
	ok := tracetest.SpanStubFromReadOnlySpan(rpcSpan(tid, "pz", "make_multisig", "vendor", 18084, ms(1), ms(2)))
	ok.Status = sdktrace.Status{Code: codes.Error, Description: "cache pollution: wrong_wallet_open"}
	ok.Attributes = append(ok.Attributes, escrowconv.CachePollution.Bool(true))
	bad := tracetest.SpanStubFromReadOnlySpan(rpcSpan(tid, "pz", "make_multisig", "buyer", 18083, ms(5), ms(6)))
	bad.SpanContext = spanCtx(tid)
	bad.Status = sdktrace.Status{Code: codes.Error, Description: "boom"}
	bad.Attributes = append(bad.Attributes, escrowconv.CachePollution.Bool(true), semconv.ErrorTypeKey.String("-1"))
	snap := tracetest.SpanStub{Name: "buyer " + escrowconv.PointPreRound1, SpanContext: spanCtx(tid), StartTime: ms(3), EndTime: ms(8),
		Attributes: []attribute.KeyValue{escrowconv.EscrowID.String("pz"), escrowconv.SnapshotPoint.String(escrowconv.PointPreRound1),
			escrowconv.WalletRole.String("buyer")},
		Events: []sdktrace.Event{{Name: escrowconv.EventSnapshot, Time: ms(8), Attributes: []attribute.KeyValue{
			escrowconv.SnapshotPoint.String(escrowconv.PointPreRound1), escrowconv.WalletRole.String("buyer"),
			escrowconv.SnapshotTimeMs.Int64(ms(3).UnixMilli()), escrowconv.SnapshotDurationMs.Int64(5)}}}}
	export(t, exp, ok.Snapshot(), bad.Snapshot(), snap.Snapshot(), rootSpan(tid, "pz", ms(0), ms(10), false))
	evs := load(t, filepath.Join(dir, "escrow_pz.json"))
	var types []string
	for _, ev := range evs {
		types = append(types, ev.EventType+"/"+ev.Role)
	}
	want := "RPC_CALL_START/vendor RPC_CALL_END/vendor SNAPSHOT_PRE_ROUND1/buyer RPC_CALL_START/buyer RPC_CALL_ERROR/buyer"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events %s\nwant %s", got, want)
	}
}
