// Package reporthtml renders a report.Report as one self-contained HTML
// page: styles, script and data are inside it, nothing is fetched (a
// Content-Security-Policy of default-src 'none' says so to the browser),
// so that it opens offline, from a CI artifact or a mail attachment.
//
// The page shows, top to bottom: the summary (escrows, ok/failed, rounds
// reached, pollution per endpoint); one swimlane per wallet-rpc endpoint
// over time, with a band saying which escrow's wallet was open and every
// RPC call as a bar in its escrow's colour (hover for method, role,
// duration and error; click to pin); every cache-pollution event as a red
// marker on its lane, joined by a curve to the call of the escrow that
// opened the wrong wallet (one the escrowtrace collector found across
// processes says so, with the other process's service instance); RPC statistics per method; each escrow's rounds,
// calls, snapshot progression per role and errors with their ERROR_FINAL
// context; and the comparison of two escrows' event sequences.
//
// The SVG is written by html/template: every text that comes from a file or
// from Jaeger (escrow ids, wallet names, error texts) is escaped for its
// context, and the data the script reads is JSON in a
// <script type="application/json"> element, escaped by html/template too.
// The script only ever sets textContent.
package reporthtml
