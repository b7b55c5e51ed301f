package assembly

import (
	"container/list"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// escrow is what is buffered for one escrow of one OTel trace (or, as an
// orphan, for the spans of a trace not yet known to belong to one).
type escrow struct {
	tid    trace.TraceID
	id     string
	orphan bool
	events eventBuf
	root   rootInfo
	fail   firstFailure
	// partial: to be written as _PARTIAL and forgotten (its root has not
	// arrived and it was evicted, or the Assembler is shutting down).
	partial bool

	pendingEl  *list.Element // in Assembler.pending while the root has not arrived
	finishedEl *list.Element // in Assembler.finished once it has
	doneAt     time.Time     // when the root arrived (Config.Clock)

	out fileState
}

// eventBuf holds an escrow's events in arrival order.
type eventBuf struct {
	records []record
	seq     uint32   // arrival number of the next record
	strs    []string // interned strings, see intern
}

// rootInfo is what the root span ("escrow.setup") brought.
type rootInfo struct {
	arrived       bool
	legacyTraceID string // escrow.trace_id
	start, end    int64  // unix ns
	failed        bool
	failDesc      string
}

// firstFailure is the earliest failed call and round, for an ERROR_FINAL
// made from the root's status when the trace has no escrow.error event.
type firstFailure struct {
	round  int
	op     string
	wallet string
	at     int64
}

func (f *firstFailure) merge(round int, op, wallet string, at int64) {
	if op != "" && (f.op == "" || at < f.at) {
		f.op, f.wallet, f.at = op, wallet, at
	}
	if round != 0 && (f.round == 0 || round < f.round) {
		f.round = round
	}
}

// fileState tracks the escrow's file.
type fileState struct {
	dirty   bool   // in Assembler.dirty: its file is to be written
	version uint64 // bumped on every change
	written uint64 // version of the last successful write
	path    string // last file written
	late    bool   // the next write is a late rewrite
}

// pending reports whether the escrow waits for its root in the pending list.
func (b *escrow) pending() bool { return b.pendingEl != nil }

// maxInterned bounds the strings an escrow shares among its events: the
// wallet ids, file names, addresses and their hashes of a 2-of-3 setup are
// about 20.
const maxInterned = 32

// intern returns a copy of s that the escrow's events share, so that an
// address seen at seven snapshot points is held once, and so that no event
// keeps alive whatever larger buffer an attribute value may point into.
func (e *eventBuf) intern(s string) string {
	if s == "" {
		return ""
	}
	for _, x := range e.strs {
		if x == s {
			return x
		}
	}
	c := strings.Clone(s)
	if len(e.strs) < maxInterned {
		e.strs = append(e.strs, c)
	}
	return c
}

// add appends recs, numbering them in arrival order.
func (e *eventBuf) add(recs []record) {
	if e.records == nil {
		// A 2-of-3 setup has 45 events: one allocation for most escrows.
		e.records = make([]record, 0, max(len(recs), 48))
	}
	for _, r := range recs {
		if d, ok := r.details.(*escrowjson.Snapshot); ok {
			d.WalletID = e.intern(d.WalletID)
			d.Address = e.intern(d.Address)
			d.AddressHash = e.intern(d.AddressHash)
			d.WalletFilename = e.intern(d.WalletFilename)
		}
		r.seq = e.seq
		e.seq++
		e.records = append(e.records, r)
	}
}

// fileID is the id the escrow's file and events are named by: its
// escrow.id, or for an orphan "otel-<trace id>".
func (b *escrow) fileID() string {
	if b.orphan {
		return "otel-" + b.tid.String()
	}
	return b.id
}

// fileName is the file the escrow's events go to now.
func (b *escrow) fileName() string {
	if b.root.arrived {
		return escrowjson.FileName(b.fileID(), b.root.failed)
	}
	return escrowjson.PartialFileName(b.fileID())
}

// legacyTraceID is the trace_id of the escrow's events: escrow.trace_id,
// else rebuilt the legacy way as "<id>-<ms>" from the root's start, else
// from the first event.
func (b *escrow) legacyTraceID() string {
	if b.root.legacyTraceID != "" {
		return b.root.legacyTraceID
	}
	start := b.root.start
	if !b.root.arrived {
		start = 0
		for i := range b.events.records {
			if at := b.events.records[i].at; start == 0 || at < start {
				start = at
			}
		}
	}
	return b.fileID() + "-" + strconv.FormatInt(msOf(start), 10)
}

// fileRecords returns a copy of the events of the escrow's file: with, for a
// failed escrow whose trace has no escrow.error event, an ERROR_FINAL made
// from the root's status and the first failed call.
func (b *escrow) fileRecords() []record {
	recs := make([]record, len(b.events.records), len(b.events.records)+1)
	copy(recs, b.events.records)
	if !b.root.arrived || !b.root.failed {
		return recs
	}
	for i := range recs {
		if recs[i].typ == escrowjson.TypeErrorFinal {
			return recs
		}
	}
	return append(recs, record{
		at: b.root.end, seq: b.events.seq, typ: escrowjson.TypeErrorFinal, role: escrowjson.RoleCoordinator,
		details: &escrowjson.ErrorFinal{
			Error: b.root.failDesc,
			Context: escrowjson.ErrorContext{
				Round:     b.fail.round,
				Operation: b.fail.op,
				WalletID:  b.fail.wallet,
				EscrowID:  b.fileID(),
				Timestamp: rfc3339(b.root.end),
			},
		},
	})
}
