package escrowjsonexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/escrowtrace/escrowtrace/exporter/assembly"
)

// Type is the component type: "escrowjson" in a collector's configuration.
var Type = component.MustNewType("escrowjson")

// Stability of the traces exporter.
const Stability = component.StabilityLevelDevelopment

// NewFactory returns the factory of the escrowjson exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(Type, createDefaultConfig,
		exporter.WithTraces(createTraces, Stability))
}

func createDefaultConfig() component.Config {
	d := assembly.DefaultConfig()
	return &Config{
		MaxPendingTraces:   d.MaxPendingTraces,
		MaxEventsPerEscrow: d.MaxEventsPerEscrow,
		LateSpanGrace:      d.LateSpanGrace,
		FlushInterval:      5 * time.Second,
		RawAddresses:       d.RawAddresses,
		Sync:               d.Sync,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	e, err := newExporter(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	// No queue and no retry of exporterhelper's: a batch's events are
	// buffered by the time pushTraces returns, whatever the disk did, and a
	// retried batch would add them twice. Failed writes are retried here,
	// from the buffer.
	return exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown))
}
