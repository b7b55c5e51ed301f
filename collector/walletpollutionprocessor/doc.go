// Package walletpollutionprocessor is the walletpollution traces processor
// of the escrowtrace Collector: it finds cache pollution across processes.
//
// # What it finds
//
// A monero-wallet-rpc process has one open wallet: after open_wallet(B)
// every call acts on B, whoever makes it. Escrow services that share a
// wallet-rpc switch its wallet under each other. otelmsig's Tracker catches
// this inside one process; two processes sharing a wallet-rpc never see
// each other's calls. The Collector sees every process's spans, so this
// processor orders every wallet-rpc CLIENT span by endpoint, across traces
// and services, and flags each call made for wallet A while wallet B was
// open.
//
// A wallet-rpc call is a CLIENT span with rpc.method, server.address and
// server.port, and rpc.system.name=jsonrpc or otelmsig's scope. Its
// endpoint is server.address:server.port as the client names it (two
// clients naming one wallet-rpc differently, localhost and 127.0.0.1, are
// two endpoints). By method (walletrpc.MethodWalletEffect):
//
//   - open_wallet, create_wallet, restore_deterministic_wallet and
//     generate_from_keys leave wallet.filename open when they succeed;
//     close_wallet leaves none. A JSON-RPC error changes nothing (a failed
//     open leaves the previous wallet open), nor does an HTTP status or an
//     encoding error (the call never reached the wallet). A transport
//     failure (timeout, lost connection) or an open without
//     wallet.filename leaves the state unknown until the next open.
//   - Any other call with wallet.filename (the wallet it is for) is judged,
//     snapshot reads (escrow.snapshot_call=true) included, if it ran: it
//     succeeded or answered a JSON-RPC error (a -31 "not multisig" met on
//     the wrong wallet is the very symptom). Calls without wallet.filename,
//     get_version, and calls that failed in transport are not judged.
//   - A span that already has a cache_pollution event with reason
//     wrong_wallet_open (the process found it) is left alone.
//
// A finding modifies the victim span in place, as otelmsig records the
// process's own: a cache_pollution event stamped at the call's start with
// pollution.reason=wrong_wallet_open, pollution.endpoint (host:port),
// pollution.expected_wallet (A), pollution.actual_wallet (B),
// pollution.other_escrow_id (escrow.id of B's open),
// pollution.other_service_instance_id (its resource's service.instance.id),
// pollution.detected_by=collector, and the victim's wallet.role, wallet.id,
// wallet.rpc_port and escrow.id; escrow.cache_pollution=true; status Error
// (a call that really failed, with error.type, keeps its status and
// description: that is how the legacy converter tells a failure from a
// mark); and a link to the span of B's open. The escrow root's
// escrow.pollution_count is not changed (the root is another span, often
// already gone by).
//
// A span delivered again (same trace and span id, while it is remembered)
// is forwarded as received and not judged again: its first copy carries
// the finding, counted once.
//
// # Order on an endpoint
//
// wallet-rpc serves one request at a time (one RPC thread), so the server
// handlings of two calls on one endpoint never overlap, and each CLIENT
// span contains its call's server handling (it starts before the request
// is sent and ends after the reply is read). So for an open S and a call C
// on one endpoint:
//
//   - S started and ended before C did (sent first, answered first): S ran
//     before C. This covers S entirely before C and C queued behind S.
//   - S started and ended after C did: S ran after C.
//   - one interval inside the other: the order is not known from the
//     timestamps (an open sent first can be answered last, after a digest
//     handshake for example).
//
// The wallet C met is the one left by the last open or close that ran
// before it: one of the latest certainly before it (those no other
// certainly-before one follows; usually one) or any whose order with C is
// unknown. C is flagged only if every one of these possibilities is a
// wallet other than A (the one that ended last is named). If some are A
// (or no wallet) and some are not, the call is ambiguous: not flagged, and
// counted. If one is unknown, or nothing is known before C, it is not
// judged.
//
// # Clocks
//
// Span times come from each process's clock. Within one process the rule
// above is exact. Across processes it holds while the clock difference is
// smaller than the gaps it compares: between the two calls' starts and
// between their ends. A real request takes from 0.1 ms (get_version) to
// seconds (open_wallet, make_multisig), and an open that pollutes a call
// usually ran hundreds of ms before it, so NTP-synchronised hosts (skew of
// a few ms) and processes of one host (one clock) are well inside it.
// Beyond it, an open that ran before the call seems to lie inside it
// (ambiguous, counted, not flagged) or after it (missed), and, the other
// way round, an open that ran after the call can seem to precede it (a
// false finding). The collector's own clock is used only for the window
// and the retention.
//
// # Decision window
//
// Each process exports its spans in its own batches, every few seconds
// (the SDK's OTEL_BSP_SCHEDULE_DELAY, 5 s by default), so an open of
// process 2 can reach the Collector after the call of process 1 it
// polluted. Each incoming batch is held for decision_window (6 s by
// default: more than the exporters' delay). Opens and closes go on their
// endpoint's timeline when they arrive; when a batch's window ends, its
// calls are judged against the timeline as it is then (every span received
// so far, held ones included), marked, and the batch is forwarded. Every
// span is thus delayed by the window, and a span that arrives out of order
// within it is used as if it had come in order.
//
// A wallet-rpc span that arrives after a later call of its endpoint was
// decided (it starts before that call's end) is late: it is counted,
// forwarded, used for calls still to be decided, and the calls already
// forwarded are not revisited. A late call is judged against what is
// known.
//
// # Memory
//
// Per endpoint, the timeline keeps the opens and closes (not the calls)
// received in the last four windows, in the order of their ends, and never
// fewer than the newest one (the endpoint's current state, so that a
// dedicated wallet opened long ago is still known); it also remembers the
// span ids of the last four windows' wallet-rpc spans to recognise
// duplicates. Each is capped at max_entries_per_endpoint (the oldest go);
// endpoints are capped at max_endpoints (the least recently used goes);
// an endpoint with nothing left is forgotten. At the cap one endpoint holds
// about 174 bytes per entry (an open plus a remembered id; wallet, escrow
// and instance names are interned), 178 KB at the default 1024
// (BenchmarkEndpointMemory), so 45 MB at the default 256 endpoints.
// Spans held for the window are capped by max_held_spans: past it, the
// oldest batches are judged against what is known and forwarded early,
// and counted. Every span received is forwarded exactly once: on time,
// early, or at Shutdown, which judges and forwards everything held.
//
// # Telemetry
//
// Counters from the component's MeterProvider: findings (calls marked),
// late_spans, ambiguous, released_early, duplicates and entries_dropped
// (opens and ids forgotten early because of a cap), named
// otelcol_processor_walletpollution_*.
//
// # Pipeline
//
// The processor must see the spans of all traces and all services, so it
// goes first in the traces pipeline, before anything that groups or
// samples by trace:
//
//	receivers: [otlp]
//	processors: [walletpollution, groupbytrace, batch]
//	exporters: [...]
//
// After groupbytrace it would see one trace at a time and never meet
// another escrow's open. Tail sampling after it is fine; before it, a
// dropped trace's opens would be missing from the timeline. One Collector
// (or one per set of processes sharing wallet-rpcs) must receive every
// process's spans: an open that another Collector receives, or that an
// uninstrumented client makes, is not seen.
package walletpollutionprocessor
