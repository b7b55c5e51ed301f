package walletpollutionprocessor

import (
	"net"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// Attribute keys read or written here, as the strings pdata wants.
var (
	keyRPCSystemName   = string(semconv.RPCSystemNameKey)
	keyRPCMethod       = string(semconv.RPCMethodKey)
	keyServerAddress   = string(semconv.ServerAddressKey)
	keyServerPort      = string(semconv.ServerPortKey)
	keyErrorType       = string(semconv.ErrorTypeKey)
	keyRPCStatusCode   = string(semconv.RPCResponseStatusCodeKey)
	keyServiceInstance = string(semconv.ServiceInstanceIDKey)
	valueJSONRPC       = semconv.RPCSystemNameJSONRPC.Value.AsString()

	keyEscrowID       = string(escrowconv.EscrowID)
	keyWalletFilename = string(escrowconv.WalletFilename)
	keyWalletRole     = string(escrowconv.WalletRole)
	keyWalletID       = string(escrowconv.WalletID)
	keyWalletRPCPort  = string(escrowconv.WalletRPCPort)
	keyReason         = string(escrowconv.PollutionReason)
	keyExpected       = string(escrowconv.PollutionExpectedWallet)
	keyActual         = string(escrowconv.PollutionActualWallet)
	keyEndpoint       = string(escrowconv.PollutionEndpoint)
	keyOtherEscrow    = string(escrowconv.PollutionOtherEscrowID)
	keyOtherInstance  = string(escrowconv.PollutionOtherServiceInstanceID)
	keyDetectedBy     = string(escrowconv.PollutionDetectedBy)
	keyCachePollution = string(escrowconv.CachePollution)
)

// spanRole is what a span is to the detector.
type spanRole uint8

const (
	roleNone   spanRole = iota // not a wallet-rpc call the detector uses
	roleSwitch                 // an open, create, restore or close: changes the open wallet
	roleCall                   // a call for wallet.filename that acts on the open wallet: judged
)

// outcome is what a call's status says about whether wallet-rpc ran it.
type outcome uint8

const (
	outcomeServed   outcome = iota // succeeded
	outcomeRPCError                // wallet-rpc ran it and answered a JSON-RPC error: an open or close changed nothing
	outcomeNotRun                  // it never reached the wallet: an HTTP status (401, 404), an encoding error
	outcomeUnknown                 // a transport failure: it may or may not have run, and when
)

// rpcSpan is what the detector reads from one wallet-rpc CLIENT span.
// Its strings may point into the span's batch: clone what is kept.
type rpcSpan struct {
	role     spanRole
	endpoint endpointKey
	method   string
	filename string // wallet.filename: the wallet opened, or the wallet the call is for
	escrowID string
	start    int64 // unix ns, the client's clock
	end      int64
	outcome  outcome
}

// endpointKey identifies a wallet-rpc endpoint as its clients name it:
// server.address and server.port. Its host may point into a batch: clone
// it to keep it.
type endpointKey struct {
	host string
	port int64
}

// String returns host:port, the pollution.endpoint value.
func (k endpointKey) String() string {
	return net.JoinHostPort(k.host, strconv.FormatInt(k.port, 10))
}

// readSpan classifies span, a span of scope under a resource. A wallet-rpc
// call is a CLIENT span with rpc.method, server.address and server.port,
// of rpc.system.name jsonrpc or of otelmsig's scope.
func readSpan(span ptrace.Span, scope string) (rpcSpan, bool) {
	if span.Kind() != ptrace.SpanKindClient {
		return rpcSpan{}, false
	}
	attrs := span.Attributes()
	method := str(attrs, keyRPCMethod)
	if method == "" {
		return rpcSpan{}, false
	}
	if scope != escrowconv.ScopeName && str(attrs, keyRPCSystemName) != valueJSONRPC {
		return rpcSpan{}, false
	}
	host := str(attrs, keyServerAddress)
	port := intAttr(attrs, keyServerPort)
	if host == "" || port <= 0 {
		return rpcSpan{}, false
	}
	s := rpcSpan{
		method:   method,
		endpoint: endpointKey{host: host, port: port},
		filename: str(attrs, keyWalletFilename),
		start:    int64(span.StartTimestamp()),
		end:      int64(span.EndTimestamp()),
		outcome:  readOutcome(span, attrs),
	}
	if s.end < s.start {
		s.end = s.start
	}
	switch walletrpc.MethodWalletEffect(method) {
	case walletrpc.OpensWallet, walletrpc.ClosesWallet:
		s.role = roleSwitch
		s.escrowID = str(attrs, keyEscrowID)
	case walletrpc.UsesOpenWallet:
		if s.filename == "" {
			return rpcSpan{}, false // for no known wallet: not judged
		}
		s.role = roleCall
	default:
		return rpcSpan{}, false // get_version: no wallet
	}
	return s, true
}

// readOutcome reads the status and error.type otelmsig sets: a JSON-RPC
// error has a numeric error.type (its code) and rpc.response.status_code;
// a transport error has error.type set to walletrpc's TransportKind.
func readOutcome(span ptrace.Span, attrs pcommon.Map) outcome {
	if span.Status().Code() != ptrace.StatusCodeError {
		return outcomeServed
	}
	if _, ok := attrs.Get(keyRPCStatusCode); ok {
		return outcomeRPCError
	}
	et := str(attrs, keyErrorType)
	if _, err := strconv.Atoi(et); err == nil {
		return outcomeRPCError
	}
	switch walletrpc.TransportKind(et) {
	case walletrpc.KindHTTP, walletrpc.KindEncode:
		return outcomeNotRun
	}
	// Timeout, cancel, connection lost, unreadable reply, or an error the
	// span does not explain: the call may have run.
	return outcomeUnknown
}

// failed reports whether the span records a real failure of the call (the
// legacy converter's test: status Error with error.type).
func failed(span ptrace.Span) bool {
	if span.Status().Code() != ptrace.StatusCodeError {
		return false
	}
	_, ok := span.Attributes().Get(keyErrorType)
	return ok
}

// flaggedByProcess reports whether span already carries a cache_pollution
// event for reason: the process (or an earlier detector) found it.
func flaggedByProcess(span ptrace.Span, reason string) bool {
	evs := span.Events()
	for i := range evs.Len() {
		ev := evs.At(i)
		if ev.Name() == escrowconv.EventCachePollution && str(ev.Attributes(), keyReason) == reason {
			return true
		}
	}
	return false
}

func str(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func intAttr(m pcommon.Map, key string) int64 {
	v, ok := m.Get(key)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeStr:
		n, _ := strconv.ParseInt(v.Str(), 10, 64)
		return n
	}
	return 0
}
