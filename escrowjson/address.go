package escrowjson

import (
	"crypto/sha256"
	"encoding/hex"
)

// AddressHash returns a snapshot's address_hash for address: the lower-case
// hex SHA-256 of the address string, 64 characters.
func AddressHash(address string) string {
	sum := sha256.Sum256([]byte(address))
	return hex.EncodeToString(sum[:])
}

// IsAddressHash reports whether s has the shape of an address_hash: 64
// lower-case hex digits.
func IsAddressHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
