// Package collectortest runs the built escrowtrace-collector
// (bin/escrowtrace-collector, built by `make collector` from
// collector/cmd/escrowtrace-collector) on free loopback ports with the
// config users run, deploy/collector/config.yaml, and reads the collector's
// own metrics.
//
// It exists so that tests prove the path escrow server processes take in
// production (SDK → OTLP → collector → Jaeger or files) against the real
// binary, not an in-process pipeline. It runs the binary found through
// ESCROWTRACE_COLLECTOR (the Makefile sets it), else
// <repo>/bin/escrowtrace-collector; when that is missing, Start fails the
// test with the command that builds it. It does not rebuild a binary that
// is older than the sources: `make test` does that.
//
// The shipped config's endpoints come from environment variables, which
// the harness sets to free ports; Config adds the caller's own (the Jaeger
// to export to, the directory files go to). The Jaeger endpoint defaults to
// a free port where nothing listens, so that a test never exports to a
// Jaeger that happens to run on the default port.
//
//	j := jaegertest.Start(t)
//	c := collectortest.Start(t, collectortest.Config{Jaeger: j.OTLPGRPC})
//	// export to "http://"+c.OTLPHTTP or c.OTLPGRPC ...
//	c.Restart(ctx) // same ports: a collector restarted mid-run
package collectortest
