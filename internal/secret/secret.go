// Package secret recognises multisig key-exchange material in free text.
//
// Params and results of wallet RPC calls are never recorded, so key
// material can only reach a span, a log or a file through an error message
// that quoted it. The instrumentation, the legacy exporter and the test
// harness pass such text through Redact. It redacts the material, not the
// word: wallet-rpc's own messages ("Multisig is an experimental feature",
// "Multisig kex msg decoding error") stay readable.
package secret

import "regexp"

// Prefix starts every multisig_info string wallet-rpc hands out
// (MultisigV1…, MultisigxV2R1…), followed by hundreds of base58 characters.
const Prefix = "Multisig"

// material is the prefix and a run of base58/base64 characters long enough
// that it cannot be an English word. Sixteen is far below any real info
// string and far above "Multisig" + a word suffix ("MultisigInfo").
var material = regexp.MustCompile(Prefix + `[0-9A-Za-z+/=]{16,}`)

// Replacement stands where material was.
const Replacement = "[redacted]"

// Redact returns s with every piece of key material replaced by
// Replacement.
func Redact(s string) string {
	if !Contains(s) {
		return s
	}
	return material.ReplaceAllLiteralString(s, Replacement)
}

// Contains reports whether s holds key material.
func Contains(s string) bool {
	return len(s) >= len(Prefix)+16 && material.MatchString(s)
}
