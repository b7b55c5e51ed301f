package otelsetup

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// config is what Options set; the environment fills in the rest.
type config struct {
	enabled     *bool
	traceDir    string
	serviceName string
	extra       []sdktrace.SpanExporter
	envExporter bool // build the exporter OTEL_TRACES_EXPORTER names (default true)
	noFiles     bool // WithoutFiles: no legacy JSON files in this process
	sampler     sdktrace.Sampler
}

func newConfig(opts []Option) *config {
	c := &config{envExporter: true}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	return c
}

// Option configures Setup and PlanSetup. An option overrides the
// environment variable it names.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEnabled turns the instrumentation on or off, whatever
// ENABLE_INSTRUMENTATION says. OTEL_SDK_DISABLED=true still turns it off:
// it is the user's word against the program's default.
func WithEnabled(on bool) Option {
	return optionFunc(func(c *config) { c.enabled = &on })
}

// WithTraceDir sets the directory of the legacy JSON files, instead of
// ESCROW_TRACE_DIR. It is created (mode 0700) when missing.
func WithTraceDir(dir string) Option {
	return optionFunc(func(c *config) { c.traceDir = dir })
}

// WithServiceName sets service.name, over OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES.
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) { c.serviceName = name })
}

// WithSpanExporter adds an exporter behind a batch span processor of its
// own (configured by OTEL_BSP_*), like the one from the environment: it
// gets the sampled spans, and what it loses is counted and reported by
// shutdown. Shutdown shuts it down. nil is ignored.
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return optionFunc(func(c *config) {
		if exp != nil {
			c.extra = append(c.extra, exp)
		}
	})
}

// WithoutEnvExporter builds no exporter from OTEL_TRACES_EXPORTER and
// OTEL_EXPORTER_OTLP_*: the legacy files and the WithSpanExporter exporters
// only.
func WithoutEnvExporter() Option {
	return optionFunc(func(c *config) { c.envExporter = false })
}

// WithoutFiles writes no legacy JSON files in this process: the spans go to
// the exporters only, and ESCROW_TRACE_DIR and WithTraceDir are ignored. It
// is for a process whose files are written elsewhere from its export, as
// by the escrowtrace collector's escrowjson exporter for the server
// processes that send it OTLP (the demo's --processes workers). In-process
// pollution detection (otelmsig) does not depend on the files and stays.
func WithoutFiles() Option {
	return optionFunc(func(c *config) { c.noFiles = true })
}

// WithSampler sets the sampler instead of OTEL_TRACES_SAMPLER. Like the one
// from the environment, it thins the exporters only: a span it drops is
// still recorded for the legacy files (its decision becomes RecordOnly).
func WithSampler(s sdktrace.Sampler) Option {
	return optionFunc(func(c *config) { c.sampler = s })
}
