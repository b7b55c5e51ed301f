package escrowjsonexporter

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/escrowtrace/escrowtrace/exporter/assembly"
)

// escrowJSONExporter is the Collector front end of package assembly: it
// hands the spans of every service to one Assembler, which writes a file
// per escrow when the escrow's root span has arrived.
type escrowJSONExporter struct {
	cfg    *Config
	logger *zap.Logger
	set    component.TelemetrySettings

	asm  *assembly.Assembler
	tel  *telemetry
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func newExporter(cfg *Config, set exporter.Settings) (*escrowJSONExporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &escrowJSONExporter{cfg: cfg, logger: set.Logger, set: set.TelemetrySettings}, nil
}

// start makes the directory and the Assembler; a directory that cannot be
// made stops the collector from starting, with the reason.
func (e *escrowJSONExporter) start(context.Context, component.Host) error {
	asm, err := assembly.New(assembly.Config{
		Dir:                e.cfg.Directory,
		FileMode:           0o600,
		MaxPendingTraces:   e.cfg.MaxPendingTraces,
		MaxEventsPerEscrow: e.cfg.MaxEventsPerEscrow,
		LateSpanGrace:      e.cfg.LateSpanGrace,
		RawAddresses:       e.cfg.RawAddresses,
		Sync:               e.cfg.Sync,
	})
	if err != nil {
		return err
	}
	tel, err := newTelemetry(e.set, asm)
	if err != nil {
		return err
	}
	e.asm, e.tel = asm, tel
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.wg.Go(func() { e.flushLoop(ctx) })
	return nil
}

// pushTraces buffers the batch's escrow events and writes the files that
// are due. It fails only when the Assembler has not started: a failed write
// leaves the events buffered, to be written by a later push or the flush
// loop, so it is logged and counted but not returned (the pipeline would
// retry the batch and add its events twice).
func (e *escrowJSONExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	if err := e.asm.Add(ctx, fromPdata(td)); err != nil {
		e.logger.Warn("escrow files not written yet; the events stay buffered and are retried",
			zap.Error(err), zap.String("directory", e.cfg.Directory))
	}
	return nil
}

func (e *escrowJSONExporter) flushLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.asm.Flush(ctx); err != nil && ctx.Err() == nil {
				e.logger.Warn("escrow files still not written; retrying", zap.Error(err), zap.String("directory", e.cfg.Directory))
			}
		}
	}
}

// shutdown writes every buffered escrow: finished ones under their names,
// those whose root never arrived as _PARTIAL.
func (e *escrowJSONExporter) shutdown(ctx context.Context) error {
	if e.asm == nil {
		return nil // never started
	}
	e.stop()
	e.wg.Wait()
	err := e.asm.Shutdown(ctx)
	e.tel.close()
	s := e.asm.Stats()
	e.logger.Info("escrow files written", zap.Uint64("files", s.FilesWritten), zap.Uint64("partial", s.PartialFiles),
		zap.Uint64("write_errors", s.WriteErrors), zap.Uint64("dropped_escrows", s.DroppedEscrows),
		zap.Uint64("dropped_events", s.DroppedEvents))
	return err
}
