package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFreePortsDistinct(t *testing.T) {
	ports, err := FreePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v", ports)
		}
		seen[p] = true
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot(filepath.Join("internal", "testenv", "testenv.go"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("root %s has no go.mod", root)
	}
	if _, err := RepoRoot("no/such/marker"); err == nil || !strings.Contains(err.Error(), "no/such/marker") {
		t.Errorf("missing marker: %v", err)
	}
}

// Reading while writing is race-free (go test -race).
func TestLogBufferConcurrent(t *testing.T) {
	var b LogBuffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				b.WriteString("x")
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 400 {
		t.Errorf("%d bytes, want 400", n)
	}
}
