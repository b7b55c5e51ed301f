package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/otelsetup"
)

// defaultJaegerUI is where a local Jaeger (make jaeger-run, make jaeger-up)
// serves its UI.
const defaultJaegerUI = "http://localhost:16686"

// plan is what otelsetup.Setup builds with this environment once the demo has
// turned instrumentation on.
func plan(ctx context.Context) otelsetup.Plan {
	p, err := otelsetup.PlanSetup(ctx, otelsetup.WithEnabled(true))
	if err != nil {
		// Setup reports the same error before anything starts; until then
		// the defaults stand.
		return otelsetup.Plan{Enabled: true, ServiceName: otelsetup.DefaultServiceName}
	}
	return p
}

// otlpConfigured reports whether otelsetup.Setup exports over OTLP with this
// environment.
func otlpConfigured() bool {
	return plan(context.Background()).OTLP()
}

// otlpEndpoint says where OTLP goes, "" when it is off.
func otlpEndpoint() string {
	p := plan(context.Background())
	if !p.OTLP() {
		return ""
	}
	return p.OTLPEndpoint + " over " + p.OTLPProtocol
}

// serviceName is the service.name the spans carry.
func serviceName(ctx context.Context) string {
	return plan(ctx).ServiceName
}

// searchMargin widens an escrow's time range in its Jaeger search URL, so
// that the search still finds the trace when the demo's clock reading and
// the spans' timestamps differ by a little.
const searchMargin = time.Minute

// jaegerSearchURL is the Jaeger UI search for the trace of one escrow: the
// service, the escrow.id tag, and the escrow's time range [from, to] widened
// by searchMargin. Without a range the UI searches the last hour only.
// Jaeger UI reads the range from start and end (Unix µs) when lookback is
// "custom". base is JAEGER_UI_URL, default http://localhost:16686.
func jaegerSearchURL(base, service, escrowID string, from, to time.Time) string {
	if base == "" {
		base = defaultJaegerUI
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	tags, _ := json.Marshal(map[string]string{string(escrowconv.EscrowID): escrowID})
	q := url.Values{
		"service":  {service},
		"tags":     {string(tags)},
		"lookback": {"custom"},
		"start":    {strconv.FormatInt(from.Add(-searchMargin).UnixMicro(), 10)},
		"end":      {strconv.FormatInt(to.Add(searchMargin).UnixMicro(), 10)},
	}
	return strings.TrimRight(base, "/") + "/search?" + q.Encode()
}
