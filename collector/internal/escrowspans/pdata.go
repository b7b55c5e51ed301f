package escrowspans

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Traces returns spans as pdata: encoded by the SDK's OTLP exporter (its
// transform to OTLP protobuf, as it sends them) and decoded by pdata's
// protobuf unmarshaler, as the Collector's OTLP receiver decodes a request.
func Traces(spans []sdktrace.ReadOnlySpan) (ptrace.Traces, error) {
	c := &captureClient{}
	exp, err := otlptrace.New(context.Background(), c)
	if err != nil {
		return ptrace.Traces{}, err
	}
	defer exp.Shutdown(context.Background())
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		return ptrace.Traces{}, err
	}
	b, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: c.rs})
	if err != nil {
		return ptrace.Traces{}, err
	}
	return (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(b)
}

// captureClient is an otlptrace.Client that keeps what the exporter
// uploads instead of sending it.
type captureClient struct{ rs []*tracepb.ResourceSpans }

func (c *captureClient) Start(context.Context) error { return nil }
func (c *captureClient) Stop(context.Context) error  { return nil }
func (c *captureClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	c.rs = append(c.rs, rs...)
	return nil
}
