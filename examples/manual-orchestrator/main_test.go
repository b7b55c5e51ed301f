package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// The tests are not parallel: run installs the global TracerProvider, as an
// application's main does.

func mustBinaries(t *testing.T) {
	t.Helper()
	if err := wallettest.CheckBinaries(); err != nil {
		t.Fatal(err)
	}
}

func clearOTLP(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"} {
		t.Setenv(k, "")
	}
}

func load(t *testing.T, path string) []escrowjson.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := escrowjson.Validate(data); err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`Multisig[1-9A-HJ-NP-Za-km-z]{40,}`).FindString(string(data)); m != "" {
		t.Errorf("the file holds key material %.20q...", m)
	}
	events, err := escrowjson.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// Without flags the example starts three wallet-rpcs, and the hand-made
// trace of its own orchestration is the same 45-event file SetupMultisig
// would write.
func TestRunOwnWalletRPCs(t *testing.T) {
	mustBinaries(t)
	clearOTLP(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	err := run(ctx, []string{"--out", out, "--escrow-id", "manual-ok-1"}, &stdout)
	t.Log("\n" + stdout.String())
	if err != nil {
		t.Fatal(err)
	}
	urls := regexp.MustCompile(`(?m)^wallet-rpcs: (.*)$`).FindStringSubmatch(stdout.String())
	if urls == nil {
		t.Fatal("no wallet-rpc URLs printed")
	}
	wallettest.CheckStopped(t, strings.Fields(urls[1])...)
	m := regexp.MustCompile(`escrow manual-ok-1: multisig address (\S+)\n`).FindStringSubmatch(stdout.String())
	if m == nil || len(m[1]) != 95 {
		t.Fatalf("no multisig address printed: %q", m)
	}
	path := filepath.Join(out, "escrow_manual-ok-1.json")
	if !strings.Contains(stdout.String(), path+": 45 events: 21 snapshots, 12 RPC calls (0 failed), 0 ERROR_FINAL") {
		t.Error("stdout does not describe the file")
	}
	events := load(t, path)
	if len(events) != 45 {
		t.Fatalf("%d events, want 45", len(events))
	}
	n := map[string]int{}
	for _, ev := range events {
		n[ev.EventType]++
		if ev.EventType == escrowconv.PointFinal {
			s := ev.Details.(*escrowjson.Snapshot)
			if !s.IsMultisig || s.Address != m[1] || !s.FileExists || s.FilePerms == nil || *s.FilePerms != "rw-" {
				t.Errorf("SNAPSHOT_FINAL %s: %+v", ev.Role, s)
			}
		}
	}
	for _, p := range escrowconv.Points {
		if n[p] != 3 {
			t.Errorf("%d %s, want 3", n[p], p)
		}
	}
	if n[escrowjson.TypeRPCCallStart] != 12 || n[escrowjson.TypeRPCCallEnd] != 12 {
		t.Errorf("events %v", n)
	}
}

// With --buyer/--vendor/--arbiter the example uses those wallet-rpcs (here
// started by the test); --break-round 2 makes the buyer's exchange fail, and
// the file says where: escrow_<id>_FAILED.json with ERROR_FINAL.
func TestRunGivenWalletRPCsFailure(t *testing.T) {
	mustBinaries(t)
	clearOTLP(t)
	procs := wallettest.StartDedicated(t, wallettest.Config{}, "b", "v", "a")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	err := run(ctx, []string{"--out", out, "--escrow-id", "manual-fail-1", "--break-round", "2",
		"--buyer", procs[0].URL, "--vendor", procs[1].URL, "--arbiter", procs[2].URL}, &stdout)
	t.Log("\n" + stdout.String())
	if err == nil || !strings.Contains(err.Error(), "round 2: exchange_multisig_keys for the buyer: walletrpc: json-rpc error -1") {
		t.Fatalf("err = %v, want the buyer's round-2 failure", err)
	}
	if strings.Contains(stdout.String(), "starting three") {
		t.Error("the example started its own wallet-rpcs although URLs were given")
	}
	events := load(t, filepath.Join(out, "escrow_manual-fail-1_FAILED.json"))
	n := map[string]int{}
	var final *escrowjson.ErrorFinal
	var failedCall *escrowjson.RPCCallEnd
	for _, ev := range events {
		n[ev.EventType]++
		switch d := ev.Details.(type) {
		case *escrowjson.ErrorFinal:
			final = d
		case *escrowjson.RPCCallEnd:
			if !d.Success {
				failedCall = d
				if ev.Role != "buyer" {
					t.Errorf("failed call by %s", ev.Role)
				}
			}
		}
	}
	if final == nil || final.Context.Round != 2 || final.Context.Operation != "exchange_multisig_keys" ||
		final.Context.WalletID != "buyer-wallet" || final.Context.EscrowID != "manual-fail-1" {
		t.Errorf("ERROR_FINAL %+v", final)
	}
	if failedCall == nil || failedCall.Method != "exchange_multisig_keys" || failedCall.Code == nil || *failedCall.Code != -1 {
		t.Errorf("RPC_CALL_ERROR %+v", failedCall)
	}
	// Round 1 and the start of round 2 happened; nothing after the failure.
	for p, want := range map[string]int{
		escrowconv.PointPreRound1: 3, escrowconv.PointPostMakeMultisig: 3, escrowconv.PointPreRound2: 3,
		escrowconv.PointPostExportMultisig: 0, escrowconv.PointFinal: 0,
	} {
		if n[p] != want {
			t.Errorf("%d %s, want %d", n[p], p, want)
		}
	}
	if n[escrowjson.TypeRPCCallStart] != 7 || n[escrowjson.TypeRPCCallError] != 1 || n[escrowjson.TypeErrorFinal] != 1 {
		t.Errorf("events %v", n)
	}
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"--nope"},
		{"extra"},
		{"--buyer", "http://127.0.0.1:1"},
		{"--break-round", "1"},
		{"--escrow-id", "../etc"},
	} {
		if err := run(t.Context(), append(args, "--out", t.TempDir()), &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
