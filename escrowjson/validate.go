package escrowjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// maxReported bounds the problems one Validate call lists.
const maxReported = 20

// Validate checks a legacy escrow file against the contract in
// docs/legacy-escrow-json.md, strictly: one UTF-8 JSON array of event
// objects; in every event each field present with its JSON type (trace_id
// string, timestamp integer, event_type a known type, role buyer, vendor,
// arbiter or coordinator, rpc_port an integer port or absent but never null,
// details an object); the details of each known event type complete and
// typed (a snapshot's balance two non-negative integers, address_hash 64
// lower-case hex digits matching the address, file_perms a string like
// "rw-" or null, ...); one trace_id across the file; timestamps ascending;
// no RPC call ending before it started. Fields the contract does not name
// are allowed.
//
// The error lists up to 20 problems, each naming the event by index and
// type and the field by path, e.g.
// `event 3 (SNAPSHOT_FINAL): details.balance[1]: want a non-negative integer, got string "5"`.
func Validate(data []byte) error {
	v := &validator{}
	v.file(data)
	if len(v.errs) == 0 {
		return nil
	}
	if v.more > 0 {
		v.errs = append(v.errs, fmt.Errorf("... and %d more problems", v.more))
	}
	return fmt.Errorf("escrowjson: invalid escrow file: %w", errors.Join(v.errs...))
}

type validator struct {
	errs []error
	more int
	// where the current problem is: "event 3 (RPC_CALL_END): "
	at string
}

func (v *validator) fail(path, format string, args ...any) {
	if len(v.errs) >= maxReported {
		v.more++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	v.errs = append(v.errs, errors.New(v.at+msg))
}

func (v *validator) file(data []byte) {
	if !utf8.Valid(data) {
		v.fail("", "the file is not valid UTF-8")
		return
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		v.fail("", "the file must be one JSON array of events, got %s", kindOf(trimmed))
		return
	}
	var events []json.RawMessage
	if err := json.Unmarshal(data, &events); err != nil {
		v.fail("", "not JSON: %v", err)
		return
	}
	var traceID string
	var lastTS int64
	open := map[callKey]int{}
	for i, raw := range events {
		v.at = fmt.Sprintf("event %d: ", i)
		ev, ok := v.object("", raw)
		if !ok {
			continue
		}
		typ, typOK := v.str(ev, "", "event_type")
		if typOK {
			v.at = fmt.Sprintf("event %d (%s): ", i, typ)
			if !knownType(typ) {
				v.fail("event_type", "unknown event type %q", typ)
			}
		}
		if id, ok := v.str(ev, "", "trace_id"); ok {
			switch {
			case i == 0:
				traceID = id
			case id != traceID:
				v.fail("trace_id", "%q differs from the first event's %q", id, traceID)
			}
		}
		ts, tsOK := v.integer(ev, "", "timestamp")
		if tsOK {
			if i > 0 && ts < lastTS {
				v.fail("timestamp", "%d is before the previous event's %d: events must be in ascending order", ts, lastTS)
			}
			lastTS = ts
		}
		role, roleOK := v.str(ev, "", "role")
		if roleOK && !knownRole(role) {
			v.fail("role", "%q is not buyer, vendor, arbiter or coordinator", role)
		}
		port := int64(0)
		if raw, ok := ev.get("rpc_port"); ok {
			if kindOf(raw) == "null" {
				v.fail("rpc_port", "null: omit the field when the port is unknown")
			} else if p, ok := v.integerValue("rpc_port", raw); ok {
				port = p
				if p < 1 || p > 65535 {
					v.fail("rpc_port", "%d is not a TCP port", p)
				}
			}
		}
		details, detailsOK := v.member(ev, "", "details")
		if !detailsOK {
			continue
		}
		d, ok := v.object("details", details)
		if !ok || !typOK {
			continue
		}
		switch {
		case typ == TypeRPCCallStart:
			method, _ := v.str(d, "details", "method")
			if dts, ok := v.integer(d, "details", "timestamp"); ok && tsOK && dts != ts {
				v.fail("details.timestamp", "%d differs from the event's timestamp %d", dts, ts)
			}
			open[callKey{role, port, method}]++
		case typ == TypeRPCCallEnd || typ == TypeRPCCallError:
			method, _ := v.str(d, "details", "method")
			if ms, ok := v.integer(d, "details", "duration_ms"); ok && ms < 0 {
				v.fail("details.duration_ms", "%d is negative", ms)
			}
			if ok, isOK := v.boolean(d, "details", "success"); isOK && ok != (typ == TypeRPCCallEnd) {
				v.fail("details.success", "%v in a %s event", ok, typ)
			}
			if typ == TypeRPCCallError {
				v.optStr(d, "details", "error")
				v.optInt(d, "details", "code")
			}
			k := callKey{role, port, method}
			if open[k] == 0 {
				v.fail("", "%s of %q (role %s) with no RPC_CALL_START before it", typ, method, role)
			} else {
				open[k]--
			}
		case isSnapshotType(typ):
			v.snapshot(d, role, roleOK)
		case typ == TypeErrorFinal:
			v.str(d, "details", "error")
			if raw, ok := v.member(d, "details", "context"); ok {
				if c, ok := v.object("details.context", raw); ok {
					v.integer(c, "details.context", "round")
					v.str(c, "details.context", "operation")
					v.str(c, "details.context", "wallet_id")
					v.str(c, "details.context", "escrow_id")
					if s, ok := v.str(c, "details.context", "timestamp"); ok {
						if _, err := time.Parse(time.RFC3339, s); err != nil {
							v.fail("details.context.timestamp", "%q is not RFC 3339", s)
						}
					}
				}
			}
		case typ == TypeCachePollution:
			v.str(d, "details", "reason")
			for _, f := range []string{"wallet_id", "expected_wallet", "actual_wallet", "endpoint", "other_escrow_id"} {
				v.optStr(d, "details", f)
			}
		}
	}
}

type callKey struct {
	role   string
	port   int64
	method string
}

func (v *validator) snapshot(d obj, role string, roleOK bool) {
	const p = "details"
	v.integer(d, p, "timestamp")
	v.str(d, p, "wallet_id")
	if r, ok := v.str(d, p, "role"); ok && roleOK && r != role {
		v.fail("details.role", "%q differs from the event's role %q", r, role)
	}
	v.boolean(d, p, "is_multisig")
	if raw, ok := v.member(d, p, "balance"); ok {
		var arr []json.RawMessage
		if kindOf(raw) != "array" || json.Unmarshal(raw, &arr) != nil {
			v.fail("details.balance", "want an array of 2 integers, got %s", kindOf(raw))
		} else if len(arr) != 2 {
			v.fail("details.balance", "want 2 integers [total, unlocked], got %d values", len(arr))
		} else {
			for i, x := range arr {
				if _, err := strconv.ParseUint(string(x), 10, 64); err != nil {
					v.fail(fmt.Sprintf("details.balance[%d]", i), "want a non-negative integer, got %s", short(x))
				}
			}
		}
	}
	addr, addrOK := v.str(d, p, "address")
	if h, ok := v.str(d, p, "address_hash"); ok {
		if !IsAddressHash(h) {
			v.fail("details.address_hash", "%q is not 64 lower-case hex digits", h)
		} else if addrOK && addr != "" {
			if AddressHash(addr) != h {
				v.fail("details.address_hash", "is not the SHA-256 of the address")
			}
		}
	}
	var perms string
	if raw, ok := v.member(d, p, "file_perms"); ok {
		switch kindOf(raw) {
		case "null":
		case "string":
			_ = json.Unmarshal(raw, &perms)
			if !isPerms(perms) {
				v.fail("details.file_perms", "%q is not owner bits like \"rw-\"", perms)
			}
		default:
			v.fail("details.file_perms", "want a string or null, got %s", kindOf(raw))
		}
	}
	if exists, ok := v.boolean(d, p, "file_exists"); ok && exists {
		if raw, _ := d.get("file_perms"); kindOf(raw) == "null" {
			v.fail("details.file_exists", "true while file_perms is null (no known path)")
		}
	}
	v.nullable(d, p, "rpc_port")
	v.integer(d, p, "collection_time_ms")
	v.nullable(d, p, "open_wallets_count")
}

// obj is a decoded JSON object that remembers its members' raw values.
type obj map[string]json.RawMessage

func (o obj) get(name string) (json.RawMessage, bool) {
	raw, ok := o[name]
	return raw, ok
}

// object decodes raw as an object, rejecting duplicate names (a reader would
// see only one of the values).
func (v *validator) object(path string, raw json.RawMessage) (obj, bool) {
	if kindOf(raw) != "object" {
		v.fail(path, "want an object, got %s", kindOf(raw))
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		v.fail(path, "%v", err)
		return nil, false
	}
	o := obj{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			v.fail(path, "%v", err)
			return nil, false
		}
		name, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			v.fail(path, "%v", err)
			return nil, false
		}
		if _, dup := o[name]; dup {
			v.fail(join(path, name), "appears twice")
		}
		o[name] = val
	}
	return o, true
}

func (v *validator) member(o obj, path, name string) (json.RawMessage, bool) {
	raw, ok := o[name]
	if !ok {
		v.fail(join(path, name), "missing")
	}
	return raw, ok
}

func (v *validator) str(o obj, path, name string) (string, bool) {
	raw, ok := v.member(o, path, name)
	if !ok {
		return "", false
	}
	var s string
	if kindOf(raw) != "string" || json.Unmarshal(raw, &s) != nil {
		v.fail(join(path, name), "want a string, got %s", short(raw))
		return "", false
	}
	return s, true
}

func (v *validator) integer(o obj, path, name string) (int64, bool) {
	raw, ok := v.member(o, path, name)
	if !ok {
		return 0, false
	}
	return v.integerValue(join(path, name), raw)
}

func (v *validator) integerValue(path string, raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		v.fail(path, "want an integer, got %s", short(raw))
		return 0, false
	}
	return n, true
}

func (v *validator) boolean(o obj, path, name string) (bool, bool) {
	raw, ok := v.member(o, path, name)
	if !ok {
		return false, false
	}
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	v.fail(join(path, name), "want true or false, got %s", short(raw))
	return false, false
}

// nullable checks a member that must be present, an integer or null.
func (v *validator) nullable(o obj, path, name string) {
	if raw, ok := v.member(o, path, name); ok && kindOf(raw) != "null" {
		v.integerValue(join(path, name), raw)
	}
}

// optStr and optInt check a member only when it is present.
func (v *validator) optStr(o obj, path, name string) {
	if _, ok := o[name]; ok {
		v.str(o, path, name)
	}
}

func (v *validator) optInt(o obj, path, name string) {
	if _, ok := o[name]; ok {
		v.integer(o, path, name)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// kindOf names the JSON type of a raw value.
func kindOf(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// short quotes a raw value for an error message, cut to a readable length.
func short(raw []byte) string {
	const n = 40
	if len(raw) > n {
		return kindOf(raw) + " " + string(raw[:n]) + "..."
	}
	if k := kindOf(raw); k != "number" {
		return k + " " + string(raw)
	}
	return string(raw)
}

func knownType(t string) bool {
	switch t {
	case TypeRPCCallStart, TypeRPCCallEnd, TypeRPCCallError, TypeErrorFinal, TypeCachePollution,
		TypeStateChange, TypeFileOperation, TypeCustom:
		return true
	}
	return isSnapshotType(t)
}

func knownRole(r string) bool {
	switch r {
	case RoleBuyer, RoleVendor, RoleArbiter, RoleCoordinator:
		return true
	}
	return false
}

// isPerms reports whether s is owner permission bits like "rw-".
func isPerms(s string) bool {
	return len(s) == 3 && (s[0] == 'r' || s[0] == '-') && (s[1] == 'w' || s[1] == '-') && (s[2] == 'x' || s[2] == '-')
}
