package jaegerlanes_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/escrowtrace/escrowtrace/internal/jaegerv1"
	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/jaegerlanes"
)

func TestLanesOfTheRealRace(t *testing.T) {
	in, err := report.Load("../testdata/shared3")
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(in)
	var b bytes.Buffer
	if err := jaegerlanes.Write(&b, r); err != nil {
		t.Fatal(err)
	}
	var resp jaegerv1.Response
	if err := json.Unmarshal(b.Bytes(), &resp); err != nil || len(resp.Data) != 1 {
		t.Fatalf("%v, %d traces", err, len(resp.Data))
	}
	tr := resp.Data[0]
	unlinked := 0
	for _, e := range r.Escrows {
		for _, p := range e.Pollution {
			if p.Call == nil {
				unlinked++
			}
		}
	}
	// A root, one span per endpoint, one per call, one per pollution event
	// that hit no call of the file.
	if want := 1 + 3 + 36 + unlinked; len(tr.Spans) != want {
		t.Errorf("%d spans, want %d", len(tr.Spans), want)
	}
	if len(tr.Processes) != 4 {
		t.Errorf("%d processes, want the report's and one per escrow", len(tr.Processes))
	}
	logs := 0
	for _, s := range tr.Spans {
		logs += len(s.Logs)
	}
	if logs != 48 {
		t.Errorf("%d pollution logs, want 48", logs)
	}
	// The same files give the same trace id.
	if again := jaegerlanes.Trace(report.Build(in)); again.TraceID != tr.TraceID {
		t.Error("trace id not stable")
	}
}
