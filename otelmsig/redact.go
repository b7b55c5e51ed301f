package otelmsig

import "github.com/escrowtrace/escrowtrace/internal/secret"

// redact removes multisig key material from s. The instrumentation never
// records params or results; this is the second line of defence for error
// messages, which come from code that may have quoted key material.
// Invalid UTF-8 is replaced first, so that a message is valid however it is
// cut later.
func redact(s string) string { return secret.Redact(validUTF8(s)) }

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
