package walletrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// Endpoint identifies the wallet-rpc a Client talks to. URL never carries
// credentials.
type Endpoint struct {
	URL  string // e.g. http://127.0.0.1:18083/json_rpc
	Host string // e.g. 127.0.0.1
	Port int    // e.g. 18083
}

// String returns host:port, the identity of a wallet-rpc process.
func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// Request is one JSON-RPC call as middleware sees it. Params and Result are
// what the caller passed: typed methods pass pointers to the param and result
// structs of this package (for example *OpenWalletParams), Call passes the
// caller's values. Middleware must not keep Params or Result beyond the call:
// they may hold passwords and multisig key material.
type Request struct {
	Method   string
	Params   any // nil: no params sent
	Result   any // nil: result discarded
	Endpoint Endpoint
}

// Invoker performs a call. The innermost Invoker does the HTTP round trip and
// decodes the reply into req.Result.
type Invoker func(ctx context.Context, req *Request) error

// Middleware wraps an Invoker.
type Middleware func(next Invoker) Invoker

// Client calls one monero-wallet-rpc endpoint. It is safe for concurrent use.
type Client struct {
	endpoint Endpoint
	hc       *http.Client
	timeout  time.Duration
	maxReply int64
	invoke   Invoker
	// serial is non-nil when calls must go one at a time (digest auth). It
	// is a channel rather than a mutex so that a call waiting for its turn
	// still honours its context.
	serial chan struct{}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// New returns a Client for the wallet-rpc at rawURL, for example
// "http://127.0.0.1:18083". When the URL has no path, /json_rpc is used.
// Credentials in the URL (http://user:pass@host:port) are taken as digest
// auth credentials and removed from the URL.
func New(rawURL string, opts ...Option) (*Client, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg := config{timeout: DefaultTimeout, maxReplySize: DefaultMaxReplySize}
	if u.User != nil {
		pass, _ := u.User.Password()
		cfg.username, cfg.password, cfg.digest = u.User.Username(), pass, true
		u.User = nil
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/json_rpc"
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("walletrpc: invalid URL %q: port %q out of range 1-65535", withoutUserinfo(rawURL), p)
		}
	}

	c := &Client{
		endpoint: Endpoint{URL: u.String(), Host: u.Hostname(), Port: port},
		timeout:  cfg.timeout,
		maxReply: cfg.maxReplySize,
	}
	base := cfg.transport
	if base == nil && cfg.httpClient != nil {
		base = cfg.httpClient.Transport
	}
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		if cfg.digest {
			// wallet-rpc binds a digest nonce to the TCP connection that got
			// it. Calls are serialised, but a finished call's connection goes
			// back to the idle pool asynchronously, so the next call could in
			// principle dial a second one and be refused there with the first
			// one's nonce (not seen with Go 1.26, whose pool hands a returned
			// connection to a waiting request). One connection rules it out;
			// wallet-rpc serves one request at a time anyway.
			t.MaxConnsPerHost = 1
		}
		base = t
	}
	if cfg.digest {
		base = &digest.Transport{Username: cfg.username, Password: cfg.password, Transport: base}
		c.serial = make(chan struct{}, 1)
	}
	hc := http.Client{}
	if cfg.httpClient != nil {
		hc = *cfg.httpClient
	}
	hc.Transport = base
	if hc.CheckRedirect == nil {
		// wallet-rpc never redirects. Following one would resend the body,
		// which can hold wallet passwords and multisig key material, to
		// wherever the redirect points: report the 3xx instead.
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	c.hc = &hc

	c.invoke = c.roundTrip
	for i := len(cfg.middleware) - 1; i >= 0; i-- {
		c.invoke = cfg.middleware[i](c.invoke)
	}
	return c, nil
}

// Endpoint returns where the Client sends its calls.
func (c *Client) Endpoint() Endpoint { return c.endpoint }

// Call calls method with params (nil for none) and decodes the reply's result
// into result (a pointer; nil to discard it).
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	return c.invoke(ctx, &Request{Method: method, Params: params, Result: result, Endpoint: c.endpoint})
}

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      string `json:"id"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

type rpcReply struct {
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

func (c *Client) roundTrip(ctx context.Context, req *Request) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // do not pin huge replies in the pool
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if err := json.NewEncoder(buf).Encode(rpcRequest{JSONRPC: "2.0", ID: "0", Method: req.Method, Params: req.Params}); err != nil {
		return &TransportError{Kind: KindEncode, Method: req.Method, Err: err}
	}
	body := buf.Bytes()

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint.URL, bytes.NewReader(body))
	if err != nil {
		return &TransportError{Kind: KindConnect, Method: req.Method, Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")

	if c.serial != nil {
		select {
		case c.serial <- struct{}{}:
			// Released after the body is read and closed (defers run LIFO),
			// so the next call finds the connection and nonce count ready.
			defer func() { <-c.serial }()
		case <-ctx.Done():
			return &TransportError{Kind: classify(ctx, ctx.Err()), Method: req.Method, Err: ctx.Err()}
		}
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return &TransportError{Kind: classify(ctx, err), Method: req.Method, Err: stripURL(err)}
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; the body is not ours to report.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &TransportError{Kind: KindHTTP, Method: req.Method, StatusCode: resp.StatusCode}
	}

	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxReply+1))
	if err != nil {
		kind := classify(ctx, err)
		if kind == KindConnect && errors.Is(err, io.ErrUnexpectedEOF) {
			// A reply shorter than its Content-Length or chunking promised:
			// the wallet answered, but not with a whole reply.
			kind = KindMalformed
		}
		return &TransportError{Kind: kind, Method: req.Method, Err: stripURL(err)}
	}
	if n > c.maxReply {
		return &TransportError{Kind: KindTooLarge, Method: req.Method,
			Err: fmt.Errorf("reply larger than %d bytes", c.maxReply)}
	}
	return decodeReply(req.Method, buf.Bytes(), req.Result)
}

// decodeReply decodes a JSON-RPC reply body into result.
func decodeReply(method string, body []byte, result any) error {
	var reply rpcReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return &TransportError{Kind: KindMalformed, Method: method, Err: err}
	}
	if reply.Error != nil {
		return reply.Error
	}
	if len(reply.Result) == 0 || bytes.Equal(reply.Result, []byte("null")) {
		return &TransportError{Kind: KindMalformed, Method: method, Err: errors.New("reply has neither result nor error")}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(reply.Result, result); err != nil {
		return &TransportError{Kind: KindMalformed, Method: method, Err: err}
	}
	return nil
}

func classify(ctx context.Context, err error) TransportKind {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return KindCanceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return KindTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	return KindConnect
}

// stripURL drops the *url.Error wrapper: its text repeats the URL, and
// Endpoint already says where the call went.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseURL parses a wallet-rpc URL. Its errors never quote the URL's
// userinfo: url.Parse's errors do, and errors end up in logs.
func parseURL(rawURL string) (*url.URL, error) {
	safe := withoutUserinfo(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		if _, serr := url.Parse(safe); serr != nil {
			err = serr
			var ue *url.Error
			if errors.As(serr, &ue) {
				err = ue.Err // its text would repeat the URL
			}
		} else {
			// Only the userinfo is bad: say so without showing it.
			err = errors.New("malformed user:password")
		}
		return nil, fmt.Errorf("walletrpc: invalid URL %q: %w", safe, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("walletrpc: invalid URL %q: scheme must be http or https", safe)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("walletrpc: invalid URL %q: no host", safe)
	}
	return u, nil
}

// withoutUserinfo returns rawURL for error messages: everything between the
// scheme and the last '@' is cut, since it may be user:password. That is
// stricter than URL syntax on purpose: a password with an unescaped '/' or
// a URL with no scheme must not leak either.
func withoutUserinfo(rawURL string) string {
	start := 0
	if i := strings.Index(rawURL, "://"); i >= 0 && !strings.ContainsAny(rawURL[:i], "/?#@") {
		start = i + 3
	} else if strings.HasPrefix(rawURL, "//") {
		start = 2
	}
	at := strings.LastIndex(rawURL[start:], "@")
	if at < 0 {
		return rawURL
	}
	return rawURL[:start] + rawURL[start+at+1:]
}
