package assembly

import (
	"container/list"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// This file keeps the Assembler's buffers: which escrows each trace has,
// which wait for their root, which are kept for late spans, and which
// files are to be written. Every method here runs with Assembler.mu held.

// traceIdx is what is buffered for one OTel trace: normally one escrow.
type traceIdx struct {
	escrows []*escrow
	// orphan holds the events of spans without an escrow id while the trace
	// has more than one escrow (or none yet) to give them to.
	orphan *escrow
}

// pendingList holds the escrows whose root has not arrived, oldest first,
// and is the one owner of the count of their events.
type pendingList struct {
	l       list.List
	records int
}

func (p *pendingList) push(b *escrow) {
	b.pendingEl = p.l.PushBack(b)
	p.records += len(b.events.records)
}

func (p *pendingList) remove(b *escrow) {
	if b.pendingEl == nil {
		return
	}
	p.l.Remove(b.pendingEl)
	b.pendingEl = nil
	p.records -= len(b.events.records)
}

// add appends recs to b's events, keeping the count.
func (p *pendingList) add(b *escrow, recs []record) {
	b.events.add(recs)
	if b.pending() {
		p.records += len(recs)
	}
}

func (p *pendingList) oldest() *escrow { return p.l.Front().Value.(*escrow) }

// ingest adds one span's contribution to its escrow.
func (a *Assembler) ingest(si *spanInfo) {
	tr := a.traces[si.tid]
	if si.localRoot && !si.isRoot && si.escrowID == "" && (tr == nil || len(tr.escrows) == 0) {
		// The trace has ended and no span of it belonged to an escrow: wallet
		// calls of an instrumented client made outside any escrow. The legacy
		// format is one file per escrow, so there is nothing to write.
		if tr != nil || len(si.records) > 0 {
			a.stats.NoEscrowTraces++
		}
		if tr != nil && tr.orphan != nil {
			b := tr.orphan
			a.pending.remove(b)
			a.removeDirty(b)
			a.forget(b)
		}
		return
	}
	if tr == nil {
		tr = &traceIdx{}
		a.traces[si.tid] = tr
	}
	b := a.escrowOf(tr, si)

	a.addRecords(b, si.records)
	b.fail.merge(si.failRound, si.failOp, si.failWallet, si.failAt)
	changed := len(si.records) > 0
	if si.isRoot && !b.orphan {
		changed = true
		b.root.legacyTraceID = si.legacyTraceID
		b.root.start, b.root.end = si.startNs, si.endNs
		b.root.failed, b.root.failDesc = si.failed, si.failDesc
		if !b.root.arrived {
			b.root.arrived, b.partial = true, false
			a.pending.remove(b)
			b.doneAt = a.cfg.Clock()
			b.finishedEl = a.finished.PushBack(b)
		}
	}
	if !changed {
		return
	}
	if b.root.arrived || b.partial {
		if b.root.arrived && b.out.written > 0 && len(si.records) > 0 {
			b.out.late = true
		}
		a.markDirty(b)
	}
	b.out.version++
}

// escrowOf returns the escrow of trace tr that the span belongs to, made
// when new. A span without an escrow id goes to the trace's only escrow,
// else to its orphan; the orphan's events join the first escrow that
// appears.
func (a *Assembler) escrowOf(tr *traceIdx, si *spanInfo) *escrow {
	if si.escrowID == "" {
		if len(tr.escrows) == 1 {
			return tr.escrows[0]
		}
		if tr.orphan == nil {
			tr.orphan = a.newEscrow(si.tid, "", true)
		}
		return tr.orphan
	}
	for _, x := range tr.escrows {
		if x.id == si.escrowID {
			return x
		}
	}
	b := a.newEscrow(si.tid, si.escrowID, false)
	tr.escrows = append(tr.escrows, b)
	if tr.orphan != nil && len(tr.escrows) == 1 && !tr.orphan.partial {
		a.adopt(b, tr.orphan)
		tr.orphan = nil
	}
	return b
}

func (a *Assembler) newEscrow(tid trace.TraceID, id string, orphan bool) *escrow {
	b := &escrow{tid: tid, id: id, orphan: orphan}
	a.pending.push(b)
	return b
}

// addRecords appends records to b within the per-escrow limit.
func (a *Assembler) addRecords(b *escrow, recs []record) {
	room := a.cfg.MaxEventsPerEscrow - len(b.events.records)
	if len(recs) > room {
		room = max(room, 0)
		a.stats.DroppedEvents += uint64(len(recs) - room)
		a.ingestErrs = append(a.ingestErrs, fmt.Errorf("assembly: escrow %q: %d events over the limit of %d dropped",
			b.id, len(recs)-room, a.cfg.MaxEventsPerEscrow))
		recs = recs[:room]
	}
	if len(recs) > 0 {
		a.pending.add(b, recs)
	}
}

// adopt moves the events of an orphan into b.
func (a *Assembler) adopt(b, orphan *escrow) {
	a.pending.remove(orphan)
	a.removeDirty(orphan)
	a.addRecords(b, orphan.events.records)
	b.fail.merge(orphan.fail.round, orphan.fail.op, orphan.fail.wallet, orphan.fail.at)
}

// makePartial takes an escrow whose root has not arrived out of the
// pending list, to be written as _PARTIAL and forgotten.
func (a *Assembler) makePartial(b *escrow) {
	a.pending.remove(b)
	b.partial = true
	b.out.version++
	a.markDirty(b)
}

// evict writes the oldest unfinished escrows as _PARTIAL while there are too
// many of them or too many buffered events.
func (a *Assembler) evict() {
	maxRecs := a.cfg.MaxPendingTraces * eventsPerTraceBudget
	for n := a.pending.l.Len(); n > 0 && (n > a.cfg.MaxPendingTraces || a.pending.records > maxRecs); n = a.pending.l.Len() {
		a.makePartial(a.pending.oldest())
	}
}

// sweep forgets written escrows whose grace period for late spans is over,
// or the oldest ones when too many are kept.
func (a *Assembler) sweep(now time.Time) {
	for el := a.finished.Front(); el != nil; {
		b := el.Value.(*escrow)
		if a.finished.Len() <= a.cfg.MaxPendingTraces && now.Sub(b.doneAt) < a.cfg.LateSpanGrace {
			return
		}
		next := el.Next()
		if !b.out.dirty {
			a.finished.Remove(el)
			b.finishedEl = nil
			a.forget(b)
		}
		el = next
	}
}

// forget removes b from the index.
func (a *Assembler) forget(b *escrow) {
	tr := a.traces[b.tid]
	if tr == nil {
		return
	}
	if tr.orphan == b {
		tr.orphan = nil
	}
	if i := slices.Index(tr.escrows, b); i >= 0 {
		tr.escrows = slices.Delete(tr.escrows, i, i+1)
	}
	if tr.orphan == nil && len(tr.escrows) == 0 {
		delete(a.traces, b.tid)
	}
}

func (a *Assembler) markDirty(b *escrow) {
	if !b.out.dirty {
		b.out.dirty = true
		a.dirty = append(a.dirty, b)
	}
}

func (a *Assembler) removeDirty(b *escrow) {
	if b.out.dirty {
		b.out.dirty = false
		if i := slices.Index(a.dirty, b); i >= 0 {
			a.dirty = slices.Delete(a.dirty, i, i+1)
		}
	}
}

// dropOverflow gives up the oldest unwritten escrows when writes have kept
// failing for more escrows than MaxPendingTraces, so that memory stays
// bounded. It says so in the returned errors.
func (a *Assembler) dropOverflow() []error {
	over := len(a.dirty) - a.cfg.MaxPendingTraces
	if over <= 0 {
		return nil
	}
	var errs []error
	for _, b := range a.dirty[:over] {
		b.out.dirty = false
		a.pending.remove(b)
		if b.finishedEl != nil {
			a.finished.Remove(b.finishedEl)
			b.finishedEl = nil
		}
		a.forget(b)
		a.stats.DroppedEscrows++
		errs = append(errs, fmt.Errorf("assembly: escrow %q: %d events dropped: too many unwritten escrows", b.id, len(b.events.records)))
	}
	a.dirty = slices.Delete(a.dirty, 0, over)
	return errs
}
