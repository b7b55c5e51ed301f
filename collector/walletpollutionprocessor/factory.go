package walletpollutionprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
)

// TypeStr is the processor's type in a Collector configuration.
const TypeStr = "walletpollution"

// Type is the processor's component type, TypeStr.
var Type = component.MustNewType(TypeStr)

// Stability is the stability level of the traces processor.
const Stability = component.StabilityLevelDevelopment

// NewFactory returns the factory of the walletpollution processor, a
// traces processor. Its default configuration is that of the Default*
// constants.
func NewFactory() processor.Factory {
	return processor.NewFactory(Type, createDefaultConfig,
		processor.WithTraces(createTraces, Stability))
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return newProcessor(set, cfg.(*Config), next, time.Now)
}
