// Package collector holds config.yaml, the escrowtrace-collector's config
// for one machine, so that a program that runs the collector (the demo's
// --processes) runs the config users run, whatever its working directory.
// The collector's own code is the Go module in collector/; this package
// is part of the library's module and imports nothing.
package collector

import _ "embed"

// Config is deploy/collector/config.yaml. Its endpoints come from the
// ESCROWTRACE_COLLECTOR_* environment variables that its comments list.
//
//go:embed config.yaml
var Config []byte
