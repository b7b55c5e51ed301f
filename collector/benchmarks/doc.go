// Package benchmarks measures the escrowtrace collector end to end, as a
// server process meets it: the built binary (bin/escrowtrace-collector,
// through collectortest) on loopback, fed by the SDK's OTLP/gRPC exporter
// with recorded escrows (collector/internal/escrowspans: one real 2-of-3
// setup through otelmsig, 115 spans, cloned under new escrow and trace
// ids) in batches of 512 spans, one batch after the other as the SDK's
// batch span processor sends them. The collector runs the shipped
// deploy/collector/config.yaml with the traces pipeline's exporters cut to
// escrowjson: OTLP receiver → groupbytrace → batch → escrowjson.
//
// The package has no code of its own; the benchmarks are in its tests:
//
//   - BenchmarkThroughput: b.N escrows through the collector until all
//     b.N files are written (mode=collector, groupbytrace waiting 200 ms),
//     side by side with the same client sending the same escrows to
//     Jaeger's own OTLP receiver and memory store (mode=jaeger, the
//     anchor; internal/jaegertest). spans/s and escrows/s end to end, the
//     target process's CPU per escrow, and x-jaeger; it fails on anything
//     lost (the collector's own metrics, the files, Jaeger's span counts).
//   - BenchmarkInFlightMemory: the collector's RSS and Go heap per escrow
//     whose root has not arrived, held in groupbytrace or, after it,
//     in the escrowjson exporter.
//
// The in-process benchmarks of the exporter alone (the pdata front end
// against exporter/jsonfile's SDK one, its memory per in-flight escrow)
// are in collector/escrowjsonexporter. BENCHMARKS.md at the repository
// root has the figures and the commands.
//
// Each run starts its own processes and clones its input before the clock
// starts, so the number of escrows is given, not a time:
//
//	go test -run '^$' -bench . -benchtime=1000x -count=1 ./benchmarks/
//
// The real parts are required: without bin/escrowtrace-collector (make
// collector; or ESCROWTRACE_COLLECTOR) or bin/jaeger (make jaeger; or
// ESCROWTRACE_JAEGER) the benchmarks fail and say how to build them.
package benchmarks
