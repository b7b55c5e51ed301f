// Package report turns legacy escrow trace files (docs/legacy-escrow-json.md)
// into one picture of a run: which escrow's wallet was open on which
// wallet-rpc endpoint when, every wallet RPC call on its endpoint's lane,
// each cache-pollution event joined to the escrow that caused it, the
// snapshot progression of every wallet, RPC statistics per method, and the
// differences between two escrows' event sequences.
//
// It only analyses; renderers live beside it: reporthtml (one offline HTML
// page), reporttext (the terminal) and jaegerlanes (the lanes as a Jaeger
// JSON trace). Escrows come from files (Load) or from anywhere that yields
// legacy events (FromEvents, e.g. jaegerquery).
//
// # Model
//
// Times are unix milliseconds, as in the files. An Escrow is one file: its
// RPC calls (an RPC_CALL_START paired with its RPC_CALL_END or
// RPC_CALL_ERROR by role, method and port, in order), its snapshots, its
// pollution events and its ERROR_FINAL. An Endpoint is one wallet-rpc,
// known by the rpc_port of the events (the legacy format has no host; a
// pollution event's endpoint names it when there is one). The calls of all
// escrows on one port form its lane.
//
// Which wallet was open on an endpoint is not written down as such; Build
// infers it from what the files do say, in time order: a successful
// open_wallet or create_wallet call opens the caller's wallet at the call's
// end, close_wallet closes it, a snapshot on a shared endpoint re-opens its
// wallet at the snapshot's start (the re-open itself is a snapshot call,
// which the format leaves out), and a pollution event says which wallet the
// instrumentation saw open. On an endpoint only one escrow uses, its wallet
// is open from its first to its last event there.
//
// A pollution event was found either by the process that made the call
// (its Tracker or its snapshots) or, across processes, by the escrowtrace
// collector's walletpollution processor, which sees every process's calls
// to a shared wallet-rpc: the event then says detected_by "collector" and
// names the other process's service.instance.id (Pollution.DetectedBy,
// Pollution.OtherInstance; Summary.ByCollector counts them).
package report
