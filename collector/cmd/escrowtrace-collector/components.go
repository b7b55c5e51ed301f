package main

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	debugexporter "go.opentelemetry.io/collector/exporter/debugexporter"
	otlpexporter "go.opentelemetry.io/collector/exporter/otlpexporter"
	otlphttpexporter "go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	batchprocessor "go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	otlpreceiver "go.opentelemetry.io/collector/receiver/otlpreceiver"
	otelconftelemetry "go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	healthcheckextension "github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"

	"github.com/escrowtrace/escrowtrace/collector/escrowjsonexporter"
	"github.com/escrowtrace/escrowtrace/collector/walletpollutionprocessor"
	groupbytraceprocessor "github.com/open-telemetry/opentelemetry-collector-contrib/processor/groupbytraceprocessor"
)

// The distribution's components, one line each: a component is added by
// adding its NewFactory here (and its import, and its module to go.mod).
// The Go module each comes from, which `escrowtrace-collector components`
// prints, is read from the binary's build info, so it is not listed twice
// as in ocb's generated code.
var (
	extensions = []func() extension.Factory{
		healthcheckextension.NewFactory,
	}
	receivers = []func() receiver.Factory{
		otlpreceiver.NewFactory,
	}
	processors = []func() processor.Factory{
		batchprocessor.NewFactory,
		groupbytraceprocessor.NewFactory,
		walletpollutionprocessor.NewFactory,
	}
	exporters = []func() exporter.Factory{
		debugexporter.NewFactory,
		otlpexporter.NewFactory,
		otlphttpexporter.NewFactory,
		escrowjsonexporter.NewFactory,
	}
	connectors = []func() connector.Factory{}
)

func components() (otelcol.Factories, error) {
	var err error
	factories := otelcol.Factories{
		Telemetry: otelconftelemetry.NewFactory(),
	}

	factories.Extensions, factories.ExtensionModules, err = factoryMap(extensions)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Receivers, factories.ReceiverModules, err = factoryMap(receivers)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Exporters, factories.ExporterModules, err = factoryMap(exporters)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Processors, factories.ProcessorModules, err = factoryMap(processors)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Connectors, factories.ConnectorModules, err = factoryMap(connectors)
	if err != nil {
		return otelcol.Factories{}, err
	}

	return factories, nil
}

// factoryMap makes the factories of one kind and maps each component type,
// and its deprecated alias if it has one (ocb's makeModulesMap), to the
// module it comes from.
func factoryMap[T component.Factory](news []func() T) (map[component.Type]T, map[component.Type]string, error) {
	list := make([]T, len(news))
	modules := make(map[component.Type]string, len(news))
	for i, newFactory := range news {
		list[i] = newFactory()
		mod := module(newFactory)
		modules[list[i].Type()] = mod
		if ap, ok := any(list[i]).(aliasProvider); ok {
			if alias := ap.DeprecatedAlias(); alias.String() != "" {
				modules[alias] = mod
			}
		}
	}
	factories, err := otelcol.MakeFactoryMap(list...)
	if err != nil {
		return nil, nil, err
	}
	return factories, modules, nil
}

type aliasProvider interface{ DeprecatedAlias() component.Type }
