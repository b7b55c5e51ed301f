package escrowjson

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxIDBytes bounds the escrow id part of a file name, so that the whole name
// (prefix, id, hash, suffix, extension) stays well under the 255-byte limit
// of common file systems.
const maxIDBytes = 200

// FileName returns the base name of the file an escrow is written to:
// escrow_<id>.json, or escrow_<id>_FAILED.json when the setup failed.
//
// An id that is empty, longer than 200 bytes, made only of dots, or holding
// anything but ASCII letters, digits, '.', '_' and '-' is made safe: other
// bytes become '_', the result is cut to 200 bytes, and "_" plus 16 hex
// digits of the SHA-256 of the real id is appended, so that two different
// ids do not share a file. The events keep the real id.
func FileName(escrowID string, failed bool) string {
	if failed {
		return "escrow_" + safeID(escrowID) + "_FAILED.json"
	}
	return "escrow_" + safeID(escrowID) + ".json"
}

// PartialFileName returns the base name of the file an escrow whose root span
// never arrived is written to: escrow_<id>_PARTIAL.json.
func PartialFileName(escrowID string) string {
	return "escrow_" + safeID(escrowID) + "_PARTIAL.json"
}

func safeID(id string) string {
	if id != "" && len(id) <= maxIDBytes && strings.Trim(id, ".") != "" && isSafe(id) {
		return id
	}
	var b strings.Builder
	b.Grow(min(len(id), maxIDBytes) + 17)
	for i := 0; i < len(id) && i < maxIDBytes; i++ {
		if c := id[i]; safeByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(id))
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(sum[:8]))
	return b.String()
}

func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			return false
		}
	}
	return true
}

func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}
