package report

import "github.com/escrowtrace/escrowtrace/escrowconv"

// closesRound says which round a snapshot point closes.
var closesRound = map[string]int{
	escrowconv.PointPostMakeMultisig:   1,
	escrowconv.PointPostExportMultisig: 2,
	escrowconv.PointPostImportMultisig: 3,
}

// roundOfPoint is the round a snapshot point belongs to; 0 for FINAL.
var roundOfPoint = map[string]int{
	escrowconv.PointPreRound1: 1, escrowconv.PointPostMakeMultisig: 1,
	escrowconv.PointPreRound2: 2, escrowconv.PointPostExportMultisig: 2,
	escrowconv.PointPreRound3: 3, escrowconv.PointPostImportMultisig: 3,
}

// RoundTracker says which key-exchange round (1 to 3; 0 before the first)
// each event of one escrow belongs to, fed the escrow's events in time
// order. The legacy format writes no round on calls, so it is inferred:
// from the method for the multisig calls, else from the last snapshot
// point. The zero value is ready to use.
type RoundTracker struct {
	round     int            // of the last snapshot point of a round
	exchanges map[string]int // exchange_multisig_keys calls per role so far
}

// Call counts a wallet RPC call of method by role, at its start, and
// returns its round: prepare_multisig and make_multisig are round 1, a
// role's n-th exchange_multisig_keys is round n+1, any other call is in
// the current round (Round).
func (t *RoundTracker) Call(role, method string) int {
	switch method {
	case "prepare_multisig", "make_multisig":
		return 1
	case "exchange_multisig_keys":
		if t.exchanges == nil {
			t.exchanges = map[string]int{}
		}
		t.exchanges[role]++
		return 1 + t.exchanges[role]
	}
	return t.round
}

// Snapshot returns the round of snapshot point (an escrowconv.Point*) and
// makes it the current round; a point outside the rounds (FINAL, custom)
// returns 0 and leaves the current round as it was.
func (t *RoundTracker) Snapshot(point string) int {
	r, ok := roundOfPoint[point]
	if ok {
		t.round = r
	}
	return r
}

// Round is the round of the last snapshot point of a round seen, 0 before
// any: the round of an event that says none itself (a call's end without
// its start, a cache pollution).
func (t *RoundTracker) Round() int { return t.round }
