package otelmsig

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// validUTF8 returns s with each run of bytes that is not valid UTF-8
// replaced by U+FFFD. Every string otelmsig records goes through it: OTLP
// carries strings as protobuf strings, and one invalid string makes a
// collector reject the whole batch, other escrows' spans included.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, string(utf8.RuneError))
}

// str is k.String(v) with v made valid UTF-8.
func str(k attribute.Key, v string) attribute.KeyValue {
	return k.String(validUTF8(v))
}

// escrowIDValue is the escrow.id recorded for id. An id that is not valid
// UTF-8 gets, after the replacement, "~" and 16 hex digits of the SHA-256
// of its bytes, so that two such ids differing only in their bad bytes
// still name two escrows (and two legacy files).
func escrowIDValue(id string) string {
	if utf8.ValidString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return validUTF8(id) + "~" + hex.EncodeToString(sum[:8])
}
