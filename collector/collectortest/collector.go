package collectortest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/internal/testenv"
)

// EnvBinary names the environment variable that points at the collector
// binary. The Makefile sets it; otherwise <repo>/bin/escrowtrace-collector
// is used.
const EnvBinary = "ESCROWTRACE_COLLECTOR"

// The environment variables deploy/collector/config.yaml reads.
const (
	EnvOTLPGRPC    = "ESCROWTRACE_COLLECTOR_OTLP_GRPC"    // OTLP/gRPC receiver, host:port
	EnvOTLPHTTP    = "ESCROWTRACE_COLLECTOR_OTLP_HTTP"    // OTLP/HTTP receiver, host:port
	EnvHealth      = "ESCROWTRACE_COLLECTOR_HEALTH"       // health check, host:port
	EnvMetricsPort = "ESCROWTRACE_COLLECTOR_METRICS_PORT" // own metrics on 127.0.0.1, a port
	EnvJaeger      = "ESCROWTRACE_COLLECTOR_JAEGER"       // where traces go: Jaeger's OTLP/gRPC, host:port
	EnvGroupWait   = "ESCROWTRACE_COLLECTOR_GROUP_WAIT"   // groupbytrace's wait_duration, e.g. 5s
	EnvVerbosity   = "ESCROWTRACE_COLLECTOR_DEBUG_VERBOSITY"
	EnvDir         = "ESCROWTRACE_COLLECTOR_DIR" // where the escrowjson exporter writes the legacy files
)

// Config says how the collector runs. The zero Config runs the shipped
// config on free ports, exporting to nothing.
type Config struct {
	// Jaeger is the OTLP/gRPC endpoint, host:port, the collector exports
	// traces to (for example a jaegertest Instance's OTLPGRPC). Empty: a
	// free loopback port where nothing listens; the export then fails and
	// is retried, which the collector logs.
	Jaeger string
	// GroupWait is how long groupbytrace holds a trace after its last span
	// came. Zero: the shipped config's (5s).
	GroupWait time.Duration
	// Dir is where the escrowjson exporter writes the legacy files. Empty:
	// a new temporary directory (the test's, with Start).
	Dir string
	// Env adds KEY=VALUE entries to the collector's environment, for
	// example ESCROWTRACE_COLLECTOR_DIR for the escrowjson exporter. They
	// come after the harness's own and so win over them; an entry that
	// moves a port the Instance reports makes that field wrong.
	Env []string
	// ConfigFile is the collector's config. Empty: the shipped
	// deploy/collector/config.yaml.
	ConfigFile string
}

// Instance is a running escrowtrace-collector.
type Instance struct {
	// OTLPGRPC is the OTLP/gRPC receiver, host:port.
	OTLPGRPC string
	// OTLPHTTP is the OTLP/HTTP receiver, host:port; the SDK's
	// OTEL_EXPORTER_OTLP_ENDPOINT for it is "http://" + OTLPHTTP.
	OTLPHTTP string
	// HealthURL answers 200 when the collector is ready.
	HealthURL string
	// MetricsURL serves the collector's own metrics, Prometheus text.
	MetricsURL string
	// Dir is where the escrowjson exporter writes escrow_<id>.json files.
	Dir string

	bin, config string
	env         []string
	log         *testenv.LogBuffer
	http        *http.Client

	mu  sync.Mutex
	run *run // the current or last process
}

// run is one process of an Instance: Restart makes a new one.
type run struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
	stop    sync.Once
	stopErr error
}

// Start runs the collector and waits until it is ready. It stops it when
// the test ends, and logs what the collector printed if the test failed.
func Start(t testing.TB, c Config) *Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	inst, err := StartInstance(ctx, c)
	if err != nil {
		t.Fatalf("collectortest: %v", err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(); err != nil {
			t.Errorf("collectortest: stop: %v", err)
		}
		if t.Failed() {
			t.Logf("collectortest: the collector's log (last %d bytes):\n%s", logTail, inst.tail())
		}
	})
	return inst
}

// StartInstance runs the collector on free loopback ports and waits until
// its health check answers and both OTLP receivers accept connections.
// The caller stops it with Stop.
func StartInstance(ctx context.Context, c Config) (*Instance, error) {
	bin, root, err := locate()
	if err != nil {
		return nil, err
	}
	cfg := c.ConfigFile
	if cfg == "" {
		cfg = filepath.Join(root, shippedConfig)
	}
	ports, err := testenv.FreePorts(5)
	if err != nil {
		return nil, err
	}
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	inst := &Instance{
		OTLPGRPC:   addr(ports[0]),
		OTLPHTTP:   addr(ports[1]),
		HealthURL:  "http://" + addr(ports[2]) + "/",
		MetricsURL: "http://" + addr(ports[3]) + "/metrics",
		bin:        bin,
		config:     cfg,
		log:        new(testenv.LogBuffer),
		http:       &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "escrowtrace-collector-"); err != nil {
			return nil, err
		}
	}
	inst.Dir = c.Dir
	jaeger := c.Jaeger
	if jaeger == "" {
		jaeger = addr(ports[4])
	}
	inst.env = append(os.Environ(),
		EnvOTLPGRPC+"="+inst.OTLPGRPC,
		EnvOTLPHTTP+"="+inst.OTLPHTTP,
		EnvHealth+"="+addr(ports[2]),
		EnvMetricsPort+"="+strconv.Itoa(ports[3]),
		EnvJaeger+"="+jaeger,
		EnvDir+"="+c.Dir,
	)
	if c.GroupWait > 0 {
		inst.env = append(inst.env, EnvGroupWait+"="+c.GroupWait.String())
	}
	inst.env = append(inst.env, c.Env...)
	if err := inst.start(ctx); err != nil {
		return nil, err
	}
	return inst, nil
}

// start runs a new process and waits until it is ready.
func (c *Instance) start(ctx context.Context) error {
	cmd := exec.Command(c.bin, "--config=file:"+c.config)
	cmd.Env = c.env
	cmd.Stdout = c.log
	cmd.Stderr = c.log
	// Own process group, and killed with the test binary if that dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.bin, err)
	}
	r := &run{cmd: cmd, done: make(chan struct{})}
	go func() { r.waitErr = cmd.Wait(); close(r.done) }()
	c.mu.Lock()
	c.run = r
	c.mu.Unlock()

	for !c.ready(ctx) {
		select {
		case <-r.done:
			return fmt.Errorf("escrowtrace-collector exited during start-up (%v):\n%s", r.waitErr, c.Log())
		case <-ctx.Done():
			_ = c.Stop()
			return fmt.Errorf("escrowtrace-collector not ready: %w\n%s", ctx.Err(), c.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// ready says whether the health check answers 200 and both OTLP
// receivers accept connections.
func (c *Instance) ready(ctx context.Context) bool {
	if _, err := c.get(ctx, c.HealthURL); err != nil {
		return false
	}
	for _, a := range []string{c.OTLPGRPC, c.OTLPHTTP} {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", a)
		if err != nil {
			return false
		}
		conn.Close()
	}
	return true
}

// Stop terminates the collector (SIGTERM, which makes it shut down
// gracefully: receivers first, then what the processors and exporters
// hold; SIGKILL after stopTimeout) and waits for it. It is an error when
// the collector had exited before Stop, exited with a non-zero status or
// had to be killed. Later calls return the same result.
func (c *Instance) Stop() error {
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	r.stop.Do(func() { r.stopErr = c.terminate(r) })
	return r.stopErr
}

func (c *Instance) terminate(r *run) error {
	select {
	case <-r.done:
		return fmt.Errorf("escrowtrace-collector had exited before Stop: %v", r.waitErr)
	default:
	}
	// Idle keep-alive connections would hold the HTTP servers' shutdown.
	c.http.CloseIdleConnections()
	pgid := -r.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-r.done:
		// The collector handles SIGTERM only from an instant after it
		// reports ready; one that gets it sooner dies of it, before any
		// data could reach it, and that is a stop too.
		var exit *exec.ExitError
		if errors.As(r.waitErr, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM {
			return nil
		}
		if r.waitErr != nil {
			return fmt.Errorf("escrowtrace-collector: %v after SIGTERM", r.waitErr)
		}
		return nil
	case <-time.After(stopTimeout):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-r.done
		return fmt.Errorf("escrowtrace-collector did not stop within %v of SIGTERM; killed", stopTimeout)
	}
}

// stopTimeout bounds a graceful shutdown.
const stopTimeout = 15 * time.Second

// Restart stops the collector, if it runs, and starts it again with the
// same config, ports and environment, as an operator restarting it would.
// It returns when the new process is ready. An error stopping the old
// process is returned after the new one started.
func (c *Instance) Restart(ctx context.Context) error {
	stopErr := c.Stop()
	c.log.WriteString("--- collectortest: restart ---\n")
	if err := c.start(ctx); err != nil {
		return errors.Join(stopErr, err)
	}
	return stopErr
}

// PID is the current process id.
func (c *Instance) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run.cmd.Process.Pid
}

// Log returns what the collector printed so far, across restarts.
func (c *Instance) Log() string { return c.log.String() }

// logTail is how much of the log Start's clean-up shows on failure.
const logTail = 16 << 10

func (c *Instance) tail() string {
	s := c.Log()
	if len(s) > logTail {
		s = s[len(s)-logTail:]
	}
	return s
}

func (c *Instance) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, body)
	}
	return body, nil
}

// shippedConfig is the config users run, relative to the repository root.
var shippedConfig = filepath.Join("deploy", "collector", "config.yaml")

// locate finds the binary and the repository root.
func locate() (bin, root string, err error) {
	return testenv.Binary(shippedConfig, EnvBinary, "escrowtrace-collector", "build it with `make collector` (from the Go module proxy, a few minutes the first time)")
}
