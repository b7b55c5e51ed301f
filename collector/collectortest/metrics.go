package collectortest

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ErrNoSeries is wrapped by Metric's error when the collector exports no
// series of that name and labels. Counters appear once they have counted
// something, so a caller may take it as zero.
var ErrNoSeries = errors.New("no such series")

// Metric reads the collector's own metrics (MetricsURL) and returns the sum
// of the series called name whose labels include labels (nil: all series
// of name): for a counter or gauge its value, for a histogram or summary
// its count. Names are as the collector exports them, e.g.
// "otelcol_processor_groupbytrace_spans_released" or
// "otelcol_exporter_sent_spans" with {"exporter": "otlp_grpc/jaeger"}.
func (c *Instance) Metric(ctx context.Context, name string, labels map[string]string) (float64, error) {
	body, err := c.get(ctx, c.MetricsURL)
	if err != nil {
		return 0, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("collector metrics: %w", err)
	}
	fam, ok := families[name]
	if !ok {
		return 0, fmt.Errorf("collector metric %s: %w", name, ErrNoSeries)
	}
	var sum float64
	var n int
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		n++
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Summary != nil:
			sum += float64(m.GetSummary().GetSampleCount())
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("collector metric %s%v: %w", name, labels, ErrNoSeries)
	}
	return sum, nil
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}
