package assembly

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// writeJob is one file to write, with a copy of what goes in it.
type writeJob struct {
	b        *escrow
	version  uint64
	escrowID string
	name     string
	traceID  string
	records  []record
	late     bool
	partial  bool
	err      error
	path     string // set when written
	merged   bool   // an earlier _PARTIAL file was merged in and removed
}

// newJob copies what b's file needs. a.mu is held.
func newJob(b *escrow) writeJob {
	return writeJob{
		b: b, version: b.out.version, escrowID: b.fileID(), name: b.fileName(),
		traceID: b.legacyTraceID(), records: b.fileRecords(),
		late: b.out.late, partial: b.partial && !b.root.arrived,
	}
}

// flush writes the files of all dirty escrows.
func (a *Assembler) flush(ctx context.Context) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()

	a.mu.Lock()
	jobs := make([]writeJob, 0, len(a.dirty))
	for _, b := range a.dirty {
		jobs = append(jobs, newJob(b))
	}
	a.mu.Unlock()
	if len(jobs) == 0 {
		return nil
	}

	a.runJobs(ctx, jobs)

	a.mu.Lock()
	errs, written := a.settle(ctx, jobs)
	errs = append(errs, a.dropOverflow()...)
	a.sweep(a.cfg.Clock())
	a.mu.Unlock()

	// Remove a file that an escrow's new file replaces (a _PARTIAL file
	// written before its root arrived) and tell the caller, in write order.
	for _, j := range written {
		if old := j.b.out.path; old != "" && old != j.path {
			if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("assembly: remove replaced file: %w", err))
			}
		}
		j.b.out.path = j.path
		if a.cfg.OnWrite != nil {
			a.cfg.OnWrite(j.escrowID, j.path)
		}
	}
	return errors.Join(errs...)
}

// settle records the outcome of jobs: counters, and which escrows are clean
// again. It returns the write errors and the jobs that wrote a file. a.mu
// is held.
func (a *Assembler) settle(ctx context.Context, jobs []writeJob) (errs []error, written []*writeJob) {
	skipped := false
	for i := range jobs {
		j := &jobs[i]
		b := j.b
		if j.merged {
			a.stats.MergedPartials++
		}
		if j.err != nil && j.path != "" {
			// Written, but the merged partial file could not be removed.
			errs = append(errs, j.err)
			j.err = nil
		}
		if j.err != nil {
			if !errors.Is(j.err, context.Canceled) && !errors.Is(j.err, context.DeadlineExceeded) {
				a.stats.WriteErrors++
				errs = append(errs, j.err)
			}
			continue
		}
		if j.path == "" { // not run: ctx ended
			skipped = true
			continue
		}
		written = append(written, j)
		a.stats.FilesWritten++
		if j.partial {
			a.stats.PartialFiles++
		}
		if j.late {
			a.stats.LateRewrites++
		}
		b.out.written = j.version
		if b.out.version == j.version {
			b.out.late = false
			a.removeDirty(b)
			if b.partial {
				a.forget(b)
			}
		}
	}
	if skipped {
		errs = append(errs, fmt.Errorf("assembly: files left unwritten: %w", context.Cause(ctx)))
	}
	return errs, written
}

// runJobs writes the files, a few at a time. A job whose turn comes after
// ctx ended is left undone (path "").
func (a *Assembler) runJobs(ctx context.Context, jobs []writeJob) {
	work := func(j *writeJob) {
		if ctx.Err() != nil {
			return
		}
		var partial string // an earlier _PARTIAL file of the escrow, merged in
		if !j.partial {
			var err error
			if j.records, partial, err = mergePartial(a.cfg.Dir, j.escrowID, j.records); err != nil {
				j.err = fmt.Errorf("assembly: escrow %q: %w", j.escrowID, err)
				return
			}
		}
		enc := encoders.Get().(*fileEncoder)
		data, err := enc.render(j.traceID, j.records)
		if err == nil {
			err = writeFileAtomic(a.cfg.Dir, j.name, data, a.cfg.FileMode, a.cfg.Sync)
		}
		encoders.Put(enc)
		if err != nil {
			j.err = fmt.Errorf("assembly: escrow %q: %w", j.escrowID, err)
			return
		}
		j.path = filepath.Join(a.cfg.Dir, j.name)
		if partial != "" {
			// Its events are in the final file now.
			if err := os.Remove(partial); err != nil && !errors.Is(err, os.ErrNotExist) {
				j.err = fmt.Errorf("assembly: escrow %q: remove merged partial file: %w", j.escrowID, err)
			}
			j.merged = true
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

// mergePartial adds to recs the events of the escrow's _PARTIAL file in dir,
// if there is one: written when the escrow's root had not arrived (its
// events were evicted, or the process or collector holding them stopped),
// they belong in its final file. An event already among recs (the same
// span delivered twice, around a restart) is not added again. It returns
// the file's path when there was one.
func mergePartial(dir, escrowID string, recs []record) ([]record, string, error) {
	path := filepath.Join(dir, escrowjson.PartialFileName(escrowID))
	events, err := escrowjson.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return recs, "", nil
	}
	if err != nil {
		return recs, "", fmt.Errorf("merge partial file: %w", err)
	}
	have := len(recs)
	for i := range events {
		r := recordOf(&events[i])
		if !slices.ContainsFunc(recs[:have], r.equal) {
			recs = append(recs, r)
		}
	}
	// The file's events came first: number them before the others, for
	// the order of events of one millisecond.
	n := uint32(len(recs) - have)
	for i := range recs {
		if i < have {
			recs[i].seq += n
		} else {
			recs[i].seq = uint32(i - have)
		}
	}
	return recs, path, nil
}
