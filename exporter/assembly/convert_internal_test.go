package assembly

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	if got := text(long); len(got) != 1024 || !utf8.ValidString(got) {
		t.Errorf("text(long) is %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	bad := "x\xffy" + strings.Repeat("z", 2000)
	if got := text(bad); len(got) != 1024 || got[:3] != "x\xffy" {
		t.Errorf("text cut an invalid string short: %d bytes", len(got))
	}
	info := "MultisigxV2R1" + strings.Repeat("abc+/=", 20)
	if got := text("err: " + info + " rest " + info); got != "err: [redacted] rest [redacted]" {
		t.Errorf("redaction: %q", got)
	}
	// Material that straddles the 1 KiB cut is still redacted whole.
	if got := text(strings.Repeat("x", 1000) + info); strings.Contains(got, "Multisig") {
		t.Errorf("a cut left key material: …%q", got[990:])
	}
	// wallet-rpc's own words are not material.
	if msg := "multisig is disabled. Multisig is an experimental feature"; text(msg) != msg {
		t.Errorf("text(%q) = %q", msg, text(msg))
	}
}
