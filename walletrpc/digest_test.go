package walletrpc_test

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// digestServer imitates monero-wallet-rpc started with --rpc-login (see
// shared/facts.md): RFC 2617 digest with qop="auth", two WWW-Authenticate
// headers (MD5 and MD5-sess), a nonce valid only on the TCP connection
// that received it, a nonce count that must go up by exactly one per
// request, and one request served at a time. Its parser is its own, not the
// client's digest library, so the two cannot share a bug.
type digestServer struct {
	*httptest.Server
	user, pass, realm string

	serve sync.Mutex // wallet-rpc has one RPC thread

	// hold, when not nil, keeps each authenticated request waiting until it
	// is closed; holding counts requests waiting there.
	hold    <-chan struct{}
	holding atomic.Int64

	challenges atomic.Int64 // 401s sent
	served     atomic.Int64 // authenticated requests answered
	conns      atomic.Int64 // TCP connections accepted
}

// digestConn is one TCP connection's digest session. Guarded by serve.
type digestConn struct {
	nonce string
	nc    uint64
}

type digestConnKey struct{}

func newDigestServer(t *testing.T, user, pass string) *digestServer {
	t.Helper()
	return newHoldingDigestServer(t, user, pass, nil)
}

func newHoldingDigestServer(t *testing.T, user, pass string, hold <-chan struct{}) *digestServer {
	t.Helper()
	s := &digestServer{user: user, pass: pass, realm: "monero-rpc", hold: hold}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		s.conns.Add(1)
		return context.WithValue(ctx, digestConnKey{}, &digestConn{})
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *digestServer) handle(w http.ResponseWriter, r *http.Request) {
	s.serve.Lock()
	defer s.serve.Unlock()
	dc := r.Context().Value(digestConnKey{}).(*digestConn)
	body, _ := io.ReadAll(r.Body)
	if !s.authorized(dc, r) {
		s.challenges.Add(1)
		var b [16]byte
		_, _ = rand.Read(b[:])
		dc.nonce, dc.nc = base64.StdEncoding.EncodeToString(b[:]), 0
		for _, alg := range []string{"MD5", "MD5-sess"} {
			w.Header().Add("WWW-authenticate", fmt.Sprintf(`Digest qop="auth",algorithm=%s,realm=%q,nonce=%q,stale=false`, alg, s.realm, dc.nonce))
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "<html><head><title>Unauthorized Access</title></head><body><h1>401 Unauthorized</h1></body></html>")
		return
	}
	if s.hold != nil {
		s.holding.Add(1)
		select {
		case <-s.hold:
		case <-r.Context().Done():
		}
	}
	s.served.Add(1)
	var method string
	if i := strings.Index(string(body), `"method":"`); i >= 0 {
		method, _, _ = strings.Cut(string(body)[i+len(`"method":"`):], `"`)
	}
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "get_version":
		_, _ = io.WriteString(w, `{"id":"0","jsonrpc":"2.0","result":{"release":false,"version":65561}}`)
	default:
		_, _ = io.WriteString(w, `{"id":"0","jsonrpc":"2.0","result":{"height":`+strconv.FormatInt(s.served.Load(), 10)+`}}`)
	}
}

func (s *digestServer) authorized(dc *digestConn, r *http.Request) bool {
	p, ok := parseDigestHeader(r.Header.Get("Authorization"))
	if !ok || dc.nonce == "" || p["nonce"] != dc.nonce || p["username"] != s.user || p["realm"] != s.realm ||
		p["uri"] != r.URL.RequestURI() || p["qop"] != "auth" {
		return false
	}
	nc, err := strconv.ParseUint(p["nc"], 16, 64)
	if err != nil || len(p["nc"]) != 8 || nc != dc.nc+1 {
		return false
	}
	ha1 := md5hex(s.user + ":" + s.realm + ":" + s.pass)
	switch strings.ToUpper(p["algorithm"]) {
	case "", "MD5":
	case "MD5-SESS":
		ha1 = md5hex(ha1 + ":" + p["nonce"] + ":" + p["cnonce"])
	default:
		return false
	}
	ha2 := md5hex(r.Method + ":" + p["uri"])
	want := md5hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	if p["response"] != want {
		return false
	}
	dc.nc = nc
	return true
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// parseDigestHeader parses `Digest k=v, k="v", ...`.
func parseDigestHeader(h string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(h, "Digest ")
	if !ok {
		return nil, false
	}
	p := map[string]string{}
	for {
		rest = strings.TrimLeft(rest, " ,")
		if rest == "" {
			return p, true
		}
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, false
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				return nil, false
			}
			val, rest = after[1:1+end], after[2+end:]
		} else {
			end := strings.IndexByte(after, ',')
			if end < 0 {
				end = len(after)
			}
			val, rest = after[:end], after[end:]
		}
		p[strings.ToLower(strings.TrimSpace(key))] = val
	}
}

// TestDigestServerIsStrict proves the test server refuses what wallet-rpc
// refuses, so that clients passing against it mean something: a repeated
// nc, a skipped nc, and a nonce carried over to another connection.
func TestDigestServerIsStrict(t *testing.T) {
	s := newDigestServer(t, "alice", "pw")
	const uri = "/json_rpc"
	body := `{"jsonrpc":"2.0","id":"0","method":"get_version"}`

	type conn struct {
		net.Conn
		br *bufio.Reader
	}
	dial := func() *conn {
		c, err := net.DialTimeout("tcp", s.Listener.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(callTimeout))
		t.Cleanup(func() { _ = c.Close() })
		return &conn{c, bufio.NewReader(c)}
	}
	send := func(c *conn, auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+uri, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if err := req.Write(c); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	authFor := func(nonce string, nc uint64, pass string) string {
		ncs := fmt.Sprintf("%08x", nc)
		ha1 := md5hex("alice:monero-rpc:" + pass)
		ha2 := md5hex("POST:" + uri)
		resp := md5hex(ha1 + ":" + nonce + ":" + ncs + ":cn:auth:" + ha2)
		return fmt.Sprintf(`Digest username="alice", realm="monero-rpc", nonce=%q, uri=%q, algorithm=MD5, qop=auth, nc=%s, cnonce="cn", response=%q`, nonce, uri, ncs, resp)
	}
	nonceOf := func(resp *http.Response) string {
		hs := resp.Header.Values("WWW-Authenticate")
		if len(hs) != 2 || !strings.Contains(hs[0], "algorithm=MD5,") || !strings.Contains(hs[1], "algorithm=MD5-sess,") {
			t.Fatalf("challenge headers %q, want MD5 and MD5-sess", hs)
		}
		p, ok := parseDigestHeader(hs[0])
		if !ok || p["nonce"] == "" {
			t.Fatalf("no nonce in %q", hs[0])
		}
		return p["nonce"]
	}

	a := dial()
	r := send(a, "")
	if r.StatusCode != 401 {
		t.Fatalf("no credentials: %d", r.StatusCode)
	}
	nonce := nonceOf(r)
	if r := send(a, authFor(nonce, 1, "pw")); r.StatusCode != 200 {
		t.Fatalf("nc 1: %d", r.StatusCode)
	}
	if r := send(a, authFor(nonce, 2, "pw")); r.StatusCode != 200 {
		t.Fatalf("nc 2: %d", r.StatusCode)
	}
	b := dial()
	if r := send(b, authFor(nonce, 3, "pw")); r.StatusCode != 401 {
		t.Fatalf("nonce of connection A accepted on connection B: %d", r.StatusCode)
	}
	if r := send(a, authFor(nonce, 2, "pw")); r.StatusCode != 401 {
		t.Fatalf("repeated nc accepted: %d", r.StatusCode)
	}
	nonce = nonceOf(send(a, ""))
	if r := send(a, authFor(nonce, 2, "pw")); r.StatusCode != 401 {
		t.Fatalf("skipped nc accepted: %d", r.StatusCode)
	}
	nonce = nonceOf(send(a, ""))
	if r := send(a, authFor(nonce, 1, "wrong")); r.StatusCode != 401 {
		t.Fatalf("wrong password accepted: %d", r.StatusCode)
	}
}

func TestDigestAuth(t *testing.T) {
	t.Run("25 sequential", func(t *testing.T) {
		s := newDigestServer(t, "alice", "pw")
		c := mustNew(t, s.URL, walletrpc.WithDigestAuth("alice", "pw"))
		for i := range 25 {
			if _, err := c.GetHeight(callCtx(t)); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		if s.served.Load() != 25 {
			t.Fatalf("server served %d, want 25", s.served.Load())
		}
		// One connection, one challenge: every later call reuses the nonce.
		if s.challenges.Load() != 1 || s.conns.Load() != 1 {
			t.Fatalf("%d challenges on %d connections, want 1 on 1", s.challenges.Load(), s.conns.Load())
		}
	})
	t.Run("20 concurrent", func(t *testing.T) {
		s := newDigestServer(t, "alice", "pw")
		c := mustNew(t, s.URL, walletrpc.WithDigestAuth("alice", "pw"))
		start := make(chan struct{})
		errs := make(chan error, 20)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				<-start
				_, err := c.GetVersion(callCtx(t))
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if err != nil {
				failed++
				t.Error(err)
			}
		}
		t.Logf("20 concurrent: %d failed, %d challenges, %d connections", failed, s.challenges.Load(), s.conns.Load())
		if s.served.Load() != 20 {
			t.Fatalf("server served %d, want 20", s.served.Load())
		}
	})
	t.Run("credentials in URL", func(t *testing.T) {
		s := newDigestServer(t, "alice", "s3cret-pw")
		u := strings.Replace(s.URL, "http://", "http://alice:s3cret-pw@", 1)
		c := mustNew(t, u)
		if strings.Contains(c.Endpoint().URL, "s3cret-pw") || strings.Contains(c.Endpoint().URL, "alice") {
			t.Fatalf("Endpoint().URL = %q", c.Endpoint().URL)
		}
		for i := range 5 {
			if _, err := c.GetVersion(callCtx(t)); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		// A wrong password in the URL: 401, and the error does not show it.
		u = strings.Replace(s.URL, "http://", "http://alice:wrong-pw@", 1)
		_, err := mustNew(t, u).GetVersion(callCtx(t))
		te := asTransport(t, err, walletrpc.KindHTTP)
		if te.StatusCode != 401 || strings.Contains(err.Error(), "wrong-pw") || strings.Contains(err.Error(), "alice") {
			t.Fatalf("err = %v (status %d)", err, te.StatusCode)
		}
	})
	t.Run("WithDigestAuth overrides URL credentials", func(t *testing.T) {
		s := newDigestServer(t, "alice", "pw")
		u := strings.Replace(s.URL, "http://", "http://bob:other@", 1)
		c := mustNew(t, u, walletrpc.WithDigestAuth("alice", "pw"))
		if _, err := c.GetVersion(callCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := newDigestServer(t, "alice", "pw")
		c := mustNew(t, s.URL, walletrpc.WithDigestAuth("alice", "not-the-pw"))
		_, err := c.GetVersion(callCtx(t))
		te := asTransport(t, err, walletrpc.KindHTTP)
		if te.StatusCode != http.StatusUnauthorized {
			t.Fatalf("StatusCode = %d, want 401", te.StatusCode)
		}
		if strings.Contains(err.Error(), "not-the-pw") {
			t.Fatalf("error leaks the password: %v", err)
		}
		if s.served.Load() != 0 {
			t.Fatal("served with a wrong password")
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		s := newDigestServer(t, "alice", "pw")
		_, err := mustNew(t, s.URL).GetVersion(callCtx(t))
		if te := asTransport(t, err, walletrpc.KindHTTP); te.StatusCode != 401 {
			t.Fatalf("StatusCode = %d", te.StatusCode)
		}
	})
	t.Run("survives a dropped connection", func(t *testing.T) {
		s := newDigestServer(t, "alice", "pw")
		c := mustNew(t, s.URL, walletrpc.WithDigestAuth("alice", "pw"))
		if _, err := c.GetVersion(callCtx(t)); err != nil {
			t.Fatal(err)
		}
		// The server drops the connection, and with it the digest session,
		// as a restarted wallet-rpc would. The cached nonce is now wrong.
		s.CloseClientConnections()
		// The first call may race the close and go out on the dead
		// connection: it then fails as a connect error and is not retried,
		// since wallet-rpc calls are not idempotent (make_multisig) and the
		// client cannot know whether the wallet got it.
		if _, err := c.GetVersion(callCtx(t)); err != nil {
			asTransport(t, err, walletrpc.KindConnect)
			t.Logf("first call after the drop: %v", err)
		}
		for i := range 3 {
			if _, err := c.GetVersion(callCtx(t)); err != nil {
				t.Fatalf("call %d after the connection dropped: %v", i+2, err)
			}
		}
		if s.challenges.Load() != 2 {
			t.Fatalf("%d challenges, want 2 (one per connection)", s.challenges.Load())
		}
	})
	t.Run("waiting call honours its context", func(t *testing.T) {
		hold := make(chan struct{})
		s := newHoldingDigestServer(t, "alice", "pw", hold)
		t.Cleanup(func() { close(hold) }) // runs before s.Close
		c := mustNew(t, s.URL, walletrpc.WithDigestAuth("alice", "pw"))
		first := make(chan error, 1)
		go func() { _, err := c.GetVersion(callCtx(t)); first <- err }()
		// Wait until the first call is being served, so the client's turn
		// is taken.
		deadline := time.Now().Add(callTimeout)
		for s.holding.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("first call never reached the server")
			}
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, err := c.GetVersion(ctx)
		asTransport(t, err, walletrpc.KindTimeout)
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("the waiting call returned after %v, not at its deadline", d)
		}
		if s.holding.Load() != 1 {
			t.Fatalf("the second call reached the server")
		}
		select {
		case err := <-first:
			t.Fatalf("first call ended early: %v", err)
		default:
		}
	})
}
