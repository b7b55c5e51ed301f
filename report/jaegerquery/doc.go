// Package jaegerquery reads escrow traces back from Jaeger's v1 query API
// and turns them into legacy escrow events, so that a report can be made
// from Jaeger as from the files.
//
// The conversion is the exporter's own: the Jaeger spans become SDK spans
// again (tracetest.SpanStub: name, kind, parent, times, attributes,
// events, status from otel.status_code and otel.status_description) and go
// through exporter/jsonfile, the code that wrote the files in the first
// place, into a temporary directory that is read back and removed. The
// events are what the live exporter would have written, to the millisecond
// (Jaeger keeps µs).
package jaegerquery
