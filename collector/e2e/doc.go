// Package e2e holds the end-to-end tests of escrowtrace's many-process
// path with every part real: escrow server processes (`escrowtrace demo
// --processes N`, whose worker processes each set up their SDK with
// otelsetup and run escrows on real monero-wallet-rpc processes) export
// OTLP to the built escrowtrace-collector (collectortest, on free ports),
// which writes the legacy files and forwards the traces to a real Jaeger
// (internal/jaegertest).
//
// The tests build the escrowtrace command themselves, once, with `go
// build` from the repository root into a temporary directory, so that
// they always run the library's current code; the collector and Jaeger
// are the binaries `make collector` and `make jaeger` build (found through
// ESCROWTRACE_COLLECTOR and ESCROWTRACE_JAEGER, which the Makefile sets),
// and monero-wallet-rpc comes from Debian's monero package. A test whose
// binary is missing fails and says how to install it. `make test` runs
// them with the rest of the collector module's tests.
//
// The package has no code of its own: it exists for its tests.
package e2e
