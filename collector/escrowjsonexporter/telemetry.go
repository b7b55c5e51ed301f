package escrowjsonexporter

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/escrowtrace/escrowtrace/exporter/assembly"
)

const scopeName = "github.com/escrowtrace/escrowtrace/collector/escrowjsonexporter"

// telemetry reports the Assembler's counters through the collector's own
// metrics (its telemetry settings), read when they are collected.
type telemetry struct {
	reg metric.Registration
}

func newTelemetry(set component.TelemetrySettings, asm *assembly.Assembler) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, _ := m.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		return c
	}
	gauge := func(name, desc string) metric.Int64ObservableGauge {
		g, _ := m.Int64ObservableGauge(name, metric.WithDescription(desc), metric.WithUnit("{escrows}"))
		return g
	}
	files := counter("escrowjson.files_written", "{files}", "Escrow files written, rewrites and partial files included.")
	partial := counter("escrowjson.partial_files", "{files}", "_PARTIAL files written: the escrow's root span never arrived.")
	late := counter("escrowjson.late_rewrites", "{files}", "Files rewritten because a span ended after its escrow's root.")
	writeErrs := counter("escrowjson.write_errors", "{errors}", "Failed file writes; the events stayed buffered and are retried.")
	droppedEscrows := counter("escrowjson.dropped_escrows", "{escrows}", "Escrows given up after their writes kept failing (lost).")
	droppedEvents := counter("escrowjson.dropped_events", "{events}", "Events over max_events_per_escrow (lost).")
	merged := counter("escrowjson.merged_partials", "{files}", "_PARTIAL files merged into their escrow's final file (written before a restart) and removed.")
	noEscrow := counter("escrowjson.no_escrow_traces", "{traces}", "Traces that ended without an escrow: no file.")
	pending := gauge("escrowjson.pending_escrows", "Escrows buffered whose root span has not arrived.")
	unwritten := gauge("escrowjson.unwritten_escrows", "Escrows waiting for a file write.")

	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := asm.Stats()
		o.ObserveInt64(files, int64(s.FilesWritten))
		o.ObserveInt64(partial, int64(s.PartialFiles))
		o.ObserveInt64(late, int64(s.LateRewrites))
		o.ObserveInt64(writeErrs, int64(s.WriteErrors))
		o.ObserveInt64(droppedEscrows, int64(s.DroppedEscrows))
		o.ObserveInt64(droppedEvents, int64(s.DroppedEvents))
		o.ObserveInt64(merged, int64(s.MergedPartials))
		o.ObserveInt64(noEscrow, int64(s.NoEscrowTraces))
		o.ObserveInt64(pending, int64(s.Pending))
		o.ObserveInt64(unwritten, int64(s.Unwritten))
		return nil
	}, files, partial, late, writeErrs, droppedEscrows, droppedEvents, merged, noEscrow, pending, unwritten)
	if err != nil {
		return nil, err
	}
	return &telemetry{reg: reg}, nil
}

func (t *telemetry) close() { _ = t.reg.Unregister() }
