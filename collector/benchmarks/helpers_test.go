package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.yaml.in/yaml/v3"

	"github.com/escrowtrace/escrowtrace/collector/collectortest"
	"github.com/escrowtrace/escrowtrace/collector/internal/escrowspans"
)

// batches returns escrows first..first+n-1, cloned from tmpl, in the SDK
// batch processor's batches of 512 spans: the client's whole input, made
// before the clock starts.
func batches(tmpl []sdktrace.ReadOnlySpan, first uint64, n int) [][]sdktrace.ReadOnlySpan {
	spans := make([]sdktrace.ReadOnlySpan, 0, n*len(tmpl))
	for i := range uint64(n) {
		spans = append(spans, escrowspans.Clone(tmpl, first+i)...)
	}
	return slices.Collect(slices.Chunk(spans, escrowspans.BatchSize))
}

// client is the one client of every benchmark here: the SDK's OTLP/gRPC
// exporter, sending batches one after the other as the batch span
// processor does.
func client(tb testing.TB, endpoint string) sdktrace.SpanExporter {
	tb.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

func send(tb testing.TB, exp sdktrace.SpanExporter, bs [][]sdktrace.ReadOnlySpan) {
	tb.Helper()
	for _, b := range bs {
		if err := exp.ExportSpans(context.Background(), b); err != nil {
			tb.Fatalf("OTLP export: %v", err)
		}
	}
}

// collectorConfig writes the shipped deploy/collector/config.yaml with the
// traces pipeline cut to what issue 12 measures: receiver otlp, processors
// groupbytrace and batch as shipped, exporter escrowjson. The
// cross-process detector (walletpollution), which holds every batch for
// its decision window, is measured on its own in walletpollutionprocessor.
// It returns the config's path.
func collectorConfig(tb testing.TB) string {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "collector", "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var conf map[string]any
	if err := yaml.Unmarshal(raw, &conf); err != nil {
		tb.Fatal(err)
	}
	exporters, _ := conf["exporters"].(map[string]any)
	traces, _ := dig(conf, "service", "pipelines", "traces")
	if _, ok := exporters["escrowjson"]; !ok || traces == nil {
		tb.Fatal("deploy/collector/config.yaml: no escrowjson exporter or no traces pipeline")
	}
	conf["exporters"] = map[string]any{"escrowjson": exporters["escrowjson"]}
	traces["exporters"] = []string{"escrowjson"}
	traces["processors"] = []string{"groupbytrace", "batch"}
	out, err := yaml.Marshal(conf)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "collector.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func dig(m map[string]any, keys ...string) (map[string]any, bool) {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}

// metric reads a collector metric; a series that does not exist yet (a
// counter that has counted nothing) is 0.
func metric(tb testing.TB, c *collectortest.Instance, name string, labels map[string]string) float64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := c.Metric(ctx, name, labels)
	if err != nil && !errors.Is(err, collectortest.ErrNoSeries) {
		tb.Fatal(err)
	}
	return v
}

// wantMetrics fails the benchmark for every metric that is not as wanted.
func wantMetrics(tb testing.TB, c *collectortest.Instance, want []metricWant) {
	tb.Helper()
	var bad []string
	for _, w := range want {
		if got := metric(tb, c, w.name, w.labels); got != w.value {
			bad = append(bad, fmt.Sprintf("%s%v = %v, want %v", w.name, w.labels, got, w.value))
		}
	}
	if len(bad) > 0 {
		tb.Fatalf("collector metrics:\n%s", strings.Join(bad, "\n"))
	}
}

type metricWant struct {
	name   string
	labels map[string]string
	value  float64
}

// waitFor polls cond every interval until it holds; it fails the benchmark
// when what progress returns has not changed for stall.
func waitFor(tb testing.TB, interval, stall time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	last, since := "", time.Now()
	for {
		ok, progress := cond()
		if ok {
			return
		}
		if progress != last {
			last, since = progress, time.Now()
		} else if time.Since(since) > stall {
			tb.Fatalf("%s: stuck at %s for %v", what, progress, stall)
		}
		time.Sleep(interval)
	}
}

// countFiles counts the entries of dir whose names start with prefix
// (the exporter's temporary files start with a dot).
func countFiles(tb testing.TB, dir, prefix string) int {
	tb.Helper()
	f, err := os.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if strings.HasPrefix(name, prefix) {
			n++
		}
	}
	return n
}

// procCPU is the user+system CPU time process pid has used, from
// /proc/PID/stat (clock ticks of 10 ms).
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		tb.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// selfCPU is the user+system CPU time this process has used.
func selfCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is process pid's resident set size in bytes (VmRSS in
// /proc/PID/status).
func rss(tb testing.TB, pid int) float64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb * 1024
		}
	}
	tb.Fatalf("/proc/%d/status: no VmRSS", pid)
	return 0
}
