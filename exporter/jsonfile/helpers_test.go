package jsonfile_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

// secret is a password-like string the tests put where the exporter must
// not copy from.
const secret = "hunter2-wallet-password"

// testDir returns a temporary directory whose escrow files are checked when
// the test ends: every file must pass Validate (the schema test) and hold
// no multisig_info material or password.
func testDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { checkDir(t, dir) })
	return dir
}

func checkDir(t testing.TB, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".escrow-") {
			t.Errorf("temporary file left behind: %s", path)
			return nil
		}
		if !strings.HasPrefix(name, "escrow_") || !strings.HasSuffix(name, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read %s: %v", path, err)
			return nil
		}
		if err := escrowjson.Validate(data); err != nil {
			t.Errorf("schema test: %s: %v", name, err)
		}
		if !bytes.HasSuffix(data, []byte("\n")) {
			t.Errorf("%s: no trailing newline", name)
		}
		for _, bad := range []string{"Multisig", secret} {
			if bytes.Contains(data, []byte(bad)) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		return nil
	})
}

// newExporter returns an exporter writing into a checked temp dir.
func newExporter(t testing.TB, opts ...jsonfile.Option) (*jsonfile.Exporter, string) {
	t.Helper()
	dir := testDir(t)
	exp, err := jsonfile.New(append([]jsonfile.Option{jsonfile.WithDir(dir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return exp, dir
}

// spansOf records the setup with a span recorder and returns the ended spans
// in end order (children before the root), and the expected event count.
func spansOf(s setup) ([]sdktrace.ReadOnlySpan, int) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	n := s.record(tp)
	_ = tp.Shutdown(context.Background())
	return rec.Ended(), n
}

// ctxT returns a context bounded for one test step.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// listFiles returns the names of the files in dir.
func listFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func load(t testing.TB, path string) []escrowjson.Event {
	t.Helper()
	evs, err := escrowjson.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func countTypes(evs []escrowjson.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[e.EventType]++
	}
	return m
}

var (
	fixedStart = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	goldenOK   = setup{escrowID: "7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70", start: fixedStart, basePort: 18083}
	goldenFail = setup{escrowID: "0b9d8c7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e", start: fixedStart, basePort: 18083, failRound2: true}
)
