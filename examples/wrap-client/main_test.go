package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

func mustBinaries(t *testing.T) {
	t.Helper()
	if err := wallettest.CheckBinaries(); err != nil {
		t.Fatal(err)
	}
}

// Without --rpc the example starts its own wallet-rpc, and every call it
// makes shows up as a CLIENT span with the RPC attributes, the wallet it
// was for and, for the failing open_wallet, the error.
func TestRunOwnWalletRPC(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, nil, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	s := out.String()
	port := regexp.MustCompile(`started monero-wallet-rpc on http://127\.0\.0\.1:(\d+)`).FindStringSubmatch(s)
	if port == nil {
		t.Fatal("no wallet-rpc URL printed")
	}
	wallettest.CheckStopped(t, "http://127.0.0.1:"+port[1])
	if !strings.Contains(s, "6 spans:") {
		t.Error("want 6 spans")
	}
	for _, m := range []string{"get_version", "create_wallet", "get_address", "is_multisig", "get_balance"} {
		block := regexp.MustCompile(`(?m)^` + m + `  client  \S+  Unset\n    (.*)$`).FindStringSubmatch(s)
		if block == nil {
			t.Errorf("no successful client span %s", m)
			continue
		}
		for _, a := range []string{"rpc.method=" + m, "rpc.system.name=jsonrpc", "server.address=127.0.0.1",
			"server.port=" + port[1], "wallet.role=buyer", "wallet.id=wallet-42"} {
			if !strings.Contains(block[1], a) {
				t.Errorf("span %s lacks %s: %s", m, a, block[1])
			}
		}
	}
	if !regexp.MustCompile(`(?m)^open_wallet  client  \S+  Error walletrpc: json-rpc error -1: Failed to open wallet\n    error\.type=-1 .*rpc\.response\.status_code=-1`).MatchString(s) {
		t.Error("the failing open_wallet span does not carry the error")
	}
	if strings.Contains(s, "password") {
		t.Error("output mentions a password")
	}
}

// With --rpc the example uses your wallet-rpc and only reads; with no
// wallet open there, the calls fail with -13 and the spans say so.
func TestRunWithRPCFlag(t *testing.T) {
	t.Parallel()
	mustBinaries(t)
	p := wallettest.Start(t, 1, wallettest.Config{})[0]
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"--rpc", p.URL}, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	s := out.String()
	if strings.Contains(s, "started monero-wallet-rpc") || strings.Contains(s, "create_wallet") || strings.Contains(s, "open_wallet") {
		t.Error("with --rpc the example started a process or changed wallets")
	}
	if !strings.Contains(s, "4 spans:") || !regexp.MustCompile(`(?m)^get_version  client  \S+  Unset$`).MatchString(s) {
		t.Error("want 4 spans, get_version ok")
	}
	for _, m := range []string{"get_address", "is_multisig", "get_balance"} {
		if !regexp.MustCompile(`(?m)^` + m + `  client  \S+  Error walletrpc: json-rpc error -13: No wallet file\n    error\.type=-13 `).MatchString(s) {
			t.Errorf("span %s does not show the -13", m)
		}
	}
}

func TestRunBadArgs(t *testing.T) {
	if err := run(t.Context(), []string{"--nope"}, &bytes.Buffer{}); err == nil {
		t.Error("unknown flag accepted")
	}
	if err := run(t.Context(), []string{"extra"}, &bytes.Buffer{}); err == nil {
		t.Error("stray argument accepted")
	}
	err := run(t.Context(), []string{"--rpc", "http://127.0.0.1:1"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("dead wallet-rpc: %v", err)
	}
}
