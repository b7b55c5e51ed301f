package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

const service = "escrowtrace-e2e"

// A real 2-of-3 setup on real wallet-rpc processes, exported over
// OTLP/HTTP (the default protocol) and over OTLP/gRPC to a real Jaeger and
// to the legacy JSON file by one provider, read back from Jaeger's query
// API.
func TestSetupExportedToJaegerAndJSON(t *testing.T) {
	j := jaegertest.Start(t)
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) { exportedSetup(t, j, proto) })
	}
}

func exportedSetup(t *testing.T, j *jaegertest.Instance, proto string) {
	dir := t.TempDir()
	escrowID := "e2e-ok-" + fmt.Sprint(time.Now().UnixNano())
	wallets := dedicatedWallets(t, escrowID)
	endpoint := j.OTLPHTTP
	if proto == "grpc" {
		endpoint = j.OTLPGRPC
	}
	shutdown := instrument(t, map[string]string{
		"ENABLE_INSTRUMENTATION":      "1",
		"ESCROW_TRACE_DIR":            dir,
		"OTEL_EXPORTER_OTLP_PROTOCOL": proto,
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + endpoint,
		"OTEL_SERVICE_NAME":           service,
	})
	ctx := ctxTimeout(t, 2*time.Minute)

	addr, err := otelmsig.SetupMultisig(ctx, escrowID, wallets)
	if err != nil {
		t.Fatalf("SetupMultisig: %v", err)
	}
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// Jaeger: the service, the trace by tag, the tree.
	services, err := j.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(services, service) {
		t.Fatalf("Jaeger services = %v, want %q", services, service)
	}
	tr := findEscrowTrace(t, ctx, j, escrowID)
	c := classify(t, tr)
	root, rpcs := c.root, c.rpcs

	if v, _ := root.Tag(string(escrowconv.EscrowAddress)); v != addr {
		t.Errorf("root %s = %v, want %s", escrowconv.EscrowAddress, v, addr)
	}
	if v, _ := root.Tag(string(escrowconv.EscrowTraceID)); !strings.HasPrefix(fmt.Sprint(v), escrowID+"-") {
		t.Errorf("root %s = %v, want %s-<ms>", escrowconv.EscrowTraceID, v, escrowID)
	}
	for k, want := range map[attribute.Key]string{
		escrowconv.EscrowResult: "ok", escrowconv.EscrowRoundsCompleted: "3", escrowconv.EscrowPollutionCount: "0",
	} {
		if v, _ := root.Tag(string(k)); fmt.Sprint(v) != want {
			t.Errorf("root %s = %v, want %s", k, v, want)
		}
	}
	// The resource: otelsetup's detectors.
	proc := tr.Processes[root.ProcessID]
	for _, k := range []string{"service.instance.id", "host.name", "process.pid"} {
		if v, ok := proc.Tag(k); !ok || fmt.Sprint(v) == "" {
			t.Errorf("process %s: tag %s = %v", proc.ServiceName, k, v)
		}
	}
	checkTree(t, c)
	methods := map[string]int{}
	for _, s := range rpcs {
		methods[s.OperationName]++
		for key, want := range map[string]any{
			"span.kind":       "client",
			"rpc.method":      s.OperationName,
			"rpc.system.name": "jsonrpc",
		} {
			if v, ok := s.Tag(key); !ok || v != want {
				t.Errorf("RPC span %s: tag %s = %v, want %v", s.OperationName, key, v, want)
			}
		}
		if v, ok := s.Tag("server.port"); !ok || fmt.Sprint(v) == "0" {
			t.Errorf("RPC span %s: server.port = %v", s.OperationName, v)
		}
		role, _ := s.Tag(string(escrowconv.WalletRole))
		if !contains(roles, fmt.Sprint(role)) {
			t.Errorf("RPC span %s: wallet.role = %v", s.OperationName, role)
		}
	}
	want := map[string]int{"prepare_multisig": 3, "make_multisig": 3, "exchange_multisig_keys": 6}
	if asJSON(methods) != asJSON(want) {
		t.Errorf("escrow RPC spans by method = %v, want %v", methods, want)
	}
	if len(c.snapshotCalls) == 0 {
		t.Error("no snapshot RPC spans (is_multisig, get_balance, get_address) in Jaeger")
	}

	// 21 snapshot logs: 7 points x 3 roles, each with its fields.
	seen := map[string]bool{}
	for _, s := range tr.Spans {
		for _, l := range s.Logs {
			if ev, _ := l.Field("event"); ev != escrowconv.EventSnapshot {
				continue
			}
			point, _ := l.Field(string(escrowconv.SnapshotPoint))
			role, _ := l.Field(string(escrowconv.WalletRole))
			for _, k := range []attribute.Key{escrowconv.WalletIsMultisig, escrowconv.WalletAddressHash, escrowconv.WalletBalance} {
				if _, ok := l.Field(string(k)); !ok {
					t.Errorf("snapshot %v/%v: no field %s", point, role, k)
				}
			}
			seen[fmt.Sprint(point, "/", role)] = true
		}
	}
	if len(seen) != 21 {
		t.Errorf("%d distinct snapshot logs (point/role), want 21: %v", len(seen), seen)
	}

	assertNoSecrets(t, tr)

	// The same provider wrote the legacy file.
	events := loadEscrowFile(t, dir, "escrow_"+escrowID+".json")
	if len(events) != 45 {
		t.Errorf("legacy file has %d events, want 45", len(events))
	}
	hashes := map[string]bool{}
	for _, ev := range events {
		if ev.EventType == escrowconv.PointFinal {
			s := ev.Details.(*escrowjson.Snapshot)
			if !s.IsMultisig {
				t.Errorf("SNAPSHOT_FINAL %s: not multisig", ev.Role)
			}
			hashes[s.AddressHash] = true
		}
	}
	if len(hashes) != 1 {
		t.Errorf("SNAPSHOT_FINAL address hashes = %v, want one shared", hashes)
	}
}

// A setup that fails in round 2 (wallets made with create_wallet and
// SetupMultisig told not to switch multisig on: exchange_multisig_keys
// answers -48) shows as errors in Jaeger and as a _FAILED legacy file;
// beside a successful one, Jaeger's tag search on the outcome
// (escrow.result) tells them apart.
func TestFailedSetupInJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	dir := t.TempDir()
	escrowID := "e2e-fail-" + fmt.Sprint(time.Now().UnixNano())
	okID := "e2e-okbeside-" + fmt.Sprint(time.Now().UnixNano())
	okWallets := dedicatedWallets(t, okID)
	procs := wallettest.Start(t, 3, wallettest.Config{})
	ctx := ctxTimeout(t, 2*time.Minute)
	wallets := make([]otelmsig.Wallet, 3)
	for i, p := range procs {
		c, err := p.Client(otelmsig.WithTracing())
		if err != nil {
			t.Fatal(err)
		}
		name := escrowID + "-" + roles[i]
		// create_wallet over RPC: no experimental multisig flag.
		if err := c.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: name}); err != nil {
			t.Fatal(err)
		}
		wallets[i] = otelmsig.Wallet{Role: roles[i], ID: name, Filename: name,
			Path: filepath.Join(p.WalletDir, name), Client: c}
	}
	// The secret scans below look for this pattern: make sure real key
	// material matches it.
	info, err := wallets[0].Client.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{})
	if err != nil {
		t.Fatal(err)
	}
	if !keyMaterial.MatchString(info.MultisigInfo) {
		t.Fatalf("keyMaterial does not match a real multisig_info (%d bytes)", len(info.MultisigInfo))
	}
	shutdown := instrument(t, map[string]string{
		"ENABLE_INSTRUMENTATION":      "true",
		"ESCROW_TRACE_DIR":            dir,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + j.OTLPGRPC,
		"OTEL_EXPORTER_OTLP_INSECURE": "true",
		"OTEL_SERVICE_NAME":           service,
	})

	_, err = otelmsig.SetupMultisig(ctx, escrowID, wallets, otelmsig.WithoutEnablingMultisig())
	var se *otelmsig.StepError
	if !errors.As(err, &se) || se.Round != 2 {
		t.Fatalf("SetupMultisig error = %v, want a StepError in round 2", err)
	}
	if code, ok := walletrpc.ErrorCode(err); !ok || code != walletrpc.CodeMultisigDisabled {
		t.Fatalf("error code = %d (%v), want -48", code, ok)
	}
	if _, err := otelmsig.SetupMultisig(ctx, okID, okWallets); err != nil {
		t.Fatalf("the successful escrow beside it: %v", err)
	}
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	tr := findEscrowTrace(t, ctx, j, escrowID)
	c := classify(t, tr)
	root, rpcs := c.root, c.rpcs
	if v, _ := root.Tag("error"); v != true {
		t.Errorf("root: error tag = %v, want true", v)
	}
	for k, want := range map[attribute.Key]string{
		escrowconv.EscrowResult: "failed", escrowconv.EscrowRoundsCompleted: "1", escrowconv.EscrowRounds: "2",
	} {
		if v, _ := root.Tag(string(k)); fmt.Sprint(v) != want {
			t.Errorf("root %s = %v, want %s", k, v, want)
		}
	}
	// The red path: round 2, the failed wallets' steps, their calls.
	for _, s := range c.rounds {
		n, _ := s.Tag(string(escrowconv.Round))
		if v, _ := s.Tag("error"); (v == true) != (toInt(n) == 2) {
			t.Errorf("%s: error = %v", s.OperationName, v)
		}
	}
	redSteps := 0
	for _, s := range c.steps {
		if v, _ := s.Tag("error"); v == true {
			redSteps++
			if !strings.HasSuffix(s.OperationName, " exchange_multisig_keys") || c.byID[s.Parent()].OperationName != escrowconv.RoundSpanName(2) {
				t.Errorf("failed step %s under %s", s.OperationName, c.byID[s.Parent()].OperationName)
			}
		}
	}
	if redSteps == 0 {
		t.Error("no wallet step span with error=true")
	}

	// Tag search on the outcome finds each escrow by its result.
	for result, want := range map[string]string{escrowconv.ResultFailed: escrowID, escrowconv.ResultOK: okID} {
		found, err := j.FindTraces(ctx, service, map[string]string{string(escrowconv.EscrowResult): result})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tr := range found {
			for _, s := range tr.Spans {
				if s.OperationName == escrowconv.SpanEscrow {
					v, _ := s.Tag(string(escrowconv.EscrowID))
					ids = append(ids, fmt.Sprint(v))
				}
			}
		}
		if len(ids) != 1 || ids[0] != want {
			t.Errorf("Jaeger tag search %s=%s finds escrows %v, want [%s]", escrowconv.EscrowResult, result, ids, want)
		}
	}
	failed := 0
	for _, s := range rpcs {
		if v, _ := s.Tag("error"); v == true {
			failed++
			if s.OperationName != "exchange_multisig_keys" {
				t.Errorf("failed RPC span is %s, want exchange_multisig_keys", s.OperationName)
			}
			if v, _ := s.Tag("rpc.response.status_code"); v != "-48" {
				t.Errorf("failed RPC span: rpc.response.status_code = %v, want \"-48\"", v)
			}
			if !hasLog(s, "exception") {
				t.Error("failed RPC span has no exception log")
			}
		}
	}
	if failed == 0 {
		t.Error("no RPC span with error=true")
	}
	if !hasLog(root, "exception") || !hasLog(root, escrowconv.EventError) {
		t.Errorf("root logs lack exception and %s", escrowconv.EventError)
	}
	assertNoSecrets(t, tr)

	events := loadEscrowFile(t, dir, "escrow_"+escrowID+"_FAILED.json")
	var rpcErrors, finals int
	for _, ev := range events {
		switch ev.EventType {
		case escrowjson.TypeRPCCallError:
			rpcErrors++
		case escrowjson.TypeErrorFinal:
			finals++
			ef := ev.Details.(*escrowjson.ErrorFinal)
			if ef.Context.Round != 2 || ef.Context.EscrowID != escrowID {
				t.Errorf("ERROR_FINAL context = %+v", ef.Context)
			}
		}
	}
	if rpcErrors == 0 || finals != 1 {
		t.Errorf("_FAILED file: %d RPC_CALL_ERROR, %d ERROR_FINAL; want ≥1 and 1", rpcErrors, finals)
	}
}

func findEscrowTrace(t *testing.T, ctx context.Context, j *jaegertest.Instance, escrowID string) jaegertest.Trace {
	t.Helper()
	traces, err := j.FindTraces(ctx, service, map[string]string{string(escrowconv.EscrowID): escrowID})
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 1 {
		t.Fatalf("Jaeger: %d traces with escrow.id=%s, want 1", len(traces), escrowID)
	}
	tr, err := j.Trace(ctx, traces[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// spans is a trace split by kind of span.
type spans struct {
	root                 jaegertest.Span
	rounds, steps, snaps []jaegertest.Span // INTERNAL: rounds, wallet steps, snapshot spans
	rpcs, snapshotCalls  []jaegertest.Span // CLIENT: the escrow's calls, the instrumentation's own
	byID                 map[string]jaegertest.Span
}

// classify splits a trace into the root, round, wallet step and snapshot
// spans, the escrow's RPC spans and the instrumentation's own RPC spans.
func classify(t *testing.T, tr jaegertest.Trace) spans {
	t.Helper()
	c := spans{byID: map[string]jaegertest.Span{}}
	roots := 0
	for _, s := range tr.Spans {
		c.byID[s.SpanID] = s
		_, isStep := s.Tag(string(escrowconv.WalletStep))
		_, isSnap := s.Tag(string(escrowconv.SnapshotPoint))
		_, hasRound := s.Tag(string(escrowconv.Round))
		kind, _ := s.Tag("span.kind")
		switch {
		case s.OperationName == escrowconv.SpanEscrow:
			if s.Parent() != "" {
				t.Errorf("%s has a parent", escrowconv.SpanEscrow)
			}
			c.root = s
			roots++
		case isStep:
			c.steps = append(c.steps, s)
		case isSnap && kind != "client":
			c.snaps = append(c.snaps, s)
		case hasRound && strings.HasPrefix(s.OperationName, escrowconv.SpanRound+" "):
			c.rounds = append(c.rounds, s)
		default:
			if kind != "client" {
				t.Errorf("span %s: span.kind = %v, want client", s.OperationName, kind)
			}
			if v, _ := s.Tag(string(escrowconv.AttrSnapshotCall)); v == true {
				c.snapshotCalls = append(c.snapshotCalls, s)
			} else {
				c.rpcs = append(c.rpcs, s)
			}
		}
	}
	if roots != 1 {
		t.Fatalf("%d root spans, want 1", roots)
	}
	return c
}

// checkTree checks the tree of a successful 2-of-3 setup on 0.18: the
// root, three numbered rounds, under each the wallet steps ("<role>
// <method>"), under each step its call and its snapshot spans, under those
// their reads; no read directly under a round or a step. FINAL snapshots
// are under the root.
func checkTree(t *testing.T, c spans) {
	t.Helper()
	if len(c.rounds) != 3 {
		t.Fatalf("%d round spans, want 3", len(c.rounds))
	}
	stepsOf := map[string][]jaegertest.Span{}
	for _, s := range c.steps {
		stepsOf[s.Parent()] = append(stepsOf[s.Parent()], s)
	}
	childrenOf := map[string][]jaegertest.Span{}
	for _, s := range append(append([]jaegertest.Span(nil), c.rpcs...), c.snaps...) {
		childrenOf[s.Parent()] = append(childrenOf[s.Parent()], s)
	}
	for _, r := range c.rounds {
		n, _ := r.Tag(string(escrowconv.Round))
		if r.Parent() != c.root.SpanID || r.OperationName != escrowconv.RoundSpanName(int(toInt(n))) {
			t.Errorf("round span %q (round %v) not a child of the root or misnamed", r.OperationName, n)
		}
		steps := stepsOf[r.SpanID]
		want := 3
		if toInt(n) == 1 {
			want = 6 // prepare_multisig and make_multisig per wallet
		}
		if len(steps) != want {
			t.Errorf("%s: %d wallet steps, want %d", r.OperationName, len(steps), want)
		}
		for _, st := range steps {
			role, _ := st.Tag(string(escrowconv.WalletRole))
			method, _ := st.Tag(string(escrowconv.WalletStep))
			if st.OperationName != fmt.Sprint(role, " ", method) {
				t.Errorf("step span %q, want %q", st.OperationName, fmt.Sprint(role, " ", method))
			}
			calls, snaps := 0, 0
			for _, ch := range childrenOf[st.SpanID] {
				if _, ok := ch.Tag(string(escrowconv.SnapshotPoint)); ok {
					snaps++
					if !hasLog(ch, escrowconv.EventSnapshot) {
						t.Errorf("snapshot span %s has no %s log", ch.OperationName, escrowconv.EventSnapshot)
					}
				} else if ch.OperationName == method {
					calls++
				}
			}
			wantSnaps := 2
			if toInt(n) == 1 {
				wantSnaps = 1
			}
			if calls != 1 || snaps != wantSnaps {
				t.Errorf("%s / %s: %d calls and %d snapshot spans, want 1 and %d", r.OperationName, st.OperationName, calls, snaps, wantSnaps)
			}
		}
	}
	finals := 0
	for _, s := range c.snaps {
		if p, _ := s.Tag(string(escrowconv.SnapshotPoint)); p == escrowconv.PointFinal {
			finals++
			if s.Parent() != c.root.SpanID {
				t.Errorf("FINAL snapshot span %s not under the root", s.OperationName)
			}
		}
	}
	if finals != 3 || len(c.snaps) != 21 {
		t.Errorf("%d snapshot spans, %d FINAL; want 21, 3", len(c.snaps), finals)
	}
	for _, s := range c.snapshotCalls {
		p := c.byID[s.Parent()]
		_, underSnap := p.Tag(string(escrowconv.SnapshotPoint))
		if !underSnap && !(s.OperationName == "get_version" && p.SpanID == c.root.SpanID) {
			t.Errorf("read %s under %q, want a snapshot span", s.OperationName, p.OperationName)
		}
	}
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	}
	var n int64
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

func hasLog(s jaegertest.Span, event string) bool {
	for _, l := range s.Logs {
		if v, _ := l.Field("event"); v == event {
			return true
		}
	}
	return false
}

// assertNoSecrets scans every tag and log field of the trace for multisig key
// material (multisig_info strings begin with "Multisig").
func assertNoSecrets(t *testing.T, tr jaegertest.Trace) {
	t.Helper()
	for _, s := range tr.Spans {
		kvs := append([]jaegertest.KeyValue(nil), s.Tags...)
		for _, l := range s.Logs {
			kvs = append(kvs, l.Fields...)
		}
		for _, kv := range kvs {
			if keyMaterial.MatchString(fmt.Sprint(kv.Value)) {
				t.Errorf("span %s: %s carries multisig key material: %.120v", s.OperationName, kv.Key, kv.Value)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
