package otelsetup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/escrowtrace/escrowtrace/exporter/jsonfile"
)

// Setup builds the application's TracerProvider from the options and the
// environment, and installs it as the global one. Call the returned
// shutdown before exiting.
//
// Off (ENABLE_INSTRUMENTATION unset, "", 0 or false, WithEnabled(false),
// or OTEL_SDK_DISABLED=true) Setup installs the no-op provider: no spans, no
// files, no export, and no snapshot calls from otelmsig.
//
// On, every span that ends goes to the legacy JSON files
// (exporter/jsonfile, in ESCROW_TRACE_DIR or WithTraceDir, default ".")
// through a processor of their own that never drops: no sampler, no
// OTEL_BSP_* setting and no burst takes an event out of a file
// (WithoutFiles leaves the files to a collector). Sampled
// spans also go, each through its own batch span processor (OTEL_BSP_*), to
//   - the exporter OTEL_TRACES_EXPORTER names, built by
//     go.opentelemetry.io/contrib/exporters/autoexport: otlp (protocol from
//     OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, grpc or http/protobuf, the
//     default; endpoint, headers, timeout, TLS from the other
//     OTEL_EXPORTER_OTLP_* variables), console or none. Unset, Setup builds
//     OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and nothing otherwise, so
//     that a program run with ENABLE_INSTRUMENTATION=1 alone writes files
//     and does not try to reach a collector on localhost;
//   - the exporters given with WithSpanExporter.
//
// The sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, or
// WithSampler) thins those exporters only. Span limits (OTEL_SPAN_*,
// OTEL_ATTRIBUTE_*, OTEL_EVENT_*, OTEL_LINK_*) lower than the files need
// are an error naming the variable and the value needed. The resource has
// service.name (DefaultServiceName unless OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES or WithServiceName say otherwise),
// service.instance.id (a random UUID per Setup unless set), host.name,
// process.pid and the SDK's telemetry.sdk.* attributes.
//
// shutdown stops the provider: it writes the legacy file of every escrow
// whose spans ended, even when its context is already done (the writes
// are local), then flushes and stops the exporters within its context. It
// returns, joined, what each exporter lost (spans dropped on a full queue,
// failed or timed-out exports, spans left when the context ended) and what
// the files lost (write errors). Later calls return the same error.
//
// A malformed or unsupported setting is an error, and then nothing is
// installed.
func Setup(ctx context.Context, opts ...Option) (shutdown func(context.Context) error, err error) {
	cfg := newConfig(opts)
	p, err := build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if p == nil {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(context.Context) error { return nil }, nil
	}
	otel.SetTracerProvider(p.tp)
	return p.shutdown, nil
}

// Plan says what Setup builds for a set of options and the current
// environment. Applications use it to tell their users where traces go
// (the demo prints it).
type Plan struct {
	Enabled bool
	// Off names what turned the instrumentation off, when it is:
	// "ENABLE_INSTRUMENTATION", "OTEL_SDK_DISABLED" or "WithEnabled".
	Off      string
	TraceDir string // directory of the legacy JSON files; "" with WithoutFiles
	// Exporter is the exporter built from the environment: "otlp",
	// "console" or "" (none).
	Exporter string
	// OTLPProtocol ("grpc" or "http/protobuf") and OTLPEndpoint (a URL,
	// as the exporter dials it) are set when Exporter is "otlp".
	OTLPProtocol string
	OTLPEndpoint string
	Extra        int    // exporters given with WithSpanExporter
	Sampler      string // the sampler's description, e.g. "ParentBased{root:AlwaysOnSampler,...}"
	ServiceName  string // service.name of the resource
}

// OTLP reports whether spans are exported over OTLP.
func (p Plan) OTLP() bool { return p.Exporter == "otlp" }

// PlanSetup returns what Setup(ctx, opts...) would build now, without
// building anything. Malformed settings are the error Setup would return.
func PlanSetup(ctx context.Context, opts ...Option) (Plan, error) {
	return newConfig(opts).plan(ctx)
}

func (cfg *config) plan(ctx context.Context) (Plan, error) {
	var p Plan
	switch {
	case sdkDisabled():
		p.Off = envSDKDisabled
		return p, nil
	case cfg.enabled != nil:
		p.Enabled = *cfg.enabled
		if !p.Enabled {
			p.Off = "WithEnabled"
		}
	default:
		on, err := ParseEnabled(os.Getenv(EnvEnable))
		if err != nil {
			return p, err
		}
		p.Enabled = on
		if !on {
			p.Off = EnvEnable
		}
	}
	if !p.Enabled {
		return p, nil
	}
	if !cfg.noFiles {
		p.TraceDir = cfg.traceDir
		if p.TraceDir == "" {
			p.TraceDir = os.Getenv(EnvTraceDir)
		}
		if p.TraceDir == "" {
			p.TraceDir = "."
		}
	}
	if cfg.envExporter {
		name := os.Getenv(envTracesExporter) // as autoexport reads it
		switch {
		case name == "" && firstEnv(envTracesEndpoint, envEndpoint) != "":
			p.Exporter = "otlp"
		case name == "", name == "none":
		case name == "otlp", name == "console":
			p.Exporter = name
		default:
			return p, fmt.Errorf("otelsetup: %s=%q: want otlp, console or none (one of them)", envTracesExporter, name)
		}
		if p.Exporter == "otlp" {
			o, err := planOTLP()
			if err != nil {
				return p, err
			}
			p.OTLPProtocol, p.OTLPEndpoint = o.protocol, o.endpoint
		}
	}
	p.Extra = len(cfg.extra)
	s := cfg.sampler
	if s == nil {
		var err error
		if s, err = samplerFromEnv(); err != nil {
			return p, err
		}
	}
	p.Sampler = s.Description()
	if _, err := spanLimits(); err != nil {
		return p, err
	}
	res, err := newResource(ctx, cfg.serviceName)
	if err != nil {
		return p, err
	}
	p.ServiceName = DefaultServiceName
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok && v.AsString() != "" {
		p.ServiceName = v.AsString()
	}
	return p, nil
}

// pipeline is what Setup built.
type pipeline struct {
	plan     Plan
	tp       *sdktrace.TracerProvider
	files    *filesProcessor // nil with WithoutFiles
	batchers []*countedBatcher

	once sync.Once
	err  error
}

// build returns the pipeline Setup installs, nil when disabled.
func build(ctx context.Context, cfg *config) (*pipeline, error) {
	plan, err := cfg.plan(ctx)
	if err != nil || !plan.Enabled {
		return nil, err
	}
	sampler := cfg.sampler
	if sampler == nil {
		if sampler, err = samplerFromEnv(); err != nil {
			return nil, err
		}
	}
	limits, err := spanLimits()
	if err != nil {
		return nil, err
	}
	res, err := newResource(ctx, cfg.serviceName)
	if err != nil {
		return nil, err
	}
	p := &pipeline{plan: plan}
	if !cfg.noFiles {
		jexp, err := jsonfile.New(jsonfile.WithDir(plan.TraceDir))
		if err != nil {
			return nil, fmt.Errorf("otelsetup: legacy JSON files (%s=%q): %w", EnvTraceDir, plan.TraceDir, err)
		}
		p.files = newFilesProcessor(jexp, defaultFilesQueue)
	}
	if plan.Exporter != "" {
		exp, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			err = fmt.Errorf("otelsetup: %s exporter: %w", plan.Exporter, err)
			return nil, errors.Join(err, p.files.Shutdown(ctx))
		}
		name := plan.Exporter
		if plan.OTLP() {
			name = fmt.Sprintf("OTLP (%s to %s)", plan.OTLPProtocol, plan.OTLPEndpoint)
		}
		p.batchers = append(p.batchers, newCountedBatcher(name, exp))
	}
	for _, e := range cfg.extra {
		p.batchers = append(p.batchers, newCountedBatcher(fmt.Sprintf("%T", e), e))
	}
	// The files' processor comes first: TracerProvider.Shutdown stops the
	// processors in order, so a dead collector cannot starve the files.
	popts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(recordAll{sampler}),
		sdktrace.WithRawSpanLimits(limits),
	}
	if p.files != nil {
		popts = append(popts, sdktrace.WithSpanProcessor(p.files))
	}
	for _, b := range p.batchers {
		popts = append(popts, sdktrace.WithSpanProcessor(b))
	}
	p.tp = sdktrace.NewTracerProvider(popts...)
	return p, nil
}

// shutdown stops the provider once and reports what was lost; later calls
// return the same error.
func (p *pipeline) shutdown(ctx context.Context) error {
	p.once.Do(func() {
		// The provider stops its processors in order but skips them all
		// when ctx is already done, and says nothing on a second call. So
		// the processors are stopped here, files first and whatever ctx
		// says; each runs its Shutdown once and returns the same result
		// when the provider calls it again, so only these results count.
		errs := []error{p.files.Shutdown(ctx)}
		for _, b := range p.batchers {
			errs = append(errs, b.Shutdown(ctx))
		}
		_ = p.tp.Shutdown(ctx) // no new spans; its errors are those above
		p.err = errors.Join(append(errs, p.losses())...)
	})
	return p.err
}
