package jsonfile

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// Stats are the Exporter's counters since New.
type Stats struct {
	FilesWritten   uint64 // files written, rewrites and partial files included
	PartialFiles   uint64 // _PARTIAL files written (root never arrived)
	LateRewrites   uint64 // files rewritten because a span ended after its root
	WriteErrors    uint64 // failed file writes (the events stayed buffered)
	DroppedEscrows uint64 // escrows given up after writes kept failing
	DroppedEvents  uint64 // events over the per-escrow limit
	NoEscrowTraces uint64 // traces that ended without an escrow (wallet calls outside any escrow): no file

	Pending   int // escrows buffered whose root has not arrived
	Finished  int // written escrows kept for late spans
	Unwritten int // escrows waiting for a file write (after an error, or in flight)
}

// Exporter writes the spans of escrow setups as legacy escrow_*.json files,
// one per escrow, when the escrow's root span has ended.
type Exporter struct {
	cfg  config
	conv converter

	// writeMu serialises the writing of files, so that of two writes of
	// one escrow the newer content always lands last.
	writeMu sync.Mutex

	mu          sync.Mutex
	stopped     bool
	traces      map[trace.TraceID]*traceIdx
	pending     *list.List // unfinished escrows, oldest first
	finished    *list.List // written escrows kept for late spans, by finish time
	dirty       []*escrowBuf
	pendingRecs int     // records in unfinished escrows
	ingestErrs  []error // from ingest, returned by ExportSpans
	stats       Stats
}

// traceIdx is what is buffered for one OTel trace: normally one escrow.
type traceIdx struct {
	escrows []*escrowBuf
	// orphan holds the events of spans without an escrow id while the trace
	// has more than one escrow (or none yet) to give them to.
	orphan *escrowBuf
}

type escrowBuf struct {
	tid      trace.TraceID
	escrowID string
	orphan   bool
	records  []record
	seq      uint32
	strs     []string // interned strings, see intern

	finished      bool // the root arrived
	partial       bool // to be written as _PARTIAL and forgotten
	failed        bool
	failDesc      string
	legacyTraceID string
	rootStart     int64
	rootEnd       int64
	failRound     int
	failOp        string
	failWallet    string
	failAt        int64

	elem    *list.Element // in pending or finished
	doneAt  time.Time     // when the root arrived (clock)
	dirty   bool
	version uint64 // bumped on every change
	written uint64 // version of the last successful write
	path    string // last file written
	late    bool   // the next write is a late rewrite
}

// New returns an Exporter writing to the directory set by WithDir, which it
// creates when missing.
func New(opts ...Option) (*Exporter, error) {
	cfg := newConfig(opts)
	if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
		return nil, fmt.Errorf("jsonfile: %w", err)
	}
	if fi, err := os.Stat(cfg.dir); err != nil {
		return nil, fmt.Errorf("jsonfile: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("jsonfile: %s is not a directory", cfg.dir)
	}
	return &Exporter{
		cfg:      cfg,
		conv:     converter{rawAddresses: cfg.rawAddresses},
		traces:   make(map[trace.TraceID]*traceIdx),
		pending:  list.New(),
		finished: list.New(),
	}, nil
}

// ExportSpans buffers the escrow events the spans carry and writes the files
// of the escrows whose root span has arrived. Spans that carry nothing of an
// escrow are ignored. A failed write is reported here and retried by the next
// call, ForceFlush or Shutdown: the events stay buffered. When ctx is done
// the spans are still buffered but no file is written.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	infos := make([]spanInfo, 0, len(spans))
	for _, s := range spans {
		if s == nil {
			continue
		}
		if si := e.conv.convert(s); si.relevant() {
			infos = append(infos, si)
		}
	}

	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	for i := range infos {
		e.ingest(&infos[i])
	}
	e.evict()
	e.sweep(e.cfg.clock())
	n := len(e.dirty)
	ingestErr := errors.Join(e.ingestErrs...)
	e.ingestErrs = nil
	e.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return errors.Join(ingestErr, err)
	}
	if n == 0 {
		return ingestErr
	}
	return errors.Join(ingestErr, e.flush(ctx))
}

// ForceFlush retries the writes that failed before. It writes nothing for
// escrows whose root has not arrived.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	e.mu.Lock()
	e.sweep(e.cfg.clock())
	e.mu.Unlock()
	return e.flush(ctx)
}

// Shutdown writes every buffered escrow, finished ones under their normal
// name and unfinished ones as _PARTIAL, and stops the exporter: later
// ExportSpans calls do nothing. When ctx ends first, it returns ctx's error
// and what was not written stays buffered for another Shutdown call.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.stopped = true
	for el := e.pending.Front(); el != nil; {
		next := el.Next()
		e.makePartial(el.Value.(*escrowBuf))
		el = next
	}
	e.mu.Unlock()
	return e.flush(ctx)
}

// Stats returns the counters.
func (e *Exporter) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Pending = e.pending.Len()
	s.Finished = e.finished.Len()
	s.Unwritten = len(e.dirty)
	return s
}

// MarshalLog describes the Exporter for OTel's logging.
func (e *Exporter) MarshalLog() any {
	return struct {
		Type string
		Dir  string
	}{Type: "jsonfile", Dir: e.cfg.dir}
}

// ingest adds one span's contribution to its escrow. e.mu is held.
func (e *Exporter) ingest(si *spanInfo) {
	tr := e.traces[si.tid]
	if si.localRoot && !si.isRoot && si.escrowID == "" && (tr == nil || len(tr.escrows) == 0) {
		// The trace has ended and no span of it belonged to an escrow: wallet
		// calls of an instrumented client made outside any escrow. The legacy
		// format is one file per escrow, so there is nothing to write.
		if tr != nil || len(si.records) > 0 {
			e.stats.NoEscrowTraces++
		}
		if tr != nil && tr.orphan != nil {
			b := tr.orphan
			if b.elem != nil && !b.finished {
				e.pending.Remove(b.elem)
				e.pendingRecs -= len(b.records)
				b.elem = nil
			}
			e.removeDirty(b)
			e.forget(b)
		}
		return
	}
	if tr == nil {
		tr = &traceIdx{}
		e.traces[si.tid] = tr
	}
	var b *escrowBuf
	if si.escrowID == "" {
		if len(tr.escrows) == 1 {
			b = tr.escrows[0]
		} else {
			if tr.orphan == nil {
				tr.orphan = e.newBuf(si.tid, "", true)
			}
			b = tr.orphan
		}
	} else {
		for _, x := range tr.escrows {
			if x.escrowID == si.escrowID {
				b = x
				break
			}
		}
		if b == nil {
			b = e.newBuf(si.tid, si.escrowID, false)
			tr.escrows = append(tr.escrows, b)
		}
		if tr.orphan != nil && len(tr.escrows) == 1 && !tr.orphan.partial {
			e.adopt(b, tr.orphan)
			tr.orphan = nil
		}
	}

	e.addRecords(b, si.records)
	if si.failOp != "" && (b.failOp == "" || si.failAt < b.failAt) {
		b.failOp, b.failWallet, b.failAt = si.failOp, si.failWallet, si.failAt
	}
	if si.failRound != 0 && (b.failRound == 0 || si.failRound < b.failRound) {
		b.failRound = si.failRound
	}
	changed := len(si.records) > 0
	if si.isRoot && !b.orphan {
		changed = true
		b.legacyTraceID = si.legacyTraceID
		b.rootStart, b.rootEnd = si.startNs, si.endNs
		b.failed, b.failDesc = si.failed, si.failDesc
		if !b.finished {
			b.finished, b.partial = true, false
			if b.elem != nil {
				e.pending.Remove(b.elem)
				e.pendingRecs -= len(b.records)
			}
			b.doneAt = e.cfg.clock()
			b.elem = e.finished.PushBack(b)
		}
	}
	if !changed {
		return
	}
	if b.finished || b.partial {
		if b.finished && b.written > 0 && len(si.records) > 0 {
			b.late = true
		}
		e.markDirty(b)
	}
	b.version++
}

func (e *Exporter) newBuf(tid trace.TraceID, escrowID string, orphan bool) *escrowBuf {
	b := &escrowBuf{tid: tid, escrowID: escrowID, orphan: orphan}
	b.elem = e.pending.PushBack(b)
	return b
}

// addRecords appends records to b within the per-escrow limit.
func (e *Exporter) addRecords(b *escrowBuf, recs []record) {
	room := e.cfg.maxEventsPerTrace - len(b.records)
	if len(recs) > room {
		room = max(room, 0)
		e.stats.DroppedEvents += uint64(len(recs) - room)
		e.ingestErrs = append(e.ingestErrs, fmt.Errorf("jsonfile: escrow %q: %d events over the limit of %d dropped",
			b.escrowID, len(recs)-room, e.cfg.maxEventsPerTrace))
		recs = recs[:room]
	}
	if len(recs) == 0 {
		return
	}
	if b.records == nil {
		// A 2-of-3 setup has 45 events: one allocation for most escrows.
		b.records = make([]record, 0, max(len(recs), 48))
	}
	for _, r := range recs {
		if d, ok := r.details.(*Snapshot); ok {
			d.WalletID = b.intern(d.WalletID)
			d.Address = b.intern(d.Address)
			d.AddressHash = b.intern(d.AddressHash)
			d.WalletFilename = b.intern(d.WalletFilename)
		}
		r.seq = b.seq
		b.seq++
		b.records = append(b.records, r)
	}
	if !b.finished && b.elem != nil && !b.partial {
		e.pendingRecs += len(recs)
	}
}

// maxInterned bounds the strings an escrow shares among its events: the
// wallet ids, file names, addresses and their hashes of a 2-of-3 setup are
// about 20.
const maxInterned = 32

// intern returns a copy of s that the escrow's events share, so that an
// address seen at seven snapshot points is held once, and so that no event
// keeps alive whatever larger buffer an attribute value may point into.
func (b *escrowBuf) intern(s string) string {
	if s == "" {
		return ""
	}
	for _, x := range b.strs {
		if x == s {
			return x
		}
	}
	c := strings.Clone(s)
	if len(b.strs) < maxInterned {
		b.strs = append(b.strs, c)
	}
	return c
}

// adopt moves the records of an orphan buffer into b.
func (e *Exporter) adopt(b, orphan *escrowBuf) {
	if orphan.elem != nil {
		e.pending.Remove(orphan.elem)
		e.pendingRecs -= len(orphan.records)
		orphan.elem = nil
	}
	e.removeDirty(orphan)
	e.addRecords(b, orphan.records)
	if orphan.failOp != "" && (b.failOp == "" || orphan.failAt < b.failAt) {
		b.failOp, b.failWallet, b.failAt = orphan.failOp, orphan.failWallet, orphan.failAt
	}
	if orphan.failRound != 0 && (b.failRound == 0 || orphan.failRound < b.failRound) {
		b.failRound = orphan.failRound
	}
}

// makePartial takes an unfinished escrow out of the pending list, to be
// written as _PARTIAL and forgotten. e.mu is held.
func (e *Exporter) makePartial(b *escrowBuf) {
	if b.elem != nil && !b.finished {
		e.pending.Remove(b.elem)
		e.pendingRecs -= len(b.records)
		b.elem = nil
	}
	b.partial = true
	b.version++
	e.markDirty(b)
}

// evict writes the oldest unfinished escrows as _PARTIAL while there are too
// many of them or too many buffered events. e.mu is held.
func (e *Exporter) evict() {
	maxRecs := e.cfg.maxPending * eventsPerTraceBudget
	for e.pending.Len() > e.cfg.maxPending || (e.pendingRecs > maxRecs && e.pending.Len() > 0) {
		e.makePartial(e.pending.Front().Value.(*escrowBuf))
	}
}

// sweep forgets written escrows whose grace period for late spans is over,
// or the oldest ones when too many are kept. e.mu is held.
func (e *Exporter) sweep(now time.Time) {
	for el := e.finished.Front(); el != nil; {
		b := el.Value.(*escrowBuf)
		if e.finished.Len() <= e.cfg.maxPending && now.Sub(b.doneAt) < e.cfg.lateGrace {
			return
		}
		next := el.Next()
		if !b.dirty {
			e.finished.Remove(el)
			b.elem = nil
			e.forget(b)
		}
		el = next
	}
}

// forget removes b from the index. e.mu is held.
func (e *Exporter) forget(b *escrowBuf) {
	tr := e.traces[b.tid]
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
		delete(e.traces, b.tid)
	}
}

func (e *Exporter) markDirty(b *escrowBuf) {
	if !b.dirty {
		b.dirty = true
		e.dirty = append(e.dirty, b)
	}
}

func (e *Exporter) removeDirty(b *escrowBuf) {
	if b.dirty {
		b.dirty = false
		if i := slices.Index(e.dirty, b); i >= 0 {
			e.dirty = slices.Delete(e.dirty, i, i+1)
		}
	}
}

// writeJob is one file to write, with a copy of what goes in it.
type writeJob struct {
	b        *escrowBuf
	version  uint64
	escrowID string
	name     string
	traceID  string
	records  []record
	late     bool
	partial  bool
	err      error
	path     string
}

// flush writes the files of all dirty escrows.
func (e *Exporter) flush(ctx context.Context) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()

	e.mu.Lock()
	jobs := make([]writeJob, 0, len(e.dirty))
	for _, b := range e.dirty {
		jobs = append(jobs, e.job(b))
	}
	e.mu.Unlock()
	if len(jobs) == 0 {
		return nil
	}

	e.runJobs(ctx, jobs)

	e.mu.Lock()
	var errs []error
	var writtenIdx []int
	skipped := false
	for i := range jobs {
		j := &jobs[i]
		b := j.b
		if j.err != nil {
			if !errors.Is(j.err, context.Canceled) && !errors.Is(j.err, context.DeadlineExceeded) {
				e.stats.WriteErrors++
				errs = append(errs, j.err)
			}
			continue
		}
		if j.path == "" { // not run: ctx ended
			skipped = true
			continue
		}
		writtenIdx = append(writtenIdx, i)
		e.stats.FilesWritten++
		if j.partial {
			e.stats.PartialFiles++
		}
		if j.late {
			e.stats.LateRewrites++
		}
		b.written = j.version
		if b.version == j.version {
			b.late = false
			e.removeDirty(b)
			if b.partial {
				e.forget(b)
			}
		}
	}
	if skipped {
		errs = append(errs, fmt.Errorf("jsonfile: files left unwritten: %w", context.Cause(ctx)))
	}
	errs = append(errs, e.dropOverflow()...)
	e.sweep(e.cfg.clock())
	e.mu.Unlock()

	// Remove a file that an escrow's new file replaces (a _PARTIAL file
	// written before its root arrived) and tell the caller, in write order.
	for _, i := range writtenIdx {
		j := &jobs[i]
		if old := j.b.path; old != "" && old != j.path {
			if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("jsonfile: remove replaced file: %w", err))
			}
		}
		j.b.path = j.path
		if e.cfg.onWrite != nil {
			e.cfg.onWrite(j.escrowID, j.path)
		}
	}
	return errors.Join(errs...)
}

// dropOverflow gives up the oldest unwritten escrows when writes have kept
// failing for more escrows than the trace limit, so that memory stays
// bounded. It says so in the returned errors. e.mu is held.
func (e *Exporter) dropOverflow() []error {
	over := len(e.dirty) - e.cfg.maxPending
	if over <= 0 {
		return nil
	}
	var errs []error
	for _, b := range e.dirty[:over] {
		b.dirty = false
		if b.elem != nil {
			if b.finished {
				e.finished.Remove(b.elem)
			} else {
				e.pending.Remove(b.elem)
				e.pendingRecs -= len(b.records)
			}
			b.elem = nil
		}
		e.forget(b)
		e.stats.DroppedEscrows++
		errs = append(errs, fmt.Errorf("jsonfile: escrow %q: %d events dropped: too many unwritten escrows", b.escrowID, len(b.records)))
	}
	e.dirty = slices.Delete(e.dirty, 0, over)
	return errs
}

// job copies what a file needs from b. e.mu is held.
func (e *Exporter) job(b *escrowBuf) writeJob {
	id := b.escrowID
	if b.orphan {
		id = "otel-" + b.tid.String()
	}
	recs := slices.Clone(b.records)
	if b.finished && b.failed && !slices.ContainsFunc(recs, func(r record) bool { return r.typ == TypeErrorFinal }) {
		recs = append(recs, b.synthErrorFinal(id))
	}
	j := writeJob{
		b: b, version: b.version, escrowID: id, records: recs,
		late: b.late, partial: b.partial && !b.finished,
	}
	switch {
	case b.finished:
		j.name = FileName(id, b.failed)
	default:
		j.name = PartialFileName(id)
	}
	j.traceID = b.legacyTraceID
	if j.traceID == "" {
		// No escrow.trace_id (or no root yet): rebuild it the legacy way
		// from the root's start, else the first event.
		start := b.rootStart
		if !b.finished {
			start = 0
			for i := range recs {
				if start == 0 || recs[i].at < start {
					start = recs[i].at
				}
			}
		}
		j.traceID = id + "-" + strconv.FormatInt(msOf(start), 10)
	}
	return j
}

// synthErrorFinal makes the ERROR_FINAL event of a failed escrow whose trace
// has no escrow.error event, from the root's status and the first failed
// call.
func (b *escrowBuf) synthErrorFinal(id string) record {
	return record{
		at: b.rootEnd, seq: b.seq, typ: TypeErrorFinal, role: RoleCoordinator,
		details: &ErrorFinal{
			Error: b.failDesc,
			Context: ErrorContext{
				Round:     b.failRound,
				Operation: b.failOp,
				WalletID:  b.failWallet,
				EscrowID:  id,
				Timestamp: rfc3339(b.rootEnd),
			},
		},
	}
}

// runJobs writes the files, a few at a time. A job whose turn comes after
// ctx ended is left undone (path "").
func (e *Exporter) runJobs(ctx context.Context, jobs []writeJob) {
	work := func(j *writeJob) {
		if ctx.Err() != nil {
			return
		}
		data := encode(j.traceID, j.records)
		j.path = filepath.Join(e.cfg.dir, j.name)
		if err := writeFileAtomic(e.cfg.dir, j.name, data, e.cfg.fileMode, e.cfg.sync); err != nil {
			j.path = ""
			j.err = fmt.Errorf("jsonfile: escrow %q: %w", j.escrowID, err)
		}
	}
	if len(jobs) == 1 {
		work(&jobs[0])
		return
	}
	next := make(chan *writeJob)
	var wg sync.WaitGroup
	for range min(len(jobs), maxWriters) {
		wg.Go(func() {
			for j := range next {
				work(j)
			}
		})
	}
	for i := range jobs {
		next <- &jobs[i]
	}
	close(next)
	wg.Wait()
}

// writeFileAtomic writes data to dir/name through a temporary file in dir,
// so that a reader sees the old file or the new one, never a part.
func writeFileAtomic(dir, name string, data []byte, mode os.FileMode, sync bool) (err error) {
	if !filepath.IsLocal(name) || filepath.Base(name) != name {
		return fmt.Errorf("unsafe file name %q", name)
	}
	f, err := os.CreateTemp(dir, ".escrow-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if sync {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}
