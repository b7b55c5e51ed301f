package escrowjsonexporter

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// recordEscrows runs real escrow setups through otelmsig on fake wallet-rpcs
// and returns their ended spans: one succeeds, one fails in round 2, and a
// third is cut off (its root span dropped, as when a process dies).
func recordEscrows(t *testing.T) (spans []sdktrace.ReadOnlySpan, ids []string) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids = []string{"fe-ok", "fe-failed", "fe-cut"}
	for i, id := range ids {
		var wallets []otelmsig.Wallet
		var servers []*fakewalletrpc.Server
		for _, role := range []string{"buyer", "vendor", "arbiter"} {
			name := id + "-" + role
			s := fakewalletrpc.New(fakewalletrpc.WithWalletDir(t.TempDir()), fakewalletrpc.WithWallet(name, ""))
			t.Cleanup(s.Close)
			if err := s.OpenWallet(name); err != nil {
				t.Fatal(err)
			}
			c, err := walletrpc.New(s.URL(), otelmsig.WithTracing(otelmsig.WithTracerProvider(tp)))
			if err != nil {
				t.Fatal(err)
			}
			servers = append(servers, s)
			wallets = append(wallets, otelmsig.Wallet{Role: role, ID: name, Filename: name, Path: s.WalletPath(name), Client: c})
		}
		if i == 1 {
			servers[1].InjectFault(fakewalletrpc.Fault{Method: "exchange_multisig_keys", Times: 1,
				Code: fakewalletrpc.CodeBadMultisigInfo, Message: "Invalid multisig info <b>x</b>"})
		}
		if _, err := otelmsig.SetupMultisig(ctx, id, wallets, otelmsig.WithTracerProvider(tp)); (err != nil) != (i == 1) {
			t.Fatalf("escrow %s: %v", id, err)
		}
	}
	for _, s := range rec.Ended() {
		if s.Name() == escrowconv.SpanEscrow && hasEscrowID(s, "fe-cut") {
			continue
		}
		spans = append(spans, s)
	}
	return spans, ids
}

func hasEscrowID(s sdktrace.ReadOnlySpan, id string) bool {
	for _, kv := range s.Attributes() {
		if kv.Key == escrowconv.EscrowID && kv.Value.AsString() == id {
			return true
		}
	}
	return false
}

// newTestExporter makes the escrowjson exporter through its factory and
// starts it.
func newTestExporter(t *testing.T, dir string, tel *componenttest.Telemetry) exporter.Traces {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.FlushInterval = 50 * time.Millisecond
	set := exportertest.NewNopSettings(Type)
	if tel != nil {
		set.TelemetrySettings = tel.NewTelemetrySettings()
	}
	exp, err := f.CreateTraces(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return exp
}

// otlpInto returns an SDK OTLP/HTTP exporter whose requests are decoded as
// the Collector's OTLP receiver decodes them (pdata from protobuf) and
// handed to next: the wire path from a process to the collector.
func otlpInto(t *testing.T, next exporter.Traces) sdktrace.SpanExporter {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err == nil {
			err = req.UnmarshalProto(body)
		}
		if err == nil {
			err = next.ConsumeTraces(r.Context(), req.Traces())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// The same recorded spans through the SDK front end (exporter/jsonfile)
// and through OTLP into the Collector front end give byte-identical files:
// a finished escrow, a failed one and a _PARTIAL one.
func TestSameFilesThroughBothFrontEnds(t *testing.T) {
	spans, ids := recordEscrows(t)
	ctx := context.Background()

	sdkDir := t.TempDir()
	files, err := jsonfile.New(jsonfile.WithDir(sdkDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := files.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := files.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	colDir := t.TempDir()
	exp := newTestExporter(t, colDir, nil)
	otlp := otlpInto(t, exp)
	// In batches, as the SDK's batch span processor sends them.
	for batch := range slices.Chunk(spans, 64) {
		if err := otlp.ExportSpans(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	want := []string{escrowjson.FileName(ids[0], false), escrowjson.FileName(ids[1], true), escrowjson.PartialFileName(ids[2])}
	for _, dir := range []string{sdkDir, colDir} {
		got := names(t, dir)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s holds %q, want %q", dir, got, want)
		}
	}
	for _, name := range want {
		a, err := os.ReadFile(filepath.Join(sdkDir, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(colDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the front ends:\nSDK:       %.300s\ncollector: %.300s", name, a, b)
		}
		if err := escrowjson.Validate(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	evs, err := escrowjson.Load(filepath.Join(colDir, want[slices.Index(want, escrowjson.FileName(ids[0], false))]))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 45 {
		t.Errorf("%d events in the successful escrow's file, want 45", len(evs))
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}
