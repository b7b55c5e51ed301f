// Package jsonfile is an OpenTelemetry span exporter that writes escrow setup
// traces as the legacy escrow_<escrow_id>.json files that existing analysis
// scripts read. The file format is the contract in docs/legacy-escrow-json.md;
// the trace shape is the one in package escrowconv.
//
// Register it beside any other exporter on one TracerProvider; it ignores
// spans that carry nothing of an escrow:
//
//	exp, err := jsonfile.New(jsonfile.WithDir("traces"))
//	tp := sdktrace.NewTracerProvider(
//		sdktrace.WithBatcher(otlpExporter),
//		sdktrace.WithBatcher(exp),
//	)
//
// # Mapping and files
//
// The conversion and the file handling are package assembly's (its
// documentation has the mapping table, the file names and the limits);
// this package is its SDK front end, and the escrowtrace collector's
// escrowjson exporter is its other one: both write the same bytes for the
// same spans. The options here set assembly.Config.
//
// # Reading
//
// The file format is package escrowjson: Decode, Load, Validate and
// FileName are there (the names here are kept as deprecated aliases).
package jsonfile
