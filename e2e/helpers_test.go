package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

var roles = []string{"buyer", "vendor", "arbiter"}

// keyMaterial matches a multisig_info string: "Multisig" and a long base58
// blob. (Wallet-rpc's error texts say "Multisig is an experimental
// feature", which is fine to record.)
var keyMaterial = regexp.MustCompile(`Multisig[1-9A-HJ-NP-Za-km-z]{40,}`)

// dedicatedWallets starts one real wallet-rpc per role with a fresh wallet,
// made over RPC, open on it, and returns instrumented wallets.
func dedicatedWallets(t *testing.T, escrowID string) []otelmsig.Wallet {
	t.Helper()
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = escrowID + "-" + r
	}
	procs := wallettest.StartDedicated(t, wallettest.Config{}, names...)
	wallets := make([]otelmsig.Wallet, len(roles))
	for i, p := range procs {
		c, err := p.Client(otelmsig.WithTracing())
		if err != nil {
			t.Fatal(err)
		}
		wallets[i] = otelmsig.Wallet{
			Role: roles[i], ID: names[i], Filename: names[i],
			Path: filepath.Join(p.WalletDir, names[i]), Client: c,
		}
	}
	return wallets
}

// instrument turns instrumentation on through the environment, as an
// application would, and returns the shutdown func.
func instrument(t *testing.T, env map[string]string) func(context.Context) error {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	shutdown, err := otelsetup.Setup(context.Background())
	if err != nil {
		t.Fatalf("otelsetup.Setup: %v", err)
	}
	return shutdown
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// loadEscrowFile checks the one escrow file in dir against the legacy
// contract and returns its events.
func loadEscrowFile(t *testing.T, dir, name string) []escrowjson.Event {
	t.Helper()
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		entries, _ := os.ReadDir(dir)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		t.Fatalf("legacy file: %v (dir has %v)", err, got)
	}
	if err := escrowjson.Validate(data); err != nil {
		t.Fatalf("%s breaks the legacy contract: %v", name, err)
	}
	if keyMaterial.Match(data) {
		t.Fatalf("%s contains multisig key material", name)
	}
	events, err := escrowjson.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
