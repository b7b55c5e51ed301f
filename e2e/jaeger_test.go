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
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
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
	root, rounds, rpcs, snapshotCalls := classify(t, tr)

	if v, _ := root.Tag(string(escrowconv.EscrowAddress)); v != addr {
		t.Errorf("root %s = %v, want %s", escrowconv.EscrowAddress, v, addr)
	}
	if v, _ := root.Tag(string(escrowconv.EscrowTraceID)); !strings.HasPrefix(fmt.Sprint(v), escrowID+"-") {
		t.Errorf("root %s = %v, want %s-<ms>", escrowconv.EscrowTraceID, v, escrowID)
	}
	if len(rounds) != 3 {
		t.Fatalf("%d round spans, want 3", len(rounds))
	}
	roundIDs := map[string]bool{}
	for _, r := range rounds {
		if r.Parent() != root.SpanID {
			t.Errorf("round %s is not a child of the root", r.SpanID)
		}
		roundIDs[r.SpanID] = true
	}
	methods := map[string]int{}
	for _, s := range rpcs {
		methods[s.OperationName]++
		if !roundIDs[s.Parent()] {
			t.Errorf("RPC span %s (%s) is not a child of a round", s.OperationName, s.SpanID)
		}
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
	if len(snapshotCalls) == 0 {
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
			s := ev.Details.(*jsonfile.Snapshot)
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
// answers -48) shows as errors in Jaeger and as a _FAILED legacy file.
func TestFailedSetupInJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	dir := t.TempDir()
	escrowID := "e2e-fail-" + fmt.Sprint(time.Now().UnixNano())
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
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	tr := findEscrowTrace(t, ctx, j, escrowID)
	root, _, rpcs, _ := classify(t, tr)
	if v, _ := root.Tag("error"); v != true {
		t.Errorf("root: error tag = %v, want true", v)
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
		case jsonfile.TypeRPCCallError:
			rpcErrors++
		case jsonfile.TypeErrorFinal:
			finals++
			ef := ev.Details.(*jsonfile.ErrorFinal)
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

// classify splits a trace into the root, round spans, the escrow's RPC spans
// and the snapshot-internal RPC spans.
func classify(t *testing.T, tr jaegertest.Trace) (root jaegertest.Span, rounds, rpcs, snapshotCalls []jaegertest.Span) {
	t.Helper()
	roots := 0
	for _, s := range tr.Spans {
		switch {
		case s.OperationName == escrowconv.SpanEscrow:
			if s.Parent() != "" {
				t.Errorf("%s has a parent", escrowconv.SpanEscrow)
			}
			root = s
			roots++
		case s.OperationName == escrowconv.SpanRound:
			rounds = append(rounds, s)
		default:
			if v, _ := s.Tag("span.kind"); v != "client" {
				t.Errorf("span %s: span.kind = %v, want client", s.OperationName, v)
			}
			if v, _ := s.Tag(string(escrowconv.AttrSnapshotCall)); v == true {
				snapshotCalls = append(snapshotCalls, s)
			} else {
				rpcs = append(rpcs, s)
			}
		}
	}
	if roots != 1 {
		t.Fatalf("%d root spans, want 1", roots)
	}
	return root, rounds, rpcs, snapshotCalls
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
