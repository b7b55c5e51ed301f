package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/collector/collectortest"
	"github.com/escrowtrace/escrowtrace/collector/walletpollutionprocessor"
	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/internal/jaegertest"
)

// crossFinding is a CACHE_POLLUTION_DETECTED event the collector wrote into
// a victim escrow's legacy file.
type crossFinding struct {
	victim string // escrow id of the file
	role   string
	at     int64 // ms, the polluted call's start
	p      *escrowjson.CachePollution
}

// collectorFindings returns the events of files that the collector found
// (detected_by "collector"), and counts the others (the processes' own).
func collectorFindings(files map[string][]escrowjson.Event) (found []crossFinding, inProcess int) {
	for name, evs := range files {
		id := strings.TrimPrefix(name, "escrow_")
		for _, suffix := range []string{".json", "_FAILED", "_PARTIAL"} {
			id = strings.TrimSuffix(id, suffix)
		}
		for _, ev := range evs {
			p, ok := ev.Details.(*escrowjson.CachePollution)
			switch {
			case !ok:
			case p.DetectedBy == escrowconv.DetectedByCollector:
				found = append(found, crossFinding{victim: id, role: ev.Role, at: ev.Timestamp, p: p})
			default:
				inProcess++
			}
		}
	}
	return found, inProcess
}

// The product: 2 OS processes × 2 escrows on the same three real
// wallet-rpcs (--rpc shared, no lock), each process exporting OTLP to the
// built collector, whose walletpollution processor sees both processes'
// calls. Another process's open_wallet between an escrow's re-open and its
// call is what no process sees; the collector writes it into the victim's
// legacy file as CACHE_POLLUTION_DETECTED with detected_by "collector" and
// the other process's service.instance.id, and Jaeger has it on the victim
// span (a cache_pollution log, escrow.cache_pollution=true, a reference to
// the other process's open).
//
// The race needs no help to happen: the demo starts all four escrows
// together (every worker waits for the demo's start), every step of every
// escrow re-opens its wallet on the shared wallet-rpc and then calls it,
// with no lock between the processes, and wallet-rpc serves one request
// at a time, so the two processes' opens and calls interleave on all three
// endpoints from the first snapshot on. In 8 runs on a busy 2-core box
// every run had 15-29 collector findings, all across processes (BENCHMARKS.md,
// issue 13), so no test knob forces it.
func TestCrossProcessPollution(t *testing.T) {
	j := jaegertest.Start(t)
	c := collectortest.Start(t, collectortest.Config{Jaeger: j.OTLPGRPC, GroupWait: 2 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	const service = "escrowtrace-e2e-pollution"
	start := time.Now()
	r := startDemo(t, otlpEnv(c, service), "demo", "--processes", "2", "--escrows", "4", "--rpc", "shared", "--out", c.Dir)
	// Failed escrows are the race's outcome, not the demo's failure.
	if code := r.wait(ctx); code != 0 {
		t.Fatalf("exit %d", code)
	}
	t.Logf("demo took %v", time.Since(start).Round(100*time.Millisecond))
	pids, ranBy := workers(r.stderr.String())
	if len(pids) != 2 || len(ranBy) != 4 {
		t.Fatalf("the demo reports processes %v running escrows %v; want 2 processes, 4 escrows", pids, ranBy)
	}
	files := escrowFiles(t, c.Dir)
	if len(files) != 4 {
		t.Fatalf("%d files in the collector's directory, want 4: %v", len(files), keys(files))
	}

	// Every span in Jaeger first: the victims' spans are read there.
	accepted := metric(ctx, t, c, "otelcol_receiver_accepted_spans", nil)
	waitMetric(ctx, t, c, "otelcol_exporter_sent_spans", map[string]string{"exporter": "otlp_grpc/jaeger"}, accepted)
	traces := map[string]jaegertest.Trace{}
	for {
		n := 0
		for id := range ranBy {
			traces[id] = findTrace(ctx, t, j, service, id, hasRoot)
			n += len(traces[id].Spans)
		}
		if float64(n) >= accepted {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Jaeger has %d spans, the collector took %v", n, accepted)
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Each process's service.instance.id, from its spans' resource.
	instance := map[int]string{} // process number → service.instance.id
	for id, proc := range ranBy {
		tr := traces[id]
		for _, s := range tr.Spans {
			v, _ := tr.Processes[s.ProcessID].Tag("service.instance.id")
			inst := fmt.Sprint(v)
			if instance[proc] == "" {
				instance[proc] = inst
			}
			if instance[proc] != inst {
				t.Fatalf("process %d has two service.instance.ids: %s and %s", proc, instance[proc], inst)
			}
		}
	}
	if instance[1] == instance[2] || instance[1] == "" {
		t.Fatalf("service.instance.id per process: %v; want two different ones", instance)
	}

	found, inProcess := collectorFindings(files)
	cross := 0
	for _, f := range found {
		p := f.p
		other, known := ranBy[p.OtherEscrowID]
		switch {
		case p.Reason != escrowconv.ReasonWrongWalletOpen || p.Endpoint == "" || p.ExpectedWallet == "" ||
			p.ActualWallet == "" || p.ExpectedWallet == p.ActualWallet || p.WalletID != p.ExpectedWallet:
			t.Errorf("escrow %s: collector finding %+v", f.victim, *p)
		case !known:
			t.Errorf("escrow %s: the collector names escrow %q as the other, which no process ran", f.victim, p.OtherEscrowID)
		case p.OtherServiceInstanceID != instance[other]:
			t.Errorf("escrow %s: other_service_instance_id %q, but escrow %s ran in process %d, service.instance.id %s",
				f.victim, p.OtherServiceInstanceID, p.OtherEscrowID, other, instance[other])
		case !strings.HasSuffix(p.ActualWallet, p.OtherEscrowID[:8]) || !strings.HasSuffix(p.ExpectedWallet, f.victim[:8]):
			// The demo names wallets <role>-<first 8 of the escrow id>.
			t.Errorf("escrow %s: wanted %s, met %s of escrow %s: not the escrows' wallets", f.victim, p.ExpectedWallet, p.ActualWallet, p.OtherEscrowID)
		case other != ranBy[f.victim]:
			cross++
		}
	}
	t.Logf("%d pollution events found in the processes, %d by the collector (%d of them across processes)", inProcess, len(found), cross)
	if cross == 0 {
		t.Fatalf("no cross-process pollution found by the collector in %d files (%d findings in all): "+
			"the escrows of the two processes did not interleave on the shared wallet-rpcs", len(files), len(found))
	}
	// The collector counted what it wrote, each once.
	if n := metric(ctx, t, c, walletpollutionprocessor.MetricFindings, nil); int(n) != len(found) {
		t.Errorf("the collector counted %v findings, the files hold %d", n, len(found))
	}

	// In Jaeger, on the victim span: the same finding.
	for _, f := range found {
		tr := traces[f.victim]
		span, log, ok := pollutionSpan(tr, f)
		if !ok {
			t.Errorf("escrow %s: Jaeger has no span with the collector's finding %+v at %d", f.victim, *f.p, f.at)
			continue
		}
		if v, _ := span.Tag(string(escrowconv.CachePollution)); v != true {
			t.Errorf("escrow %s: span %s %s: escrow.cache_pollution=%v", f.victim, span.OperationName, span.SpanID, v)
		}
		victimInst, _ := tr.Processes[span.ProcessID].Tag("service.instance.id")
		if fmt.Sprint(victimInst) != instance[ranBy[f.victim]] {
			t.Errorf("escrow %s: the victim span is from service.instance.id %v, not its process's", f.victim, victimInst)
		}
		if v, _ := log.Field(string(escrowconv.PollutionOtherServiceInstanceID)); ranBy[f.p.OtherEscrowID] != ranBy[f.victim] && v == victimInst {
			t.Errorf("escrow %s: cross-process finding names the victim's own process", f.victim)
		}
		// The link to the open that switched the wallet, in the other
		// escrow's trace.
		open, ok := linkedOpen(span, traces[f.p.OtherEscrowID])
		switch {
		case !ok:
			t.Errorf("escrow %s: span %s has no reference to an open of escrow %s's trace", f.victim, span.OperationName, f.p.OtherEscrowID)
		case open.OperationName != "open_wallet":
			t.Errorf("escrow %s: the reference points at %s, want open_wallet", f.victim, open.OperationName)
		default:
			if w, _ := open.Tag(string(escrowconv.WalletFilename)); w != f.p.ActualWallet {
				t.Errorf("escrow %s: the linked open_wallet opened %v, the finding says %s", f.victim, w, f.p.ActualWallet)
			}
		}
	}
}

// pollutionSpan finds in tr the span that carries the collector's finding
// f as a cache_pollution log, and the log.
func pollutionSpan(tr jaegertest.Trace, f crossFinding) (jaegertest.Span, jaegertest.Log, bool) {
	want := map[string]string{
		"event":                                            escrowconv.EventCachePollution,
		string(escrowconv.PollutionReason):                 f.p.Reason,
		string(escrowconv.PollutionDetectedBy):             escrowconv.DetectedByCollector,
		string(escrowconv.PollutionEndpoint):               f.p.Endpoint,
		string(escrowconv.PollutionExpectedWallet):         f.p.ExpectedWallet,
		string(escrowconv.PollutionActualWallet):           f.p.ActualWallet,
		string(escrowconv.PollutionOtherEscrowID):          f.p.OtherEscrowID,
		string(escrowconv.PollutionOtherServiceInstanceID): f.p.OtherServiceInstanceID,
	}
	for _, s := range tr.Spans {
		for _, l := range s.Logs {
			if l.Timestamp/1000 != f.at {
				continue
			}
			match := true
			for k, v := range want {
				if got, _ := l.Field(k); fmt.Sprint(got) != v {
					match = false
					break
				}
			}
			if match {
				return s, l, true
			}
		}
	}
	return jaegertest.Span{}, jaegertest.Log{}, false
}

// linkedOpen returns the span of other that span references (its link).
func linkedOpen(span jaegertest.Span, other jaegertest.Trace) (jaegertest.Span, bool) {
	for _, ref := range span.References {
		if ref.RefType == "CHILD_OF" || ref.TraceID != other.TraceID {
			continue
		}
		for _, s := range other.Spans {
			if s.SpanID == ref.SpanID {
				return s, true
			}
		}
	}
	return jaegertest.Span{}, false
}
