package otelmsig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

// Environment variables Setup reads, besides the standard OTEL_* ones.
const (
	// EnvEnable is the master switch: unset, "", "0" or "false" is off;
	// "1", "true" or "yes" (any case) is on; anything else is an error.
	EnvEnable = "ENABLE_INSTRUMENTATION"
	// EnvTraceDir is the directory of the legacy JSON files (default ".").
	EnvTraceDir = "ESCROW_TRACE_DIR"
)

// Defaults of Setup.
const (
	DefaultServiceName = "escrowtrace"
	// DefaultOTLPTimeout bounds one OTLP export, retries included, when
	// neither WithOTLPTimeout nor OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT says
	// otherwise, so that a collector that is down cannot hold spans (or
	// shutdown) for long.
	DefaultOTLPTimeout = 5 * time.Second
)

// ParseEnabled parses the value of ENABLE_INSTRUMENTATION.
func ParseEnabled(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, fmt.Errorf("otelmsig: %s=%q: want 1, true or yes to enable, or 0, false or empty to disable", EnvEnable, v)
}

type setupConfig struct {
	enabled     *bool
	traceDir    string
	otlp        *bool
	otlpURL     string
	otlpTimeout time.Duration
	console     *bool
	consoleOut  io.Writer
	extra       []sdktrace.SpanExporter
	serviceName string
	getenv      func(string) string
}

// SetupOption configures Setup. Options override the environment.
type SetupOption interface {
	applySetup(*setupConfig)
}

type setupOptionFunc func(*setupConfig)

func (f setupOptionFunc) applySetup(c *setupConfig) { f(c) }

// WithEnabled turns the instrumentation on or off, whatever
// ENABLE_INSTRUMENTATION says.
func WithEnabled(on bool) SetupOption {
	return setupOptionFunc(func(c *setupConfig) { c.enabled = &on })
}

// WithTraceDir sets the directory of the legacy JSON files, instead of
// ESCROW_TRACE_DIR. It is created (mode 0700) when missing.
func WithTraceDir(dir string) SetupOption {
	return setupOptionFunc(func(c *setupConfig) { c.traceDir = dir })
}

// WithOTLPEndpoint exports over OTLP/gRPC to endpoint, "host:port" (TLS
// unless OTEL_EXPORTER_OTLP_INSECURE says otherwise) or a URL
// ("http://host:port" is insecure), even when no OTEL_EXPORTER_OTLP_*
// endpoint is set.
func WithOTLPEndpoint(endpoint string) SetupOption {
	return setupOptionFunc(func(c *setupConfig) {
		on := true
		c.otlp, c.otlpURL = &on, endpoint
	})
}

// WithoutOTLP turns OTLP export off even when the environment asks for it.
func WithoutOTLP() SetupOption {
	return setupOptionFunc(func(c *setupConfig) {
		off := false
		c.otlp, c.otlpURL = &off, ""
	})
}

// WithOTLPTimeout bounds one OTLP export, retries included (default
// DefaultOTLPTimeout, or OTEL_EXPORTER_OTLP_TIMEOUT when set).
func WithOTLPTimeout(d time.Duration) SetupOption {
	return setupOptionFunc(func(c *setupConfig) { c.otlpTimeout = d })
}

// WithConsole adds (or, false, removes) the stdouttrace exporter, writing
// to w (nil: os.Stdout), whatever OTEL_TRACES_EXPORTER says.
func WithConsole(on bool, w io.Writer) SetupOption {
	return setupOptionFunc(func(c *setupConfig) { c.console, c.consoleOut = &on, w })
}

// WithSpanExporter adds an exporter, behind its own batch processor.
// Setup's shutdown shuts it down.
func WithSpanExporter(exp sdktrace.SpanExporter) SetupOption {
	return setupOptionFunc(func(c *setupConfig) {
		if exp != nil {
			c.extra = append(c.extra, exp)
		}
	})
}

// WithServiceName sets service.name, over OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES.
func WithServiceName(name string) SetupOption {
	return setupOptionFunc(func(c *setupConfig) { c.serviceName = name })
}

// Setup builds the application's TracerProvider from the environment and
// installs it as the global one. Call the returned shutdown before exiting:
// it flushes and stops every exporter, honours its context, and returns the
// exporters' errors joined, including, per exporter, how many spans it
// failed to export (a collector that was down) and the last error.
//
// ENABLE_INSTRUMENTATION (see ParseEnabled, WithEnabled) is the master
// switch. Off, Setup installs a no-op provider: no spans, no files, no
// export, and no snapshot calls. On, spans go to
//   - the legacy JSON exporter (exporter/jsonfile), always, writing to
//     ESCROW_TRACE_DIR (default ".");
//   - OTLP/gRPC when OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, or OTEL_TRACES_EXPORTER
//     names otlp, or WithOTLPEndpoint is given; the exporter reads the
//     other standard variables itself (insecure, headers, timeout, ...);
//   - stdout when OTEL_TRACES_EXPORTER names console;
//   - exporters given with WithSpanExporter.
//
// Each exporter has its own batch processor, so a slow or dead collector
// does not hold up the JSON files; the JSON processor is shut down first.
// The resource has service.name "escrowtrace" unless OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES or WithServiceName say otherwise.
//
// Malformed settings are an error, and then nothing is installed.
func Setup(ctx context.Context, opts ...SetupOption) (shutdown func(context.Context) error, err error) {
	cfg := setupConfig{getenv: os.Getenv}
	for _, o := range opts {
		if o != nil {
			o.applySetup(&cfg)
		}
	}
	tp, err := newProvider(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	if tp == nil {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(context.Context) error { return nil }, nil
	}
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// SetupPlan says what Setup builds for a set of options and the current
// environment, without building anything. Applications use it to tell their
// users where traces go (the demo prints it).
type SetupPlan struct {
	Enabled  bool
	TraceDir string // directory of the legacy JSON files
	OTLP     bool
	// OTLPEndpoint is the endpoint given by option or by
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT; ""
	// with OTLP on means the exporter's default, localhost:4317.
	OTLPEndpoint string
	Console      bool
	ServiceName  string // service.name of the resource
}

// PlanSetup returns what Setup(ctx, opts...) would build now. Malformed
// settings are the same error Setup would return.
func PlanSetup(ctx context.Context, opts ...SetupOption) (SetupPlan, error) {
	cfg := setupConfig{getenv: os.Getenv}
	for _, o := range opts {
		if o != nil {
			o.applySetup(&cfg)
		}
	}
	p, err := cfg.plan()
	if err != nil {
		return SetupPlan{}, err
	}
	plan := SetupPlan{Enabled: p.enabled, TraceDir: p.dir, OTLP: p.otlp, Console: p.console}
	if p.otlp {
		plan.OTLPEndpoint = p.otlpURL
		for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
			if plan.OTLPEndpoint == "" {
				plan.OTLPEndpoint = cfg.getenv(k)
			}
		}
	}
	res, err := newResource(ctx, cfg.serviceName)
	if err != nil {
		return SetupPlan{}, err
	}
	plan.ServiceName = DefaultServiceName
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok && v.AsString() != "" {
		plan.ServiceName = v.AsString()
	}
	return plan, nil
}

// setupPlan is what Setup will build, from options and environment.
type setupPlan struct {
	enabled     bool
	dir         string
	otlp        bool
	otlpURL     string
	otlpTimeout time.Duration // 0: the exporter's own (from the environment)
	console     bool
}

func (cfg *setupConfig) plan() (setupPlan, error) {
	var p setupPlan
	if cfg.enabled != nil {
		p.enabled = *cfg.enabled
	} else {
		var err error
		if p.enabled, err = ParseEnabled(cfg.getenv(EnvEnable)); err != nil {
			return p, err
		}
	}
	if !p.enabled {
		return p, nil
	}
	var err error
	if p.otlp, p.console, err = exportersFromEnv(cfg.getenv); err != nil {
		return p, err
	}
	if cfg.otlp != nil {
		p.otlp, p.otlpURL = *cfg.otlp, cfg.otlpURL
	}
	if cfg.console != nil {
		p.console = *cfg.console
	}
	p.dir = cfg.traceDir
	if p.dir == "" {
		p.dir = cfg.getenv(EnvTraceDir)
	}
	if p.dir == "" {
		p.dir = "."
	}
	p.otlpTimeout = cfg.otlpTimeout
	if p.otlpTimeout <= 0 && cfg.getenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") == "" && cfg.getenv("OTEL_EXPORTER_OTLP_TIMEOUT") == "" {
		p.otlpTimeout = DefaultOTLPTimeout
	}
	return p, nil
}

// newProvider returns the provider Setup installs, nil when disabled.
func newProvider(ctx context.Context, cfg *setupConfig) (*sdktrace.TracerProvider, error) {
	p, err := cfg.plan()
	if err != nil || !p.enabled {
		return nil, err
	}
	res, err := newResource(ctx, cfg.serviceName)
	if err != nil {
		return nil, err
	}
	jexp, err := jsonfile.New(jsonfile.WithDir(p.dir))
	if err != nil {
		return nil, fmt.Errorf("otelmsig: legacy JSON exporter (%s=%q): %w", EnvTraceDir, p.dir, err)
	}
	// The JSON processor comes first: TracerProvider.Shutdown stops the
	// processors in order and gives up on the rest when ctx is done, so a
	// dead collector must not starve the files.
	popts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithBatcher(watch("legacy JSON", jexp))}
	exps := []sdktrace.SpanExporter{jexp}
	fail := func(err error) (*sdktrace.TracerProvider, error) {
		for _, e := range exps {
			err = errors.Join(err, e.Shutdown(ctx))
		}
		return nil, err
	}

	if p.console {
		out := cfg.consoleOut
		if out == nil {
			out = os.Stdout
		}
		cexp, err := stdouttrace.New(stdouttrace.WithWriter(out))
		if err != nil {
			return fail(fmt.Errorf("otelmsig: console exporter: %w", err))
		}
		exps = append(exps, cexp)
		popts = append(popts, sdktrace.WithBatcher(watch("console", cexp)))
	}
	for _, e := range cfg.extra {
		exps = append(exps, e)
		popts = append(popts, sdktrace.WithBatcher(watch(fmt.Sprintf("%T", e), e)))
	}
	if p.otlp {
		var gopts []otlptracegrpc.Option
		if p.otlpURL != "" {
			if strings.Contains(p.otlpURL, "://") {
				gopts = append(gopts, otlptracegrpc.WithEndpointURL(p.otlpURL))
			} else {
				gopts = append(gopts, otlptracegrpc.WithEndpoint(p.otlpURL))
			}
		}
		var bopts []sdktrace.BatchSpanProcessorOption
		if t := p.otlpTimeout; t > 0 {
			gopts = append(gopts,
				otlptracegrpc.WithTimeout(t),
				otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{
					Enabled: true, InitialInterval: 200 * time.Millisecond,
					MaxInterval: time.Second, MaxElapsedTime: t,
				}))
			bopts = append(bopts, sdktrace.WithExportTimeout(t))
		}
		oexp, err := otlptracegrpc.New(ctx, gopts...)
		if err != nil {
			return fail(fmt.Errorf("otelmsig: OTLP exporter: %w", err))
		}
		exps = append(exps, oexp)
		popts = append(popts, sdktrace.WithBatcher(watch("OTLP", oexp), bopts...))
	}
	return sdktrace.NewTracerProvider(popts...), nil
}

var _ sdktrace.SpanExporter = (*watchedExporter)(nil)

// watchedExporter remembers failed exports, which the batch processor only
// hands to otel.Handle, so that shutdown can say that spans were lost.
type watchedExporter struct {
	sdktrace.SpanExporter
	name string

	mu     sync.Mutex
	lost   int
	err    error
	closed bool
}

func watch(name string, e sdktrace.SpanExporter) *watchedExporter {
	return &watchedExporter{SpanExporter: e, name: name}
}

func (w *watchedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := w.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		w.mu.Lock()
		w.lost += len(spans)
		w.err = err
		w.mu.Unlock()
	}
	return err
}

// Shutdown shuts the exporter down and reports, once, the spans it failed
// to export since it started.
func (w *watchedExporter) Shutdown(ctx context.Context) error {
	err := w.SpanExporter.Shutdown(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost > 0 && !w.closed {
		err = errors.Join(err, fmt.Errorf("otelmsig: %s exporter: %d spans not exported: %w", w.name, w.lost, w.err))
	}
	w.closed = true
	return err
}

// exportersFromEnv reads which optional exporters the environment asks for.
func exportersFromEnv(getenv func(string) string) (otlp, console bool, err error) {
	otlp = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	for _, name := range strings.Split(getenv("OTEL_TRACES_EXPORTER"), ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "":
		case "none":
			// The legacy JSON files are always written; "none" adds nothing.
		case "otlp":
			otlp = true
		case "console":
			console = true
		default:
			return false, false, fmt.Errorf("otelmsig: OTEL_TRACES_EXPORTER=%q: %q is not supported (otlp, console, none)", getenv("OTEL_TRACES_EXPORTER"), name)
		}
	}
	return otlp, console, nil
}

func newResource(ctx context.Context, serviceName string) (*resource.Resource, error) {
	ropts := []resource.Option{
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
	}
	if serviceName != "" {
		ropts = append(ropts, resource.WithAttributes(semconv.ServiceName(serviceName)))
	}
	res, err := resource.New(ctx, ropts...)
	if err != nil {
		return nil, fmt.Errorf("otelmsig: resource: %w", err)
	}
	return res, nil
}
