package escrowjsonexporter

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config is the escrowjson exporter's configuration:
//
//	exporters:
//	  escrowjson:
//	    directory: /var/lib/escrowtrace/traces   # required
//	    max_pending_traces: 4096     # escrows waiting for their root; the oldest becomes _PARTIAL
//	    max_events_per_escrow: 10000 # a 2-of-3 setup has 45
//	    late_span_grace: 30s         # keep written escrows this long for late spans
//	    flush_interval: 5s           # retry failed writes, forget escrows past the grace
//	    raw_addresses: true          # false writes address "" and keeps address_hash
//	    sync: true                   # fsync each file before renaming it into place
//
// The limits are package assembly's, as exporter/jsonfile has them in a
// process.
type Config struct {
	// Directory is where the escrow_<id>.json files go. It is created
	// (mode 0700) when missing.
	Directory string `mapstructure:"directory"`
	// MaxPendingTraces bounds the escrows buffered whose root span has not
	// arrived, the finished ones kept for late spans, and the ones waiting
	// for a write that keeps failing.
	MaxPendingTraces int `mapstructure:"max_pending_traces"`
	// MaxEventsPerEscrow bounds one escrow's events; those over it are
	// dropped and counted.
	MaxEventsPerEscrow int `mapstructure:"max_events_per_escrow"`
	// LateSpanGrace is how long a written escrow is kept so that a span
	// ending after its root rewrites the file; 0 keeps none.
	LateSpanGrace time.Duration `mapstructure:"late_span_grace"`
	// FlushInterval is how often writes that failed are tried again and
	// escrows past LateSpanGrace forgotten, when no spans arrive.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// RawAddresses keeps the wallet addresses in snapshots, as the legacy
	// format has them.
	RawAddresses bool `mapstructure:"raw_addresses"`
	// Sync fsyncs each file before it is renamed into place.
	Sync bool `mapstructure:"sync"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.Directory == "" {
		errs = append(errs, errors.New("directory must be set: the escrow_<id>.json files go there"))
	}
	if c.MaxPendingTraces < 1 {
		errs = append(errs, fmt.Errorf("max_pending_traces %d: want at least 1", c.MaxPendingTraces))
	}
	if c.MaxEventsPerEscrow < 1 {
		errs = append(errs, fmt.Errorf("max_events_per_escrow %d: want at least 1", c.MaxEventsPerEscrow))
	}
	if c.LateSpanGrace < 0 {
		errs = append(errs, fmt.Errorf("late_span_grace %v: want 0 or more", c.LateSpanGrace))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush_interval %v: want more than 0", c.FlushInterval))
	}
	return errors.Join(errs...)
}
