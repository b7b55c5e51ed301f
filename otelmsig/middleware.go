package otelmsig

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// Middleware returns walletrpc middleware that makes one CLIENT span per
// wallet RPC call, named by the JSON-RPC method, child of the span in the
// call's context (a wallet step or snapshot span, in an escrow).
//
// A span carries rpc.system.name=jsonrpc, rpc.method, server.address,
// server.port, jsonrpc.protocol.version=2.0, the escrow.id of the escrow in
// the context, and wallet.role and wallet.id of the wallet set with
// ContextWithWallet. wallet.filename (escrowconv.WalletFilename) is, on a
// call that opens a wallet (open_wallet, create_wallet,
// restore_deterministic_wallet, generate_from_keys), the file it opens as
// its params name it, and on any other call that acts on a wallet the
// Filename of the wallet in the context; a call that needs no wallet
// (get_version) has none. It is set before the call, so failed calls carry
// it too. A name that is not valid UTF-8 or longer than 255 bytes is
// recorded cut, with "~" and 16 hex digits of the SHA-256 of its bytes.
// A failed call gets status Error, an exception event
// (RecordError), error.type (the JSON-RPC code, or the TransportError kind
// such as "timeout") and, for JSON-RPC errors, rpc.response.status_code.
// Params and results are never recorded: they hold passwords and multisig
// key material.
//
// The middleware also keeps the Tracker up to date with which wallet is
// open on the endpoint, and records a cache_pollution event on the span when
// a call for one wallet (see ContextWithWallet) goes to an endpoint where
// another one is known to be open, or is being opened by a call sent before
// it. It makes no RPC calls of its own. When the span is not recording
// (no SDK installed, instrumentation disabled, not sampled) it does no more
// than start and end the no-op span.
func Middleware(opts ...Option) walletrpc.Middleware {
	cfg := newConfig(opts)
	var fixed *tracerEntry
	if cfg.tp != nil {
		fixed = newTracerEntry(cfg.tp)
	}
	return func(next walletrpc.Invoker) walletrpc.Invoker {
		m := &instrumented{tracker: cfg.tracker, fixed: fixed, next: next}
		return m.invoke
	}
}

// WithTracing is the walletrpc.Option that instruments a client with
// Middleware(opts...):
//
//	c, err := walletrpc.New(url, otelmsig.WithTracing())
func WithTracing(opts ...Option) walletrpc.Option {
	return walletrpc.WithMiddleware(Middleware(opts...))
}

var _ walletrpc.Invoker = (*instrumented)(nil).invoke

func newTracer(tp trace.TracerProvider) trace.Tracer {
	return tp.Tracer(escrowconv.ScopeName,
		trace.WithInstrumentationVersion(Version()),
		trace.WithSchemaURL(semconv.SchemaURL))
}

type instrumented struct {
	tracker *Tracker
	fixed   *tracerEntry // from WithTracerProvider
	next    walletrpc.Invoker
	ep      atomic.Pointer[endpointInfo]
	tracers tracerCache
}

// endpointInfo is computed once per endpoint (a client has one), not per
// call.
type endpointInfo struct {
	url      string
	hostport string
	port     int
	attrs    []attribute.KeyValue
	byMethod sync.Map // method -> []trace.SpanStartOption: kind and attributes, built once
}

// startOpts returns the span start options of a call of method: the span
// kind and the endpoint's and method's attributes, so that samplers see
// them. They are built once per method and shared.
func (ep *endpointInfo) startOpts(method string) []trace.SpanStartOption {
	if v, ok := ep.byMethod.Load(method); ok {
		return v.([]trace.SpanStartOption)
	}
	attrs := append(slices.Clip(ep.attrs), semconv.RPCMethod(method))
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
	v, _ := ep.byMethod.LoadOrStore(method, opts)
	return v.([]trace.SpanStartOption)
}

func (m *instrumented) endpoint(e walletrpc.Endpoint) *endpointInfo {
	if p := m.ep.Load(); p != nil && p.url == e.URL {
		return p
	}
	p := &endpointInfo{
		url:      e.URL,
		hostport: e.String(),
		port:     e.Port,
		attrs: []attribute.KeyValue{
			semconv.RPCSystemNameJSONRPC,
			semconv.JSONRPCProtocolVersion("2.0"),
			semconv.ServerAddress(validUTF8(e.Host)),
			semconv.ServerPort(e.Port),
		},
	}
	m.ep.Store(p)
	return p
}

func (m *instrumented) tracer(ctx context.Context) *tracerEntry {
	if m.fixed != nil {
		return m.fixed
	}
	if s := trace.SpanFromContext(ctx); s.SpanContext().IsValid() {
		return m.tracers.get(s.TracerProvider())
	}
	return m.tracers.get(otel.GetTracerProvider())
}

func (m *instrumented) invoke(ctx context.Context, req *walletrpc.Request) error {
	ep := m.endpoint(req.Endpoint)
	tr := m.tracer(ctx)
	ch := changeOf(req)
	if tr.noop {
		// Instrumentation disabled (Setup installed the no-op provider):
		// no span at all, only keep the tracker right.
		if !ch.changes() {
			return m.next(ctx, req)
		}
		pending := m.tracker.begin(ep.hostport, ch, EscrowFromContext(ctx).ID(), trace.SpanContext{})
		err := m.next(ctx, req)
		m.tracker.end(ep.hostport, pending, err)
		return err
	}
	ctx, span := tr.t.Start(ctx, req.Method, ep.startOpts(req.Method)...)
	recording := span.IsRecording()

	var esc *Escrow
	if recording {
		// Prebuilt slices: no allocation here, except for a call that
		// opens a wallet other than the one in the context.
		if esc = EscrowFromContext(ctx); esc != nil {
			span.SetAttributes(esc.attrs...)
		}
		ci := callFromContext(ctx)
		switch {
		case ch.effect == walletrpc.OpensWallet:
			setOpenedWallet(span, ci, ch)
		case ci == nil:
		case ch.effect == walletrpc.NoWallet:
			span.SetAttributes(ci.noFile...)
		default:
			span.SetAttributes(ci.attrs...)
			if ci.filename != "" && ch.effect == walletrpc.UsesOpenWallet {
				m.checkOpenWallet(span, ep, ci, esc)
			}
		}
	}

	var pending *pendingOpen
	if ch.changes() {
		if esc == nil {
			esc = EscrowFromContext(ctx)
		}
		var opener trace.SpanContext
		if recording {
			opener = span.SpanContext()
		}
		pending = m.tracker.begin(ep.hostport, ch, esc.ID(), opener)
	}
	err := m.next(ctx, req)
	m.tracker.end(ep.hostport, pending, err)
	if err != nil && recording {
		recordRPCError(span, err)
	}
	span.End()
	return err
}

// walletChange is what a call does about its endpoint's open wallet, read
// once per call.
type walletChange struct {
	effect walletrpc.WalletEffect
	// opened is the file an OpensWallet call opens; known is false when
	// its params do not say.
	opened string
	known  bool
}

func changeOf(req *walletrpc.Request) walletChange {
	ch := walletChange{effect: req.WalletEffect()}
	if ch.effect == walletrpc.OpensWallet {
		ch.opened, ch.known = req.OpenedWallet()
	}
	return ch
}

// changes reports whether the call opens, creates or closes a wallet: the
// Tracker must hear of it.
func (ch walletChange) changes() bool {
	return ch.effect == walletrpc.OpensWallet || ch.effect == walletrpc.ClosesWallet
}

// setOpenedWallet gives the span of a call that opens a wallet the
// wallet's role and id from ci (nil: none) and, as wallet.filename, the
// file the call opens, which need not be ci's; none when the params do not
// say which.
func setOpenedWallet(span trace.Span, ci *callInfo, ch walletChange) {
	if ci != nil {
		if ch.known && ch.opened == ci.filename {
			span.SetAttributes(ci.attrs...) // the usual re-open: prebuilt
			return
		}
		span.SetAttributes(ci.noFile...)
	}
	if ch.known && ch.opened != "" {
		span.SetAttributes(filenameAttr(ch.opened))
	}
}

// checkOpenWallet records cache pollution on span (see recordPollution)
// when the tracker knows that the call will meet a wallet other than ci's:
// another one is open on the endpoint, or being opened by a call sent
// before this one. The span links to the span of that open.
func (m *instrumented) checkOpenWallet(span trace.Span, ep *endpointInfo, ci *callInfo, esc *Escrow) {
	st, ok := m.tracker.meets(ep.hostport)
	if !ok || st.Filename == "" || st.Filename == ci.filename {
		return
	}
	p := Pollution{
		Reason:         escrowconv.ReasonWrongWalletOpen,
		ExpectedWallet: ci.filename,
		ActualWallet:   st.Filename,
		Endpoint:       ep.hostport,
		Port:           ep.port,
		OtherEscrowID:  st.EscrowID,
		Role:           ci.role,
		WalletID:       ci.id,
		Opener:         st.Opener,
	}
	recordPollution(span, p, esc)
}

// recordRPCError puts the error on an RPC span the way semconv wants it.
func recordRPCError(span trace.Span, err error) {
	var rpcErr *walletrpc.Error
	var te *walletrpc.TransportError
	switch {
	case errors.As(err, &rpcErr):
		code := strconv.Itoa(rpcErr.Code)
		span.SetAttributes(semconv.RPCResponseStatusCode(code), semconv.ErrorTypeKey.String(code))
	case errors.As(err, &te):
		span.SetAttributes(semconv.ErrorTypeKey.String(string(te.Kind)))
	case errors.Is(err, context.DeadlineExceeded):
		span.SetAttributes(semconv.ErrorTypeKey.String(string(walletrpc.KindTimeout)))
	case errors.Is(err, context.Canceled):
		span.SetAttributes(semconv.ErrorTypeKey.String(string(walletrpc.KindCanceled)))
	default:
		span.SetAttributes(semconv.ErrorTypeOther)
	}
	recordError(span, err)
}

// recordError is RecordError + status Error, with anything that looks like
// multisig key material removed from the message.
func recordError(span trace.Span, err error) {
	err = redactError(err)
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// tracerCache keeps the tracer of the provider seen last, so that a call
// does not look the tracer up in the provider (a map under a mutex) each
// time.
type tracerCache struct {
	last atomic.Pointer[tracerEntry]
}

type tracerEntry struct {
	tp   trace.TracerProvider
	t    trace.Tracer
	noop bool // tp is the no-op provider: skip the span altogether
}

func newTracerEntry(tp trace.TracerProvider) *tracerEntry {
	_, isNoop := tp.(noop.TracerProvider)
	return &tracerEntry{tp: tp, t: newTracer(tp), noop: isNoop}
}

func (c *tracerCache) get(tp trace.TracerProvider) *tracerEntry {
	// Only comparable providers are cached, so the == below cannot panic.
	if e := c.last.Load(); e != nil && e.tp == tp {
		return e
	}
	e := newTracerEntry(tp)
	if reflect.TypeOf(tp).Comparable() {
		c.last.Store(e)
	}
	return e
}
