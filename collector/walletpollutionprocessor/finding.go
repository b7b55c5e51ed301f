package walletpollutionprocessor

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// finding is one call found to have met another wallet.
type finding struct {
	endpoint string // host:port
	port     int64
	expected string // the wallet the call was for
	opener   entry  // the open of the wallet it met
}

// mark records f on span, the victim, the way otelmsig records the
// process's own findings: a cache_pollution event stamped at the call's
// start, escrow.cache_pollution=true, status Error (a call that really
// failed keeps its status and description: the legacy converter tells a
// real failure by error.type) and a link to the span that opened the
// wallet met.
func (f *finding) mark(span ptrace.Span) {
	attrs := span.Attributes()
	actual := f.opener.wallet.Value()
	otherEscrow := f.opener.escrowID.Value()
	otherInstance := f.opener.instanceID.Value()

	ev := span.Events().AppendEmpty()
	ev.SetName(escrowconv.EventCachePollution)
	ev.SetTimestamp(span.StartTimestamp())
	ea := ev.Attributes()
	ea.EnsureCapacity(11)
	ea.PutStr(keyReason, escrowconv.ReasonWrongWalletOpen)
	ea.PutStr(keyExpected, f.expected)
	ea.PutStr(keyActual, actual)
	ea.PutStr(keyEndpoint, f.endpoint)
	putNonEmpty(ea, keyOtherEscrow, otherEscrow)
	putNonEmpty(ea, keyOtherInstance, otherInstance)
	ea.PutStr(keyDetectedBy, escrowconv.DetectedByCollector)
	putNonEmpty(ea, keyWalletRole, str(attrs, keyWalletRole))
	putNonEmpty(ea, keyWalletID, str(attrs, keyWalletID))
	ea.PutInt(keyWalletRPCPort, f.port)
	putNonEmpty(ea, keyEscrowID, str(attrs, keyEscrowID))

	attrs.PutBool(keyCachePollution, true)
	if !failed(span) {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(f.description(actual, otherEscrow, otherInstance))
	}

	l := span.Links().AppendEmpty()
	l.SetTraceID(f.opener.traceID)
	l.SetSpanID(f.opener.spanID)
	l.Attributes().PutStr(keyReason, escrowconv.ReasonWrongWalletOpen)
	putNonEmpty(l.Attributes(), keyOtherEscrow, otherEscrow)
}

// description is the status description of a polluted call that did not
// fail otherwise: otelmsig's, plus the other process.
func (f *finding) description(actual, otherEscrow, otherInstance string) string {
	var b strings.Builder
	b.WriteString("cache pollution: ")
	b.WriteString(escrowconv.ReasonWrongWalletOpen)
	b.WriteString(": ")
	b.WriteString(actual)
	b.WriteString(" met instead of ")
	b.WriteString(f.expected)
	switch {
	case otherEscrow != "" && otherInstance != "":
		b.WriteString(" (opened by escrow " + otherEscrow + " in service instance " + otherInstance + ")")
	case otherEscrow != "":
		b.WriteString(" (opened by escrow " + otherEscrow + ")")
	case otherInstance != "":
		b.WriteString(" (opened in service instance " + otherInstance + ")")
	}
	return b.String()
}

// putNonEmpty puts k=v in m unless v is "" (unknown: the key is left out,
// as otelmsig does).
func putNonEmpty(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}
