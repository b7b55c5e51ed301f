package reporttext_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/internal/synth"
	"github.com/escrowtrace/escrowtrace/report/reporttext"
)

func render(t *testing.T, r *report.Report, opts reporttext.Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := reporttext.Write(&b, r, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRealSharedRace(t *testing.T) {
	in, err := report.Load("../testdata/shared3")
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(in)
	out := render(t, r, reporttext.Options{Timelines: true, Snapshots: true, Compare: report.Compare(r.Escrows[0], r.Escrows[1])})
	for _, want := range []string{
		"3 escrows from 2026-11-29 13:48:23.402 UTC, 125.4 s: 0 ok, 3 failed",
		"rounds reached: 0/3 ×3",
		"36 RPC calls (5 failed), 13 snapshots, 48 cache pollution events in 3 escrows",
		"Cache pollution per endpoint",
		"Timeline of escrow #1 8e905562-75c6-4aed-b429-19a4db2873a3 (FAILED)",
		"RPC statistics per method",
		"Snapshot progression",
		"round 1, operation make_multisig, wallet buyer-8e905562",
		"Compare escrow #1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	// One line per endpoint in the pollution table, with its count.
	for _, ep := range []string{"127.0.0.1:34139  12     3        15", "127.0.0.1:36279  12     3        19", "127.0.0.1:39497  12     3        14"} {
		if !strings.Contains(out, ep) {
			t.Errorf("pollution table lacks %q", ep)
		}
	}
	// Every pollution line names who opened the wrong wallet.
	lines := regexp.MustCompile(`(?m)^  \d\d:\d\d:\d\d\.\d{3} 127\.0\.0\.1:\d+  escrow #\d .*$`).FindAllString(out, -1)
	if len(lines) != 48 {
		t.Errorf("%d pollution lines, want 48", len(lines))
	}
	for _, l := range lines {
		if !regexp.MustCompile(`opened by escrow #\d, its open_wallet at`).MatchString(l) {
			t.Errorf("pollution line without its cause: %s", l)
			break
		}
	}
	if !regexp.MustCompile(`(?m)^open_wallet +18 +0 +27655 +67174 +67174`).MatchString(out) {
		t.Errorf("RPC statistics of open_wallet not as measured:\n%s", out[strings.Index(out, "RPC statistics"):][:400])
	}
}

func TestHostileText(t *testing.T) {
	r := report.Build(synth.Hostile())
	out := render(t, r, reporttext.Options{Timelines: true, Snapshots: true, Compare: report.Compare(r.Escrows[0], r.Escrows[1])})
	if strings.ContainsAny(out, "\x1b\r") {
		t.Error("a terminal escape or carriage return from a file reached the output")
	}
	if strings.Contains(out, "\nforged line") {
		t.Error("a newline in an error text forged a line")
	}
}

func TestEmpty(t *testing.T) {
	out := render(t, report.Build(nil), reporttext.Options{Timelines: true})
	if !strings.Contains(out, "no escrows") {
		t.Error(out)
	}
}

// Findings of the collector say so, with the other process; the process's
// own do not, and files without any keep the table as it was.
func TestCrossProcessFindings(t *testing.T) {
	r := report.Build(synth.CrossProcess())
	out := render(t, r, reporttext.Options{Timelines: true})
	for _, want := range []string{
		"2 cache pollution events in 1 escrow (1 found by the collector, across processes: no process saw them)",
		"endpoint         calls  escrows  pollution  by collector  met the wrong wallet  opened it",
		"127.0.0.1:18100  6      3        2          1             #1 ×2                 #2 ×1, #3 ×1",
		"escrow #1 buyer: wrong_wallet_open: wanted buyer-aaaaaaaa, buyer-bbbbbbbb was open (opened by escrow #2, its open_wallet at",
		"; hit prepare_multisig; found by the collector (opened in service instance " + synth.Instance2 + ")\n",
		"; hit make_multisig\n",
		"⚠ met the wrong wallet (1) found by the collector",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "found by the collector (opened in"); n != 2 { // the pollution list and the timeline
		t.Errorf("%d findings said to be the collector's, want 2 (list and timeline)", n)
	}
	if out := render(t, report.Build(synth.Escrows(3, 1)), reporttext.Options{}); strings.Contains(out, "collector") {
		t.Error("a report without the collector's findings mentions the collector")
	}
}
