package fakewalletrpc

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Fault makes matching requests misbehave. A request matches when Method
// (empty: any) and Wallet (empty: any; else the wallet open at the time)
// match. The first Skip matches go through untouched, then the fault fires
// Times times (0: forever).
//
// Effects, in this order: Delay; then the first of Hang, DropConnection,
// HTTPStatus, Body, Code. A fault with only a Delay lets the call proceed
// normally after it.
type Fault struct {
	Method string
	Wallet string
	Skip   int
	Times  int

	Delay          time.Duration // wait before answering (the request's context cuts it short)
	Hang           bool          // never answer; only the client giving up or Close ends it
	DropConnection bool          // close the TCP connection without a reply
	HTTPStatus     int           // reply with this status and an empty body
	Body           string        // reply 200 with this raw body (malformed replies)
	Code           int           // reply with this JSON-RPC error code ...
	Message        string        // ... and message
}

// InjectedFault is a Fault added to a Server.
type InjectedFault struct {
	f     Fault
	mu    sync.Mutex
	seen  int
	fired int
}

// Fired reports how many requests the fault has acted on.
func (i *InjectedFault) Fired() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fired
}

// InjectFault adds f; faults are checked in the order they were added and
// the first one that fires wins.
func (s *Server) InjectFault(f Fault) *InjectedFault {
	i := &InjectedFault{f: f}
	s.mu.Lock()
	s.faults = append(s.faults, i)
	s.mu.Unlock()
	return i
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

func (s *Server) matchFault(method string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := ""
	if s.open != nil {
		open = s.open.name
	}
	for _, i := range s.faults {
		if (i.f.Method != "" && i.f.Method != method) || (i.f.Wallet != "" && i.f.Wallet != open) {
			continue
		}
		i.mu.Lock()
		i.seen++
		fire := i.seen > i.f.Skip && (i.f.Times == 0 || i.fired < i.f.Times)
		if fire {
			i.fired++
		}
		i.mu.Unlock()
		if fire {
			f := i.f
			return &f
		}
	}
	return nil
}

// apply acts out f; it reports whether the request has been answered (or
// abandoned) and must not be processed further.
func (f *Fault) apply(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
	if f.Delay > 0 && !sleep(r.Context(), f.Delay) {
		return true
	}
	switch {
	case f.Hang:
		<-r.Context().Done()
		return true
	case f.DropConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.HTTPStatus != 0:
		w.WriteHeader(f.HTTPStatus)
		return true
	case f.Body != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(f.Body))
		return true
	case f.Code != 0:
		writeReply(w, id, nil, &rpcError{Code: f.Code, Message: f.Message})
		return true
	}
	return false
}
