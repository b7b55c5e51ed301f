// Package escrowjsonexporter is the escrowtrace collector's escrowjson
// exporter: it writes the legacy escrow_<escrow_id>.json files (package
// escrowjson has the format) for the traces of every process that sends to
// the collector, so that escrows served by many processes land in one
// directory that the old analysis scripts read.
//
// It is the Collector front end of package exporter/assembly, as
// exporter/jsonfile is its SDK front end: the same spans give the same
// bytes through either. A file is written when the escrow's root span
// arrives; spans that end later rewrite it within late_span_grace; an
// escrow whose root never arrives is written as escrow_<id>_PARTIAL.json
// when max_pending_traces is exceeded or the collector shuts down. When the
// root does come later (the collector was restarted mid-escrow: the old one
// wrote the beginning as _PARTIAL, the new one has the rest), the partial
// file's events are merged into the final file and the partial file is
// removed, so each escrow ends in one complete file.
//
// # Pipeline
//
// Put it after the groupbytrace processor, so that a trace's spans arrive
// together, beside the OTLP exporter to Jaeger:
//
//	processors:
//	  groupbytrace: {wait_duration: 5s}
//	exporters:
//	  escrowjson: {directory: /var/lib/escrowtrace/traces}
//	service:
//	  pipelines:
//	    traces:
//	      receivers: [otlp]
//	      processors: [groupbytrace, batch]
//	      exporters: [escrowjson, otlp/jaeger]
//
// An escrow's spans must meet in one collector: with several collectors,
// spread traces by trace id (the contrib load-balancing exporter with
// routing_key traceID) in front of them.
//
// # Failures
//
// A write that fails (a full disk, a removed directory) leaves the events
// buffered: pushTraces logs it and returns no error, since a retried batch
// would add its events twice, and the writes are tried again on every push
// and every flush_interval, so that space freed or the directory made again
// resumes writing.
// Memory stays bounded by max_pending_traces: past it the oldest unwritten
// escrows are given up. Everything lost is counted in the component's own
// metrics (escrowjson.dropped_escrows, escrowjson.dropped_events) beside
// escrowjson.files_written, escrowjson.partial_files,
// escrowjson.write_errors, escrowjson.merged_partials and the gauges escrowjson.pending_escrows and
// escrowjson.unwritten_escrows. Hostile escrow ids get safe file names
// (escrowjson.FileName).
package escrowjsonexporter
