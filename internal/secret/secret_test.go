package secret

import (
	"strings"
	"testing"
)

// fake looks like wallet-rpc's multisig_info: a header and a base58 blob.
var fake = "MultisigxV2R1" + strings.Repeat("9sCrDesy9LK1", 30)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "",
		"no secrets here":                        "no secrets here",
		"info " + fake + " x":                    "info [redacted] x",
		"a " + fake + ", b " + fake:              "a [redacted], b [redacted]",
		fake:                                     "[redacted]",
		"MultisigV1" + strings.Repeat("a+/=", 5): "[redacted]",
		// wallet-rpc's own messages stay readable.
		"This wallet is multisig, and multisig is disabled. Multisig is an experimental feature": "This wallet is multisig, and multisig is disabled. Multisig is an experimental feature",
		"Multisig kex msg decoding error": "Multisig kex msg decoding error",
		"MultisigInfo":                    "MultisigInfo",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%.40q…) = %.60q, want %.60q", in, got, want)
		}
		if Contains(in) != (in != want) {
			t.Errorf("Contains(%.40q…) = %v", in, Contains(in))
		}
	}
}
