package jsonfile

import (
	"os"
	"time"

	"github.com/escrowtrace/escrowtrace/exporter/assembly"
)

// config holds the exporter's settings; Options change it. The defaults
// are assembly.DefaultConfig's.
type config = assembly.Config

func newConfig(opts []Option) config {
	cfg := assembly.DefaultConfig()
	for _, opt := range opts {
		if opt != nil {
			cfg = opt.apply(cfg)
		}
	}
	return cfg
}

// Option sets a setting of the Exporter.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(cfg config) config { return f(cfg) }

// WithDir sets the directory the files are written to (default "."). New
// creates it, mode 0700, when it does not exist.
func WithDir(dir string) Option {
	return optionFunc(func(cfg config) config {
		if dir != "" {
			cfg.Dir = dir
		}
		return cfg
	})
}

// WithFileMode sets the permission bits of the files (default 0600: the
// files name wallets and their addresses).
func WithFileMode(mode os.FileMode) Option {
	return optionFunc(func(cfg config) config {
		cfg.FileMode = mode.Perm()
		return cfg
	})
}

// WithClock sets the clock the late-span grace period is measured with
// (default time.Now). Event timestamps always come from the spans.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(cfg config) config {
		if now != nil {
			cfg.Clock = now
		}
		return cfg
	})
}

// WithMaxPendingTraces bounds the escrows buffered whose root span has not
// arrived (default 4096). Past it, or past 64 events per allowed escrow in
// all, the oldest is written as escrow_<id>_PARTIAL.json and forgotten. The
// same number bounds the finished escrows kept for late spans.
func WithMaxPendingTraces(n int) Option {
	return optionFunc(func(cfg config) config {
		if n > 0 {
			cfg.MaxPendingTraces = n
		}
		return cfg
	})
}

// WithLateSpanGrace sets how long a written escrow is kept in memory so that
// a span ending after the root (a late span) rewrites its file with the
// span's events added (default 30s; 0 keeps none). A span later than that
// lands in a _PARTIAL file.
func WithLateSpanGrace(d time.Duration) Option {
	return optionFunc(func(cfg config) config {
		if d >= 0 {
			cfg.LateSpanGrace = d
		}
		return cfg
	})
}

// WithRawAddresses says whether snapshots keep the wallet address (default
// true, as the legacy format has it). With false, address is written as ""
// and address_hash is kept.
func WithRawAddresses(raw bool) Option {
	return optionFunc(func(cfg config) config {
		cfg.RawAddresses = raw
		return cfg
	})
}

// WithSync says whether each file is fsynced before it is renamed into place
// (default true). Turning it off trades durability on power loss for speed.
func WithSync(sync bool) Option {
	return optionFunc(func(cfg config) config {
		cfg.Sync = sync
		return cfg
	})
}

// WithOnWrite sets a function called after each file is written, with the
// escrow id and the file's path; rewrites (late spans) call it again. It is
// called from the goroutine that exports and must not block for long.
func WithOnWrite(fn func(escrowID, path string)) Option {
	return optionFunc(func(cfg config) config {
		cfg.OnWrite = fn
		return cfg
	})
}
