// Package synth makes legacy escrow events of many escrows racing on
// shared wallet-rpc endpoints, for tests and benchmarks of the report: a
// small deterministic simulation, not a recording. Each endpoint serves one
// request at a time (as monero-wallet-rpc does); every step re-opens its
// wallet first; a call whose endpoint last opened another escrow's wallet
// records a cache-pollution event, and its make_multisig fails with -28 when
// the other wallet is already multisig.
package synth

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/report"
)

// T0 is the synthetic run's start, unix ms.
const T0 = int64(1795960000000)

// BasePort is the first endpoint's port: buyer, vendor, arbiter follow.
const BasePort = 18100

var roles = []string{"buyer", "vendor", "arbiter"}

type endpoint struct {
	free     int64
	open     string // wallet last opened
	openBy   int    // its escrow
	multisig map[string]bool
}

type escrow struct {
	n, step int
	sub     int // within a step of calls: 2 per role (open, call)
	id      string
	tid     string
	t       int64
	failed  bool
	events  []escrowjson.Event
	rnd     *rand.Rand
}

// Escrows simulates n escrows started within a second of each other on
// three shared endpoints (one per role), with a seeded randomness.
func Escrows(n int, seed uint64) []report.Input {
	rnd := rand.New(rand.NewPCG(seed, 7))
	eps := make([]*endpoint, len(roles))
	for i := range eps {
		eps[i] = &endpoint{multisig: map[string]bool{}}
	}
	es := make([]*escrow, n)
	for i := range es {
		id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rnd.Uint32(), rnd.Uint32()&0xffff, rnd.Uint32()&0xfff, rnd.Uint32()&0xfff, rnd.Uint64()&0xffffffffffff)
		start := T0 + int64(rnd.IntN(800))
		es[i] = &escrow{n: i, id: id, tid: fmt.Sprintf("%s-%d", id, start), t: start, rnd: rand.New(rand.NewPCG(seed, uint64(i)))}
	}
	wallet := func(e *escrow, r int) string { return roles[r] + "-" + e.id[:8] }
	// The plan of one escrow: snapshot points and per-role calls.
	type stepT struct {
		point  string
		method string
		round  int
	}
	plan := []stepT{
		{point: escrowconv.PointPreRound1}, {method: "prepare_multisig", round: 1}, {method: "make_multisig", round: 1},
		{point: escrowconv.PointPostMakeMultisig}, {point: escrowconv.PointPreRound2}, {method: "exchange_multisig_keys", round: 2},
		{point: escrowconv.PointPostExportMultisig}, {point: escrowconv.PointPreRound3}, {method: "exchange_multisig_keys", round: 3},
		{point: escrowconv.PointPostImportMultisig}, {point: escrowconv.PointFinal},
	}
	service := map[string][2]int{"open_wallet": {300, 900}, "prepare_multisig": {1, 4}, "make_multisig": {250, 400}, "exchange_multisig_keys": {40, 380}}
	multisig := map[string]bool{}
	add := func(e *escrow, at int64, typ, role string, port int, d any) {
		ev := escrowjson.Event{TraceID: e.tid, Timestamp: at, EventType: typ, Role: role, Details: d}
		if port != 0 {
			p := port
			ev.RPCPort = &p
		}
		e.events = append(e.events, ev)
	}
	// call sends one request to the role's endpoint at e.t and returns
	// when it is served.
	call := func(e *escrow, r int, method string) (ok bool) {
		ep := eps[r]
		port := BasePort + r
		w := wallet(e, r)
		sent := e.t
		add(e, sent, escrowjson.TypeRPCCallStart, roles[r], port, &escrowjson.RPCCallStart{Method: method, Timestamp: sent})
		polluted := false
		if method != "open_wallet" && ep.open != w && ep.open != "" {
			polluted = true
			add(e, sent, escrowjson.TypeCachePollution, roles[r], port, &escrowjson.CachePollution{
				Reason: escrowconv.ReasonWrongWalletOpen, WalletID: w, ExpectedWallet: w, ActualWallet: ep.open,
				Endpoint: fmt.Sprintf("127.0.0.1:%d", port), OtherEscrowID: es[ep.openBy].id,
			})
		}
		if method == "open_wallet" {
			ep.open, ep.openBy = w, e.n
		}
		s := service[method]
		begin := max(sent, ep.free)
		end := begin + int64(s[0]+e.rnd.IntN(s[1]-s[0]+1))
		ep.free = end
		e.t = end
		acted := w
		if polluted {
			acted = ep.open
		}
		ok = true
		var code *int
		errText := ""
		if method == "make_multisig" {
			if multisig[acted] {
				ok, errText = false, "walletrpc: json-rpc error -28: This wallet is already multisig"
				c := -28
				code = &c
			} else {
				multisig[acted] = true
			}
		}
		typ := escrowjson.TypeRPCCallEnd
		if !ok {
			typ = escrowjson.TypeRPCCallError
		}
		add(e, end, typ, roles[r], port, &escrowjson.RPCCallEnd{Method: method, DurationMs: end - sent, Success: ok, Error: errText, Code: code})
		return ok
	}
	snapshot := func(e *escrow, point string, shared string) {
		for r, role := range roles {
			w := wallet(e, r)
			addr := "9t" + w
			if shared != "" {
				addr = shared
			}
			sum := sha256.Sum256([]byte(addr))
			port := BasePort + r
			took := int64(1 + e.rnd.IntN(3))
			fp := "rw-"
			ready := multisig[w] && point == escrowconv.PointFinal
			add(e, e.t, point, role, port, &escrowjson.Snapshot{
				Timestamp: e.t, WalletID: w, Role: role, IsMultisig: multisig[w], AddressHash: hex.EncodeToString(sum[:]),
				FilePerms: &fp, FileExists: true, RPCPort: &port, CollectionTimeMs: took, MultisigReady: &ready, WalletFilename: w,
			})
			e.t += took
		}
	}
	for {
		// The escrow furthest behind in time goes next.
		var e *escrow
		for _, c := range es {
			if !c.failed && c.step < len(plan) && (e == nil || c.t < e.t) {
				e = c
			}
		}
		if e == nil {
			break
		}
		st := plan[e.step]
		if st.point != "" {
			e.step++
			shared := ""
			if e.step > 9 {
				shared = "9shared" + e.id
			}
			snapshot(e, st.point, shared)
			continue
		}
		// One request at a time, so that other escrows get in between an
		// open and its call.
		r := e.sub / 2
		if e.sub%2 == 0 {
			call(e, r, "open_wallet")
		} else if !call(e, r, st.method) {
			e.failed = true
			add(e, e.t+1, escrowjson.TypeErrorFinal, roles[r], 0, &escrowjson.ErrorFinal{
				Error:   fmt.Sprintf("otelmsig: escrow %q round %d: %s for %s wallet: walletrpc: json-rpc error -28: This wallet is already multisig", e.id, st.round, st.method, roles[r]),
				Context: escrowjson.ErrorContext{Round: st.round, Operation: st.method, WalletID: wallet(e, r), EscrowID: e.id, Timestamp: "2026-11-29T13:00:00.000Z"},
			})
		}
		e.sub++
		if e.sub == 2*len(roles) {
			e.sub = 0
			e.step++
		}
	}
	out := make([]report.Input, n)
	for i, e := range es {
		slices.SortStableFunc(e.events, func(a, b escrowjson.Event) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		name := escrowjson.FileName(e.id, e.failed)
		out[i] = report.Input{Source: name, Events: e.events}
	}
	return out
}

// WriteFiles writes inputs as legacy files into dir (file names from their
// Source) and returns their paths.
func WriteFiles(dir string, inputs []report.Input) ([]string, error) {
	var paths []string
	for _, in := range inputs {
		b, err := json.MarshalIndent(in.Events, "", "  ")
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, filepath.Base(in.Source))
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
