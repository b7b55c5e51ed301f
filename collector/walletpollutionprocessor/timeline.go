package walletpollutionprocessor

import (
	"slices"
	"unique"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// effect is what an open or close that wallet-rpc may have run left open.
type effect uint8

const (
	effectOpen    effect = iota // the wallet of entry.wallet
	effectClosed                // no wallet
	effectUnknown               // it may or may not have run, or which wallet it opened is not known
)

// entry is one open or close on an endpoint's timeline. Refused ones are
// not entries: they changed nothing. Strings are interned: a few escrows
// and processes account for many entries.
type entry struct {
	start, end int64 // the span's client interval, unix ns, its process's clock
	received   int64 // when the collector received it, unix ns, the collector's clock
	effect     effect
	wallet     unique.Handle[string] // for effectOpen
	escrowID   unique.Handle[string]
	instanceID unique.Handle[string] // service.instance.id of the process that made it
	traceID    pcommon.TraceID
	spanID     pcommon.SpanID
}

// spanKey identifies a span for duplicate detection.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type seenKey struct {
	key      spanKey
	received int64
}

// endpoint is what the processor knows about one wallet-rpc endpoint.
type endpoint struct {
	// entries are the endpoint's opens and closes, in the order of their
	// ends: the order in which wallet-rpc answered them (see doc.go).
	entries []entry
	// maxDur is the longest entry interval seen, so that a search for the
	// entries overlapping an interval stops early.
	maxDur int64
	// seen remembers the span ids of the endpoint's opens, closes and
	// judged calls, to recognise a span delivered twice; seenOrder is
	// the same ids in the order received, to forget the oldest.
	seen      map[spanKey]struct{}
	seenOrder []seenKey
	// decidedUntil is the latest end of a call decided (and forwarded): a
	// span of the endpoint that starts before it arrived too late to be
	// used for that call.
	decidedUntil int64
	lastUsed     int64 // collector clock, for the least-recently-used eviction
}

func newEndpoint() *endpoint {
	return &endpoint{seen: map[spanKey]struct{}{}}
}

// remember records k as seen; it reports false when it was already.
func (ep *endpoint) remember(k spanKey, now int64, maxEntries int) (dropped int, fresh bool) {
	if _, dup := ep.seen[k]; dup {
		return 0, false
	}
	ep.seen[k] = struct{}{}
	ep.seenOrder = append(ep.seenOrder, seenKey{k, now})
	if n := len(ep.seenOrder) - maxEntries; n > 0 {
		ep.forgetSeen(n)
		dropped = n
	}
	return dropped, true
}

// insert adds e in end order. Past maxEntries the oldest entry goes; it
// returns how many went.
func (ep *endpoint) insert(e entry, maxEntries int) (dropped int) {
	i, _ := slices.BinarySearchFunc(ep.entries, e.end, func(x entry, end int64) int {
		if x.end <= end { // equal ends: after those already there
			return -1
		}
		return 1
	})
	ep.entries = slices.Insert(ep.entries, i, e)
	ep.maxDur = max(ep.maxDur, e.end-e.start)
	if n := len(ep.entries) - maxEntries; n > 0 {
		ep.dropEntries(n)
		dropped = n
	}
	return dropped
}

// dropEntries forgets the n oldest entries. The slice is cut from the
// front, not shifted (a shift moves the whole timeline at the cap); append
// reallocates it in time, so its array stays within a small multiple of
// the cap.
func (ep *endpoint) dropEntries(n int) {
	clear(ep.entries[:n])
	ep.entries = ep.entries[n:]
}

// forgetSeen forgets the n oldest remembered span ids.
func (ep *endpoint) forgetSeen(n int) {
	for _, k := range ep.seenOrder[:n] {
		delete(ep.seen, k.key)
	}
	clear(ep.seenOrder[:n])
	ep.seenOrder = ep.seenOrder[n:]
}

// prune forgets entries and span ids received before cutoff, keeping the
// newest entry: it is the endpoint's current state.
func (ep *endpoint) prune(cutoff int64) {
	n := 0
	for n < len(ep.entries)-1 && ep.entries[n].received < cutoff {
		n++
	}
	ep.dropEntries(n)
	n = 0
	for n < len(ep.seenOrder) && ep.seenOrder[n].received < cutoff {
		n++
	}
	ep.forgetSeen(n)
	if len(ep.seenOrder) == 0 {
		// Go maps do not shrink: start afresh once everything is
		// forgotten, so that a burst does not keep its buckets.
		ep.seen = map[spanKey]struct{}{}
		ep.seenOrder = nil
	}
}

// verdictKind is the result of judging a call.
type verdictKind uint8

const (
	verdictUnknown   verdictKind = iota // nothing known of what was open, or an open whose outcome is unknown may have decided it
	verdictRight                        // the call met its wallet (or none: it then failed with "No wallet file")
	verdictWrong                        // the call met another wallet, whatever the order of the calls that overlap it
	verdictAmbiguous                    // the order of calls whose intervals overlap the call's decides between right and wrong
)

// decide tells which wallet a call for wallet want, with client interval
// [start, end], met on the endpoint. For verdictWrong it returns the entry
// that opened the wallet met.
//
// Each call's client interval contains its server handling and wallet-rpc
// handles one request at a time, so an entry that started and ended
// before the call (sent first and answered first) ran before it; one that
// started and ended after it ran after it; when one interval lies inside
// the other, the order is not known. The wallet the call met is that left
// by the last entry that ran before it: one of the latest entries certainly
// before it (those that no other entry certainly before it follows), or
// any entry whose order with the call is not known. The call is wrong only
// if every one of these possibilities is a wallet other than want.
func (ep *endpoint) decide(start, end int64, want string) (verdictKind, *entry) {
	var (
		right, wrong, unknown bool
		opener                *entry
		before                bool
		maxStart              int64 // the latest start of the entries certainly before the call scanned so far
	)
	consider := func(e *entry) {
		switch {
		case e.effect == effectUnknown:
			unknown = true
		case e.effect == effectOpen && e.wallet.Value() != want:
			wrong = true
			if opener == nil || e.end > opener.end {
				opener = e
			}
		default:
			right = true
		}
	}
	// Entries that ended before the call did, latest first.
	i, _ := slices.BinarySearchFunc(ep.entries, end, func(x entry, end int64) int {
		if x.end < end {
			return -1
		}
		return 1
	})
	for j := i - 1; j >= 0; j-- {
		e := &ep.entries[j]
		if before && e.end < maxStart {
			// It and all earlier entries ended before an entry certainly
			// before the call started: they ran before that one.
			break
		}
		if e.start >= start {
			consider(e) // inside the call's interval: order unknown
			continue
		}
		// Sent and answered before the call. Among these, only those no
		// other one follows (started and ended later) can be the last.
		if !before || e.start >= maxStart {
			consider(e)
		}
		if !before || e.start > maxStart {
			maxStart = e.start
		}
		before = true
	}
	// Entries that ended when or after the call did: those that started
	// before it contain it, order unknown; the others ran after it.
	for j := i; j < len(ep.entries); j++ {
		e := &ep.entries[j]
		if e.end > end && e.end-ep.maxDur > start {
			break // this and all later ones started after the call
		}
		if e.start <= start || e.end == end {
			consider(e)
		}
	}
	if !before {
		unknown = true // had every overlapping entry run after it: nothing known
	}
	switch {
	case unknown:
		return verdictUnknown, nil
	case wrong && right:
		return verdictAmbiguous, nil
	case wrong:
		return verdictWrong, opener
	}
	return verdictRight, nil
}
