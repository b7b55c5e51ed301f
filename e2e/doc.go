// Package e2e holds end-to-end tests that cross packages and real
// processes: instrumented 2-of-3 setups on real monero-wallet-rpc processes,
// exported over OTLP to a real Jaeger (bin/jaeger, see deploy/jaeger) and to
// the legacy JSON files at once, and what happens when the collector is down.
// It has no code of its own.
package e2e
