package fakewalletrpc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JSON-RPC error codes the fake sends. The first group is what wallet-rpc
// 0.18 was measured to send; the multisig ones follow wallet-rpc's
// wallet_rpc_server_error_codes.h.
const (
	CodeUnknownError        = -1
	CodeNotOpen             = -13
	CodeWalletAlreadyExists = -21
	CodeAlreadyMultisig     = -28
	CodeBadMultisigInfo     = -30
	CodeNotMultisig         = -31
	CodeAttributeNotFound   = -45
	CodeMultisigDisabled    = -48
	CodeParseError          = -32700
	CodeInvalidRequest      = -32600
	CodeMethodNotFound      = -32601
	CodeInvalidParams       = -32602
)

// PlaceholderPrefix begins the placeholder address that make_multisig
// returns, and get_address shows, until the first exchange_multisig_keys,
// as on wallet-rpc 0.18.0.0: "9sCrDesy9LK" and ones (a zero spend key),
// then a part standing for the group's common view key, so that the
// participants of one escrow show one placeholder and other escrows (or a
// wallet made multisig with another's infos) others.
const PlaceholderPrefix = "9sCrDesy9LK1111111111111111111111111111111111"

// IsPlaceholder reports whether addr is such a placeholder.
func IsPlaceholder(addr string) bool { return strings.HasPrefix(addr, PlaceholderPrefix) }

// Server is a fake monero-wallet-rpc. It is safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	port int

	serial  bool
	release Release
	// msigOff: wallets added by AddWallet/WithWallet start with
	// enable-multisig-experimental off (WithMultisigDisabled).
	msigOff bool
	dir     string
	latency map[string]time.Duration

	// rpc serializes request handling when serial is set: wallet-rpc has
	// one RPC thread.
	rpc sync.Mutex

	mu      sync.Mutex // guards everything below
	wallets map[string]*wallet
	open    *wallet
	calls   map[string]int
	log     []string
	faults  []*InjectedFault
	nextID  int
}

// Option configures a Server.
type Option func(*Server)

// WithWalletDir makes the fake write wallet files (NAME and NAME.keys, mode
// 0600, as wallet-rpc does) into dir when a wallet is created or added, so
// that file checks have something real to look at.
func WithWalletDir(dir string) Option { return func(s *Server) { s.dir = dir } }

// WithConcurrentRequests lets requests run in parallel. By default they are
// served one at a time, like wallet-rpc's single RPC thread.
func WithConcurrentRequests() Option { return func(s *Server) { s.serial = false } }

// WithMultisigDisabled makes the wallets added by AddWallet and WithWallet
// start with enable-multisig-experimental off, like those made by
// create_wallet. Without it they start with it on, as if monero-wallet-cli
// had made them with "set enable-multisig-experimental 1". Either way
// prepare_multisig with enable_multisig_experimental switches it on, and a
// multisig wallet with it off fails exchange_multisig_keys with -48
// (0.18 releases only; 0.17.3 has no such switch). As on 0.18.0.0, the
// flag is kept in memory only until make_multisig writes the keys file: a
// wallet closed (or switched away from) in between has it off again.
func WithMultisigDisabled() Option { return func(s *Server) { s.msigOff = true } }

// Release is the monero-wallet-rpc release whose answers the fake gives.
// Only 0.18.0.0 was measured (Debian's package); the others follow
// monero's sources.
type Release int

const (
	// Release0_18_0 is 0.18.0.0 to 0.18.1.1, the default: get_version 65561
	// (RPC 1.25) with release false as Debian's build says; infos start
	// "MultisigxV2R1" (prepare_multisig) and "MultisigxV2Rn" (later
	// rounds); multisig must be switched on (-48); N-M+1 exchange rounds,
	// the last returning the shared address together with a multisig_info;
	// exchange_multisig_keys on a finished wallet answers -28 "This wallet
	// is multisig, and already finalized".
	Release0_18_0 Release = iota
	// Release0_17_3 is 0.17.3.x: get_version 65560 (RPC 1.24); infos start
	// "MultisigV1" and "MultisigxV1"; no multisig switch; N-M exchange
	// rounds (a 2-of-3 is done after one; an N-of-N after make_multisig),
	// the last returning the address with an empty multisig_info.
	Release0_17_3
	// Release0_18_1_2 is 0.18.1.2 to 0.18.2.x: as Release0_18_0, but
	// get_version 65562 (RPC 1.26), exchange_multisig_keys takes
	// force_update_use_with_caution, and on a finished wallet it answers -1
	// "multisig account: tried to update kex, but kex is already complete.".
	Release0_18_1_2
)

// Version returns the RPC version get_version answers for r.
func (r Release) Version() uint32 {
	switch r {
	case Release0_17_3:
		return 1<<16 | 24
	case Release0_18_1_2:
		return 1<<16 | 26
	}
	return 1<<16 | 25
}

// WithRelease makes the fake answer like release r (default Release0_18_0).
func WithRelease(r Release) Option { return func(s *Server) { s.release = r } }

// WithLatency makes every call of method take at least d (for example 300ms
// for make_multisig, as measured on the real one). The delay is spent inside
// the single RPC thread, so it holds up other requests, as on the real one.
func WithLatency(method string, d time.Duration) Option {
	return func(s *Server) { s.latency[method] = d }
}

// WithWallet adds a wallet file before the server starts (see AddWallet).
func WithWallet(name, password string) Option {
	return func(s *Server) {
		if err := s.addWallet(name, password); err != nil {
			panic(err) // a test setup bug: duplicate or invalid name
		}
	}
}

// New starts a fake wallet-rpc on a free loopback port. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		serial:  true,
		latency: map[string]time.Duration{},
		wallets: map[string]*wallet{},
		calls:   map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	_, p, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	s.port, _ = strconv.Atoi(p)
	return s
}

// URL returns the base URL, http://127.0.0.1:PORT; walletrpc.New adds /json_rpc.
func (s *Server) URL() string { return s.srv.URL }

// Port returns the port the fake listens on.
func (s *Server) Port() int { return s.port }

// Endpoint returns host:port, as walletrpc.Endpoint.String does.
func (s *Server) Endpoint() string { return s.srv.Listener.Addr().String() }

// Close stops the server; calls in progress are cut off.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// AddWallet creates a wallet file as if another tool had made it; it is not
// opened. It fails if the name is taken or invalid.
func (s *Server) AddWallet(name, password string) error { return s.addWallet(name, password) }

func (s *Server) addWallet(name, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := validName(name); err != nil {
		return err
	}
	if _, ok := s.wallets[name]; ok {
		return fmt.Errorf("fakewalletrpc: wallet %q exists", name)
	}
	w, err := s.createLocked(name, password, "")
	if err == nil {
		w.msigEnabled, w.msigSaved = !s.msigOff, !s.msigOff
	}
	return err
}

// OpenWallet makes name the open wallet without a request (test setup). It is
// not counted as a call.
func (s *Server) OpenWallet(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.wallets[name]
	if !ok {
		return fmt.Errorf("fakewalletrpc: no wallet %q", name)
	}
	s.switchTo(w)
	return nil
}

// OpenWalletName returns the name of the open wallet, "" when none is.
func (s *Server) OpenWalletName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		return ""
	}
	return s.open.name
}

// WalletPath returns where the wallet file of name is, when WithWalletDir
// was given, else "".
func (s *Server) WalletPath(name string) string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, name)
}

// Address returns the current primary address of wallet name.
func (s *Server) Address(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.wallets[name]
	if !ok {
		return "", false
	}
	return w.currentAddress(), true
}

// SetBalance sets what get_balance reports for wallet name.
func (s *Server) SetBalance(name string, total, unlocked uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.wallets[name]
	if !ok {
		return fmt.Errorf("fakewalletrpc: no wallet %q", name)
	}
	w.balance, w.unlocked = total, unlocked
	return nil
}

// Calls returns how many requests for method reached the server, including
// failed and faulted ones.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// TotalCalls returns how many JSON-RPC requests reached the server.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// CallLog returns the methods of all requests, in the order they arrived.
// Requests whose body was not a JSON-RPC request are logged as "".
func (s *Server) CallLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// ResetCalls forgets the counted calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	s.log = nil
}

// rpcRequest is a JSON-RPC request as wallet-rpc accepts it: jsonrpc and id
// are optional, id is echoed.
type rpcRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

func errf(code int, format string, a ...any) *rpcError {
	return &rpcError{Code: code, Message: fmt.Sprintf(format, a...)}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/json_rpc" || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	body, err := readBody(r)
	if err != nil {
		return // the client went away
	}
	if s.serial {
		s.rpc.Lock()
		defer s.rpc.Unlock()
	}

	var req rpcRequest
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		s.count("")
		writeReply(w, json.RawMessage("0"), nil, errf(CodeParseError, "Parse error"))
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.count("")
		writeReply(w, json.RawMessage("0"), nil, errf(CodeParseError, "Parse error"))
		return
	}
	if len(req.ID) == 0 {
		req.ID = json.RawMessage("null")
	}
	if req.Method == "" {
		s.count("")
		writeReply(w, req.ID, nil, errf(CodeInvalidRequest, "Invalid Request"))
		return
	}
	s.count(req.Method)

	if d := s.latency[req.Method]; d > 0 {
		if !sleep(r.Context(), d) {
			return
		}
	}
	if f := s.matchFault(req.Method); f != nil {
		if f.apply(w, r, req.ID) {
			return
		}
	}
	result, rerr := s.dispatch(req.Method, req.Params)
	writeReply(w, req.ID, result, rerr)
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 8<<20))
	return buf.Bytes(), err
}

func (s *Server) count(method string) {
	s.mu.Lock()
	s.calls[method]++
	s.log = append(s.log, method)
	s.mu.Unlock()
}

func writeReply(w http.ResponseWriter, id json.RawMessage, result any, rerr *rpcError) {
	reply := struct {
		ID      json.RawMessage `json:"id"`
		JSONRPC string          `json:"jsonrpc"`
		Result  any             `json:"result,omitempty"`
		Error   *rpcError       `json:"error,omitempty"`
	}{ID: id, JSONRPC: "2.0"}
	if rerr != nil {
		reply.Error = rerr
	} else {
		reply.Result = result
	}
	b, err := json.Marshal(reply)
	if err != nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func validName(name string) error {
	switch {
	case name == "":
		return errors.New("fakewalletrpc: empty wallet name")
	case strings.ContainsAny(name, `/\`):
		return errors.New("fakewalletrpc: invalid wallet name")
	}
	return nil
}

// createLocked makes a new wallet; seed "" means a fresh one. s.mu is held.
func (s *Server) createLocked(name, password, seed string) (*wallet, error) {
	s.nextID++
	if seed == "" {
		seed = fmt.Sprintf("seed-%d-%s-%d-%d", s.port, name, s.nextID, time.Now().UnixNano())
	}
	w := newWallet(name, password, seed)
	if s.dir != "" {
		for _, f := range []string{name, name + ".keys"} {
			// wallet-rpc writes its files 0600 regardless of umask.
			if err := os.WriteFile(filepath.Join(s.dir, f), []byte("fake wallet "+name+"\n"), 0o600); err != nil {
				return nil, err
			}
			if err := os.Chmod(filepath.Join(s.dir, f), 0o600); err != nil {
				return nil, err
			}
		}
	}
	s.wallets[name] = w
	return w, nil
}

func hashHex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
