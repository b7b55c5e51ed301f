package jaegerquery_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/jaegerquery"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// TestFromJaegerEqualsFiles runs two escrows (one fails in round 2) on fake
// wallet-rpcs with a real Jaeger and the legacy exporter side by side, and
// reads them back from Jaeger: the events are the files' events.
func TestFromJaegerEqualsFiles(t *testing.T) {
	j := jaegertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	files, err := jsonfile.New(jsonfile.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	otlp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(j.OTLPGRPC), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	const service = "escrowtrace-report-test"
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(otlp), sdktrace.WithSyncer(files),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))))
	defer tp.Shutdown(context.Background())

	ids := []string{"jq-ok-1", "jq-fail-2"}
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
		_, err := otelmsig.SetupMultisig(ctx, id, wallets, otelmsig.WithTracerProvider(tp))
		if (err != nil) != (i == 1) {
			t.Fatalf("escrow %s: %v", id, err)
		}
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	fromFiles, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	q := jaegerquery.Query{URL: j.QueryURL, Service: service, EscrowIDs: ids}
	var fromJaeger []report.Input
	// Jaeger makes a trace queryable within milliseconds of the flush; poll
	// a little in case the box is busy.
	for range 50 {
		fromJaeger, err = jaegerquery.Fetch(ctx, q)
		if err == nil && len(fromJaeger) == 2 && len(fromJaeger[0].Events) > 0 && len(fromJaeger[1].Events) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	a, b := report.Build(fromFiles), report.Build(fromJaeger)
	if len(a.Escrows) != 2 || len(b.Escrows) != 2 {
		t.Fatalf("files %d escrows, jaeger %d", len(a.Escrows), len(b.Escrows))
	}
	for i := range a.Escrows {
		ea, eb := a.Escrows[i], b.Escrows[i]
		if ea.ID != eb.ID || ea.TraceID != eb.TraceID || ea.Failed != eb.Failed || ea.Rounds != eb.Rounds || ea.EventCount != eb.EventCount ||
			len(ea.Calls) != len(eb.Calls) || len(ea.Snapshots) != len(eb.Snapshots) || len(ea.Errors) != len(eb.Errors) {
			t.Errorf("escrow %s: files %d events %d calls %d snapshots rounds %d; jaeger %d events %d calls %d snapshots rounds %d",
				ea.ID, ea.EventCount, len(ea.Calls), len(ea.Snapshots), ea.Rounds, eb.EventCount, len(eb.Calls), len(eb.Snapshots), eb.Rounds)
			continue
		}
		if !strings.HasPrefix(eb.Source, j.QueryURL) {
			t.Errorf("source %q", eb.Source)
		}
		ka, kb := keys(ea), keys(eb)
		if !slices.Equal(ka, kb) {
			t.Errorf("escrow %s: steps differ\nfiles  %q\njaeger %q", ea.ID, ka, kb)
		}
		if len(ea.Errors) == 1 && ea.Errors[0].Message != eb.Errors[0].Message {
			t.Errorf("error %q vs %q", ea.Errors[0].Message, eb.Errors[0].Message)
		}
	}
	// The whole time range, without ids: both escrows.
	all, err := jaegerquery.Fetch(ctx, jaegerquery.Query{URL: j.QueryURL, Service: service, Start: time.Now().Add(-time.Hour)})
	if err != nil || len(all) != 2 {
		t.Errorf("search by time: %d escrows, %v", len(all), err)
	}
	if _, err := jaegerquery.Fetch(ctx, jaegerquery.Query{URL: j.QueryURL, Service: service, EscrowIDs: []string{"no-such-escrow"}}); err == nil ||
		!strings.Contains(err.Error(), "no trace of escrow") {
		t.Errorf("unknown escrow: %v", err)
	}
}

// keys are an escrow's steps, sorted: the order of events at one
// millisecond may differ after µs rounding.
func keys(e *report.Escrow) []string {
	var k []string
	for _, s := range e.Steps {
		k = append(k, s.Key+" "+s.Note)
	}
	slices.Sort(k)
	return k
}

func TestJaegerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = jaegerquery.Fetch(ctx, jaegerquery.Query{URL: "http://" + addr})
	if err == nil || !strings.Contains(err.Error(), "not reachable") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("jaeger down: %v", err)
	}
	for _, bad := range []string{"", "localhost:16686", "ftp://x", "http://"} {
		if _, err := jaegerquery.Fetch(ctx, jaegerquery.Query{URL: bad}); err == nil {
			t.Errorf("URL %q: no error", bad)
		}
	}
}
