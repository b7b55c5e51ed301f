package otelsetup

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newResource describes this process. Later options win: the defaults
// (service.name, a fresh service.instance.id), then what the SDK detects,
// then OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, then WithServiceName.
func newResource(ctx context.Context, serviceName string) (*resource.Resource, error) {
	ropts := []resource.Option{
		resource.WithAttributes(
			semconv.ServiceName(DefaultServiceName),
			// One id per Setup, so that two replicas of one service
			// are told apart (the specification recommends a UUID).
			semconv.ServiceInstanceID(uuid.NewString()),
		),
		resource.WithTelemetrySDK(),
		resource.WithHost(),       // host.name
		resource.WithProcessPID(), // process.pid
		resource.WithFromEnv(),    // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
	}
	if serviceName != "" {
		ropts = append(ropts, resource.WithAttributes(semconv.ServiceName(serviceName)))
	}
	res, err := resource.New(ctx, ropts...)
	if err != nil {
		return nil, fmt.Errorf("otelsetup: resource: %w", err)
	}
	return res, nil
}
