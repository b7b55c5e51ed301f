package walletrpc

import (
	"net/http"
	"time"
)

// Defaults used by New.
const (
	DefaultTimeout      = 2 * time.Minute // create_wallet alone takes seconds on a busy box
	DefaultMaxReplySize = 32 << 20        // bytes
)

type config struct {
	httpClient   *http.Client
	transport    http.RoundTripper
	timeout      time.Duration
	maxReplySize int64
	username     string
	password     string
	digest       bool
	middleware   []Middleware
}

// Option configures a Client.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithHTTPClient makes the Client send its requests with hc. Its Transport is
// wrapped for digest auth when WithDigestAuth is given too. hc.Timeout, if
// set, still applies; prefer WithTimeout, which reports timeouts as such.
// Redirects are not followed (a 3xx is a TransportError of KindHTTP) unless
// hc.CheckRedirect says otherwise.
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) { c.httpClient = hc })
}

// WithTransport sets the base RoundTripper (default: a private clone of
// http.DefaultTransport, so connections to wallet-rpc are kept alive
// independently of the rest of the process).
func WithTransport(rt http.RoundTripper) Option {
	return optionFunc(func(c *config) { c.transport = rt })
}

// WithTimeout bounds every call, including reading the reply. Zero or less
// means no bound beyond the caller's context. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithMaxReplySize bounds the size of a reply body in bytes; a larger reply
// fails with a TransportError of KindTooLarge. Default: DefaultMaxReplySize.
func WithMaxReplySize(n int64) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxReplySize = n
		}
	})
}

// WithDigestAuth authenticates with HTTP digest auth, as monero-wallet-rpc
// demands when started with --rpc-login user:pass.
//
// wallet-rpc binds a nonce to the TCP connection that received it and wants
// the nonce count to go up by exactly one per request, so a Client with
// digest auth sends one request at a time. The server serves one request at
// a time anyway, so this costs nothing.
func WithDigestAuth(username, password string) Option {
	return optionFunc(func(c *config) {
		c.username, c.password, c.digest = username, password, true
	})
}

// WithMiddleware wraps every call made through the Client. The first
// middleware given is the outermost. Several WithMiddleware options add up.
func WithMiddleware(mw ...Middleware) Option {
	return optionFunc(func(c *config) { c.middleware = append(c.middleware, mw...) })
}
