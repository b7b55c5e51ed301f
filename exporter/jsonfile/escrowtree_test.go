package jsonfile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// This file records escrow setups with the real SDK in the shape otelmsig
// produces (see escrowconv): the root, three round spans, the RPC client
// spans, the snapshot events and the snapshot-only RPC spans.

var roles = []string{"buyer", "vendor", "arbiter"}

// setup describes one recorded escrow setup.
type setup struct {
	escrowID string
	start    time.Time
	// failRound2 makes the buyer's exchange_multisig_keys in round 2 fail
	// with -48, as it does on wallet-rpc 0.18 without the experimental flag.
	failRound2 bool
	// basePort is the buyer's wallet-rpc port; vendor and arbiter follow.
	basePort int
	// extra attributes put on every span and event (for the secrets test).
	extra []attribute.KeyValue
	// noTraceIDAttr leaves escrow.trace_id off the root.
	noTraceIDAttr bool
}

// clock hands out increasing timestamps: each call advances by d.
type clock struct{ t time.Time }

func (c *clock) at(d time.Duration) time.Time {
	c.t = c.t.Add(d)
	return c.t
}

func (s setup) walletID(role string) string { return s.escrowID + "-" + role }

func (s setup) port(i int) int { return s.basePort + i }

// address is a fixed, address-like string per wallet (95 characters); after round 3 every
// wallet shows the shared multisig address.
func (s setup) address(role string, shared bool) string {
	sum := sha256.Sum256([]byte(s.escrowID + "/" + role))
	if shared {
		sum = sha256.Sum256([]byte(s.escrowID + "/shared"))
	}
	more := sha256.Sum256(sum[:])
	return ("9t" + hex.EncodeToString(sum[:]) + hex.EncodeToString(more[:]))[:95] // as long as a real address
}

// record records the setup through tp and returns the number of legacy
// events it must produce.
func (s setup) record(tp trace.TracerProvider) int {
	tr := tp.Tracer(escrowconv.ScopeName)
	c := &clock{t: s.start}
	ctx := context.Background()
	events := 0

	rootAttrs := []attribute.KeyValue{
		escrowconv.EscrowID.String(s.escrowID),
		escrowconv.EscrowThreshold.Int(2),
		escrowconv.EscrowParticipants.Int(3),
	}
	if !s.noTraceIDAttr {
		rootAttrs = append(rootAttrs, escrowconv.EscrowTraceID.String(s.escrowID+"-"+strconv.FormatInt(s.start.UnixMilli(), 10)))
	}
	rootAttrs = append(rootAttrs, s.extra...)
	ctx, root := tr.Start(ctx, escrowconv.SpanEscrow, trace.WithTimestamp(c.t), trace.WithAttributes(rootAttrs...))

	multisig := false
	shared := false
	snapshot := func(ctx context.Context, span trace.Span, point string) {
		for i, role := range roles {
			t0 := c.at(300 * time.Microsecond)
			for _, m := range []string{"is_multisig", "get_balance", "get_address"} {
				_, sp := tr.Start(ctx, m, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(c.at(100*time.Microsecond)),
					trace.WithAttributes(s.rpcAttrs(m, i, role)...),
					trace.WithAttributes(escrowconv.AttrSnapshotCall.Bool(true)))
				sp.End(trace.WithTimestamp(c.at(80 * time.Microsecond)))
			}
			addr := s.address(role, shared)
			sum := sha256.Sum256([]byte(addr))
			attrs := []attribute.KeyValue{
				escrowconv.SnapshotPoint.String(point),
				escrowconv.WalletRole.String(role),
				escrowconv.WalletID.String(s.walletID(role)),
				escrowconv.WalletRPCPort.Int(s.port(i)),
				escrowconv.SnapshotTimeMs.Int64(t0.UnixMilli()),
				escrowconv.SnapshotDurationMs.Int64(c.at(1200 * time.Microsecond).Sub(t0).Milliseconds()),
				escrowconv.WalletIsMultisig.Bool(multisig),
				escrowconv.WalletMultisigReady.Bool(multisig && shared),
				escrowconv.WalletBalance.Int64(0),
				escrowconv.WalletUnlockedBalance.Int64(0),
				escrowconv.WalletAddress.String(addr),
				escrowconv.WalletAddressHash.String(hex.EncodeToString(sum[:])),
				escrowconv.WalletFilename.String(s.walletID(role)),
				escrowconv.WalletFileExists.Bool(true),
				escrowconv.WalletFilePerms.String("rw-"),
			}
			if multisig {
				attrs = append(attrs, escrowconv.WalletThreshold.Int(2), escrowconv.WalletTotal.Int(3))
			}
			attrs = append(attrs, s.extra...)
			span.AddEvent(escrowconv.EventSnapshot, trace.WithTimestamp(c.t), trace.WithAttributes(attrs...))
			events++
		}
	}
	// call records one wallet RPC; it fails with -48 when fail is set.
	call := func(ctx context.Context, method string, i int, fail bool) {
		_, sp := tr.Start(ctx, method, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(c.at(time.Millisecond)),
			trace.WithAttributes(s.rpcAttrs(method, i, roles[i])...))
		d := map[string]time.Duration{
			"prepare_multisig": time.Millisecond, "make_multisig": 310 * time.Millisecond,
			"exchange_multisig_keys": 60 * time.Millisecond,
		}[method]
		if fail {
			sp.SetAttributes(semconv.RPCResponseStatusCodeKey.String("-48"), semconv.ErrorTypeKey.String("-48"))
			sp.SetStatus(codes.Error, "This wallet is not multisig")
			d = 400 * time.Microsecond
		}
		sp.End(trace.WithTimestamp(c.at(d)))
		events += 2
	}
	round := func(n int, method string) (context.Context, trace.Span) {
		attrs := append([]attribute.KeyValue{
			escrowconv.EscrowID.String(s.escrowID),
			escrowconv.Round.Int(n),
			escrowconv.RoundMethod.String(method),
		}, s.extra...)
		return tr.Start(ctx, escrowconv.SpanRound, trace.WithTimestamp(c.at(2*time.Millisecond)), trace.WithAttributes(attrs...))
	}

	// Round 1: prepare_multisig x3, make_multisig x3.
	rctx, r1 := round(1, "make_multisig")
	snapshot(rctx, r1, escrowconv.PointPreRound1)
	for i := range roles {
		call(rctx, "prepare_multisig", i, false)
	}
	for i := range roles {
		call(rctx, "make_multisig", i, false)
	}
	multisig = true
	snapshot(rctx, r1, escrowconv.PointPostMakeMultisig)
	r1.End(trace.WithTimestamp(c.at(time.Millisecond)))

	// Round 2: exchange_multisig_keys x3.
	rctx, r2 := round(2, "exchange_multisig_keys")
	snapshot(rctx, r2, escrowconv.PointPreRound2)
	if s.failRound2 {
		call(rctx, "exchange_multisig_keys", 0, true)
		r2.SetStatus(codes.Error, "exchange_multisig_keys: json-rpc error -48")
		r2.End(trace.WithTimestamp(c.at(time.Millisecond)))
		at := c.at(time.Millisecond)
		root.RecordError(fmt.Errorf("walletrpc: json-rpc error -48: This wallet is not multisig"), trace.WithTimestamp(at))
		root.AddEvent(escrowconv.EventError, trace.WithTimestamp(at), trace.WithAttributes(append([]attribute.KeyValue{
			escrowconv.ErrorMessage.String("walletrpc: json-rpc error -48: This wallet is not multisig"),
			escrowconv.ErrorRound.Int(2),
			escrowconv.ErrorOperation.String("exchange_multisig_keys"),
			escrowconv.WalletID.String(s.walletID("buyer")),
			escrowconv.WalletRole.String("buyer"),
			escrowconv.EscrowID.String(s.escrowID),
		}, s.extra...)...))
		events++
		root.SetStatus(codes.Error, "round 2: exchange_multisig_keys: This wallet is not multisig")
		root.End(trace.WithTimestamp(c.at(time.Millisecond)))
		return events
	}
	for i := range roles {
		call(rctx, "exchange_multisig_keys", i, false)
	}
	snapshot(rctx, r2, escrowconv.PointPostExportMultisig)
	r2.End(trace.WithTimestamp(c.at(time.Millisecond)))

	// Round 3: exchange_multisig_keys x3; afterwards every wallet shows the
	// shared address.
	rctx, r3 := round(3, "exchange_multisig_keys")
	snapshot(rctx, r3, escrowconv.PointPreRound3)
	for i := range roles {
		call(rctx, "exchange_multisig_keys", i, false)
	}
	shared = true
	snapshot(rctx, r3, escrowconv.PointPostImportMultisig)
	r3.End(trace.WithTimestamp(c.at(time.Millisecond)))

	snapshot(ctx, root, escrowconv.PointFinal)
	root.SetAttributes(escrowconv.EscrowAddress.String(s.address("", true)))
	root.End(trace.WithTimestamp(c.at(time.Millisecond)))
	return events
}

func (s setup) rpcAttrs(method string, i int, role string) []attribute.KeyValue {
	return append([]attribute.KeyValue{
		semconv.RPCMethodKey.String(method),
		semconv.RPCSystemNameJSONRPC,
		semconv.ServerAddressKey.String("127.0.0.1"),
		semconv.ServerPortKey.Int(s.port(i)),
		escrowconv.EscrowID.String(s.escrowID),
		escrowconv.WalletRole.String(role),
		escrowconv.WalletID.String(s.walletID(role)),
	}, s.extra...)
}
