package escrowjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// An Encoder writes legacy files to a writer. One Encoder reused for many
// files reuses its buffers; it is not safe for concurrent use.
type Encoder struct {
	enc *json.Encoder
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the files were never HTML-escaped
	enc.SetIndent("", "  ")
	return &Encoder{enc: enc}
}

// Encode writes the events of one escrow as a legacy file, in the order
// given: one JSON array, indented with two spaces, with a trailing newline,
// "<", ">" and "&" left as they are, and invalid UTF-8 in strings written
// as U+FFFD. No events give "[]\n".
//
// It fails when w does, or for Details that encoding/json cannot encode (a
// channel, a function, a NaN), which the exporters never produce.
func (e *Encoder) Encode(events []Event) error {
	if events == nil {
		events = []Event{}
	}
	if err := e.enc.Encode(events); err != nil {
		return fmt.Errorf("escrowjson: encode: %w", err)
	}
	return nil
}

// Encode returns events encoded as by Encoder.Encode.
func Encode(events []Event) ([]byte, error) {
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(events); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
