// Package escrowjson is the legacy escrow file format: the
// escrow_<escrow_id>.json files that existing analysis scripts read, one per
// escrow setup, as the contract in docs/legacy-escrow-json.md has them.
//
// It holds the format and nothing of how files are made: the event types
// (Event and its details RPCCallStart, RPCCallEnd, Snapshot, ErrorFinal,
// CachePollution), Encode and Decode, Load, Validate, and FileName and
// PartialFileName for the file an escrow goes to. It imports neither the
// OpenTelemetry SDK nor the Collector, so a reader of files (package report,
// an analysis tool) links neither. The files are made from spans by
// package exporter/assembly, fed by the SDK exporter exporter/jsonfile and
// by the escrowtrace collector's escrowjson exporter; both write the same
// bytes for the same spans.
//
// # Shape
//
// A file is one JSON array of events, indented with two spaces, with a
// trailing newline, sorted by time. Each event is
//
//	{"trace_id": string, "timestamp": unix ms, "event_type": string,
//	 "role": "buyer"|"vendor"|"arbiter"|"coordinator",
//	 "rpc_port": int (absent, never null, when unknown), "details": object}
//
// with the details object of its event type. Fields the contract does not
// name are welcome (Snapshot's multisig_ready, rpc_version, ...;
// CachePollution's other_service_instance_id and detected_by); old scripts
// ignore them.
package escrowjson
