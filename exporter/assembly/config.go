package assembly

import (
	"fmt"
	"os"
	"time"
)

// Config sets what an Assembler writes and how much it keeps. Start from
// DefaultConfig: the zero values of Sync and RawAddresses are not the
// defaults.
type Config struct {
	// Dir is the directory the files are written to. New creates it, mode
	// 0700, when it does not exist.
	Dir string
	// FileMode is the files' permission bits (0600 by default: the files
	// name wallets and their addresses).
	FileMode os.FileMode
	// Clock measures LateSpanGrace; nil is time.Now. Event times always
	// come from the spans.
	Clock func() time.Time
	// MaxPendingTraces bounds the escrows buffered whose root span has not
	// arrived (4096 by default). Past it, or past 64 events per allowed
	// escrow in all, the oldest is written as escrow_<id>_PARTIAL.json and
	// forgotten. The same number bounds the finished escrows kept for late
	// spans and the escrows waiting for a write that keeps failing.
	MaxPendingTraces int
	// MaxEventsPerEscrow bounds one escrow's events (10000 by default; a
	// 2-of-3 setup has 45). Events over it are dropped and counted.
	MaxEventsPerEscrow int
	// LateSpanGrace is how long a written escrow is kept in memory so that
	// a span ending after its root (a late span) rewrites its file with
	// the span's events added (30s by default; 0 keeps none). A span later
	// than that lands in a _PARTIAL file.
	LateSpanGrace time.Duration
	// RawAddresses keeps the wallet address in snapshots, as the legacy
	// format has it (true by default). With false, address is "" and
	// address_hash is kept.
	RawAddresses bool
	// Sync fsyncs each file before renaming it into place (true by
	// default). Turning it off trades durability on power loss for speed.
	Sync bool
	// OnWrite, when set, is called after each file is written, with the
	// escrow id and the file's path; a rewrite calls it again. It runs on
	// the goroutine that called Add, Flush or Shutdown and must not block
	// for long.
	OnWrite func(escrowID, path string)
}

// DefaultConfig returns the defaults, writing to the current directory.
func DefaultConfig() Config {
	return Config{
		Dir:                ".",
		FileMode:           0o600,
		MaxPendingTraces:   4096,
		MaxEventsPerEscrow: 10000,
		LateSpanGrace:      30 * time.Second,
		RawAddresses:       true,
		Sync:               true,
	}
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("assembly: no directory")
	case c.MaxPendingTraces < 1:
		return fmt.Errorf("assembly: max pending traces %d: want at least 1", c.MaxPendingTraces)
	case c.MaxEventsPerEscrow < 1:
		return fmt.Errorf("assembly: max events per escrow %d: want at least 1", c.MaxEventsPerEscrow)
	case c.LateSpanGrace < 0:
		return fmt.Errorf("assembly: late span grace %v: want 0 or more", c.LateSpanGrace)
	case c.FileMode&^os.ModePerm != 0:
		return fmt.Errorf("assembly: file mode %v: want permission bits only", c.FileMode)
	}
	return nil
}

const (
	// eventsPerTraceBudget bounds the events buffered over all unfinished
	// escrows, as a multiple of MaxPendingTraces: a 2-of-3 setup has 45.
	eventsPerTraceBudget = 64
	// maxWriters bounds the files written at once. fsync dominates the cost
	// of a file and the disk groups concurrent ones.
	maxWriters = 8
)
