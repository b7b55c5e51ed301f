package report

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// defaultRoles are a 2-of-3 escrow's roles in the order escrows list them.
var defaultRoles = []string{escrowjson.RoleBuyer, escrowjson.RoleVendor, escrowjson.RoleArbiter}

// Build analyses the escrows of inputs. Two inputs with one trace_id (the
// same escrow from a file and from Jaeger) count once: the first is kept.
func Build(inputs []Input) *Report {
	r := &Report{}
	seen := map[string]bool{}
	for _, in := range inputs {
		e := buildEscrow(in)
		if e.TraceID != "" {
			if seen[e.TraceID] {
				continue
			}
			seen[e.TraceID] = true
		}
		r.Escrows = append(r.Escrows, e)
	}
	slices.SortStableFunc(r.Escrows, func(a, b *Escrow) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), strings.Compare(a.ID, b.ID))
	})
	for i, e := range r.Escrows {
		e.N = i + 1
		if i == 0 || e.Start < r.Start {
			r.Start = e.Start
		}
		r.End = max(r.End, e.End)
	}
	r.buildEndpoints()
	r.linkPollution()
	r.buildOpen()
	r.Methods = methodStats(r.Escrows)
	r.summarize()
	return r
}

// escrowID takes the id out of a legacy trace_id, "<id>-<unix ms>".
func escrowID(traceID string) string {
	i := strings.LastIndexByte(traceID, '-')
	if i <= 0 {
		return ""
	}
	if _, err := strconv.ParseInt(traceID[i+1:], 10, 64); err != nil {
		return ""
	}
	return traceID[:i]
}

func buildEscrow(in Input) *Escrow {
	e := &Escrow{Source: in.Source, Events: map[string]int{}, Wallets: map[string]string{}}
	base := filepath.Base(in.Source)
	e.Partial = strings.HasSuffix(base, "_PARTIAL.json")
	e.Failed = strings.HasSuffix(base, "_FAILED.json")
	evs := in.Events
	e.EventCount = len(evs)
	if len(evs) > 0 {
		e.TraceID = evs[0].TraceID
		e.Start, e.End = evs[0].Timestamp, evs[0].Timestamp
	}
	e.ID = escrowID(e.TraceID)

	type key struct {
		role, method string
		port         int
	}
	open := map[key][]*Call{}
	roles := map[string]bool{}
	lastHash := map[string]string{}
	var rounds RoundTracker
	post := map[int]map[string]bool{}
	for _, ev := range evs {
		e.Events[ev.EventType]++
		e.Start = min(e.Start, ev.Timestamp)
		e.End = max(e.End, ev.Timestamp)
		port := 0
		if ev.RPCPort != nil {
			port = *ev.RPCPort
		}
		step := Step{Key: ev.EventType + " " + ev.Role, Time: ev.Timestamp}
		switch d := ev.Details.(type) {
		case *escrowjson.RPCCallStart:
			c := &Call{Escrow: e, Role: ev.Role, Method: d.Method, Port: port, Start: ev.Timestamp, End: ev.Timestamp, Round: rounds.Call(ev.Role, d.Method)}
			k := key{ev.Role, d.Method, port}
			open[k] = append(open[k], c)
			e.Calls = append(e.Calls, c)
			roles[ev.Role] = ev.Role != escrowjson.RoleCoordinator
			step.Key += " " + d.Method
		case *escrowjson.RPCCallEnd:
			k := key{ev.Role, d.Method, port}
			var c *Call
			if q := open[k]; len(q) > 0 {
				c, open[k] = q[0], q[1:]
			} else {
				// An end without its start: place it by its duration.
				c = &Call{Escrow: e, Role: ev.Role, Method: d.Method, Port: port, Start: ev.Timestamp - max(d.DurationMs, 0), Round: rounds.Round()}
				e.Calls = append(e.Calls, c)
			}
			c.End, c.Duration, c.OK, c.Ended = ev.Timestamp, max(d.DurationMs, 0), d.Success, true
			if c.Start > c.End {
				c.Start = c.End
			}
			c.Error, c.Code = d.Error, d.Code
			if !d.Success {
				e.FailedCalls++
				step.Note = "error"
				if d.Code != nil {
					step.Note = "error " + strconv.Itoa(*d.Code)
				}
			}
			step.Key += " " + d.Method
		case *escrowjson.Snapshot:
			point := ev.EventType
			if point == escrowjson.TypeCustom && d.Point != "" {
				point = d.Point
			}
			rounds.Snapshot(point)
			s := &Snapshot{
				Point: point, Role: ev.Role, Time: d.Timestamp, Port: port, WalletID: d.WalletID,
				Filename: d.WalletFilename, IsMultisig: d.IsMultisig, Ready: d.MultisigReady,
				AddressHash: d.AddressHash, Balance: d.Balance, Error: d.Error, CollectionMs: d.CollectionTimeMs,
			}
			if s.Time == 0 {
				s.Time = ev.Timestamp
			}
			if s.Port == 0 && d.RPCPort != nil {
				s.Port = *d.RPCPort
			}
			if prev, ok := lastHash[ev.Role]; ok && prev != s.AddressHash {
				s.HashChanged = true
			}
			lastHash[ev.Role] = s.AddressHash
			e.Snapshots = append(e.Snapshots, s)
			roles[ev.Role] = ev.Role != escrowjson.RoleCoordinator
			for _, w := range []string{d.WalletFilename, d.WalletID} {
				if w != "" {
					e.Wallets[w] = ev.Role
				}
			}
			if n, ok := closesRound[point]; ok {
				if post[n] == nil {
					post[n] = map[string]bool{}
				}
				post[n][ev.Role] = true
			}
			step.Key = point + " " + ev.Role
			step.Note = "multisig=" + strconv.FormatBool(d.IsMultisig)
		case *escrowjson.CachePollution:
			p := &Pollution{
				Escrow: e, Time: ev.Timestamp, Role: ev.Role, Reason: d.Reason, WalletID: d.WalletID,
				Expected: d.ExpectedWallet, Actual: d.ActualWallet, Endpoint: d.Endpoint, Port: port, OtherID: d.OtherEscrowID,
				DetectedBy: d.DetectedBy, OtherInstance: d.OtherServiceInstanceID,
			}
			if p.Port == 0 {
				p.Port = portOf(d.Endpoint)
			}
			e.Pollution = append(e.Pollution, p)
			step.Key += " " + d.Reason
		case *escrowjson.ErrorFinal:
			e.Failed = true
			e.Errors = append(e.Errors, &ErrorFinal{
				Time: ev.Timestamp, Role: ev.Role, Message: d.Error, Round: d.Context.Round, Operation: d.Context.Operation,
				WalletID: d.Context.WalletID, EscrowID: d.Context.EscrowID, When: d.Context.Timestamp,
			})
			step.Key += " " + d.Context.Operation
			if e.ID == "" {
				e.ID = d.Context.EscrowID
			}
		}
		e.Steps = append(e.Steps, step)
	}
	if e.ID == "" {
		e.ID = idFromFileName(base)
	}
	for r, ok := range roles {
		if ok {
			e.Roles = append(e.Roles, r)
		}
	}
	slices.SortFunc(e.Roles, compareRoles)
	need := max(len(e.Roles), len(defaultRoles))
	for n := 1; n <= 3 && len(post[n]) >= need; n++ {
		e.Rounds = n
	}
	for _, ef := range e.Errors {
		if ef.Round > 0 {
			e.Rounds = min(e.Rounds, ef.Round-1)
		}
	}
	slices.SortStableFunc(e.Snapshots, func(a, b *Snapshot) int { return cmp.Compare(a.Time, b.Time) })
	for _, s := range e.Snapshots {
		e.Start = min(e.Start, s.Time)
		e.End = max(e.End, s.Time+s.CollectionMs)
	}
	for i := range e.Steps {
		e.Steps[i].Time -= e.Start
	}
	return e
}

// compareRoles orders roles as escrows list them: buyer, vendor, arbiter,
// then any other by name.
func compareRoles(a, b string) int {
	rank := func(r string) int {
		if i := slices.Index(defaultRoles, r); i >= 0 {
			return i
		}
		return len(defaultRoles)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
}

// idFromFileName is the escrow id part of escrow_<id>[_FAILED|_PARTIAL].json.
func idFromFileName(base string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(base, "escrow_"), ".json")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "_FAILED"), "_PARTIAL")
	return s
}

// portOf reads the port of "host:port"; 0 when there is none.
func portOf(endpoint string) int {
	i := strings.LastIndexByte(endpoint, ':')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(endpoint[i+1:])
	if err != nil || n < 1 || n > 65535 {
		return 0
	}
	return n
}

// Escrow finds an escrow by reference: its number in the report ("2" or
// "#2"), its id, its trace_id, a unique prefix of its id, or its file.
func (r *Report) Escrow(ref string) (*Escrow, error) {
	ref = strings.TrimSpace(ref)
	if n, err := strconv.Atoi(strings.TrimPrefix(ref, "#")); err == nil {
		if n >= 1 && n <= len(r.Escrows) {
			return r.Escrows[n-1], nil
		}
		if strings.HasPrefix(ref, "#") {
			return nil, fmt.Errorf("no escrow #%d: the report has %d", n, len(r.Escrows))
		}
	}
	var found []*Escrow
	for _, e := range r.Escrows {
		switch {
		case e.ID == ref || e.TraceID == ref || e.Source == ref || filepath.Base(e.Source) == ref:
			return e, nil
		case ref != "" && strings.HasPrefix(e.ID, ref):
			found = append(found, e)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no escrow %q in the report (give its number, id, id prefix or file)", ref)
	}
	return nil, fmt.Errorf("%q matches %d escrows; give more of the id", ref, len(found))
}

func (r *Report) summarize() {
	s := &r.Summary
	s.Escrows = len(r.Escrows)
	for _, e := range r.Escrows {
		switch {
		case e.Failed:
			s.Failed++
		case e.Partial:
			s.Partial++
		default:
			s.OK++
		}
		s.Rounds[min(max(e.Rounds, 0), 3)]++
		s.Calls += len(e.Calls)
		s.FailedCalls += e.FailedCalls
		s.Snapshots += len(e.Snapshots)
		s.Pollution += len(e.Pollution)
		s.Events += e.EventCount
		if len(e.Pollution) > 0 {
			s.Polluted++
		}
		for _, p := range e.Pollution {
			if p.ByCollector() {
				s.ByCollector++
			}
		}
	}
}
