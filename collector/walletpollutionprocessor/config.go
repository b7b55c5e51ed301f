package walletpollutionprocessor

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// Defaults of the Config fields.
const (
	// DefaultDecisionWindow covers the OpenTelemetry SDK's default batch
	// delay (OTEL_BSP_SCHEDULE_DELAY, 5 s), with which each process
	// exports its spans, plus a second for transit.
	DefaultDecisionWindow        = 6 * time.Second
	DefaultMaxEndpoints          = 256
	DefaultMaxEntriesPerEndpoint = 1024
	DefaultMaxHeldSpans          = 100_000
)

// retainWindows is how many decision windows an endpoint's timeline
// entries and remembered span ids are kept after they were received (the
// newest open or close of an endpoint is kept longer: it is the endpoint's
// current state).
const retainWindows = 4

// Config is the configuration of the walletpollution processor:
//
//	processors:
//	  walletpollution:
//	    decision_window: 6s
//	    max_endpoints: 1024
//	    max_entries_per_endpoint: 1024
//	    max_held_spans: 100000
type Config struct {
	// DecisionWindow is how long each incoming batch is held before its
	// calls are judged and it is forwarded, so that the spans other
	// processes export later arrive first. It must exceed the exporting
	// processes' batch delay. Every span is delayed by this much.
	DecisionWindow time.Duration `mapstructure:"decision_window"`
	// MaxEndpoints caps the wallet-rpc endpoints (server.address:
	// server.port) the processor keeps a timeline for; past it, the least
	// recently used endpoint is forgotten.
	MaxEndpoints int `mapstructure:"max_endpoints"`
	// MaxEntriesPerEndpoint caps an endpoint's timeline of opens and
	// closes, and separately the span ids it remembers to recognise
	// duplicates; past it, the oldest go.
	MaxEntriesPerEndpoint int `mapstructure:"max_entries_per_endpoint"`
	// MaxHeldSpans caps the spans held for the decision window; past it,
	// the oldest batches are judged and forwarded early.
	MaxHeldSpans int `mapstructure:"max_held_spans"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		DecisionWindow:        DefaultDecisionWindow,
		MaxEndpoints:          DefaultMaxEndpoints,
		MaxEntriesPerEndpoint: DefaultMaxEntriesPerEndpoint,
		MaxHeldSpans:          DefaultMaxHeldSpans,
	}
}

// Validate reports every field out of range, each in one error naming the
// field, its value and what it must be.
func (c *Config) Validate() error {
	var errs []error
	if c.DecisionWindow <= 0 {
		errs = append(errs, fmt.Errorf("decision_window must be positive (longer than the exporting processes' batch delay, 5s by default), got %s", c.DecisionWindow))
	}
	if c.MaxEndpoints < 1 {
		errs = append(errs, fmt.Errorf("max_endpoints must be at least 1, got %d", c.MaxEndpoints))
	}
	if c.MaxEntriesPerEndpoint < 2 {
		// One entry is the endpoint's current state; a second one is
		// needed to tell what a call met before the latest open.
		errs = append(errs, fmt.Errorf("max_entries_per_endpoint must be at least 2, got %d", c.MaxEntriesPerEndpoint))
	}
	if c.MaxHeldSpans < 1 {
		errs = append(errs, fmt.Errorf("max_held_spans must be at least 1, got %d", c.MaxHeldSpans))
	}
	return errors.Join(errs...)
}
