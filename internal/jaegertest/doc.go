// Package jaegertest runs the local Jaeger v2 build (bin/jaeger, built by
// `make jaeger` from deploy/jaeger/tool) on free loopback ports, and reads
// traces back through Jaeger's v1 query API.
//
// It exists so that tests prove OTLP export against a real Jaeger, not a
// fake collector. When the binary is missing, Start fails the test with the
// command that builds it.
package jaegertest
