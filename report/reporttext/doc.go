// Package reporttext prints a report.Report for terminals, CI logs and ssh
// sessions: the summary, cache pollution per endpoint, per-escrow
// timelines, RPC statistics per method, snapshot progression, errors with
// their ERROR_FINAL context, and the comparison of two escrows.
//
// Everything printed that comes from a file (ids, wallet names, error
// texts) is put on one line with control characters replaced, so that a
// hostile file cannot move the cursor or forge lines.
package reporttext
