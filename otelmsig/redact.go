package otelmsig

import (
	"strings"
)

// secretPrefix starts every multisig key-exchange string wallet-rpc hands
// out (MultisigV1..., MultisigxV2R1...).
const secretPrefix = "Multisig"

// redact replaces every word that starts with "Multisig" with "[redacted]",
// as the legacy JSON exporter does. The instrumentation never records params
// or results; this is the second line of defence for error messages, which
// come from code that may have quoted key material.
func redact(s string) string {
	if !strings.Contains(s, secretPrefix) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, secretPrefix)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + len(secretPrefix)
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		b.WriteString(s[:i])
		b.WriteString("[redacted]")
		s = s[j:]
	}
}

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '/' || c == '='
}

// redactedError has the message of an error with key material removed; it
// still unwraps to the original for errors.Is/As in the caller's code.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactError(err error) error {
	msg := err.Error()
	if r := redact(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}
