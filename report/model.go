package report

import "github.com/escrowtrace/escrowtrace/escrowconv"

// Report is the analysis of a set of escrows. Times are unix ms.
type Report struct {
	Escrows   []*Escrow   // by start time; Escrow.N is the place here, from 1
	Endpoints []*Endpoint // by port
	Methods   []MethodStats
	Start     int64 // the earliest event of any escrow
	End       int64 // the latest
	Summary   Summary
}

// Summary is what the report says first.
type Summary struct {
	Escrows, OK, Failed, Partial int
	// Rounds[n] is how many escrows completed exactly n key-exchange rounds
	// (0 to 3).
	Rounds      [4]int
	Calls       int
	FailedCalls int
	Snapshots   int
	Pollution   int // events
	Polluted    int // escrows with at least one
	// ByCollector is how many of the Pollution events the escrowtrace
	// collector found (Pollution.ByCollector): calls that met a wallet
	// another process opened, which no process saw.
	ByCollector int
	Events      int
}

// Escrow is one escrow's file, read.
type Escrow struct {
	N       int    // 1-based, in start order
	ID      string // the application's escrow id
	TraceID string // the legacy trace_id, "<id>-<unix ms>"
	Source  string
	Start   int64
	End     int64
	Failed  bool // an ERROR_FINAL, or a _FAILED file
	Partial bool // a _PARTIAL file: the escrow's root span never arrived
	Rounds  int  // key-exchange rounds completed by every wallet (0-3)
	Roles   []string
	// Events counts the file's events by event_type.
	Events      map[string]int
	EventCount  int
	Calls       []*Call
	FailedCalls int
	Snapshots   []*Snapshot // in time order
	Pollution   []*Pollution
	Errors      []*ErrorFinal
	Steps       []Step // the event sequence, for Compare
	// Wallets maps a wallet file name (and wallet id) to the role using it.
	Wallets map[string]string
}

// Call is one wallet RPC call.
type Call struct {
	Escrow   *Escrow
	Role     string
	Method   string
	Port     int // 0 when the file has none
	Start    int64
	End      int64
	Duration int64 // ms, as the file says
	OK       bool
	Ended    bool // false: a start without an end in the file
	Error    string
	Code     *int
	Round    int
	Row      int // sub-row on its endpoint's lane (calls that overlap stack)
	// Pollution lists the pollution events detected when this call was made.
	Pollution []*Pollution
}

// Snapshot is one wallet's state at one point.
type Snapshot struct {
	Point        string // SNAPSHOT_PRE_ROUND1, ...; for CUSTOM, its point
	Role         string
	Time         int64
	Port         int
	WalletID     string
	Filename     string
	IsMultisig   bool
	Ready        *bool
	AddressHash  string
	Balance      [2]uint64
	Error        string
	CollectionMs int64
	// HashChanged: the address hash differs from this role's previous
	// snapshot.
	HashChanged bool
}

// Pollution is one CACHE_POLLUTION_DETECTED event.
type Pollution struct {
	Escrow   *Escrow // the escrow whose file has it: the one that met the wrong wallet
	Time     int64
	Role     string
	Reason   string
	WalletID string
	Expected string
	Actual   string
	Endpoint string // host:port as the event names it
	Port     int
	OtherID  string  // the escrow that opened the actual wallet, as the event names it
	Other    *Escrow // that escrow, when it is in the report
	// DetectedBy is who found it: "" for the process that made the call
	// (its own files and Tracker), escrowconv.DetectedByCollector for the
	// escrowtrace collector, which sees every process's calls.
	DetectedBy string
	// OtherInstance is the service.instance.id of the process that opened
	// the actual wallet, as the collector names it; "" in a process's own
	// findings.
	OtherInstance string
	// Call is the call of Escrow that met the wrong wallet, when the file
	// has it; else Snapshot is the snapshot during which it happened (its
	// calls are not in the file).
	Call     *Call
	Snapshot *Snapshot
	// Cause is the call of Other that opened the actual wallet on the
	// endpoint (the last successful open before Time), when the file has it;
	// CauseTime is when that happened (a snapshot's re-open when Cause is
	// nil), 0 when unknown.
	Cause     *Call
	CauseTime int64
}

// ByCollector reports whether the escrowtrace collector found p, across
// processes, rather than the process that made the call.
func (p *Pollution) ByCollector() bool { return p.DetectedBy == escrowconv.DetectedByCollector }

// ErrorFinal is an escrow's ERROR_FINAL event.
type ErrorFinal struct {
	Time      int64
	Role      string
	Message   string
	Round     int
	Operation string
	WalletID  string
	EscrowID  string
	When      string // RFC 3339, as the file says
}

// Endpoint is one wallet-rpc: its lane.
type Endpoint struct {
	Port      int
	Name      string // "127.0.0.1:18083" when an event names the host, else "port 18083"
	Calls     []*Call
	Rows      int // sub-rows the calls need so that none overlap
	Open      []Interval
	Pollution []*Pollution
	Escrows   []*Escrow // that made calls or took snapshots here
	Failed    int       // failed calls
}

// Interval says which wallet was open on an endpoint from Start to End.
type Interval struct {
	Start, End int64
	Escrow     *Escrow // nil when the wallet belongs to no escrow in the report
	Wallet     string
	Role       string
	// Source says how it is known: "open_wallet", "create_wallet",
	// "snapshot", "pollution" or "only user".
	Source string
}

// MethodStats are the statistics of one RPC method over all escrows.
type MethodStats struct {
	Method        string
	Count, Failed int
	P50, P95, Max int64 // ms
	TotalMs       int64
}

// Step is one event of an escrow's sequence, as Compare sees it: what
// happened, not when.
type Step struct {
	Key  string // event type, role and method, point or reason
	Time int64  // ms after the escrow's start
	Note string // the outcome: duration, error
}

// Outcomes of an escrow, as Escrow.Status spells them.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusPartial = "partial" // the root span never arrived: the file is _PARTIAL
)

// Status is StatusFailed, StatusPartial or StatusOK.
func (e *Escrow) Status() string {
	switch {
	case e.Failed:
		return StatusFailed
	case e.Partial:
		return StatusPartial
	}
	return StatusOK
}
