package report

import (
	"cmp"
	"fmt"
	"slices"
)

// buildEndpoints puts every call on its port's lane and stacks overlapping
// calls into rows.
func (r *Report) buildEndpoints() {
	byPort := map[int]*Endpoint{}
	get := func(port int) *Endpoint {
		ep := byPort[port]
		if ep == nil {
			ep = &Endpoint{Port: port, Name: fmt.Sprintf("port %d", port)}
			if port == 0 {
				ep.Name = "no port"
			}
			byPort[port] = ep
		}
		return ep
	}
	addEscrow := func(ep *Endpoint, e *Escrow) {
		if !slices.Contains(ep.Escrows, e) {
			ep.Escrows = append(ep.Escrows, e)
		}
	}
	for _, e := range r.Escrows {
		for _, c := range e.Calls {
			ep := get(c.Port)
			ep.Calls = append(ep.Calls, c)
			if c.Ended && !c.OK {
				ep.Failed++
			}
			addEscrow(ep, e)
		}
		for _, s := range e.Snapshots {
			if s.Port != 0 {
				addEscrow(get(s.Port), e)
			}
		}
		for _, p := range e.Pollution {
			ep := get(p.Port)
			ep.Pollution = append(ep.Pollution, p)
			if p.Endpoint != "" && portOf(p.Endpoint) == p.Port {
				ep.Name = p.Endpoint
			}
		}
	}
	for _, ep := range byPort {
		slices.SortStableFunc(ep.Calls, func(a, b *Call) int {
			return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
		})
		slices.SortStableFunc(ep.Pollution, func(a, b *Pollution) int { return cmp.Compare(a.Time, b.Time) })
		slices.SortStableFunc(ep.Escrows, func(a, b *Escrow) int { return cmp.Compare(a.N, b.N) })
		// Greedy interval packing: each call takes the first row free at
		// its start. A call of 0 ms still takes 1 ms, so that calls in the
		// same millisecond do not share a row.
		var rowEnd []int64
		for _, c := range ep.Calls {
			end := max(c.End, c.Start+1)
			row := -1
			for i, t := range rowEnd {
				if t <= c.Start {
					row = i
					break
				}
			}
			if row < 0 {
				row = len(rowEnd)
				rowEnd = append(rowEnd, 0)
			}
			rowEnd[row] = end
			c.Row = row
		}
		ep.Rows = max(len(rowEnd), 1)
		r.Endpoints = append(r.Endpoints, ep)
	}
	slices.SortFunc(r.Endpoints, func(a, b *Endpoint) int { return cmp.Compare(a.Port, b.Port) })
}

// linkPollution finds, for every pollution event, the escrow it names as
// the other one, the call that met the wrong wallet, and the other
// escrow's call that opened that wallet.
func (r *Report) linkPollution() {
	byID := map[string]*Escrow{}
	for _, e := range r.Escrows {
		if _, dup := byID[e.ID]; !dup {
			byID[e.ID] = e
		}
	}
	for _, e := range r.Escrows {
		for _, p := range e.Pollution {
			p.Other = byID[p.OtherID]
			if p.Other == nil && p.Actual != "" {
				// No id in the event: the escrow whose wallet it is.
				for _, o := range r.Escrows {
					if _, ok := o.Wallets[p.Actual]; ok && o != e {
						p.Other = o
						break
					}
				}
			}
			// The victim: the escrow's call by the role on the port that
			// started when the event was recorded (the check runs just
			// before the call is sent), else the snapshot running then.
			for _, c := range e.Calls {
				if c.Port == p.Port && c.Role == p.Role && !changesWallet(c.Method) && c.Start >= p.Time-2 && c.Start <= p.Time+2 {
					p.Call = c
					break
				}
			}
			if p.Call == nil {
				for _, sn := range e.Snapshots {
					if sn.Port == p.Port && sn.Role == p.Role && sn.Time <= p.Time && p.Time <= sn.Time+sn.CollectionMs+2 {
						p.Snapshot = sn
					}
				}
			}
			if p.Call != nil {
				p.Call.Pollution = append(p.Call.Pollution, p)
			}
			if p.Other == nil {
				continue
			}
			// The cause: the other escrow's latest successful open (or
			// create) on the port that started by then, else its latest
			// snapshot there (a snapshot re-opens its wallet).
			for _, c := range p.Other.Calls {
				if c.Port == p.Port && opensWallet(c.Method) && c.Start <= p.Time && (!c.Ended || c.OK) &&
					(p.Cause == nil || c.Start >= p.Cause.Start) {
					p.Cause = c
				}
			}
			if p.Cause != nil {
				p.CauseTime = p.Cause.Start
			}
			for _, s := range p.Other.Snapshots {
				if s.Port == p.Port && s.Time <= p.Time && s.Time > p.CauseTime {
					p.Cause, p.CauseTime = nil, s.Time
				}
			}
		}
	}
}

func changesWallet(method string) bool { return opensWallet(method) || method == "close_wallet" }

func opensWallet(method string) bool {
	switch method {
	case "open_wallet", "create_wallet", "restore_deterministic_wallet":
		return true
	}
	return false
}

// buildOpen infers which wallet was open on each endpoint when (see the
// package doc).
func (r *Report) buildOpen() {
	for _, ep := range r.Endpoints {
		if ep.Port == 0 {
			continue
		}
		if len(ep.Escrows) == 1 && !r.anyOpens(ep) {
			e := ep.Escrows[0]
			start, end := e.End, e.Start
			role := ""
			for _, c := range ep.Calls {
				start, end, role = min(start, c.Start), max(end, c.End), c.Role
			}
			for _, s := range e.Snapshots {
				if s.Port == ep.Port {
					start, end, role = min(start, s.Time), max(end, s.Time+s.CollectionMs), s.Role
				}
			}
			if start <= end {
				ep.Open = []Interval{{Start: start, End: end, Escrow: e, Role: role, Wallet: walletOf(e, role), Source: "only user"}}
			}
			continue
		}
		type mark struct {
			at     int64
			escrow *Escrow
			role   string
			wallet string
			source string
			closed bool
		}
		var marks []mark
		last := int64(0)
		for _, c := range ep.Calls {
			last = max(last, c.End)
			if !c.Ended || !c.OK {
				continue
			}
			switch {
			case opensWallet(c.Method):
				marks = append(marks, mark{c.End, c.Escrow, c.Role, walletOf(c.Escrow, c.Role), c.Method, false})
			case c.Method == "close_wallet":
				marks = append(marks, mark{at: c.End, closed: true, source: c.Method})
			}
		}
		opener := map[*Escrow]bool{}
		for _, c := range ep.Calls {
			if opensWallet(c.Method) {
				opener[c.Escrow] = true
			}
		}
		for _, e := range ep.Escrows {
			for _, s := range e.Snapshots {
				// A snapshot marks its wallet open only for an escrow whose
				// re-opens are not in the file.
				if s.Port == ep.Port && !opener[e] {
					marks = append(marks, mark{s.Time, e, s.Role, cmp.Or(s.Filename, s.WalletID), "snapshot", false})
					last = max(last, s.Time+s.CollectionMs)
				}
			}
		}
		for _, p := range ep.Pollution {
			if p.Actual != "" {
				role := ""
				if p.Other != nil {
					role = p.Other.Wallets[p.Actual]
				}
				marks = append(marks, mark{p.Time, p.Other, role, p.Actual, "pollution", false})
			}
			last = max(last, p.Time)
		}
		slices.SortStableFunc(marks, func(a, b mark) int { return cmp.Compare(a.at, b.at) })
		var out []Interval
		for i, m := range marks {
			if m.closed {
				continue
			}
			end := last
			if i+1 < len(marks) {
				end = marks[i+1].at
			}
			if n := len(out); n > 0 && out[n-1].Wallet == m.wallet && out[n-1].End == m.at {
				out[n-1].End = end
				continue
			}
			out = append(out, Interval{Start: m.at, End: end, Escrow: m.escrow, Role: m.role, Wallet: m.wallet, Source: m.source})
		}
		ep.Open = out
	}
}

func (r *Report) anyOpens(ep *Endpoint) bool {
	for _, c := range ep.Calls {
		if opensWallet(c.Method) {
			return true
		}
	}
	return false
}

// walletOf is the wallet file name (else id) an escrow's role uses.
func walletOf(e *Escrow, role string) string {
	for _, s := range e.Snapshots {
		if s.Role == role {
			return cmp.Or(s.Filename, s.WalletID)
		}
	}
	return ""
}
