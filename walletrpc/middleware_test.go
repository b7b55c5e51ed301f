package walletrpc_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// Compile-time checks: the hook types are what middleware authors write.
var (
	_ walletrpc.Invoker           = func(context.Context, *walletrpc.Request) error { return nil }
	_ walletrpc.Middleware        = func(next walletrpc.Invoker) walletrpc.Invoker { return next }
	_ error                       = (*walletrpc.Error)(nil)
	_ error                       = (*walletrpc.TransportError)(nil)
	_ interface{ Unwrap() error } = (*walletrpc.TransportError)(nil)
)

// tracer records the order middleware runs in.
type tracer struct {
	mu    sync.Mutex
	steps []string
}

func (tr *tracer) mw(name string) walletrpc.Middleware {
	return func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			tr.add(name + ">" + req.Method)
			err := next(ctx, req)
			tr.add(name + "<")
			return err
		}
	}
}

func (tr *tracer) add(s string) {
	tr.mu.Lock()
	tr.steps = append(tr.steps, s)
	tr.mu.Unlock()
}

func TestMiddlewareOrder(t *testing.T) {
	srv := newScriptedServer(t, replyBody(heightReply))
	var tr tracer
	c := mustNew(t, srv.URL,
		walletrpc.WithMiddleware(tr.mw("A"), tr.mw("B")),
		walletrpc.WithMiddleware(tr.mw("C")),
	)
	if _, err := c.GetHeight(callCtx(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{"A>get_height", "B>get_height", "C>get_height", "C<", "B<", "A<"}
	if !reflect.DeepEqual(tr.steps, want) {
		t.Fatalf("order %v, want %v (first given is outermost)", tr.steps, want)
	}
}

// TestMiddlewareSeesTheCall: middleware gets the method, the caller's
// params and result (the same pointers), and the endpoint; the result is
// filled when next returns.
func TestMiddlewareSeesTheCall(t *testing.T) {
	srv := newScriptedServer(t, replyFile(t, "is_multisig_2of3_not_ready.json"))
	var got walletrpc.Request
	var resultAfter walletrpc.IsMultisigResult
	c := mustNew(t, srv.URL, walletrpc.WithMiddleware(func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			got = *req
			err := next(ctx, req)
			resultAfter = *req.Result.(*walletrpc.IsMultisigResult)
			return err
		}
	}))
	params := &walletrpc.GetAddressParams{AccountIndex: 3}
	var res walletrpc.IsMultisigResult
	if err := c.Call(callCtx(t), "is_multisig", params, &res); err != nil {
		t.Fatal(err)
	}
	if got.Method != "is_multisig" || got.Params != any(params) || got.Result != any(&res) || got.Endpoint != c.Endpoint() {
		t.Fatalf("middleware saw %+v", got)
	}
	if resultAfter != res || !res.Multisig || res.Threshold != 2 {
		t.Fatalf("result after next: %+v, caller got %+v", resultAfter, res)
	}

	// Typed methods pass pointers to this package's param structs, so a
	// middleware can tell calls apart by type.
	var seen any
	c = mustNew(t, srv.URL, walletrpc.WithMiddleware(func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			seen = req.Params
			return next(ctx, req)
		}
	}))
	_, _ = c.MakeMultisig(callCtx(t), walletrpc.MakeMultisigParams{Threshold: 2, MultisigInfo: []string{"b", "c"}})
	if p, ok := seen.(*walletrpc.MakeMultisigParams); !ok || p.Threshold != 2 || len(p.MultisigInfo) != 2 {
		t.Fatalf("MakeMultisig params seen as %T %+v", seen, seen)
	}
	_, _ = c.IsMultisig(callCtx(t))
	if seen != nil {
		t.Fatalf("a call without params shows params %T", seen)
	}
}

func TestMiddlewareShortCircuit(t *testing.T) {
	srv := newScriptedServer(t, replyBody(heightReply))
	cached := walletrpc.IsMultisigResult{Multisig: true, Ready: true, Threshold: 2, Total: 3}
	c := mustNew(t, srv.URL, walletrpc.WithMiddleware(func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			switch req.Method {
			case "is_multisig":
				*req.Result.(*walletrpc.IsMultisigResult) = cached
				return nil
			case "close_wallet":
				return &walletrpc.Error{Code: walletrpc.CodeNotOpen, Message: "refused by middleware"}
			}
			return next(ctx, req)
		}
	}))
	m, err := c.IsMultisig(callCtx(t))
	if err != nil || *m != cached {
		t.Fatalf("IsMultisig = %+v, %v", m, err)
	}
	err = c.CloseWallet(callCtx(t))
	if code, ok := walletrpc.ErrorCode(err); !ok || code != walletrpc.CodeNotOpen {
		t.Fatalf("CloseWallet = %v", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("short-circuited calls reached the server %d times", n)
	}
	if h, err := c.GetHeight(callCtx(t)); err != nil || h.Height != 1 {
		t.Fatalf("passed-through call: %+v, %v", h, err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

// TestMiddlewareObservesErrors: each error class reaches middleware as the
// very value the caller gets, and a middleware that wraps it keeps
// errors.As working.
func TestMiddlewareObservesErrors(t *testing.T) {
	srv := newScriptedServer(t,
		replyFile(t, "err_-13_no_wallet_file.json"),
		replyStatus(500, ""),
		replyBody("not json"),
	)
	var observed []error
	c := mustNew(t, srv.URL, walletrpc.WithMiddleware(
		func(next walletrpc.Invoker) walletrpc.Invoker {
			return func(ctx context.Context, req *walletrpc.Request) error {
				if err := next(ctx, req); err != nil {
					return fmt.Errorf("escrow e1: %w", err)
				}
				return nil
			}
		},
		func(next walletrpc.Invoker) walletrpc.Invoker {
			return func(ctx context.Context, req *walletrpc.Request) error {
				err := next(ctx, req)
				observed = append(observed, err)
				return err
			}
		},
	))
	ctx := callCtx(t)

	err := c.Call(ctx, "is_multisig", nil, nil)
	var e *walletrpc.Error
	if !errors.As(err, &e) || e.Code != walletrpc.CodeNotOpen || !errors.Is(err, observed[0]) {
		t.Fatalf("JSON-RPC error: caller got %v, middleware saw %v", err, observed[0])
	}
	if !strings.HasPrefix(err.Error(), "escrow e1: ") {
		t.Fatalf("outer middleware's wrapping lost: %v", err)
	}
	for i, kind := range []walletrpc.TransportKind{walletrpc.KindHTTP, walletrpc.KindMalformed} {
		err := c.Call(ctx, "is_multisig", nil, nil)
		te := asTransport(t, err, kind)
		if any(te) != any(observed[i+1]) {
			t.Fatalf("middleware saw %v, caller got %v", observed[i+1], te)
		}
	}
}

// TestMiddlewareCanRetry: next may be called more than once (a retry
// middleware), each time a full round trip.
func TestMiddlewareCanRetry(t *testing.T) {
	srv := newScriptedServer(t, replyStatus(503, ""), replyBody(heightReply))
	c := mustNew(t, srv.URL, walletrpc.WithMiddleware(func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			err := next(ctx, req)
			var te *walletrpc.TransportError
			if errors.As(err, &te) && te.Kind == walletrpc.KindHTTP && te.StatusCode == 503 {
				err = next(ctx, req)
			}
			return err
		}
	}))
	h, err := c.GetHeight(callCtx(t))
	if err != nil || h.Height != 1 || len(srv.requests()) != 2 {
		t.Fatalf("GetHeight = %+v, %v after %d requests", h, err, len(srv.requests()))
	}
}

// TestMiddlewareContext: middleware can pass values down to the round trip
// through the context, and a context it cancels stops the call.
func TestMiddlewareContext(t *testing.T) {
	srv, _ := stallingServer(t, "")
	c := mustNew(t, srv.URL, walletrpc.WithMiddleware(func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return next(ctx, req)
		}
	}))
	asTransport(t, c.Call(callCtx(t), "get_version", nil, nil), walletrpc.KindCanceled)
}
