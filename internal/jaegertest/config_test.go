package jaegertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/escrowtrace/escrowtrace/internal/testenv"
)

// The memory config the harness derives is the shipped one with every trace
// backend in memory and nothing else changed.
func TestMemoryConfig(t *testing.T) {
	root, err := testenv.RepoRoot(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	shipped := filepath.Join(root, shippedConfig)
	raw, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "badger:") {
		t.Fatalf("%s has no Badger backend: then traces would not survive a restart", shipped)
	}
	path, err := memoryConfig(shipped)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	var want, got map[string]any
	load := func(p string, into *map[string]any) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	load(shipped, &want)
	load(path, &got)
	backends, _ := dig(got, "extensions", "jaeger_storage", "backends")
	if len(backends) == 0 {
		t.Fatal("no backends in the memory config")
	}
	for name, b := range backends {
		m, _ := b.(map[string]any)
		if _, ok := m["memory"]; !ok || len(m) != 1 {
			t.Errorf("backend %s = %v, want memory only", name, b)
		}
	}
	// Everything but the backends is as shipped.
	wb, _ := dig(want, "extensions", "jaeger_storage")
	gb, _ := dig(got, "extensions", "jaeger_storage")
	delete(wb, "backends")
	delete(gb, "backends")
	w, _ := yaml.Marshal(want)
	g, _ := yaml.Marshal(got)
	if string(w) != string(g) {
		t.Errorf("memory config differs beyond the backends:\n%s\nvs shipped\n%s", g, w)
	}

	if _, err := memoryConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing config: no error")
	}
	bad := filepath.Join(t.TempDir(), "nobackends.yaml")
	if err := os.WriteFile(bad, []byte("extensions: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := memoryConfig(bad); err == nil || !strings.Contains(err.Error(), "backends") {
		t.Errorf("config without backends: err = %v", err)
	}
}
