package otelmsig

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/escrowtrace/escrowtrace/escrowconv"
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

// maxFilenameBytes bounds a wallet file name as recorded (wallet.filename,
// pollution.expected_wallet, pollution.actual_wallet): 255 bytes, the
// longest file name Linux allows, so no real wallet name is ever cut.
const maxFilenameBytes = 255

// filenameValue is the value recorded for a wallet file name: the name
// itself when it is valid UTF-8 of at most maxFilenameBytes, else its valid
// UTF-8 form cut at a character boundary, "~" and 16 hex digits of the
// SHA-256 of its bytes, maxFilenameBytes at most. Two hostile names that
// differ only in their bad or cut-off bytes still record as two wallets, so
// that a detector comparing names (the escrowtrace collector) is not fooled
// into seeing one.
func filenameValue(name string) string {
	if len(name) <= maxFilenameBytes && utf8.ValidString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	v := validUTF8(name)
	if keep := maxFilenameBytes - 1 - 16; len(v) > keep {
		for keep > 0 && !utf8.RuneStart(v[keep]) {
			keep--
		}
		v = v[:keep]
	}
	return v + "~" + hex.EncodeToString(sum[:8])
}

// filenameAttr is wallet.filename = filenameValue(name).
func filenameAttr(name string) attribute.KeyValue {
	return escrowconv.WalletFilename.String(filenameValue(name))
}
