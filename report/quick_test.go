package report_test

import (
	"os"
	"testing"

	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/reporthtml"
	"github.com/escrowtrace/escrowtrace/report/reporttext"
)

func TestQuick(t *testing.T) {
	in, err := report.Load("testdata/shared3")
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(in)
	a, b := r.DefaultPair()
	if err := reporttext.Write(os.Stdout, r, reporttext.Options{Timelines: true, Snapshots: true, Compare: report.Compare(a, b)}); err != nil {
		t.Fatal(err)
	}
}

func TestQuickHTML(t *testing.T) {
	in, err := report.Load("testdata/shared3")
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(in)
	f, _ := os.Create("/tmp/i15run/shared3.html")
	defer f.Close()
	if err := reporthtml.Write(f, r, reporthtml.Options{}); err != nil {
		t.Fatal(err)
	}
}
