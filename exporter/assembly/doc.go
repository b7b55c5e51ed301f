// Package assembly turns the spans of escrow setups into the legacy
// escrow_<escrow_id>.json files (format: package escrowjson): per-escrow
// buffering, late spans, _PARTIAL and _FAILED files, atomic writes and
// bounded memory, written once for every pipeline that feeds it. Its front
// ends fill a Span from their own span type and call Add:
//
//   - exporter/jsonfile, an OpenTelemetry SDK SpanExporter, in the process
//     that makes the spans;
//   - the escrowtrace collector's escrowjson exporter, from pdata, where the
//     traces of many processes meet.
//
// Both write the same bytes for the same spans. The package imports the
// OpenTelemetry API's attribute, codes and trace packages, not the SDK and
// not the Collector.
//
// The trace shape read is the one in package escrowconv.
//
// # Mapping
//
// Every legacy event takes its trace_id from the root span's escrow.trace_id
// (else "<escrow.id>-<root start in unix ms>"). The role is the event's
// wallet.role, else the span's, else "coordinator"; rpc_port is omitted when
// no port is known.
//
//	span or span event                         legacy event(s)
//	-----------------------------------------  ---------------------------------------------
//	CLIENT span with rpc.method (an RPC call)  RPC_CALL_START at the span's start:
//	                                             {method, timestamp}
//	                                           RPC_CALL_END at its end, status not Error:
//	                                             {method, duration_ms, success: true}
//	                                           RPC_CALL_ERROR at its end, status Error:
//	                                             {method, duration_ms, success: false,
//	                                              error: status description,
//	                                              code: rpc.response.status_code as an int,
//	                                              absent for transport errors}
//	                                           role wallet.role, rpc_port server.port
//	... with escrow.snapshot_call=true         nothing (the call only fed a snapshot, or
//	                                             was SetupMultisig's get_version check)
//	event wallet.snapshot                      SNAPSHOT_<snapshot.point> at the event's time;
//	                                             details: the snapshot object
//	                                             (timestamp = snapshot.timestamp_ms,
//	                                             balance [total, unlocked], file_perms null
//	                                             and file_exists false without a known path,
//	                                             rpc_port and open_wallets_count null
//	                                             when unknown); extra fields multisig_ready,
//	                                             threshold, total, wallet_filename,
//	                                             rpc_version (wallet.rpc_version),
//	                                             mixed_wallets (snapshot.mixed_wallets),
//	                                             error (snapshot.error), each when known;
//	                                             a point the format does
//	                                             not name becomes CUSTOM with details.point
//	event escrow.error                         ERROR_FINAL {error, context{round, operation,
//	                                             wallet_id, escrow_id, timestamp (RFC 3339)}}
//	event cache_pollution                      CACHE_POLLUTION_DETECTED {reason, wallet_id,
//	                                             expected_wallet, actual_wallet, endpoint,
//	                                             other_escrow_id, other_service_instance_id,
//	                                             detected_by; each when present}
//	root escrow.setup with status Error        the file is escrow_<id>_FAILED.json; when the
//	                                             trace has no escrow.error event, an
//	                                             ERROR_FINAL is made from the root's status
//	                                             and the first failed call
//	anything else (exception events, ...)      nothing
//
// Only the attributes above are read, so nothing else a span carries (for
// instance a multisig_info string in an attribute of its own) reaches a
// file. Free-text values (error messages, reasons) have multisig key
// material redacted (internal/secret: "Multisig" and a long base58 run, not
// the word in wallet-rpc's own messages) and are cut to 1 KiB.
//
// # Files
//
// Spans of one escrow arrive in batches, out of order, children before the
// root. The Assembler keeps, per OTel trace and escrow.id, the legacy events
// converted on arrival (no span is kept), and writes the file when the root
// span arrives: escrow_<id>.json, or escrow_<id>_FAILED.json when the root's
// status is Error. Files are one JSON array with 2-space indentation and a
// trailing newline, sorted by time (an RPC call's start first at the same
// instant, then arrival order), written through a temporary file in the same
// directory, fsynced and renamed into place, mode 0600 by default. FileName
// gives the name for an escrow id; ids that are not safe in a file name are
// made safe and suffixed with a hash of the real id.
//
// A span that ends after its root (a late span) rewrites the file within the
// grace period Config.LateSpanGrace. Escrows whose root never arrives are
// bounded by Config.MaxPendingTraces: the oldest are written as
// escrow_<id>_PARTIAL.json, and Shutdown writes every escrow still without
// its root so. When the root of such an escrow arrives later (after an
// eviction, or in a collector restarted mid-escrow), the final file is
// written with the partial file's events merged in, each once (a span
// delivered twice is not), and the partial file is removed
// (Stats.MergedPartials): one complete file per escrow. A write error (a full disk, a removed
// directory) is returned by Add and the events stay buffered for the
// next Add, Flush or Shutdown.
//
// Spans without escrow.id (but with one of our events, or JSON-RPC client
// spans) join the trace's escrow when the trace has exactly one. A trace
// whose local root ends without any escrow in it — wallet calls made by an
// instrumented client outside any escrow — writes no file and keeps nothing
// (counted in Stats.NoEscrowTraces).
package assembly
