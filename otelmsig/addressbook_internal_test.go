package otelmsig

import (
	"strconv"
	"testing"
)

func TestAddressBook(t *testing.T) {
	var b addressBook
	b.learn("ep1", "A", knownWallet{Filename: "a", EscrowID: "E1", Own: true})
	if w, ok := b.lookup("ep1", "A"); !ok || w.Filename != "a" || w.EscrowID != "E1" || !w.Own {
		t.Fatalf("lookup A: %+v %v", w, ok)
	}
	if _, ok := b.lookup("ep2", "A"); ok {
		t.Fatal("an address is known per endpoint")
	}
	// Two files showing one address on one endpoint (an escrow's shared
	// address, all roles on one wallet-rpc): it names neither.
	b.learn("ep1", "S", knownWallet{Filename: "buyer"})
	b.learn("ep1", "S", knownWallet{Filename: "buyer"})
	if _, ok := b.lookup("ep1", "S"); !ok {
		t.Fatal("the same file twice is still that file")
	}
	b.learn("ep1", "S", knownWallet{Filename: "vendor"})
	b.learn("ep1", "S", knownWallet{Filename: "buyer"})
	if w, ok := b.lookup("ep1", "S"); ok {
		t.Fatalf("shared address names %+v", w)
	}
	// Nameless wallets are not learned.
	b.learn("ep1", "N", knownWallet{})
	if _, ok := b.lookup("ep1", "N"); ok {
		t.Fatal("learned a wallet without a file name")
	}
	// Bounded: the oldest entries go first.
	for i := range maxKnownAddresses {
		b.learn("ep3", strconv.Itoa(i), knownWallet{Filename: "f" + strconv.Itoa(i)})
	}
	if len(b.m) != maxKnownAddresses {
		t.Fatalf("%d entries, want %d", len(b.m), maxKnownAddresses)
	}
	if _, ok := b.lookup("ep1", "A"); ok {
		t.Error("the oldest entry survived")
	}
	if w, ok := b.lookup("ep3", strconv.Itoa(maxKnownAddresses-1)); !ok || w.Filename != "f"+strconv.Itoa(maxKnownAddresses-1) {
		t.Error("the newest entry is missing")
	}
}

func TestFilenameValue(t *testing.T) {
	for _, name := range []string{"buyer-1", string(make([]byte, 0)), "ünïcode", string([]byte{'a'}) + string(rune(0x1F600))} {
		if got := filenameValue(name); got != name {
			t.Errorf("%q recorded as %q", name, got)
		}
	}
	exact := string(make([]byte, maxFilenameBytes))
	if filenameValue(exact) != exact {
		t.Error("a 255-byte name was changed")
	}
	for _, name := range []string{exact + "x", "bad\xff", "ab\xc3"} {
		got := filenameValue(name)
		if len(got) > maxFilenameBytes || got == name || got == filenameValue(name+"y") {
			t.Errorf("%q recorded as %q", name, got)
		}
	}
}
