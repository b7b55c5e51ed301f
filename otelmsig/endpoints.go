package otelmsig

import (
	"errors"
	"fmt"
	"sync"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// ErrEndpointHung: an earlier call of this escrow to the wallet's
// wallet-rpc timed out, so no further call is sent there (it would wait a
// whole timeout again). The error names the call that timed out.
var ErrEndpointHung = errors.New("wallet-rpc stopped answering")

// endpoints is what an escrow learned about its wallet-rpc endpoints
// (host:port): the RPC version each answered to get_version, and which ones
// stopped answering. Safe for concurrent use.
type endpoints struct {
	mu      sync.Mutex
	version map[string]uint32
	hung    map[string]error
}

func (p *endpoints) setVersion(ep string, v uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.version == nil {
		p.version = map[string]uint32{}
	}
	p.version[ep] = v
}

// versionOf returns the RPC version of ep, 0 when not known.
func (p *endpoints) versionOf(ep string) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.version[ep]
}

// noteErr records that ep is hung when err is a timeout of a call there
// (op names the call). Other errors say nothing about the endpoint
// answering: a JSON-RPC error is an answer, a refused connection comes at
// once.
func (p *endpoints) noteErr(ep, op string, err error) {
	var te *walletrpc.TransportError
	if !errors.As(err, &te) || te.Kind != walletrpc.KindTimeout {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hung == nil {
		p.hung = map[string]error{}
	}
	if p.hung[ep] == nil {
		p.hung[ep] = fmt.Errorf("%w: %s on %s timed out earlier: %w", ErrEndpointHung, op, ep, err)
	}
}

// hungErr returns why ep is not called any more, nil when it may be.
func (p *endpoints) hungErr(ep string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hung[ep]
}
