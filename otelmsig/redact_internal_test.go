package otelmsig

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	info := "MultisigxV2R1" + strings.Repeat("Zz9q", 40)
	for in, want := range map[string]string{
		"":                          "",
		"no secrets here":           "no secrets here",
		"info " + info + " x":       "info [redacted] x",
		"a " + info + ", b " + info: "a [redacted], b [redacted]",
		// wallet-rpc's own words are kept.
		"Multisig is an experimental feature": "Multisig is an experimental feature",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
