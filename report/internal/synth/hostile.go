package synth

import (
	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/report"
)

// Hostile texts: markup and script in every field a page shows.
const (
	HostileID     = `<script>window.pwned=1</script>"'><img src=x onerror="window.pwned=2">`
	HostileWallet = `"><svg onload="window.pwned=3"></svg>`
	HostileError  = "</script><script>window.pwned=4</script>\x1b[31mred\x1b[0m\r\nforged line"
	// HostileInstance is the other process's service.instance.id of A's
	// pollution event, which the collector found.
	HostileInstance = "<script>window.pwned=8</script>\x1b[2J\nforged line"
)

// Hostile is two escrows whose ids, wallet names, error texts and
// pollution details (the collector's other service instance too) carry
// markup, script and terminal escapes.
func Hostile() []report.Input {
	port := 18100
	mk := func(id string, t0 int64, other, otherInstance string) []escrowjson.Event {
		by := ""
		if otherInstance != "" {
			by = escrowconv.DetectedByCollector
		}
		tid := id + "-1795960000000"
		code := -1
		fp := "rw-"
		return []escrowjson.Event{
			{TraceID: tid, Timestamp: t0, EventType: escrowconv.PointPreRound1, Role: "buyer", RPCPort: &port, Details: &escrowjson.Snapshot{
				Timestamp: t0, WalletID: HostileWallet, Role: "buyer", AddressHash: "<b>not-a-hash</b>", FilePerms: &fp, RPCPort: &port,
				WalletFilename: HostileWallet + id[:1], Error: HostileError}},
			{TraceID: tid, Timestamp: t0 + 1, EventType: escrowjson.TypeRPCCallStart, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallStart{Method: "open_wallet", Timestamp: t0 + 1}},
			{TraceID: tid, Timestamp: t0 + 5, EventType: escrowjson.TypeRPCCallEnd, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallEnd{Method: "open_wallet", DurationMs: 4, Success: true}},
			{TraceID: tid, Timestamp: t0 + 20, EventType: escrowjson.TypeRPCCallStart, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallStart{Method: `make_multisig<img src=x onerror="window.pwned=5">`, Timestamp: t0 + 20}},
			{TraceID: tid, Timestamp: t0 + 20, EventType: escrowjson.TypeCachePollution, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.CachePollution{Reason: "wrong_wallet_open<script>window.pwned=6</script>", ExpectedWallet: HostileWallet + id[:1],
					ActualWallet: HostileWallet + other[:1], Endpoint: "127.0.0.1:18100", OtherEscrowID: other,
					OtherServiceInstanceID: otherInstance, DetectedBy: by}},
			{TraceID: tid, Timestamp: t0 + 30, EventType: escrowjson.TypeRPCCallError, Role: "buyer", RPCPort: &port,
				Details: &escrowjson.RPCCallEnd{Method: `make_multisig<img src=x onerror="window.pwned=5">`, DurationMs: 10, Error: HostileError, Code: &code}},
			{TraceID: tid, Timestamp: t0 + 31, EventType: escrowjson.TypeErrorFinal, Role: "buyer", Details: &escrowjson.ErrorFinal{
				Error: HostileError, Context: escrowjson.ErrorContext{Round: 1, Operation: "make_multisig</script>", WalletID: HostileWallet, EscrowID: id,
					Timestamp: "<i>2026</i>"}}},
		}
	}
	a, b := "A"+HostileID, "B"+HostileID
	return []report.Input{
		{Source: "escrow_A</title><script>window.pwned=7</script>_FAILED.json", Events: mk(a, T0, b, HostileInstance)},
		{Source: "escrow_B_FAILED.json", Events: mk(b, T0+2, a, "")},
	}
}
