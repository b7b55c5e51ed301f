package reporthtml_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/internal/synth"
	"github.com/escrowtrace/escrowtrace/report/reporthtml"
)

func page(t testing.TB, r *report.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := reporthtml.Write(&b, r, reporthtml.Options{Now: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sharedRun(t testing.TB) *report.Report {
	in, err := report.Load("../testdata/shared3")
	if err != nil {
		t.Fatal(err)
	}
	return report.Build(in)
}

// doc is a parsed page with a few queries on it.
type doc struct{ root *html.Node }

func parse(t testing.TB, b []byte) doc {
	n, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc{n}
}

func attr(n *html.Node, k string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, cls ...string) bool {
	v, _ := attr(n, "class")
	f := strings.Fields(v)
	for _, c := range cls {
		found := false
		for _, x := range f {
			found = found || x == c
		}
		if !found {
			return false
		}
	}
	return true
}

func (d doc) all(match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return out
}

func (d doc) tagClass(tag string, cls ...string) []*html.Node {
	return d.all(func(n *html.Node) bool { return n.Data == tag && hasClass(n, cls...) })
}

func (d doc) byID(id string) *html.Node {
	ns := d.all(func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id })
	if len(ns) != 1 {
		return nil
	}
	return ns[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func TestRealSharedRacePage(t *testing.T) {
	r := sharedRun(t)
	d := parse(t, page(t, r))
	for id, want := range map[string]string{"n-escrows": "3", "n-ok": "0", "n-failed": "3", "n-calls": "36 5 failed", "n-pollution": "48 in 3 escrows", "n-rounds": "0/3 ×3"} {
		n := d.byID(id)
		if n == nil {
			t.Errorf("no #%s", id)
			continue
		}
		if got := strings.Join(strings.Fields(text(n)), " "); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	lanes := d.tagClass("g", "lane")
	if len(lanes) != 3 {
		t.Fatalf("%d lanes, want one per endpoint (3)", len(lanes))
	}
	for _, l := range lanes {
		if name, _ := attr(l, "data-name"); !strings.HasPrefix(name, "127.0.0.1:") {
			t.Errorf("lane named %q", name)
		}
	}
	// Bars per escrow: one per call, in the escrow's colour.
	for _, e := range r.Escrows {
		if got := len(d.tagClass("rect", "b", fmt.Sprintf("e%d", e.N))); got != len(e.Calls) {
			t.Errorf("escrow #%d: %d bars, want %d calls", e.N, got, len(e.Calls))
		}
	}
	if got := len(d.tagClass("rect", "b", "f")); got != 5 {
		t.Errorf("%d failed bars, want 5", got)
	}
	// Every pollution event is a marker joined to the escrow that caused it.
	marks := d.tagClass("g", "pm")
	if len(marks) != 48 {
		t.Errorf("%d pollution markers, want 48", len(marks))
	}
	for _, m := range marks {
		e, _ := attr(m, "data-e")
		o, _ := attr(m, "data-o")
		if o == "0" || o == "" || o == e {
			t.Errorf("marker of escrow %s joined to %q", e, o)
		}
	}
	if got := len(d.tagClass("path", "lk")); got != 48 {
		t.Errorf("%d links from causes to markers, want 48", got)
	}
	// The escrow sections link to the escrow that opened the wrong wallet.
	refs := d.all(func(n *html.Node) bool {
		h, _ := attr(n, "href")
		return n.Data == "a" && strings.HasPrefix(h, "#escrow-")
	})
	if len(refs) != 48 {
		t.Errorf("%d links to culprit escrows, want 48", len(refs))
	}
	if got := len(d.tagClass("details", "escrow")); got != 3 {
		t.Errorf("%d escrow sections", got)
	}
	if d.byID("compare") == nil || d.byID("methods") == nil {
		t.Error("no compare or methods section")
	}
	// The data the script reads is valid JSON with one entry per call.
	var data struct {
		Calls     []json.RawMessage `json:"calls"`
		Pollution []json.RawMessage `json:"pollution"`
	}
	if err := json.Unmarshal([]byte(text(d.byID("report-data"))), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Calls) != 36 || len(data.Pollution) != 48 {
		t.Errorf("data: %d calls, %d pollution", len(data.Calls), len(data.Pollution))
	}
}

func TestSelfContained(t *testing.T) {
	b := page(t, sharedRun(t))
	d := parse(t, b)
	for _, n := range d.all(func(n *html.Node) bool { return true }) {
		for _, k := range []string{"src", "href", "xlink:href"} {
			if v, ok := attr(n, k); ok && !strings.HasPrefix(v, "#") {
				t.Errorf("<%s %s=%q> points outside the page", n.Data, k, v)
			}
		}
		if n.Data == "link" || n.Data == "iframe" || n.Data == "img" {
			t.Errorf("<%s> in the page", n.Data)
		}
	}
	if !bytes.Contains(b, []byte(`content="default-src 'none';`)) {
		t.Error("no Content-Security-Policy that forbids fetching")
	}
}

func TestHostileContentIsEscaped(t *testing.T) {
	r := report.Build(synth.Hostile())
	b := page(t, r)
	d := parse(t, b)
	if n := len(d.all(func(n *html.Node) bool { return n.Data == "script" })); n != 2 {
		t.Errorf("%d <script> elements, want our 2", n)
	}
	for _, n := range d.all(func(n *html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s %s=%q>: an event handler from the file", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "img" || n.Data == "svg" && hasClass(n) && n.Parent != nil && n.Parent.Data == "code" {
			t.Errorf("<%s> from the file", n.Data)
		}
	}
	if svgs := d.all(func(n *html.Node) bool { return n.Data == "svg" }); len(svgs) != 2 {
		t.Errorf("%d <svg> elements, want our 2", len(svgs))
	}
	// The id is shown as text, whole.
	found := false
	for _, n := range d.tagClass("code") {
		if text(n) == "A"+synth.HostileID {
			found = true
		}
	}
	if !found {
		t.Error("the hostile id is not shown as text")
	}
	var data struct {
		Escrows []struct{ ID string } `json:"escrows"`
	}
	if err := json.Unmarshal([]byte(text(d.byID("report-data"))), &data); err != nil {
		t.Fatalf("data: %v", err)
	}
	if len(data.Escrows) != 2 || data.Escrows[0].ID != "A"+synth.HostileID {
		t.Errorf("data escrows %+v", data.Escrows)
	}
}

func TestSizeAt100Escrows(t *testing.T) {
	r := report.Build(synth.Escrows(100, 1))
	b := page(t, r)
	t.Logf("100 escrows, %d calls, %d pollution events: %d bytes of HTML", r.Summary.Calls, r.Summary.Pollution, len(b))
	if len(b) >= 2<<20 {
		t.Errorf("%d bytes for 100 escrows, want under 2 MiB", len(b))
	}
}

func TestEmptyReport(t *testing.T) {
	d := parse(t, page(t, report.Build(nil)))
	if n := d.byID("n-escrows"); n == nil || text(n) != "0" {
		t.Error("no empty summary")
	}
}

func BenchmarkWrite100Escrows(b *testing.B) {
	r := report.Build(synth.Escrows(100, 1))
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := reporthtml.Write(&buf, r, reporthtml.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// The collector's findings say so on the page, with the other process's
// service instance: the card, the escrow's list, the verdict and the data
// the marker's tooltip reads. The process's own findings do not.
func TestCrossProcessFindingsPage(t *testing.T) {
	d := parse(t, page(t, report.Build(synth.CrossProcess())))
	if n := d.byID("n-by-collector"); n == nil || text(n) != "1 found by the collector" {
		t.Errorf("pollution card: %v", d.byID("n-pollution"))
	}
	if v := text(d.byID("verdict")); !strings.Contains(v, "2 cache-pollution events in 1 escrows, 1 of them found by the collector (another process switched the wallet; no process saw it)") {
		t.Errorf("verdict %q", v)
	}
	var items []string
	for _, li := range d.all(func(n *html.Node) bool { return n.Data == "li" && n.Parent != nil && hasClass(n.Parent, "poll") }) {
		items = append(items, strings.Join(strings.Fields(text(li)), " "))
	}
	if len(items) != 2 {
		t.Fatalf("pollution items %q, want 2", items)
	}
	if want := "found by the collector; the other process: service instance " + synth.Instance2; !strings.HasSuffix(items[0], want) {
		t.Errorf("the collector's finding reads %q, want it to end %q", items[0], want)
	}
	if strings.Contains(items[1], "collector") {
		t.Errorf("the process's own finding reads %q", items[1])
	}
	var data struct {
		Pollution []struct {
			By    string `json:"by"`
			OInst string `json:"oinst"`
		} `json:"pollution"`
	}
	if err := json.Unmarshal([]byte(text(d.byID("report-data"))), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Pollution) != 2 || data.Pollution[0].By != "collector" || data.Pollution[0].OInst != synth.Instance2 || data.Pollution[1].By != "" {
		t.Errorf("data: %+v", data.Pollution)
	}
	// A process's own files: no word of a collector.
	own := parse(t, page(t, sharedRun(t)))
	if own.byID("n-by-collector") != nil || len(own.tagClass("span", "by")) != 0 || strings.Contains(text(own.byID("verdict")), "collector") {
		t.Error("a page without the collector's findings mentions them")
	}
}
