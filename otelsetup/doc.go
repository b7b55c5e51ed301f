// Package otelsetup builds an application's OpenTelemetry SDK pipeline for
// escrowtrace from the environment: the legacy escrow_<id>.json files
// (exporter/jsonfile) and whatever exporter the standard OTEL_* variables
// name. Instrumentation (package otelmsig) imports the OpenTelemetry API
// only; this package is where the SDK, OTLP/gRPC and OTLP/HTTP come in, so
// a library that only wraps a client never links them.
//
//	shutdown, err := otelsetup.Setup(ctx) // ENABLE_INSTRUMENTATION=1 to turn it on
//	if err != nil { ... }                 // a malformed setting: nothing installed
//	defer func() { err := shutdown(ctx); ... }() // what was lost, if anything
//
// # Environment
//
//	ENABLE_INSTRUMENTATION   master switch; unset, "", 0, false: off (WithEnabled)
//	OTEL_SDK_DISABLED=true   off, whatever else says on
//	ESCROW_TRACE_DIR         the legacy files' directory, default "." (WithTraceDir)
//	OTEL_TRACES_EXPORTER     otlp, console or none, through contrib's autoexport;
//	                         unset: otlp when an OTLP endpoint variable is set,
//	                         else none (files only)
//	OTEL_EXPORTER_OTLP_*     protocol (grpc, http/protobuf: the default), endpoint
//	                         (a URL; http:// is plain text), headers, timeout, TLS:
//	                         read by the OTLP exporters as in any Go program
//	OTEL_TRACES_SAMPLER(_ARG) the SDK's samplers (WithSampler)
//	OTEL_BSP_*               the exporters' batch span processors
//	OTEL_SPAN_*, OTEL_ATTRIBUTE_*, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT
//	                         span limits: lower than the files need is an error
//	OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
//	                         the resource (WithServiceName)
//
// PlanSetup says what Setup would build, for an application to print.
//
// # The files never lose an event
//
// The legacy files are an audit trail, so they do not depend on how the
// export side is tuned. Every recording span that ends goes to them
// through a span processor of their own, with a queue that makes the
// application wait when full instead of dropping; the sampler decides what
// is exported, not what is recorded (a dropped trace is recorded, not
// sampled: RecordOnly); span limits that would cut a file are refused; and
// shutdown writes every ended escrow's file even when its context is done.
// WithoutFiles turns the files off in a process whose spans an escrowtrace
// collector turns into files (its escrowjson exporter).
//
// The export side never blocks the application: each exporter has a batch
// span processor, which drops when its queue is full. Each one counts the
// spans handed to it and the spans its exporter accepted; shutdown's error
// says, per exporter, how many were not exported and why.
package otelsetup
