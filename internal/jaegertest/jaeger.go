package jaegertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/escrowtrace/escrowtrace/internal/jaegerv1"

	"github.com/escrowtrace/escrowtrace/internal/testenv"
)

// EnvBinary names the environment variable that points at the Jaeger binary.
// The Makefile sets it; otherwise <repo>/bin/jaeger is used.
const EnvBinary = "ESCROWTRACE_JAEGER"

// Instance is a running local Jaeger.
type Instance struct {
	// OTLPGRPC is the OTLP/gRPC receiver, host:port.
	OTLPGRPC string
	// OTLPHTTP is the OTLP/HTTP receiver, host:port.
	OTLPHTTP string
	// QueryURL is the base URL of the query API, e.g. http://127.0.0.1:PORT.
	QueryURL string

	cmd      *exec.Cmd
	log      *testenv.LogBuffer
	http     *http.Client
	stopOnce sync.Once
	stopErr  error
	done     chan struct{}
	tmpCfg   string // the derived memory config, removed by Stop
}

// Config says how Jaeger runs. The zero Config keeps traces in memory.
type Config struct {
	// DataDir, when set, runs deploy/jaeger/config-local.yaml as shipped:
	// traces in Jaeger's embedded Badger store in this directory
	// (JAEGER_DATA_DIR), where a later Instance with the same DataDir finds
	// them. Only one Jaeger at a time can hold a directory (Badger locks it).
	// Empty: the same config with the Badger backend swapped for memory,
	// which is faster and leaves nothing behind.
	DataDir string
}

// Start runs Jaeger with traces in memory and waits until it is healthy. It
// stops it when the test ends.
func Start(t testing.TB) *Instance {
	t.Helper()
	return StartConfig(t, Config{})
}

// StartConfig is Start with a Config.
func StartConfig(t testing.TB, c Config) *Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := StartInstanceConfig(ctx, c)
	if err != nil {
		t.Fatalf("jaegertest: %v", err)
	}
	t.Cleanup(func() {
		if err := j.Stop(); err != nil {
			t.Errorf("jaegertest: stop: %v", err)
		}
	})
	return j
}

// StartInstance runs Jaeger on free loopback ports with traces in memory and
// waits until its health check and query API answer.
func StartInstance(ctx context.Context) (*Instance, error) {
	return StartInstanceConfig(ctx, Config{})
}

// StartInstanceConfig is StartInstance with a Config.
func StartInstanceConfig(ctx context.Context, c Config) (_ *Instance, err error) {
	bin, root, err := locate()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(root, shippedConfig)
	var tmpCfg string
	if c.DataDir == "" {
		if tmpCfg, err = memoryConfig(cfg); err != nil {
			return nil, err
		}
		cfg = tmpCfg
		defer func() {
			if err != nil {
				os.Remove(tmpCfg)
			}
		}()
	}
	ports, err := testenv.FreePorts(5)
	if err != nil {
		return nil, err
	}
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	j := &Instance{
		OTLPGRPC: addr(ports[0]),
		OTLPHTTP: addr(ports[1]),
		QueryURL: "http://" + addr(ports[2]),
		log:      new(testenv.LogBuffer),
		done:     make(chan struct{}),
		http:     &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		tmpCfg:   tmpCfg,
	}
	health := "http://" + addr(ports[4]) + "/status"

	cmd := exec.Command(bin, "--config=file:"+cfg)
	cmd.Env = append(os.Environ(),
		"JAEGER_OTLP_GRPC="+j.OTLPGRPC,
		"JAEGER_OTLP_HTTP="+j.OTLPHTTP,
		"JAEGER_QUERY_HTTP="+addr(ports[2]),
		"JAEGER_QUERY_GRPC="+addr(ports[3]),
		"JAEGER_HEALTH="+addr(ports[4]),
		"JAEGER_DATA_DIR="+c.DataDir,
		"JAEGER_UI_CONFIG="+filepath.Join(root, "deploy", "jaeger", "ui-config.json"),
	)
	cmd.Stdout = j.log
	cmd.Stderr = j.log
	// Own process group, and killed with the test binary if that dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	j.cmd = cmd
	go func() { _ = cmd.Wait(); close(j.done) }()

	for {
		if ok := j.get(ctx, health) && j.get(ctx, j.QueryURL+"/api/services"); ok {
			return j, nil
		}
		select {
		case <-j.done:
			return nil, fmt.Errorf("jaeger exited during start-up:\n%s", j.log.String())
		case <-ctx.Done():
			_ = j.Stop()
			return nil, fmt.Errorf("jaeger not healthy: %w\n%s", ctx.Err(), j.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop terminates Jaeger (SIGTERM, SIGKILL after 5 s) and waits for it.
func (j *Instance) Stop() error {
	j.stopOnce.Do(func() {
		// Jaeger's graceful shutdown waits for open client connections.
		j.http.CloseIdleConnections()
		pgid := -j.cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-j.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-j.done
			j.stopErr = errors.New("jaeger did not stop on SIGTERM; killed")
		}
		if j.tmpCfg != "" {
			os.Remove(j.tmpCfg)
		}
	})
	return j.stopErr
}

// PID is the Jaeger process id.
func (j *Instance) PID() int { return j.cmd.Process.Pid }

// Log returns what Jaeger printed so far.
func (j *Instance) Log() string { return j.log.String() }

func (j *Instance) get(ctx context.Context, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := j.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// shippedConfig is the config users run, relative to the repository root.
var shippedConfig = filepath.Join("deploy", "jaeger", "config-local.yaml")

// locate finds the binary and the repository root.
func locate() (bin, root string, err error) {
	return testenv.Binary(shippedConfig, EnvBinary, "jaeger", "build it with `make jaeger` (Jaeger v2 from the Go module proxy, ~3 minutes once)")
}

// memoryConfig writes a copy of the shipped config whose trace backends
// keep traces in memory instead of Badger, and returns its path. Everything
// else (receivers, ports, query, UI config) stays as users run it.
func memoryConfig(shipped string) (string, error) {
	data, err := os.ReadFile(shipped)
	if err != nil {
		return "", err
	}
	var conf map[string]any
	if err := yaml.Unmarshal(data, &conf); err != nil {
		return "", fmt.Errorf("%s: %w", shipped, err)
	}
	backends, ok := dig(conf, "extensions", "jaeger_storage", "backends")
	if !ok || len(backends) == 0 {
		return "", fmt.Errorf("%s: no extensions.jaeger_storage.backends", shipped)
	}
	for name := range backends {
		backends[name] = map[string]any{"memory": map[string]any{"max_traces": 100000}}
	}
	out, err := yaml.Marshal(conf)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "jaegertest-*.yaml")
	if err != nil {
		return "", err
	}
	_, err = f.Write(out)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// dig follows keys through nested maps.
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

// --- query API (v1) ---

// The v1 API's JSON types are jaegerv1's, so that the tests read Jaeger
// with the same types the report does.
type (
	// Trace is a trace as Jaeger's v1 API returns it.
	Trace = jaegerv1.Trace
	// Span is a span in Jaeger's v1 API.
	Span = jaegerv1.Span
	// Reference links a span to its parent.
	Reference = jaegerv1.Reference
	// KeyValue is a tag or log field.
	KeyValue = jaegerv1.KeyValue
	// Log is a span event.
	Log = jaegerv1.Log
	// Process is the resource of the spans whose ProcessID names it.
	Process = jaegerv1.Process
)

type envelope[T any] struct {
	Data   T   `json:"data"`
	Errors any `json:"errors"`
}

func (j *Instance) query(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := j.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}

// Services lists the service names Jaeger has seen.
func (j *Instance) Services(ctx context.Context) ([]string, error) {
	var env envelope[[]string]
	err := j.query(ctx, "/api/services", &env)
	return env.Data, err
}

// FindTraces searches the traces of service whose spans carry all tags.
func (j *Instance) FindTraces(ctx context.Context, service string, tags map[string]string) ([]Trace, error) {
	q := url.Values{"service": {service}, "limit": {"100"}}
	if len(tags) > 0 {
		b, err := json.Marshal(tags)
		if err != nil {
			return nil, err
		}
		q.Set("tags", string(b))
	}
	var env envelope[[]Trace]
	err := j.query(ctx, "/api/traces?"+q.Encode(), &env)
	return env.Data, err
}

// Trace fetches one trace by its hex id.
func (j *Instance) Trace(ctx context.Context, traceID string) (Trace, error) {
	var env envelope[[]Trace]
	if err := j.query(ctx, "/api/traces/"+url.PathEscape(traceID), &env); err != nil {
		return Trace{}, err
	}
	if len(env.Data) != 1 {
		return Trace{}, fmt.Errorf("trace %s: %d results", traceID, len(env.Data))
	}
	return env.Data[0], nil
}
