package otelmsig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// Defaults of StartEscrow when WithThreshold/WithParticipants are not given:
// the 2-of-3 escrow of buyer, vendor and arbiter.
const (
	DefaultThreshold    = 2
	DefaultParticipants = 3
)

// Escrow is the trace of one escrow setup: the root span escrow.setup, its
// rounds, snapshots, errors and the cache pollution seen on its calls.
// Its methods are safe for concurrent use; End it exactly once (more calls
// are ignored).
type Escrow struct {
	id     string
	start  time.Time
	idAttr attribute.KeyValue
	attrs  []attribute.KeyValue // {idAttr}, for RPC spans
	cfg    *config
	tracer trace.Tracer
	span   trace.Span

	// eps: the RPC versions of the escrow's endpoints and which of them
	// stopped answering.
	eps endpoints

	mu         sync.Mutex
	failed     bool
	ended      bool
	roundsDone int // rounds ended without error
	pollution  []Pollution
	// preRound1 maps addresses seen at SNAPSHOT_PRE_ROUND1 to the wallet
	// that showed them, to find two roles with one address.
	preRound1 map[string]Wallet
	// ident: which address each wallet should show (SetupMultisig).
	ident identity
}

// StartEscrow starts the root span escrow.setup of escrow id and returns a
// context carrying it: rounds, snapshots and the RPC spans of instrumented
// clients called with that context belong to the escrow.
//
// The root span gets escrow.id, escrow.trace_id ("<id>-<unix ms at start>",
// the legacy correlation id), escrow.threshold and escrow.participants. It
// is a new trace; a span already in ctx becomes a link. Spans come from the
// WithTracerProvider option, else the global provider.
func StartEscrow(ctx context.Context, id string, opts ...Option) (context.Context, *Escrow) {
	if len(opts) == 0 {
		return startEscrow(ctx, id, defaultConfig) // read only: no allocation
	}
	return startEscrow(ctx, id, newConfig(opts))
}

var defaultConfig = &config{tracker: defaultTracker}

func startEscrow(ctx context.Context, id string, cfg *config) (context.Context, *Escrow) {
	tp := cfg.tp
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	start := time.Now()
	e := &Escrow{
		id:     id,
		start:  start,
		idAttr: escrowconv.EscrowID.String(escrowIDValue(id)),
		cfg:    cfg,
		tracer: newTracer(tp),
	}
	e.attrs = []attribute.KeyValue{e.idAttr}
	if _, off := tp.(noop.TracerProvider); off {
		// Instrumentation disabled: nothing is recorded, so build nothing.
		e.span = trace.SpanFromContext(context.Background()) // the no-op span
		return context.WithValue(trace.ContextWithSpan(ctx, e.span), escrowKey, e), e
	}
	threshold, participants := cfg.threshold, cfg.participants
	if threshold == 0 {
		threshold = DefaultThreshold
	}
	if participants == 0 {
		participants = DefaultParticipants
	}
	sopts := []trace.SpanStartOption{
		trace.WithNewRoot(),
		trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			e.idAttr,
			str(escrowconv.EscrowTraceID, e.TraceID()),
			escrowconv.EscrowThreshold.Int(threshold),
			escrowconv.EscrowParticipants.Int(participants),
		),
	}
	if parent := trace.SpanContextFromContext(ctx); parent.IsValid() {
		sopts = append(sopts, trace.WithLinks(trace.Link{SpanContext: parent}))
	}
	ctx, e.span = e.tracer.Start(ctx, escrowconv.SpanEscrow, sopts...)
	return context.WithValue(ctx, escrowKey, e), e
}

// ID returns the escrow's id ("" for a nil Escrow).
func (e *Escrow) ID() string {
	if e == nil {
		return ""
	}
	return e.id
}

// TraceID returns the legacy correlation id, "<escrow id>-<unix ms at start>".
func (e *Escrow) TraceID() string { return e.id + "-" + strconv.FormatInt(e.start.UnixMilli(), 10) }

// Span returns the root span.
func (e *Escrow) Span() trace.Span { return e.span }

// Recording reports whether the escrow is being recorded. When it is not
// (instrumentation disabled), snapshots make no calls.
func (e *Escrow) Recording() bool { return e.span.IsRecording() }

// SetMultisigAddress records the shared multisig address and its SHA-256
// (escrow.multisig_address_hash) on the root span.
func (e *Escrow) SetMultisigAddress(addr string) {
	e.span.SetAttributes(str(escrowconv.EscrowAddress, addr),
		escrowconv.EscrowAddressHash.String(addressHash(addr)))
}

// addressHash is the lower-case hex SHA-256 of a wallet address.
func addressHash(addr string) string {
	sum := sha256.Sum256([]byte(addr))
	return hex.EncodeToString(sum[:])
}

// ErrorContext says where an escrow failed, for Fail.
type ErrorContext struct {
	Round     int    // key-exchange round, from 1; 0 before round 1
	Operation string // the method or step that failed, e.g. "exchange_multisig_keys"
	Role      string // the role of the wallet concerned, "" if none
	WalletID  string // the wallet concerned, "" if none
}

// Fail records that the escrow failed: RecordError and status Error on the
// root span and on the round in ctx (if it is this escrow's and still
// open), and one escrow.error event on the root with the message, round,
// operation, wallet id and escrow id; the legacy exporter turns that event
// into ERROR_FINAL. Only the first Fail of an escrow records; later ones
// are ignored, as is a nil err.
func (e *Escrow) Fail(ctx context.Context, err error, ec ErrorContext) {
	if err == nil {
		return
	}
	if r := roundFromContext(ctx); r != nil && r.esc == e {
		r.recordErr(err)
	}
	e.mu.Lock()
	first := !e.failed
	e.failed = true
	e.mu.Unlock()
	if !first {
		return
	}
	err = redactError(err)
	e.span.RecordError(err)
	e.span.SetStatus(codes.Error, err.Error())
	role := ec.Role
	if role == "" {
		role = escrowconv.RoleCoordinator
	}
	e.span.AddEvent(escrowconv.EventError, trace.WithAttributes(
		escrowconv.ErrorMessage.String(err.Error()),
		escrowconv.ErrorRound.Int(ec.Round),
		str(escrowconv.ErrorOperation, ec.Operation),
		str(escrowconv.WalletID, ec.WalletID),
		str(escrowconv.WalletRole, role),
		e.idAttr,
	))
}

// End ends the root span. A non-nil err that was not reported with Fail is
// recorded as by Fail with operation "escrow.setup". The root gets the
// outcome first: escrow.result (ok, or failed when Fail was called),
// escrow.rounds_completed (rounds ended without error) and
// escrow.pollution_count.
func (e *Escrow) End(err error) {
	if err != nil {
		e.Fail(context.Background(), err, ErrorContext{Operation: escrowconv.SpanEscrow})
	}
	e.mu.Lock()
	ended := e.ended
	e.ended = true
	failed, done, polluted := e.failed, e.roundsDone, len(e.pollution)
	e.mu.Unlock()
	if ended {
		return
	}
	if e.span.IsRecording() {
		result := escrowconv.ResultOK
		if failed {
			result = escrowconv.ResultFailed
		}
		e.span.SetAttributes(
			escrowconv.EscrowResult.String(result),
			escrowconv.EscrowRoundsCompleted.Int(done),
			escrowconv.EscrowPollutionCount.Int(polluted),
		)
	}
	e.span.End()
}

// Pollution returns the cache pollution recorded for this escrow so far:
// by the middleware on its RPC calls and by its snapshots.
func (e *Escrow) Pollution() []Pollution {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Pollution(nil), e.pollution...)
}

func (e *Escrow) addPollution(p Pollution) {
	e.mu.Lock()
	e.pollution = append(e.pollution, p)
	e.mu.Unlock()
}

// Round is the span of one key-exchange round.
type Round struct {
	esc    *Escrow
	n      int
	span   trace.Span
	mu     sync.Mutex
	errRec bool
	ended  bool
}

// StartRound starts the span of round n (from 1), named "multisig.round n"
// (escrowconv.RoundSpanName), whose main wallet RPC method is method
// (make_multisig, exchange_multisig_keys), as a child of the span in ctx
// (normally the escrow's root).
func (e *Escrow) StartRound(ctx context.Context, n int, method string) (context.Context, *Round) {
	r := &Round{esc: e, n: n}
	if !e.span.IsRecording() {
		// Nothing is recorded: the escrow's no-op span stays in ctx.
		r.span = e.span
		return ctx, r
	}
	ctx, r.span = e.tracer.Start(ctx, escrowconv.RoundSpanName(n),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			escrowconv.Round.Int(n),
			str(escrowconv.RoundMethod, method),
			e.idAttr,
		))
	return context.WithValue(ctx, roundKey, r), r
}

// Number returns the round number.
func (r *Round) Number() int { return r.n }

// Span returns the round's span.
func (r *Round) Span() trace.Span { return r.span }

// End ends the round's span; a non-nil err is recorded on it (RecordError,
// status Error) unless Fail already did. A round ended without any error
// counts in the root's escrow.rounds_completed. Later calls are ignored.
func (r *Round) End(err error) {
	if err != nil {
		r.recordErr(err)
	}
	r.mu.Lock()
	ended := r.ended
	r.ended = true
	ok := !r.errRec
	r.mu.Unlock()
	if ended {
		return
	}
	if ok {
		r.esc.mu.Lock()
		r.esc.roundsDone++
		r.esc.mu.Unlock()
	}
	r.span.End()
}

func (r *Round) recordErr(err error) {
	r.mu.Lock()
	skip := r.errRec || r.ended
	r.errRec = true
	r.mu.Unlock()
	if !skip {
		recordError(r.span, err)
	}
}

// Pollution is one detected case of a wallet in a state it should not be
// in. It is recorded as a cache_pollution span event.
type Pollution struct {
	// Reason is escrowconv.ReasonWrongWalletOpen, ReasonMultisigTooEarly or
	// ReasonDuplicateAddress.
	Reason string
	// ExpectedWallet is the wallet the call or snapshot was for (file name
	// for wrong_wallet_open, wallet id otherwise).
	ExpectedWallet string
	// ActualWallet is the wallet found instead (the open file for
	// wrong_wallet_open, or UnknownWallet(address) when a snapshot met a
	// wallet this process cannot name; the other wallet's id for
	// duplicate_address).
	ActualWallet string
	// Endpoint is the wallet-rpc's host:port, Port its port.
	Endpoint string
	Port     int
	// OtherEscrowID is the escrow that opened ActualWallet, when known.
	OtherEscrowID string
	// Role and WalletID are those of the wallet concerned.
	Role     string
	WalletID string
	// Opener is the span of the call that opened ActualWallet, when an
	// instrumented client of this process made it; invalid otherwise.
	// The polluted span links to it.
	Opener trace.SpanContext
}

// recordPollution records p on span, the span where the wrong wallet was
// met: a cache_pollution event; escrow.cache_pollution=true for tag search;
// status Error, so that Jaeger draws the span as a problem (an attribute
// alone leaves it a plain bar; the legacy exporter tells this status from a
// failed call by the missing error.type); and a link to p.Opener when
// known, which Jaeger shows under References. The escrow (nil when the call
// belongs to none) counts it.
func recordPollution(span trace.Span, p Pollution, esc *Escrow) {
	span.AddEvent(escrowconv.EventCachePollution, trace.WithAttributes(p.attributes(esc)...))
	span.SetAttributes(escrowconv.CachePollution.Bool(true))
	span.SetStatus(codes.Error, p.description())
	if p.Opener.IsValid() {
		span.AddLink(trace.Link{SpanContext: p.Opener, Attributes: []attribute.KeyValue{
			str(escrowconv.PollutionReason, p.Reason),
			str(escrowconv.PollutionOtherEscrowID, p.OtherEscrowID),
		}})
	}
	if esc != nil {
		esc.addPollution(p)
	}
}

// description is the status description of a polluted span.
func (p Pollution) description() string {
	d := "cache pollution: " + p.Reason
	if p.ActualWallet != "" {
		d += ": " + filenameValue(p.ActualWallet) + " met instead of " + filenameValue(p.ExpectedWallet)
	}
	if p.OtherEscrowID != "" {
		d += " (opened by escrow " + p.OtherEscrowID + ")"
	}
	return validUTF8(d)
}

func (p Pollution) attributes(esc *Escrow) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 9)
	for _, kv := range []attribute.KeyValue{
		str(escrowconv.PollutionReason, p.Reason),
		escrowconv.PollutionExpectedWallet.String(filenameValue(p.ExpectedWallet)),
		escrowconv.PollutionActualWallet.String(filenameValue(p.ActualWallet)),
		str(escrowconv.PollutionEndpoint, p.Endpoint),
		str(escrowconv.PollutionOtherEscrowID, p.OtherEscrowID),
		str(escrowconv.WalletRole, p.Role),
		str(escrowconv.WalletID, p.WalletID),
	} {
		if kv.Value.AsString() != "" { // unknown: leave the key out
			a = append(a, kv)
		}
	}
	if p.Port != 0 {
		a = append(a, escrowconv.WalletRPCPort.Int(p.Port))
	}
	if esc != nil {
		a = append(a, esc.idAttr)
	}
	return a
}
