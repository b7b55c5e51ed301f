// Package jaegertest runs the local Jaeger v2 build (bin/jaeger, built by
// `make jaeger` from deploy/jaeger/tool) on free loopback ports, and reads
// traces back through Jaeger's v1 query API.
//
// It runs the config users run, deploy/jaeger/config-local.yaml. That config
// keeps traces in Jaeger's embedded Badger store; Start swaps it for memory
// (faster, nothing left behind), and StartConfig with a DataDir keeps Badger,
// for tests of what survives a restart.
//
// It exists so that tests prove OTLP export against a real Jaeger, not a
// fake collector. When the binary is missing, Start fails the test with the
// command that builds it.
package jaegertest
