package otelmsig

import (
	"context"
	"fmt"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// checkVersions asks get_version once per endpoint (endpoints in parallel),
// keeps each answer for the RPC spans and snapshots of the escrow, and
// refuses participants on different RPC versions before any multisig call.
// The calls are marked as the instrumentation's own (escrow.snapshot_call),
// so the legacy file does not list them: it has the multisig calls only.
func (s *setup) checkVersions(ctx context.Context) error {
	n := len(s.wallets)
	first := map[string]int{} // endpoint -> the first wallet there
	for i, w := range s.wallets {
		if _, ok := first[w.Client.Endpoint().String()]; !ok {
			first[w.Client.Endpoint().String()] = i
		}
	}
	errs := make([]error, n)
	perEndpoint(s.wallets, func(i int) {
		w := s.wallets[i]
		ep := w.Client.Endpoint().String()
		if first[ep] != i {
			return
		}
		cctx := context.WithValue(ctx, callKey, newCallInfo(w, true, 0))
		v, err := w.Client.GetVersion(cctx)
		if err != nil {
			s.esc.eps.noteErr(ep, walletrpc.MethodGetVersion, err)
			errs[i] = err
			return
		}
		s.esc.eps.setVersion(ep, v.Version)
	})
	for i, err := range errs {
		if err != nil {
			return s.fail(ctx, nil, s.stepError(0, walletrpc.MethodGetVersion, i, err))
		}
	}
	ep0 := s.wallets[0].Client.Endpoint().String()
	v0 := s.esc.eps.versionOf(ep0)
	for i, w := range s.wallets {
		if v := s.esc.eps.versionOf(w.Client.Endpoint().String()); v != v0 {
			err := fmt.Errorf("%w: %s wallet %q answers %s (%d), %s wallet %q answers %s (%d)", ErrVersionMismatch,
				s.wallets[0].Role, s.wallets[0].ID, walletrpc.RPCVersionString(v0), v0,
				w.Role, w.ID, walletrpc.RPCVersionString(v), v)
			return s.fail(ctx, nil, s.stepError(0, walletrpc.MethodGetVersion, i, err))
		}
	}
	s.esc.span.SetAttributes(escrowconv.EscrowRPCVersion.Int64(int64(v0)))
	return nil
}
