package assembly

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Stats are an Assembler's counters since New.
type Stats struct {
	FilesWritten   uint64 // files written, rewrites and partial files included
	PartialFiles   uint64 // _PARTIAL files written (root never arrived)
	LateRewrites   uint64 // files rewritten because a span ended after its root
	WriteErrors    uint64 // failed file writes (the events stayed buffered)
	DroppedEscrows uint64 // escrows given up after writes kept failing
	DroppedEvents  uint64 // events over the per-escrow limit
	NoEscrowTraces uint64 // traces that ended without an escrow (wallet calls outside any escrow): no file
	MergedPartials uint64 // _PARTIAL files merged into their escrow's final file and removed

	Pending   int // escrows buffered whose root has not arrived
	Finished  int // written escrows kept for late spans
	Unwritten int // escrows waiting for a file write (after an error, or in flight)
}

// Assembler turns the spans of escrow setups into legacy files, one per
// escrow, written when the escrow's root span has arrived. It is safe for
// concurrent use.
type Assembler struct {
	cfg  Config
	conv converter

	// writeMu serialises the writing of files, so that of two writes of
	// one escrow the newer content always lands last.
	writeMu sync.Mutex

	mu         sync.Mutex
	stopped    bool
	traces     map[trace.TraceID]*traceIdx
	pending    pendingList // escrows whose root has not arrived, oldest first
	finished   list.List   // written escrows kept for late spans, by finish time
	dirty      []*escrow   // escrows whose file is to be written
	ingestErrs []error     // from ingest, returned by Add
	stats      Stats
}

// New returns an Assembler writing to cfg.Dir, which it creates (mode
// 0700) when missing. It fails when cfg is not valid or the directory
// cannot be made.
func New(cfg Config) (*Assembler, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("assembly: %w", err)
	}
	if fi, err := os.Stat(cfg.Dir); err != nil {
		return nil, fmt.Errorf("assembly: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("assembly: %s is not a directory", cfg.Dir)
	}
	return &Assembler{
		cfg:    cfg,
		conv:   converter{rawAddresses: cfg.RawAddresses},
		traces: make(map[trace.TraceID]*traceIdx),
	}, nil
}

// Dir is the directory the files are written to.
func (a *Assembler) Dir() string { return a.cfg.Dir }

// Add buffers the escrow events the spans carry and writes the files of the
// escrows whose root span has arrived. Spans that carry nothing of an
// escrow are ignored. A failed write is reported here and retried by the
// next Add, Flush or Shutdown: the events stay buffered. When ctx is done
// the spans are still buffered but no file is written. After Shutdown, Add
// does nothing.
func (a *Assembler) Add(ctx context.Context, spans []Span) error {
	infos := make([]spanInfo, 0, len(spans))
	for i := range spans {
		if si := a.conv.convert(&spans[i]); si.relevant() {
			infos = append(infos, si)
		}
	}

	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return nil
	}
	for i := range infos {
		a.ingest(&infos[i])
	}
	a.evict()
	a.sweep(a.cfg.Clock())
	n := len(a.dirty)
	ingestErr := errors.Join(a.ingestErrs...)
	a.ingestErrs = nil
	a.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return errors.Join(ingestErr, err)
	}
	if n == 0 {
		return ingestErr
	}
	return errors.Join(ingestErr, a.flush(ctx))
}

// Flush retries the writes that failed before. It writes nothing for
// escrows whose root has not arrived.
func (a *Assembler) Flush(ctx context.Context) error {
	a.mu.Lock()
	a.sweep(a.cfg.Clock())
	a.mu.Unlock()
	return a.flush(ctx)
}

// Shutdown writes every buffered escrow, finished ones under their normal
// name and unfinished ones as _PARTIAL, and stops the Assembler: later Add
// calls do nothing. When ctx ends first, it returns ctx's error and what
// was not written stays buffered for another Shutdown call.
func (a *Assembler) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.stopped = true
	for a.pending.l.Len() > 0 {
		a.makePartial(a.pending.oldest())
	}
	a.mu.Unlock()
	return a.flush(ctx)
}

// Stats returns the counters.
func (a *Assembler) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Pending = a.pending.l.Len()
	s.Finished = a.finished.Len()
	s.Unwritten = len(a.dirty)
	return s
}
