package assembly

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/secret"
)

// spanInfo is what one span contributes to an escrow.
type spanInfo struct {
	tid      trace.TraceID
	escrowID string
	records  []record

	isRoot bool
	// localRoot: the span has no parent in this process (the end of the
	// trace's local part, as spans end before their parents).
	localRoot     bool
	legacyTraceID string // root: escrow.trace_id
	startNs       int64  // root: start time
	endNs         int64  // root: end time
	failed        bool   // root: status Error
	failDesc      string // root: status description

	failRound  int    // a round span with status Error: its round
	failOp     string // an RPC span with status Error: its method
	failWallet string // ... and its wallet id
	failAt     int64  // ... and its end time
}

// relevant reports whether the span carries anything of ours.
func (si *spanInfo) relevant() bool {
	return si.escrowID != "" || len(si.records) > 0 || si.localRoot
}

// spanAttrs are the span attributes the conversion reads.
type spanAttrs struct {
	escrowID, legacyTraceID string
	role, walletID          string
	method, system          string
	statusCode, errorType   string
	port                    int32
	round                   int
	hasRound, snapshotCall  bool
	// snapshotSpan: the span is a snapshot span (it has snapshot.point),
	// started at the snapshot's collection start.
	snapshotSpan bool
	// polluted: escrow.cache_pollution=true, which comes with status
	// Error on a call that may well have succeeded.
	polluted bool
}

func readSpanAttrs(attrs []attribute.KeyValue) spanAttrs {
	var a spanAttrs
	var walletPort int32
	for _, kv := range attrs {
		switch kv.Key {
		case escrowconv.EscrowID:
			a.escrowID = str(kv.Value)
		case escrowconv.EscrowTraceID:
			a.legacyTraceID = str(kv.Value)
		case escrowconv.WalletRole:
			a.role = str(kv.Value)
		case escrowconv.WalletID:
			a.walletID = str(kv.Value)
		case semconv.RPCMethodKey:
			a.method = str(kv.Value)
		case semconv.RPCSystemNameKey:
			a.system = str(kv.Value)
		case semconv.RPCResponseStatusCodeKey:
			a.statusCode = str(kv.Value)
		case semconv.ErrorTypeKey:
			a.errorType = str(kv.Value)
		case semconv.ServerPortKey:
			a.port = portOf(kv.Value)
		case escrowconv.WalletRPCPort:
			walletPort = portOf(kv.Value)
		case escrowconv.Round:
			if n, ok := intOf(kv.Value); ok {
				a.round, a.hasRound = int(n), true
			}
		case escrowconv.AttrSnapshotCall:
			a.snapshotCall = kv.Value.Type() == attribute.BOOL && kv.Value.AsBool()
		case escrowconv.SnapshotPoint:
			a.snapshotSpan = true
		case escrowconv.CachePollution:
			a.polluted = kv.Value.Type() == attribute.BOOL && kv.Value.AsBool()
		}
	}
	if a.port == 0 {
		a.port = walletPort
	}
	return a
}

// converter turns spans into records. It holds the settings that shape them.
type converter struct {
	rawAddresses bool
}

// convert reads one span. It keeps nothing of the span but copies of the
// values it needs.
func (c converter) convert(s *Span) spanInfo {
	a := readSpanAttrs(s.Attributes)
	si := spanInfo{tid: s.TraceID, escrowID: clone(a.escrowID), localRoot: s.LocalRoot}
	spanRole := normRole(a.role)
	start, end := s.Start.UnixNano(), s.End.UnixNano()

	// An RPC client call of the escrow: start + end/error events. Without an
	// escrow id only a JSON-RPC call counts, so that other RPC clients' spans
	// (gRPC, ...) are not taken for ours.
	isRPC := s.Kind == trace.SpanKindClient && a.method != "" &&
		(a.escrowID != "" || a.system == semconv.RPCSystemNameJSONRPC.Value.AsString())
	if isRPC && !a.snapshotCall {
		method := internMethod(a.method)
		si.records = append(si.records, record{
			at: start, port: a.port, typ: escrowjson.TypeRPCCallStart, role: spanRole,
			details: &escrowjson.RPCCallStart{Method: method, Timestamp: msOf(start)},
		})
		dur := max(time.Duration(end-start), 0)
		endDetails := &escrowjson.RPCCallEnd{Method: method, DurationMs: dur.Milliseconds(), Success: true}
		typ := escrowjson.TypeRPCCallEnd
		// A call marked as polluted has status Error for Jaeger's sake;
		// it failed only if it also has error.type (set on every failed
		// call).
		if s.StatusCode == codes.Error && (!a.polluted || a.errorType != "") {
			typ = escrowjson.TypeRPCCallError
			endDetails.Success = false
			endDetails.Error = text(s.StatusDescription)
			if endDetails.Error == "" {
				endDetails.Error = text(a.errorType)
			}
			if code, err := strconv.Atoi(strings.TrimSpace(a.statusCode)); err == nil {
				endDetails.Code = &code
			}
			si.failOp, si.failWallet, si.failAt = method, clone(a.walletID), end
		}
		si.records = append(si.records, record{at: end, port: a.port, typ: typ, role: spanRole, details: endDetails})
	}

	switch {
	case s.Name == escrowconv.SpanEscrow && a.escrowID != "":
		si.isRoot = true
		si.legacyTraceID = clone(a.legacyTraceID)
		si.startNs, si.endNs = start, end
		if s.StatusCode == codes.Error {
			si.failed, si.failDesc = true, text(s.StatusDescription)
		}
	case a.hasRound && s.StatusCode == codes.Error && s.Kind != trace.SpanKindClient:
		// A round span ("multisig.round 2") or a wallet step span in it.
		si.failRound = a.round
	}

	for i := range s.Events {
		ev := &s.Events[i]
		var r record
		var ok bool
		switch ev.Name {
		case escrowconv.EventSnapshot:
			r, ok = c.snapshot(ev, &a), true
			if a.snapshotSpan {
				// The event is stamped when the values were read; the
				// legacy file orders the snapshot by its collection
				// start, the span's start (its snapshot.timestamp_ms).
				r.at = start
			}
		case escrowconv.EventError:
			r, ok = errorFinal(ev, &a, si.escrowID), true
		case escrowconv.EventCachePollution:
			r, ok = pollution(ev, &a), true
		}
		if ok {
			si.records = append(si.records, r)
		}
	}
	return si
}

// eventAttrs are the attributes of one of our span events.
type eventAttrs struct {
	kv []attribute.KeyValue
}

func (e eventAttrs) get(k attribute.Key) (attribute.Value, bool) {
	for _, kv := range e.kv {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func (e eventAttrs) str(k attribute.Key) string {
	v, _ := e.get(k)
	return str(v)
}

func (e eventAttrs) int(k attribute.Key) (int64, bool) {
	v, ok := e.get(k)
	if !ok {
		return 0, false
	}
	return intOf(v)
}

func (e eventAttrs) bool(k attribute.Key) (bool, bool) {
	v, ok := e.get(k)
	if !ok || v.Type() != attribute.BOOL {
		return false, false
	}
	return v.AsBool(), true
}

// roleAndPort picks the legacy role and port of an event: the event's own,
// else the span's. The span's port is taken only when the event is about
// the span's wallet.
func roleAndPort(e eventAttrs, a *spanAttrs) (string, int32) {
	role := e.str(escrowconv.WalletRole)
	var port int32
	if v, ok := e.get(escrowconv.WalletRPCPort); ok {
		port = portOf(v)
	}
	if role == "" || normRole(role) == normRole(a.role) {
		if role == "" {
			role = a.role
		}
		if port == 0 {
			port = a.port
		}
	}
	return normRole(role), port
}

func (c converter) snapshot(ev *Event, a *spanAttrs) record {
	e := eventAttrs{ev.Attributes}
	role, port := roleAndPort(e, a)
	at := ev.Time.UnixNano()
	snap := &escrowjson.Snapshot{
		Timestamp: msOf(at),
		// WalletID, Address, AddressHash and WalletFilename are not copied
		// here: the exporter interns them per escrow (they repeat at every
		// snapshot point).
		WalletID: cut(first(e.str(escrowconv.WalletID), a.walletID)),
		Role:     role,
		Error:    text(e.str(escrowconv.SnapshotError)),
	}
	if ms, ok := e.int(escrowconv.SnapshotTimeMs); ok {
		snap.Timestamp = ms
	}
	if ms, ok := e.int(escrowconv.SnapshotDurationMs); ok {
		snap.CollectionTimeMs = max(ms, 0)
	}
	snap.IsMultisig, _ = e.bool(escrowconv.WalletIsMultisig)
	if b, ok := e.bool(escrowconv.WalletMultisigReady); ok {
		snap.MultisigReady = &b
	}
	if n, ok := e.int(escrowconv.WalletThreshold); ok {
		v := int(n)
		snap.Threshold = &v
	}
	if n, ok := e.int(escrowconv.WalletTotal); ok {
		v := int(n)
		snap.Total = &v
	}
	if n, ok := e.int(escrowconv.WalletBalance); ok {
		snap.Balance[0] = uint64(n) // an int64 attribute holding a uint64 balance
	}
	if n, ok := e.int(escrowconv.WalletUnlockedBalance); ok {
		snap.Balance[1] = uint64(n)
	}
	addr := e.str(escrowconv.WalletAddress)
	hash := e.str(escrowconv.WalletAddressHash)
	if addr != "" || !escrowjson.IsAddressHash(hash) {
		snap.AddressHash = escrowjson.AddressHash(addr)
	} else {
		snap.AddressHash = hash
	}
	if c.rawAddresses {
		snap.Address = addr
	}
	// Without a known path the legacy format has file_perms null and
	// file_exists false.
	if p, ok := ownerPerms(e.str(escrowconv.WalletFilePerms)); ok {
		snap.FilePerms = &p
		snap.FileExists, _ = e.bool(escrowconv.WalletFileExists)
	}
	if port != 0 {
		p := int(port)
		snap.RPCPort = &p
	}
	if n, ok := e.int(escrowconv.WalletOpenCount); ok {
		v := int(n)
		snap.OpenWalletsCount = &v
	}
	snap.WalletFilename = cut(e.str(escrowconv.WalletFilename))
	if n, ok := e.int(escrowconv.WalletRPCVersion); ok && n > 0 && n <= math.MaxInt32 {
		v := int(n)
		snap.RPCVersion = &v
	}
	snap.MixedWallets, _ = e.bool(escrowconv.SnapshotMixedWallets)

	typ := e.str(escrowconv.SnapshotPoint)
	if p, ok := internPoint(typ); ok {
		typ = p
	} else {
		// A point the legacy format does not name: keep it, as CUSTOM.
		snap.Point = text(typ)
		typ = escrowjson.TypeCustom
	}
	return record{at: at, port: port, typ: typ, role: role, details: snap}
}

func errorFinal(ev *Event, a *spanAttrs, escrowID string) record {
	e := eventAttrs{ev.Attributes}
	role, port := roleAndPort(e, a)
	at := ev.Time.UnixNano()
	d := &escrowjson.ErrorFinal{
		Error: text(e.str(escrowconv.ErrorMessage)),
		Context: escrowjson.ErrorContext{
			Operation: text(orStr(e.str(escrowconv.ErrorOperation), a.method)),
			WalletID:  orStr(e.str(escrowconv.WalletID), a.walletID),
			EscrowID:  orStr(e.str(escrowconv.EscrowID), escrowID),
			Timestamp: rfc3339(at),
		},
	}
	if n, ok := e.int(escrowconv.ErrorRound); ok {
		d.Context.Round = int(n)
	} else if a.hasRound {
		d.Context.Round = a.round
	}
	return record{at: at, port: port, typ: escrowjson.TypeErrorFinal, role: role, details: d}
}

func pollution(ev *Event, a *spanAttrs) record {
	e := eventAttrs{ev.Attributes}
	role, port := roleAndPort(e, a)
	d := &escrowjson.CachePollution{
		Reason:         text(e.str(escrowconv.PollutionReason)),
		WalletID:       orStr(e.str(escrowconv.WalletID), a.walletID),
		ExpectedWallet: text(e.str(escrowconv.PollutionExpectedWallet)),
		ActualWallet:   text(e.str(escrowconv.PollutionActualWallet)),
		Endpoint:       text(e.str(escrowconv.PollutionEndpoint)),
		OtherEscrowID:  text(e.str(escrowconv.PollutionOtherEscrowID)),

		OtherServiceInstanceID: text(e.str(escrowconv.PollutionOtherServiceInstanceID)),
		DetectedBy:             text(e.str(escrowconv.PollutionDetectedBy)),
	}
	return record{at: ev.Time.UnixNano(), port: port, typ: escrowjson.TypeCachePollution, role: role, details: d}
}

// rfc3339Ms is RFC 3339 with milliseconds, the precision of the legacy
// timestamps.
const rfc3339Ms = "2006-01-02T15:04:05.000Z07:00"

func rfc3339(ns int64) string { return time.Unix(0, ns).UTC().Format(rfc3339Ms) }

// msOf converts unix ns to unix ms, rounding down also before 1970.
func msOf(ns int64) int64 {
	ms := ns / 1e6
	if ns%1e6 < 0 {
		ms--
	}
	return ms
}

func str(v attribute.Value) string {
	if v.Type() != attribute.STRING {
		return ""
	}
	return v.AsString()
}

func intOf(v attribute.Value) (int64, bool) {
	switch v.Type() {
	case attribute.INT64:
		return v.AsInt64(), true
	case attribute.STRING: // tolerate a number sent as a string
		n, err := strconv.ParseInt(v.AsString(), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func portOf(v attribute.Value) int32 {
	n, ok := intOf(v)
	if !ok || n < 1 || n > 65535 {
		return 0
	}
	return int32(n)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orStr(a, b string) string {
	if a != "" {
		return clone(a)
	}
	return clone(b)
}

// clone copies s so that a buffered event does not keep alive whatever
// larger buffer an attribute value may point into.
func clone(s string) string { return strings.Clone(s) }

// maxText bounds free-text values (error messages, reasons) in a file.
const maxText = 1024

// text prepares a free-text value for a file: at most 1 KiB (cut at a
// character boundary), with anything that looks like multisig key-exchange
// material redacted, in case an error message quoted it. Invalid UTF-8 is
// left to the encoder, which writes U+FFFD for it.
func text(s string) string {
	if s == "" {
		return ""
	}
	return strings.Clone(cut(s))
}

// cut is text without the copy. Key material is redacted before the text is
// cut, so that a cut cannot leave a stub too short to be recognised.
func cut(s string) string {
	s = secret.Redact(s)
	if len(s) > maxText {
		n := maxText
		for n > maxText-utf8.UTFMax && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}

// normRole maps a wallet.role value to a legacy role: buyer, vendor, arbiter
// or coordinator. Unknown roles become coordinator, since legacy scripts
// know only these four.
func normRole(r string) string {
	switch strings.ToLower(r) {
	case escrowjson.RoleBuyer:
		return escrowjson.RoleBuyer
	case escrowjson.RoleVendor:
		return escrowjson.RoleVendor
	case escrowjson.RoleArbiter:
		return escrowjson.RoleArbiter
	}
	return escrowjson.RoleCoordinator
}

// internPoint returns the escrowconv constant for a snapshot point.
func internPoint(p string) (string, bool) {
	for _, q := range escrowconv.Points {
		if p == q {
			return q, true
		}
	}
	return "", false
}

var knownMethods = []string{
	"prepare_multisig", "make_multisig", "exchange_multisig_keys", "export_multisig_info",
	"import_multisig_info", "is_multisig", "get_balance", "get_address", "open_wallet",
	"close_wallet", "create_wallet", "get_version", "get_height", "finalize_multisig",
}

// internMethod shares the string of a well-known method among all events.
func internMethod(m string) string {
	for _, k := range knownMethods {
		if m == k {
			return k
		}
	}
	return text(m)
}

var knownPerms = []string{"rw-", "r--", "---", "-w-", "rwx", "r-x", "--x", "-wx"}

// ownerPerms returns the owner bits of a permission string as the legacy
// format has them ("rw-"); it also takes "-rw-------" (ls) and "600"/"0600"
// (octal). It reports false for anything else.
func ownerPerms(p string) (string, bool) {
	switch {
	case len(p) == 10 && (p[0] == '-' || p[0] == 'd' || p[0] == 'l'):
		p = p[1:4]
	case len(p) == 3 && p[0] >= '0' && p[0] <= '7' || len(p) == 4 && p[0] == '0':
		if n, err := strconv.ParseUint(p, 8, 32); err == nil {
			return knownPerms[ownerIndex(uint32(n)>>6&7)], true
		}
		return "", false
	}
	for _, k := range knownPerms {
		if p == k {
			return k, true
		}
	}
	return "", false
}

// ownerIndex maps octal owner bits to their place in knownPerms.
func ownerIndex(bits uint32) int {
	return [8]int{2, 6, 3, 7, 1, 5, 0, 4}[bits]
}
