package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/otelmsig"
)

// defaultJaegerUI is where a local Jaeger (make jaeger-run, make jaeger-up)
// serves its UI.
const defaultJaegerUI = "http://localhost:16686"

// otlpConfigured reports whether otelmsig.Setup exports over OTLP with this
// environment (the variables it documents).
func otlpConfigured() bool {
	return otlpEndpoint() != ""
}

// otlpEndpoint says where OTLP goes, "" when it is off.
func otlpEndpoint() string {
	if e := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); e != "" {
		return e
	}
	if e := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); e != "" {
		return e
	}
	if otlpConfiguredByName() {
		return "localhost:4317 (the OTLP default)"
	}
	return ""
}

// otlpConfiguredByName reports whether OTEL_TRACES_EXPORTER names otlp.
func otlpConfiguredByName() bool {
	for _, name := range strings.Split(os.Getenv("OTEL_TRACES_EXPORTER"), ",") {
		if strings.EqualFold(strings.TrimSpace(name), "otlp") {
			return true
		}
	}
	return false
}

// serviceName is the service.name the spans carry: otelmsig's default unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise, as in
// otelmsig.Setup.
func serviceName(ctx context.Context) string {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(otelmsig.DefaultServiceName)),
		resource.WithFromEnv())
	if res == nil {
		return otelmsig.DefaultServiceName
	}
	_ = err // a partial resource still has the name
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok && v.AsString() != "" {
		return v.AsString()
	}
	return otelmsig.DefaultServiceName
}

// jaegerSearchURL is the Jaeger UI search for the trace of one escrow:
// service and the escrow.id tag. base is JAEGER_UI_URL, default
// http://localhost:16686.
func jaegerSearchURL(base, service, escrowID string) string {
	if base == "" {
		base = defaultJaegerUI
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	tags, _ := json.Marshal(map[string]string{string(escrowconv.EscrowID): escrowID})
	q := url.Values{"service": {service}, "tags": {string(tags)}}
	return strings.TrimRight(base, "/") + "/search?" + q.Encode()
}
