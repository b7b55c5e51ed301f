package otelsetup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
)

// eventsPerSetup is the legacy events of a successful 2-of-3 setup.
const eventsPerSetup = 45

// checkFile asserts that escrowID's file in dir is valid and has want events.
func checkFile(t testing.TB, dir, escrowID string, want int) []byte {
	t.Helper()
	path := filepath.Join(dir, escrowjson.FileName(escrowID, false))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("escrow %s: %v", escrowID, err)
	}
	if err := escrowjson.Validate(data); err != nil {
		t.Fatalf("escrow %s: %v", escrowID, err)
	}
	evs, err := escrowjson.Load(path)
	if err != nil || len(evs) != want {
		t.Fatalf("escrow %s: %d events, %v; want %d", escrowID, len(evs), err, want)
	}
	return data
}

// runSetups runs n 2-of-3 setups at once on fake wallet-rpcs, through the
// global provider, and returns their ids.
func runSetups(t testing.TB, ctx context.Context, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	wallets := make([][]otelmsig.Wallet, n)
	tracker := otelmsig.NewTracker()
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%03d", prefix, i)
		wallets[i] = fakeWallets(t, ids[i], tracker)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range ids {
		wg.Go(func() {
			_, errs[i] = otelmsig.SetupMultisig(ctx, ids[i], wallets[i], otelmsig.WithTracker(tracker))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return ids
}

// Disabled, by ENABLE_INSTRUMENTATION unset or by OTEL_SDK_DISABLED=true
// (even over WithEnabled(true)): no files, the no-op provider, exactly the
// setup's own calls (no snapshot reads).
func TestSetupDisabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []otelsetup.Option
	}{
		{"ENABLE_INSTRUMENTATION unset", nil, nil},
		{"ENABLE_INSTRUMENTATION=0", map[string]string{otelsetup.EnvEnable: "0"}, nil},
		{"OTEL_SDK_DISABLED=true", map[string]string{otelsetup.EnvEnable: "1", "OTEL_SDK_DISABLED": "TRUE"}, nil},
		{"OTEL_SDK_DISABLED over WithEnabled", map[string]string{"OTEL_SDK_DISABLED": "true"}, []otelsetup.Option{otelsetup.WithEnabled(true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keepGlobal(t)
			clearEnv(t)
			dir := t.TempDir()
			t.Setenv(otelsetup.EnvTraceDir, dir)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ctx := testCtx(t, 30*time.Second)
			if p, err := otelsetup.PlanSetup(ctx, tc.opts...); err != nil || p.Enabled || p.Off == "" {
				t.Fatalf("plan %+v, %v; want disabled, with a reason", p, err)
			}
			shutdown, err := otelsetup.Setup(ctx, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			tracker := otelmsig.NewTracker()
			ws, servers := fakeEscrow(t, "esc-off", tracker)
			if _, err := otelmsig.SetupMultisig(ctx, "esc-off", ws, otelmsig.WithTracker(tracker)); err != nil {
				t.Fatal(err)
			}
			// Only the setup's own calls: the version check and the protocol;
			// no snapshot reads.
			want := "get_version prepare_multisig make_multisig exchange_multisig_keys exchange_multisig_keys"
			for i, srv := range servers {
				if got := strings.Join(srv.CallLog(), " "); got != want {
					t.Errorf("wallet-rpc %d got calls %q, want %q", i, got, want)
				}
			}
			if err := shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("disabled, yet files were written: %v", ents)
			}
			if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
				t.Error("disabled, yet the SDK provider is installed")
			}
		})
	}
}

// Enabled: the file lands in ESCROW_TRACE_DIR with the 45 events, nothing
// secret; the resource has the service name, an instance id, host and pid;
// the scope has otelmsig's version and the schema URL.
func TestSetupWritesFileAndDescribesProcess(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	dir := filepath.Join(t.TempDir(), "traces")
	t.Setenv(otelsetup.EnvEnable, "yes")
	t.Setenv(otelsetup.EnvTraceDir, dir)
	t.Setenv("OTEL_SERVICE_NAME", "escrow-svc")
	mem := &keepingExporter{}
	ctx := testCtx(t, 30*time.Second)
	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithSpanExporter(mem))
	if err != nil {
		t.Fatal(err)
	}
	runSetups(t, ctx, "esc-file", 1)
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	data := checkFile(t, dir, "esc-file-000", eventsPerSetup)
	if bytes.Contains(data, []byte(testPassword)) {
		t.Fatal("password in the legacy file")
	}
	spans := mem.Spans()
	if len(spans) == 0 {
		t.Fatal("extra exporter got nothing")
	}
	res := spans[0].Resource().Set()
	for _, k := range []attribute.Key{semconv.ServiceInstanceIDKey, semconv.HostNameKey, semconv.ProcessPIDKey} {
		if v, ok := res.Value(k); !ok || v.Emit() == "" {
			t.Errorf("resource lacks %s: %v", k, res.ToSlice())
		}
	}
	if v, _ := res.Value(semconv.ServiceNameKey); v.AsString() != "escrow-svc" {
		t.Errorf("service.name %q, want escrow-svc from OTEL_SERVICE_NAME", v.AsString())
	}
	if v, _ := res.Value(semconv.ProcessPIDKey); v.AsInt64() != int64(os.Getpid()) {
		t.Errorf("process.pid %d, want %d", v.AsInt64(), os.Getpid())
	}
	for _, s := range spans {
		sc := s.InstrumentationScope()
		if sc.Version != otelmsig.Version() || sc.SchemaURL != semconv.SchemaURL {
			t.Fatalf("span %s: scope %+v, want version %s and schema %s", s.Name(), sc, otelmsig.Version(), semconv.SchemaURL)
		}
	}
	// otelmsig's spans stay within the SDK's default limits, the floor
	// Setup requires of OTEL_SPAN_* (see TestSetupSpanLimits).
	for _, s := range spans {
		if s.DroppedAttributes()+s.DroppedEvents() > 0 {
			t.Errorf("span %s dropped %d attributes, %d events", s.Name(), s.DroppedAttributes(), s.DroppedEvents())
		}
		if len(s.Attributes()) > sdktrace.DefaultAttributeCountLimit || len(s.Events()) > sdktrace.DefaultEventCountLimit {
			t.Errorf("span %s: %d attributes, %d events", s.Name(), len(s.Attributes()), len(s.Events()))
		}
		for _, e := range s.Events() {
			if len(e.Attributes) > sdktrace.DefaultAttributePerEventCountLimit || e.DroppedAttributeCount > 0 {
				t.Errorf("span %s event %s: %d attributes", s.Name(), e.Name, len(e.Attributes))
			}
		}
	}
}

// WithoutFiles: no legacy file anywhere, not in ESCROW_TRACE_DIR nor in
// the working directory, while the exporters get every span (the escrow's
// root and its cache-pollution-capable calls alike), and the plan says
// there is no trace directory.
func TestSetupWithoutFiles(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	dir := filepath.Join(t.TempDir(), "traces")
	t.Setenv(otelsetup.EnvEnable, "1")
	t.Setenv(otelsetup.EnvTraceDir, dir)
	t.Chdir(t.TempDir())
	ctx := testCtx(t, 30*time.Second)
	plan, err := otelsetup.PlanSetup(ctx, otelsetup.WithoutFiles())
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Enabled || plan.TraceDir != "" {
		t.Errorf("plan %+v, want enabled with no TraceDir", plan)
	}
	mem := &keepingExporter{}
	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithoutFiles(), otelsetup.WithSpanExporter(mem))
	if err != nil {
		t.Fatal(err)
	}
	runSetups(t, ctx, "esc-nofile", 1)
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want it never created", dir, err)
	}
	if left, _ := filepath.Glob("escrow_*"); len(left) > 0 {
		t.Errorf("files in the working directory: %v", left)
	}
	roots := 0
	for _, s := range mem.Spans() {
		if s.Name() == escrowconv.SpanEscrow {
			roots++
		}
	}
	if roots != 1 || len(mem.Spans()) < eventsPerSetup {
		t.Errorf("the exporter got %d spans, %d roots; want the whole escrow", len(mem.Spans()), roots)
	}
}

// slowExporter holds its first export until released, so that the batch
// processor's queue fills up in a burst however fast the machine is.
type slowExporter struct {
	release chan struct{}
	got     atomic.Int64
}

func (s *slowExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.got.Add(int64(len(spans)))
	return nil
}
func (*slowExporter) Shutdown(context.Context) error { return nil }

// A burst of many times the batch queue in spans: every file is complete,
// the exporter's losses are reported by shutdown, and the files' are not.
func TestSetupBurstKeepsFilesCountsExporterLoss(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	const queue = 16
	dir := t.TempDir()
	t.Setenv(otelsetup.EnvEnable, "1")
	t.Setenv(otelsetup.EnvTraceDir, dir)
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", fmt.Sprint(queue))
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", fmt.Sprint(queue))
	slow := &slowExporter{release: make(chan struct{})}
	ctx := testCtx(t, 60*time.Second)
	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithSpanExporter(slow))
	if err != nil {
		t.Fatal(err)
	}
	// Count the spans: at least 16x the queue must end.
	var ended atomic.Int64
	counter := &countingProcessor{n: &ended}
	otel.GetTracerProvider().(*sdktrace.TracerProvider).RegisterSpanProcessor(counter)

	ids := runSetups(t, ctx, "burst", 12)
	close(slow.release)
	err = shutdown(ctx)
	if n := ended.Load(); n < 16*queue {
		t.Fatalf("only %d spans ended, want at least %d", n, 16*queue)
	}
	for _, id := range ids {
		checkFile(t, dir, id, eventsPerSetup)
	}
	lost := ended.Load() - slow.got.Load()
	t.Logf("%d spans, exporter got %d; shutdown: %v", ended.Load(), slow.got.Load(), err)
	if lost <= 0 {
		t.Fatalf("the slow exporter lost nothing (%d spans): the burst did not overflow the queue", ended.Load())
	}
	if err == nil {
		t.Fatal("shutdown reported no loss")
	}
	msg := err.Error()
	want := fmt.Sprintf("%d of %d spans not exported", lost, ended.Load())
	if !strings.Contains(msg, "*otelsetup_test.slowExporter exporter: "+want) {
		t.Errorf("shutdown error %q does not say %q for the slow exporter", msg, want)
	}
	if strings.Contains(msg, "legacy JSON") {
		t.Errorf("shutdown error blames the files: %q", msg)
	}
}

type countingProcessor struct{ n *atomic.Int64 }

func (c *countingProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *countingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		c.n.Add(1)
	}
}
func (c *countingProcessor) Shutdown(context.Context) error   { return nil }
func (c *countingProcessor) ForceFlush(context.Context) error { return nil }

// A sampler that drops everything thins the exporters, not the files.
func TestSetupSamplerDropsExportOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []otelsetup.Option
	}{
		{"traceidratio 0", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}, nil},
		{"always_off", map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, nil},
		{"WithSampler(NeverSample)", nil, []otelsetup.Option{otelsetup.WithSampler(sdktrace.NeverSample())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keepGlobal(t)
			clearEnv(t)
			dir := t.TempDir()
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			mem := &keepingExporter{}
			ctx := testCtx(t, 30*time.Second)
			opts := append([]otelsetup.Option{otelsetup.WithEnabled(true), otelsetup.WithTraceDir(dir), otelsetup.WithSpanExporter(mem)}, tc.opts...)
			shutdown, err := otelsetup.Setup(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			ids := runSetups(t, ctx, "sampled", 2)
			if err := shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				checkFile(t, dir, id, eventsPerSetup)
			}
			if n := len(mem.Spans()); n != 0 {
				t.Errorf("the exporter got %d spans, the sampler drops all", n)
			}
		})
	}
}

// failingExporter fails every export.
type failingExporter struct{}

func (failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("collector says no")
}
func (failingExporter) Shutdown(context.Context) error { return nil }

// Shutdown with an expired context still writes the files; a second call
// returns the same error, naming what the exporter lost.
func TestSetupShutdownExpiredContextThenAgain(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	dir := t.TempDir()
	ctx := testCtx(t, 30*time.Second)
	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithEnabled(true), otelsetup.WithTraceDir(dir),
		otelsetup.WithSpanExporter(failingExporter{}))
	if err != nil {
		t.Fatal(err)
	}
	ids := runSetups(t, ctx, "expired", 3)
	dead, cancel := context.WithCancel(ctx)
	cancel()
	err1 := shutdown(dead)
	for _, id := range ids {
		checkFile(t, dir, id, eventsPerSetup)
	}
	if err1 == nil || !strings.Contains(err1.Error(), "otelsetup_test.failingExporter exporter") || !strings.Contains(err1.Error(), "spans not exported") {
		t.Fatalf("first shutdown: %v; want the failing exporter's loss", err1)
	}
	err2 := shutdown(ctx)
	if err2 == nil || err2.Error() != err1.Error() {
		t.Fatalf("second shutdown: %v; want the first one's error %v", err2, err1)
	}
}

// A dead collector neither blocks the calls nor the files; shutdown says
// what the OTLP exporter lost and honours its context.
func TestSetupCollectorDown(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(proto, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+down)
			t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "300")
			ctx := testCtx(t, 30*time.Second)
			shutdown, err := otelsetup.Setup(ctx, otelsetup.WithEnabled(true), otelsetup.WithTraceDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			ids := runSetups(t, ctx, "down", 1)
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			start := time.Now()
			serr := shutdown(sctx)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("shutdown took %v with a 2s context", d)
			}
			checkFile(t, dir, ids[0], eventsPerSetup)
			if serr == nil || !strings.Contains(serr.Error(), "OTLP ("+proto+" to http://"+down) || !strings.Contains(serr.Error(), "spans not exported") {
				t.Fatalf("shutdown: %v; want the OTLP exporter's loss", serr)
			}
			t.Logf("shutdown: %v", serr)
		})
	}
}

// Span limits lower than the files need are refused, naming the variable
// and the value; enough, or no limit, is fine and the file is exact.
func TestSetupSpanLimits(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		want       string // "" : accepted
	}{
		{"OTEL_SPAN_EVENT_COUNT_LIMIT", "2", "OTEL_SPAN_EVENT_COUNT_LIMIT=2: the legacy escrow files would lose data; unset it, or set it to -1 (no limit) or at least 128"},
		{"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "4", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=4: the legacy escrow files would lose data; unset it, or set it to -1 (no limit) or at least 128"},
		{"OTEL_ATTRIBUTE_COUNT_LIMIT", "4", "OTEL_ATTRIBUTE_COUNT_LIMIT=4: "},
		{"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "4", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT=4: "},
		{"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "12", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=12: unset it or set it to -1 (no limit)"},
		{"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4096", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=4096: unset it or set it to -1"},
		{"OTEL_SPAN_EVENT_COUNT_LIMIT", "lots", `OTEL_SPAN_EVENT_COUNT_LIMIT="lots": want an integer`},
		{"OTEL_SPAN_EVENT_COUNT_LIMIT", "200", ""},
		{"OTEL_SPAN_EVENT_COUNT_LIMIT", "-1", ""},
		{"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1", ""},
		{"OTEL_SPAN_LINK_COUNT_LIMIT", "0", ""},
		{"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "1", ""},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			keepGlobal(t)
			clearEnv(t)
			t.Setenv(tc.key, tc.value)
			before := otel.GetTracerProvider()
			dir := t.TempDir()
			ctx := testCtx(t, 30*time.Second)
			opts := []otelsetup.Option{otelsetup.WithEnabled(true), otelsetup.WithTraceDir(dir)}
			_, perr := otelsetup.PlanSetup(ctx, opts...)
			shutdown, err := otelsetup.Setup(ctx, opts...)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Setup: %v; want an error containing %q", err, tc.want)
				}
				if perr == nil || perr.Error() != err.Error() {
					t.Errorf("PlanSetup: %v; want Setup's error", perr)
				}
				if otel.GetTracerProvider() != before {
					t.Error("a provider was installed despite the error")
				}
				return
			}
			if err != nil || perr != nil {
				t.Fatal(err, perr)
			}
			ids := runSetups(t, ctx, "limits", 1)
			if err := shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			checkFile(t, dir, ids[0], eventsPerSetup)
		})
	}
}

func TestSetupRejectsBadEnvironment(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{otelsetup.EnvEnable, "perhaps", `ENABLE_INSTRUMENTATION="perhaps"`},
		{"OTEL_TRACES_EXPORTER", "zipkin", `OTEL_TRACES_EXPORTER="zipkin": want otlp, console or none`},
		{"OTEL_TRACES_EXPORTER", "otlp,console", `OTEL_TRACES_EXPORTER="otlp,console"`},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": want grpc or http/protobuf`},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4317", `OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4317": want a URL`},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318", `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="collector:4318": want a URL`},
		{"OTEL_TRACES_SAMPLER", "jaeger_remote", `OTEL_TRACES_SAMPLER="jaeger_remote"`},
		{"OTEL_TRACES_SAMPLER_ARG", "2", `OTEL_TRACES_SAMPLER_ARG="2": want a sampling ratio between 0 and 1`},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			keepGlobal(t)
			clearEnv(t)
			t.Setenv(otelsetup.EnvEnable, "1")
			t.Setenv(tc.key, tc.value)
			if strings.HasPrefix(tc.key, "OTEL_EXPORTER_OTLP_") {
				t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
			}
			if tc.key == "OTEL_TRACES_SAMPLER_ARG" {
				t.Setenv("OTEL_TRACES_SAMPLER", "traceidratio")
			}
			before := otel.GetTracerProvider()
			_, err := otelsetup.Setup(context.Background(), otelsetup.WithTraceDir(t.TempDir()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if otel.GetTracerProvider() != before {
				t.Fatal("a provider was installed despite the error")
			}
		})
	}
	t.Run("trace dir is a file", func(t *testing.T) {
		keepGlobal(t)
		clearEnv(t)
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		if _, err := otelsetup.Setup(context.Background(), otelsetup.WithEnabled(true), otelsetup.WithTraceDir(f)); err == nil {
			t.Fatal("a file as trace dir accepted")
		}
	})
}

// Invalid UTF-8: a wallet file name is refused before any call; other
// strings are recorded with U+FFFD, and two escrow ids that differ only in
// bad bytes still get two files.
func TestSetupInvalidUTF8(t *testing.T) {
	keepGlobal(t)
	clearEnv(t)
	dir := t.TempDir()
	mem := &keepingExporter{}
	ctx := testCtx(t, 30*time.Second)
	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithEnabled(true), otelsetup.WithTraceDir(dir), otelsetup.WithSpanExporter(mem))
	if err != nil {
		t.Fatal(err)
	}
	tracker := otelmsig.NewTracker()

	bad, badServers := fakeEscrow(t, "bad-name", tracker)
	bad[1].Filename = "vendor-\xff\xfe"
	_, err = otelmsig.SetupMultisig(ctx, "bad-name", bad, otelmsig.WithTracker(tracker))
	if err == nil || !strings.Contains(err.Error(), "is not valid UTF-8") || !strings.Contains(err.Error(), bad[1].ID) {
		t.Fatalf("bad filename: %v; want a UTF-8 error naming the wallet", err)
	}

	ws := fakeWallets(t, "bad-id", tracker)
	ws[0].ID = "buyer-\xc3\x28" // invalid 2-byte sequence
	ws[2].Role = "arbiter\x80"
	if _, err := otelmsig.SetupMultisig(ctx, "bad-id", ws, otelmsig.WithTracker(tracker)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"esc-\xff", "esc-\xfe"} {
		_, esc := otelmsig.StartEscrow(ctx, id)
		esc.Fail(ctx, errors.New("wallet said \xff\xfe"), otelmsig.ErrorContext{Operation: "op\xff"})
		esc.End(nil)
	}
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, srv := range badServers {
		if n := srv.TotalCalls(); n != 0 {
			t.Errorf("refused escrow: wallet-rpc %d got %d calls: %v", i, n, srv.CallLog())
		}
	}
	checkFile(t, dir, "bad-id", eventsPerSetup)
	failed, _ := filepath.Glob(filepath.Join(dir, "escrow_esc-*_FAILED.json"))
	if len(failed) != 2 {
		t.Errorf("two escrow ids differing in bad bytes gave files %v, want two", failed)
	}
	var sawFFFD bool
	check := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			if kv.Value.Type() == attribute.STRING {
				s := kv.Value.AsString()
				if !utf8.ValidString(s) {
					t.Errorf("%s: %s=%q is not valid UTF-8", where, kv.Key, s)
				}
				sawFFFD = sawFFFD || strings.ContainsRune(s, utf8.RuneError)
			}
		}
	}
	for _, s := range mem.Spans() {
		check(s.Name(), s.Attributes())
		for _, e := range s.Events() {
			check(s.Name()+"/"+e.Name, e.Attributes)
		}
		if !utf8.ValidString(s.Status().Description) {
			t.Errorf("%s: status %q", s.Name(), s.Status().Description)
		}
	}
	if !sawFFFD {
		t.Error("no U+FFFD recorded: the bad bytes did not reach the spans")
	}
}
