package synth

import (
	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/report"
)

// Escrow ids and service instances of CrossProcess.
const (
	ProcA     = "aaaaaaaa-0000-4000-8000-00000000000a" // process 1, the victim
	ProcB     = "bbbbbbbb-0000-4000-8000-00000000000b" // process 2
	ProcC     = "cccccccc-0000-4000-8000-00000000000c" // process 1
	Instance1 = "11111111-1111-4111-8111-111111111111"
	Instance2 = "22222222-2222-4222-8222-222222222222"
)

// CrossProcess is three escrows of two processes on one shared wallet-rpc
// (port BasePort), as the escrowtrace collector writes their files:
//
//	+0   A open_wallet buyer-aaaaaaaa   (process 1)
//	+10  B open_wallet buyer-bbbbbbbb   (process 2)
//	+20  A prepare_multisig             met B's wallet: found by the collector
//	+40  A open_wallet buyer-aaaaaaaa
//	+50  C open_wallet buyer-cccccccc   (process 1)
//	+60  A make_multisig                met C's wallet: found in process 1
//
// A's file has both findings: the first with detected_by "collector" and
// other_service_instance_id Instance2, the second a process's own.
func CrossProcess() []report.Input {
	port := BasePort
	ep := "127.0.0.1:18100"
	call := func(id string, at int64, method string, dur int64) []escrowjson.Event {
		tid := id + "-1795960000000"
		return []escrowjson.Event{
			{TraceID: tid, Timestamp: T0 + at, EventType: escrowjson.TypeRPCCallStart, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallStart{Method: method, Timestamp: T0 + at}},
			{TraceID: tid, Timestamp: T0 + at + dur, EventType: escrowjson.TypeRPCCallEnd, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallEnd{Method: method, DurationMs: dur, Success: true}},
		}
	}
	pollution := func(at int64, other, otherWallet string, p escrowjson.CachePollution) escrowjson.Event {
		p.Reason, p.WalletID, p.ExpectedWallet, p.ActualWallet = escrowconv.ReasonWrongWalletOpen, "buyer-aaaaaaaa", "buyer-aaaaaaaa", otherWallet
		p.Endpoint, p.OtherEscrowID = ep, other
		return escrowjson.Event{TraceID: ProcA + "-1795960000000", Timestamp: T0 + at, EventType: escrowjson.TypeCachePollution,
			Role: "buyer", RPCPort: &port, Details: &p}
	}
	var a []escrowjson.Event
	a = append(a, call(ProcA, 0, "open_wallet", 5)...)
	a = append(a, call(ProcA, 20, "prepare_multisig", 10)...)
	a = append(a, pollution(20, ProcB, "buyer-bbbbbbbb", escrowjson.CachePollution{
		OtherServiceInstanceID: Instance2, DetectedBy: escrowconv.DetectedByCollector}))
	a = append(a, call(ProcA, 40, "open_wallet", 5)...)
	a = append(a, call(ProcA, 60, "make_multisig", 10)...)
	a = append(a, pollution(60, ProcC, "buyer-cccccccc", escrowjson.CachePollution{}))
	// The pollution events come right after their call's start, as the
	// converter writes them.
	a[3], a[4] = a[4], a[3]
	a[8], a[9] = a[9], a[8]
	return []report.Input{
		{Source: escrowjson.FileName(ProcA, false), Events: a},
		{Source: escrowjson.FileName(ProcB, false), Events: call(ProcB, 10, "open_wallet", 5)},
		{Source: escrowjson.FileName(ProcC, false), Events: call(ProcC, 50, "open_wallet", 5)},
	}
}
