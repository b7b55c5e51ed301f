// Package testenv holds what the harnesses that run real binaries in tests
// (internal/jaegertest, collector/collectortest) share: free loopback
// ports, the repository root, and a log buffer the test may read while the
// process writes it.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago. All are held open until all are picked, so that none repeats.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// RepoRoot returns the nearest directory at or above the working directory
// that holds marker, a path relative to the repository root (a file the
// repository ships, such as deploy/jaeger/config-local.yaml).
func RepoRoot(marker string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (" + filepath.ToSlash(marker) + ") above the working directory")
		}
		dir = parent
	}
}

// LogBuffer collects a process's output; unlike a bytes.Buffer, the test
// may read it while the process writes.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// WriteString appends s.
func (b *LogBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Binary finds a built binary and the repository root (found by marker,
// as RepoRoot): the path in the environment variable env, else bin/name
// under the root. When the file is missing the error says how to build it
// (hint, e.g. "build it with `make jaeger`") or which variable to set.
func Binary(marker, env, name, hint string) (bin, root string, err error) {
	root, err = RepoRoot(marker)
	if err != nil {
		return "", "", err
	}
	bin = os.Getenv(env)
	if bin == "" {
		bin = filepath.Join(root, "bin", name)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", "", fmt.Errorf("no %s binary at %s: %s, or set %s", name, bin, hint, env)
	}
	return bin, root, nil
}
