// Package escrowspans gives the collector module's benchmarks the traces a
// server process sends: the spans of one real escrow, recorded once, and
// copies of them under other escrow and trace ids, as SDK spans (what the
// SDK's OTLP exporter and exporter/jsonfile take) or as pdata (what the
// Collector's OTLP receiver hands to the pipeline).
//
// Record runs a 2-of-3 multisig setup (otelmsig.SetupMultisig) on three
// in-process fake wallet-rpcs (internal/fakewalletrpc) with an SDK provider
// and a span recorder, so the template has the tree, attributes and events
// the library makes today (115 spans for a successful setup, 45 events in
// its legacy file). Clone gives escrow n of a benchmark: every span with
// trace id TraceID(n), escrow.id ID(n) and escrow.trace_id to match, and
// the span ids unchanged (they only need to be unique within a trace).
// Traces converts SDK spans to pdata through the SDK's own OTLP transform
// and the OTLP protobuf encoding, so the pdata is what the Collector's OTLP
// receiver decodes from the same spans.
//
//	tmpl, _ := escrowspans.Record(ctx)
//	spans := escrowspans.Clone(tmpl, 7)        // escrow "bench-7"
//	for batch := range slices.Chunk(spans, escrowspans.BatchSize) { ... }
//	td, _ := escrowspans.Traces(spans)         // the same, as pdata
package escrowspans
