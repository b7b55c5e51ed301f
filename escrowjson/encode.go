package escrowjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The files are written by hand, not with encoding/json: the same bytes
// as json.Encoder with SetIndent("", "  ") and SetEscapeHTML(false) writes
// (TestEncodeMatchesEncodingJSON holds it to that, for every details type
// and hostile strings), at a fraction of the cost. encoding/json marshals
// by reflection and then re-indents every byte; through the exporter that
// made an escrow 27 % slower (BenchmarkExporterEscrows, BENCHMARKS.md),
// over the 10 % the project allows for its own code.

// Encode returns the legacy file of one escrow's events, in the order
// given: one JSON array, indented with two spaces, with a trailing newline,
// "<", ">" and "&" left as they are (the files were never HTML-escaped),
// and invalid UTF-8 in strings written as U+FFFD. No events give "[]\n".
//
// Details of the types in this package are written field by field; any
// other value (the free-form details of STATE_CHANGE, FILE_OPERATION,
// CUSTOM) goes through encoding/json, and Encode fails only when that
// fails (a channel, a function, a NaN).
func Encode(events []Event) ([]byte, error) { return Append(nil, events) }

// Append is Encode appending to dst, so that a caller writing many files
// can reuse one buffer.
func Append(dst []byte, events []Event) ([]byte, error) {
	if len(events) == 0 {
		return append(dst, "[]\n"...), nil
	}
	w := jsonWriter{b: dst}
	w.b = append(w.b, '[')
	for i := range events {
		ev := &events[i]
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.newline(1)
		w.b = append(w.b, '{')
		w.str(2, "trace_id", ev.TraceID, true)
		w.int(2, "timestamp", ev.Timestamp, false)
		w.str(2, "event_type", ev.EventType, false)
		w.str(2, "role", ev.Role, false)
		if ev.RPCPort != nil {
			w.int(2, "rpc_port", int64(*ev.RPCPort), false)
		}
		w.key(2, "details", false)
		w.details(2, ev.Details)
		w.newline(1)
		w.b = append(w.b, '}')
	}
	w.newline(0)
	w.b = append(w.b, ']', '\n')
	if w.err != nil {
		return dst, fmt.Errorf("escrowjson: encode: %w", w.err)
	}
	return w.b, nil
}

type jsonWriter struct {
	b   []byte
	err error // from encoding/json, for free-form details
}

const spaces = "                                "

func (w *jsonWriter) newline(depth int) {
	w.b = append(w.b, '\n')
	w.b = append(w.b, spaces[:2*depth]...)
}

// key starts member name at depth; first says whether it opens the object.
func (w *jsonWriter) key(depth int, name string, first bool) {
	if !first {
		w.b = append(w.b, ',')
	}
	w.newline(depth)
	w.b = append(w.b, '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':', ' ')
}

func (w *jsonWriter) str(depth int, name, v string, first bool) {
	w.key(depth, name, first)
	w.b = appendString(w.b, v)
}

func (w *jsonWriter) int(depth int, name string, v int64, first bool) {
	w.key(depth, name, first)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonWriter) bool(depth int, name string, v bool) {
	w.key(depth, name, false)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonWriter) intPtr(depth int, name string, v *int) {
	if v == nil {
		w.key(depth, name, false)
		w.b = append(w.b, "null"...)
		return
	}
	w.int(depth, name, int64(*v), false)
}

func (w *jsonWriter) optStr(depth int, name, v string) {
	if v != "" {
		w.str(depth, name, v, false)
	}
}

// details writes the details object whose opening line is at depth.
func (w *jsonWriter) details(depth int, d any) {
	in := depth + 1
	w.b = append(w.b, '{')
	switch d := d.(type) {
	case *RPCCallStart:
		w.str(in, "method", d.Method, true)
		w.int(in, "timestamp", d.Timestamp, false)
	case *RPCCallEnd:
		w.str(in, "method", d.Method, true)
		w.int(in, "duration_ms", d.DurationMs, false)
		w.bool(in, "success", d.Success)
		w.optStr(in, "error", d.Error)
		if d.Code != nil {
			w.int(in, "code", int64(*d.Code), false)
		}
	case *Snapshot:
		w.int(in, "timestamp", d.Timestamp, true)
		w.str(in, "wallet_id", d.WalletID, false)
		w.str(in, "role", d.Role, false)
		w.bool(in, "is_multisig", d.IsMultisig)
		w.key(in, "balance", false)
		w.b = append(w.b, '[')
		w.newline(in + 1)
		w.b = strconv.AppendUint(w.b, d.Balance[0], 10)
		w.b = append(w.b, ',')
		w.newline(in + 1)
		w.b = strconv.AppendUint(w.b, d.Balance[1], 10)
		w.newline(in)
		w.b = append(w.b, ']')
		w.str(in, "address", d.Address, false)
		w.str(in, "address_hash", d.AddressHash, false)
		w.key(in, "file_perms", false)
		if d.FilePerms == nil {
			w.b = append(w.b, "null"...)
		} else {
			w.b = appendString(w.b, *d.FilePerms)
		}
		w.bool(in, "file_exists", d.FileExists)
		w.intPtr(in, "rpc_port", d.RPCPort)
		w.int(in, "collection_time_ms", d.CollectionTimeMs, false)
		w.intPtr(in, "open_wallets_count", d.OpenWalletsCount)
		if d.MultisigReady != nil {
			w.bool(in, "multisig_ready", *d.MultisigReady)
		}
		if d.Threshold != nil {
			w.int(in, "threshold", int64(*d.Threshold), false)
		}
		if d.Total != nil {
			w.int(in, "total", int64(*d.Total), false)
		}
		w.optStr(in, "wallet_filename", d.WalletFilename)
		if d.RPCVersion != nil {
			w.int(in, "rpc_version", int64(*d.RPCVersion), false)
		}
		if d.MixedWallets {
			w.bool(in, "mixed_wallets", true)
		}
		w.optStr(in, "error", d.Error)
		w.optStr(in, "point", d.Point)
	case *ErrorFinal:
		w.str(in, "error", d.Error, true)
		w.key(in, "context", false)
		w.b = append(w.b, '{')
		c := &d.Context
		w.int(in+1, "round", int64(c.Round), true)
		w.str(in+1, "operation", c.Operation, false)
		w.str(in+1, "wallet_id", c.WalletID, false)
		w.str(in+1, "escrow_id", c.EscrowID, false)
		w.str(in+1, "timestamp", c.Timestamp, false)
		w.newline(in)
		w.b = append(w.b, '}')
	case *CachePollution:
		w.str(in, "reason", d.Reason, true)
		w.optStr(in, "wallet_id", d.WalletID)
		w.optStr(in, "expected_wallet", d.ExpectedWallet)
		w.optStr(in, "actual_wallet", d.ActualWallet)
		w.optStr(in, "endpoint", d.Endpoint)
		w.optStr(in, "other_escrow_id", d.OtherEscrowID)
		w.optStr(in, "other_service_instance_id", d.OtherServiceInstanceID)
		w.optStr(in, "detected_by", d.DetectedBy)
	default:
		// STATE_CHANGE, FILE_OPERATION, CUSTOM and anything else: a
		// free-form object, which encoding/json writes.
		w.b = w.b[:len(w.b)-1]
		var err error
		if w.b, err = appendIndented(w.b, d, depth); err != nil && w.err == nil {
			w.err = err
		}
		return
	}
	w.newline(depth)
	w.b = append(w.b, '}')
}

// appendIndented appends v as encoding/json writes it at depth.
func appendIndented(dst []byte, v any, depth int) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(spaces[:2*depth], "  ")
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// without HTML escaping: invalid UTF-8 becomes U+FFFD, U+2028 and U+2029
// are escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
