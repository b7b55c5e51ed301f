package otelmsig

// version is the instrumentation's version, recorded on every span's
// instrumentation scope; a release bumps it.
const version = "0.2.0"

// Version returns the instrumentation version of the tracer otelmsig
// creates (the scope version of its spans), as otelhttp.Version does.
func Version() string { return version }
