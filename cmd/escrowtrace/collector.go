package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	collectorconfig "github.com/escrowtrace/escrowtrace/deploy/collector"
)

// The environment variables deploy/collector/config.yaml reads (its
// comments explain them), and the one that names the binary, as the
// Makefile and collectortest spell them.
const (
	envCollectorBin       = "ESCROWTRACE_COLLECTOR"
	envCollectorOTLPGRPC  = "ESCROWTRACE_COLLECTOR_OTLP_GRPC"
	envCollectorOTLPHTTP  = "ESCROWTRACE_COLLECTOR_OTLP_HTTP"
	envCollectorHealth    = "ESCROWTRACE_COLLECTOR_HEALTH"
	envCollectorMetrics   = "ESCROWTRACE_COLLECTOR_METRICS_PORT"
	envCollectorJaeger    = "ESCROWTRACE_COLLECTOR_JAEGER"
	envCollectorGroupWait = "ESCROWTRACE_COLLECTOR_GROUP_WAIT"
	envCollectorDir       = "ESCROWTRACE_COLLECTOR_DIR"
)

const (
	collectorName = "escrowtrace-collector"
	// localJaegerOTLP is where the shipped config exports by default: the
	// OTLP/gRPC receiver of `make jaeger-run` and `make jaeger-up`.
	localJaegerOTLP = "127.0.0.1:4317"
	// demoGroupWait is groupbytrace's wait in the demo's collector, instead
	// of the shipped 5 s: the files come that much sooner after the last
	// span (ESCROWTRACE_COLLECTOR_GROUP_WAIT, when set, wins).
	demoGroupWait = "2s"
	// collectorStartTimeout bounds the collector's start-up, which takes a
	// second or two.
	collectorStartTimeout = time.Minute
	// collectorStopTimeout bounds its graceful shutdown (SIGTERM), in
	// which it writes what it holds; past it, it is killed.
	collectorStopTimeout = 20 * time.Second
)

// findCollector returns the escrowtrace-collector binary to run:
// $ESCROWTRACE_COLLECTOR, else the one beside this program (make collector
// puts both in bin/).
func findCollector() (string, error) {
	bin := os.Getenv(envCollectorBin)
	where := "$" + envCollectorBin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		bin = filepath.Join(filepath.Dir(exe), collectorName)
		where = "beside " + exe
	}
	if info, err := os.Stat(bin); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("--processes needs an escrowtrace collector and there is no %s at %s (%s); nothing was started: "+
			"build it with `make collector` (a few minutes the first time), set %s, or point OTEL_EXPORTER_OTLP_ENDPOINT at a running one",
			collectorName, bin, where, envCollectorBin)
	}
	return bin, nil
}

// collectorJaeger says where the demo's collector sends the traces:
// $ESCROWTRACE_COLLECTOR_JAEGER, else the local Jaeger when its OTLP/gRPC
// port answers, else nowhere ("").
func collectorJaeger(ctx context.Context) (endpoint, why string) {
	if j := os.Getenv(envCollectorJaeger); j != "" {
		return j, "$" + envCollectorJaeger
	}
	d := net.Dialer{Timeout: time.Second}
	if c, err := d.DialContext(ctx, "tcp", localJaegerOTLP); err == nil {
		c.Close()
		return localJaegerOTLP, "the local Jaeger (make jaeger-run)"
	}
	return "", ""
}

// ownCollector is an escrowtrace-collector the demo runs for --processes,
// with the shipped config (deploy/collector/config.yaml) on free loopback
// ports, writing the legacy files into the demo's --out.
type ownCollector struct {
	OTLPHTTP string // host:port of the OTLP/HTTP receiver
	Jaeger   string // where it exports, "" for nowhere

	cmd     *exec.Cmd
	tmp     string // the config and the log
	log     *bytes.Buffer
	logMu   *sync.Mutex
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done closes
	stop    sync.Once
	stopErr error
}

// startCollector runs bin writing into dir and exporting to jaeger (none
// when ""), and returns when it is ready: its health check answers and
// its OTLP/HTTP receiver accepts connections.
func startCollector(ctx context.Context, bin, dir, jaeger string) (_ *ownCollector, err error) {
	tmp, err := os.MkdirTemp("", "escrowtrace-collector-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	config := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(config, collectorconfig.Config, 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	c := &ownCollector{OTLPHTTP: addr(ports[1]), Jaeger: jaeger, tmp: tmp,
		log: new(bytes.Buffer), logMu: new(sync.Mutex), done: make(chan struct{})}
	health := "http://" + addr(ports[2]) + "/"

	args := []string{"--config=file:" + config}
	if jaeger == "" {
		// No Jaeger: the pipeline without its exporter (a list given
		// later replaces the config's), instead of retrying into nothing.
		args = append(args, "--config=yaml:service::pipelines::traces::exporters: [escrowjson, debug]")
		jaeger = addr(ports[0]) // read by the config all the same; never dialled
	}
	groupWait := os.Getenv(envCollectorGroupWait)
	if groupWait == "" {
		groupWait = demoGroupWait
	}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = append(os.Environ(),
		envCollectorOTLPGRPC+"="+addr(ports[0]),
		envCollectorOTLPHTTP+"="+c.OTLPHTTP,
		envCollectorHealth+"="+addr(ports[2]),
		envCollectorMetrics+"="+strconv.Itoa(ports[3]),
		envCollectorJaeger+"="+jaeger,
		envCollectorGroupWait+"="+groupWait,
		envCollectorDir+"="+dir,
	)
	w := lockedWriter{c.log, c.logMu}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	// Its own process group, so that a Ctrl-C meant for the demo does not
	// stop it before the demo has it write what it holds; killed if the
	// demo dies.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { c.waitErr = c.cmd.Wait(); close(c.done) }()

	ctx, cancel := context.WithTimeout(ctx, collectorStartTimeout)
	defer cancel()
	for !c.ready(ctx, health) {
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited while starting (%v):\n%s", collectorName, c.waitErr, c.logTail(20))
		case <-ctx.Done():
			_ = c.Stop()
			return nil, fmt.Errorf("%s not ready after %v: %w\n%s", collectorName, collectorStartTimeout, context.Cause(ctx), c.logTail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return c, nil
}

func (c *ownCollector) ready(ctx context.Context, health string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
	if err != nil {
		return false
	}
	// No keep-alive: an idle connection would hold the collector's
	// shutdown of its health server.
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.OTLPHTTP)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// PID is the collector's process id.
func (c *ownCollector) PID() int { return c.cmd.Process.Pid }

// Stop shuts the collector down gracefully (SIGTERM: its receivers stop,
// groupbytrace releases what it holds and the escrowjson exporter writes
// every escrow it has, as _PARTIAL when the root never came), waits for
// it, and removes its temporary directory. It is an error when it had
// already exited, exited with an error or had to be killed; the error
// carries the end of its log. Later calls return the same result.
func (c *ownCollector) Stop() error {
	c.stop.Do(func() {
		defer os.RemoveAll(c.tmp)
		select {
		case <-c.done:
			c.stopErr = fmt.Errorf("%s (pid %d) had exited before the demo stopped it (%v):\n%s", collectorName, c.PID(), c.waitErr, c.logTail(20))
			return
		default:
		}
		_ = syscall.Kill(-c.PID(), syscall.SIGTERM)
		select {
		case <-c.done:
			if c.waitErr != nil {
				c.stopErr = fmt.Errorf("%s (pid %d): %v after SIGTERM:\n%s", collectorName, c.PID(), c.waitErr, c.logTail(20))
			}
		case <-time.After(collectorStopTimeout):
			_ = syscall.Kill(-c.PID(), syscall.SIGKILL)
			<-c.done
			c.stopErr = fmt.Errorf("%s (pid %d) did not stop within %v of SIGTERM; killed:\n%s", collectorName, c.PID(), collectorStopTimeout, c.logTail(20))
		}
	})
	return c.stopErr
}

// logTail is the last n lines the collector printed, indented.
func (c *ownCollector) logTail(n int) string {
	c.logMu.Lock()
	lines := strings.Split(strings.TrimRight(c.log.String(), "\n"), "\n")
	c.logMu.Unlock()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// lockedWriter serialises the collector's stdout and stderr into one log.
type lockedWriter struct {
	buf *bytes.Buffer
	mu  *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// freePorts returns n loopback ports free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
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

// reachable checks that something accepts TCP connections at an OTLP
// endpoint URL (as otelsetup.Plan gives it), so that a collector that is
// not there fails the demo before anything starts.
func reachable(ctx context.Context, endpoint string) error {
	host, port, err := hostPort(endpoint)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	return c.Close()
}

func hostPort(endpoint string) (host, port string, err error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", "", err
	}
	port = u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	return u.Hostname(), port, nil
}
