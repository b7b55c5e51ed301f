package walletpollutionprocessor

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

const scopeName = "github.com/escrowtrace/escrowtrace/collector/walletpollutionprocessor"

// Names of the processor's own metrics (counters, in spans or entries).
const (
	MetricFindings       = "otelcol_processor_walletpollution_findings"
	MetricLateSpans      = "otelcol_processor_walletpollution_late_spans"
	MetricAmbiguous      = "otelcol_processor_walletpollution_ambiguous"
	MetricReleasedEarly  = "otelcol_processor_walletpollution_released_early"
	MetricDuplicates     = "otelcol_processor_walletpollution_duplicates"
	MetricEntriesDropped = "otelcol_processor_walletpollution_entries_dropped"
)

// telemetry holds the processor's counters. Each Add is one atomic
// operation in the SDK; they are added once per batch.
type telemetry struct {
	findings, late, ambiguous, releasedEarly, duplicates, dropped metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	var t telemetry
	var errs [6]error
	t.findings, errs[0] = m.Int64Counter(MetricFindings, metric.WithUnit("{span}"),
		metric.WithDescription("Calls found to have met another wallet than the one they were for, and marked."))
	t.late, errs[1] = m.Int64Counter(MetricLateSpans, metric.WithUnit("{span}"),
		metric.WithDescription("Wallet-rpc spans that arrived after a later call of their endpoint had been decided; forwarded, judged against what was known."))
	t.ambiguous, errs[2] = m.Int64Counter(MetricAmbiguous, metric.WithUnit("{span}"),
		metric.WithDescription("Calls not flagged because the order of calls overlapping them decided between the right and another wallet."))
	t.releasedEarly, errs[3] = m.Int64Counter(MetricReleasedEarly, metric.WithUnit("{span}"),
		metric.WithDescription("Spans judged and forwarded before their decision window ended because max_held_spans was reached."))
	t.duplicates, errs[4] = m.Int64Counter(MetricDuplicates, metric.WithUnit("{span}"),
		metric.WithDescription("Wallet-rpc spans received again (same trace and span id); forwarded as received, not judged again."))
	t.dropped, errs[5] = m.Int64Counter(MetricEntriesDropped, metric.WithUnit("{entry}"),
		metric.WithDescription("Opens, closes and remembered span ids forgotten early because of max_entries_per_endpoint or max_endpoints."))
	return &t, errors.Join(errs[:]...)
}

// counts are added up under the processor's lock and given to the
// counters after it is released.
type counts struct {
	findings, late, ambiguous, releasedEarly, duplicates, dropped int64
}

func (t *telemetry) add(c counts) {
	ctx := context.Background()
	for _, x := range []struct {
		c metric.Int64Counter
		n int64
	}{
		{t.findings, c.findings}, {t.late, c.late}, {t.ambiguous, c.ambiguous},
		{t.releasedEarly, c.releasedEarly}, {t.duplicates, c.duplicates}, {t.dropped, c.dropped},
	} {
		if x.n != 0 {
			x.c.Add(ctx, x.n)
		}
	}
}
