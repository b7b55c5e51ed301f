package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// Bad usage and bad settings: the right exit status, a message that says
// what is wrong, and nothing started.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	regular := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(regular, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyPath := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want []string // on stderr
	}{
		{"no command", nil, nil, exitUsage, []string{"Usage:", "escrowtrace demo"}},
		{"unknown command", nil, []string{"frobnicate"}, exitUsage, []string{`unknown command "frobnicate"`}},
		{"unknown flag", nil, []string{"demo", "--bogus"}, exitUsage, []string{"flag provided but not defined: -bogus", "Usage: escrowtrace demo"}},
		{"zero escrows", nil, []string{"demo", "--escrows", "0"}, exitUsage, []string{"--escrows 0: want 1 to 20"}},
		{"too many escrows", nil, []string{"demo", "--escrows", "21"}, exitUsage, []string{"--escrows 21: want 1 to 20"}},
		{"bad layout", nil, []string{"demo", "--rpc", "pooled"}, exitUsage, []string{`--rpc "pooled": want dedicated or shared`}},
		{"bad jobs", nil, []string{"demo", "--jobs", "0"}, exitUsage, []string{"--jobs 0"}},
		{"stray argument", nil, []string{"demo", "now"}, exitUsage, []string{`unexpected argument "now"`}},
		{"version argument", nil, []string{"version", "x"}, exitUsage, []string{`unexpected argument "x"`}},
		{"out under a regular file", nil, []string{"demo", "--out", filepath.Join(regular, "traces")}, exitFailure,
			[]string{"--out " + filepath.Join(regular, "traces") + " is not a writable directory (nothing was started)", "not a directory"}},
		{"out is a regular file", nil, []string{"demo", "--out", regular}, exitFailure, []string{"is not a writable directory"}},
		{"instrumentation off", []string{"ENABLE_INSTRUMENTATION=0"}, []string{"demo", "--out", t.TempDir()}, exitUsage,
			[]string{"ENABLE_INSTRUMENTATION=0 turns the instrumentation off", "unset it or set it to 1"}},
		{"instrumentation garbled", []string{"ENABLE_INSTRUMENTATION=maybe"}, []string{"demo", "--out", t.TempDir()}, exitUsage,
			[]string{`ENABLE_INSTRUMENTATION="maybe"`}},
		{"bad OTEL exporter", []string{"OTEL_TRACES_EXPORTER=zipkin"}, []string{"demo", "--out", t.TempDir()}, exitFailure,
			[]string{"zipkin"}},
		{"OTEL_SDK_DISABLED", []string{"OTEL_SDK_DISABLED=true"}, []string{"demo", "--out", t.TempDir()}, exitUsage,
			[]string{"OTEL_SDK_DISABLED=true turns the instrumentation off"}},
		{"OTLP endpoint without scheme", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=127.0.0.1:4317"}, []string{"demo", "--out", t.TempDir()}, exitFailure,
			[]string{`OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4317": want a URL`}},
		{"monero missing", []string{"PATH=" + emptyPath}, []string{"demo", "--out", t.TempDir()}, exitFailure,
			[]string{"nothing was started", "monero-wallet-rpc not found on PATH",
				"make tools", "apt-get install -y monero"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := execDemo(t, time.Minute, tc.env, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if pids := startedPIDs(r.stderr); len(pids) > 0 {
				t.Errorf("wallet-rpc processes were started: %v", pids)
			}
			if strings.Contains(r.stderr, "creating") {
				t.Error("wallets were being created")
			}
			checkNothingLeft(t, r)
			if r.stdout != "" && tc.code != exitOK {
				t.Errorf("stdout: %q", r.stdout)
			}
		})
	}
	// Nothing was written next to the regular file.
	if entries, _ := os.ReadDir(filepath.Dir(regular)); len(entries) != 1 {
		t.Errorf("the --out checks left files behind: %v", entries)
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"demo", "-h"}, {"version", "-h"}} {
		r := execDemo(t, time.Minute, nil, args...)
		if r.code != exitOK {
			t.Errorf("%v: exit %d", args, r.code)
		}
		if !strings.Contains(r.stdout+r.stderr, "Usage") {
			t.Errorf("%v printed no usage", args)
		}
	}
	r := execDemo(t, time.Minute, nil, "demo", "-h")
	for _, flag := range []string{"-escrows", "-rpc", "-safe", "-out", "-jobs", "-timeout", "-timeline", "ENABLE_INSTRUMENTATION", "JAEGER_UI_URL"} {
		if !strings.Contains(r.stderr, flag) {
			t.Errorf("demo -h does not mention %s", flag)
		}
	}
	r = execDemo(t, time.Minute, nil, "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "escrowtrace ") || !strings.Contains(r.stdout, "monero-wallet-rpc: Monero ") {
		t.Errorf("version: exit %d, stdout %q", r.code, r.stdout)
	}
	r = execDemo(t, time.Minute, []string{"PATH=" + t.TempDir()}, "version")
	if r.code != exitOK || !strings.Contains(r.stdout, "monero-wallet-rpc: not found on PATH; install with: make tools") {
		t.Errorf("version without monero: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestParseDemoFlags(t *testing.T) {
	t.Setenv("ESCROW_TRACE_DIR", "")
	var stderr bytes.Buffer
	o, err := parseDemoFlags(nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if o.escrows != 1 || o.rpc != layoutDedicated || o.safe || o.out != "./traces" || o.jobs < 1 || o.jobs > 4 {
		t.Errorf("defaults: %+v", o)
	}
	t.Setenv("ESCROW_TRACE_DIR", "/srv/escrow-traces")
	if o, _ := parseDemoFlags(nil, &stderr); o.out != "/srv/escrow-traces" {
		t.Errorf("--out default with ESCROW_TRACE_DIR set: %q", o.out)
	}
	o, err = parseDemoFlags([]string{"--escrows", "20", "--rpc", "shared", "--safe", "--out", "x", "--jobs", "3", "--timeline"}, &stderr)
	if err != nil || o.escrows != 20 || o.rpc != layoutShared || !o.safe || o.out != "x" || o.jobs != 3 || !o.timeline {
		t.Errorf("%+v, %v", o, err)
	}
	if _, err := parseDemoFlags([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	for _, bad := range [][]string{{"--escrows", "-1"}, {"--timeout", "0s"}, {"--out", ""}, {"--jobs", "17"}} {
		if _, err := parseDemoFlags(bad, &stderr); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestServiceName(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	if got := serviceName(t.Context()); got != "escrowtrace" {
		t.Errorf("default: %q", got)
	}
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs")
	if got := serviceName(t.Context()); got != "from-attrs" {
		t.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q", got)
	}
	t.Setenv("OTEL_SERVICE_NAME", "from-name")
	if got := serviceName(t.Context()); got != "from-name" {
		t.Errorf("OTEL_SERVICE_NAME: %q", got)
	}
}

func TestOTLPConfigured(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}, false},
		// Not a URL: Setup refuses it, so there is no OTLP to speak of.
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317"}, false},
	} {
		for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"} {
			t.Setenv(k, tc.env[k])
		}
		if got := otlpConfigured(); got != tc.want {
			t.Errorf("%v: %v", tc.env, got)
		}
	}
}

func TestCheckWritableDir(t *testing.T) {
	base := t.TempDir()
	got, err := checkWritableDir(filepath.Join(base, "a", "b"))
	if err != nil || got != filepath.Join(base, "a", "b") {
		t.Fatalf("%q, %v", got, err)
	}
	if entries, _ := os.ReadDir(got); len(entries) != 0 {
		t.Errorf("the check left %v", entries)
	}
	if err := os.WriteFile(filepath.Join(base, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := checkWritableDir(filepath.Join(base, "f", "x")); err == nil || !strings.Contains(err.Error(), "not a writable directory") {
		t.Errorf("under a regular file: %v", err)
	}
	if os.Getuid() != 0 { // root writes into read-only directories
		ro := filepath.Join(base, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if _, err := checkWritableDir(ro); err == nil {
			t.Error("read-only directory accepted")
		}
	}
}

func TestOneLineRedacts(t *testing.T) {
	info := "MultisigxV2R1" + strings.Repeat("A1b2C3d4", 10)
	got := oneLine("json-rpc error -1: bad info\n  " + info + " here")
	if got != "json-rpc error -1: bad info [redacted] here" {
		t.Errorf("%q", got)
	}
	// wallet-rpc's own wording survives.
	if got := oneLine("Multisig is an experimental feature"); got != "Multisig is an experimental feature" {
		t.Errorf("%q", got)
	}
}

// The timeline and stats of a failed, polluted escrow, from events built
// here: pairing of starts and ends, rounds, snapshot groups, pollution and
// the final error.
func TestTimelineAndStats(t *testing.T) {
	port := 18081
	ev := func(ms int64, typ, role string, d any) escrowjson.Event {
		return escrowjson.Event{TraceID: "e1-1000", Timestamp: 1000 + ms, EventType: typ, Role: role, RPCPort: &port, Details: d}
	}
	snap := func(ms int64, point, role string, multisig bool, hash string) escrowjson.Event {
		return ev(ms, point, role, &escrowjson.Snapshot{Role: role, IsMultisig: multisig, AddressHash: hash, CollectionTimeMs: 4})
	}
	code := -28
	events := []escrowjson.Event{
		snap(0, escrowconv.PointPreRound1, "vendor", false, "a"),
		snap(0, escrowconv.PointPreRound1, "buyer", false, "b"),
		ev(5, escrowjson.TypeRPCCallStart, "buyer", &escrowjson.RPCCallStart{Method: "open_wallet"}),
		ev(6, escrowjson.TypeCachePollution, "buyer", &escrowjson.CachePollution{Reason: escrowconv.ReasonWrongWalletOpen,
			ExpectedWallet: "buyer-1", ActualWallet: "buyer-2", Endpoint: "127.0.0.1:18081", OtherEscrowID: "e2"}),
		ev(7, escrowjson.TypeRPCCallEnd, "buyer", &escrowjson.RPCCallEnd{Method: "open_wallet", DurationMs: 2, Success: true}),
		ev(8, escrowjson.TypeRPCCallStart, "buyer", &escrowjson.RPCCallStart{Method: "prepare_multisig"}),
		ev(9, escrowjson.TypeRPCCallEnd, "buyer", &escrowjson.RPCCallEnd{Method: "prepare_multisig", DurationMs: 1, Success: true}),
		ev(10, escrowjson.TypeRPCCallStart, "buyer", &escrowjson.RPCCallStart{Method: "make_multisig"}),
		ev(1310, escrowjson.TypeRPCCallError, "buyer", &escrowjson.RPCCallEnd{Method: "make_multisig", DurationMs: 1300, Error: "This wallet is already multisig", Code: &code}),
		ev(1311, escrowjson.TypeErrorFinal, "buyer", &escrowjson.ErrorFinal{Error: "already multisig " + "MultisigxV2R1" + strings.Repeat("Zz9", 20),
			Context: escrowjson.ErrorContext{Round: 1, Operation: "make_multisig", WalletID: "buyer-1", EscrowID: "e1"}}),
	}
	var b bytes.Buffer
	writeTimeline(&b, "e1", events)
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"Escrow e1 (trace_id e1-1000)",
		"snapshot PRE_ROUND1",
		"multisig: buyer=no vendor=no", // buyer first, whatever the file order
		"⚠ cache pollution",
		"wrong_wallet_open on 127.0.0.1:18081: wanted buyer-1, buyer-2 was open (opened by escrow e2)",
		"✗ -28 This wallet is already multisig",
		"✗ setup failed",
		"make_multisig (buyer-1): already multisig [redacted]",
		"10 events: 3 RPC calls (1 failed), 2 wallet snapshots, 1 cache pollution events",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	lines := strings.Split(out, "\n")
	find := func(sub string) string {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		return ""
	}
	if got := find("make_multisig  "); got != "+0.010s 1 buyer make_multisig 1300 ms ✗ -28 This wallet is already multisig" {
		t.Errorf("make_multisig line: %q", got)
	}
	if got := find("open_wallet"); got != "+0.005s 1 buyer open_wallet 2 ms ✓" {
		t.Errorf("open_wallet line: %q", got)
	}
	s := statsOf(events)
	if s.calls != 3 || s.failedCalls != 1 || s.snapshots != 2 || s.pollution != 1 || s.rounds != 0 || s.errFinal == nil {
		t.Errorf("stats %+v", s)
	}
	// Rounds completed: every wallet's post-snapshot, and not past the
	// failed round.
	var ok []escrowjson.Event
	for _, p := range []string{escrowconv.PointPostMakeMultisig, escrowconv.PointPostExportMultisig} {
		for _, r := range roles {
			ok = append(ok, snap(2000, p, r, true, "c"))
		}
	}
	if s := statsOf(ok); s.rounds != 2 {
		t.Errorf("rounds completed = %d, want 2", s.rounds)
	}
	if s := statsOf(ok[:5]); s.rounds != 1 {
		t.Errorf("rounds completed with one post-snapshot missing = %d, want 1", s.rounds)
	}
	if s := statsOf(append(ok, events...)); s.rounds != 0 { // ERROR_FINAL in round 1
		t.Errorf("rounds completed when round 1 failed = %d, want 0", s.rounds)
	}
}
