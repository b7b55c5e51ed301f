package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/reporthtml"
)

// raceReportName is the demo's HTML report, beside the escrow files.
const raceReportName = "report.html"

// writeRaceReport writes the HTML report of this run's escrows (only
// theirs: the directory may hold older runs' files) into dir and prints
// its path. A failure is a warning: the files and the text report stand.
func (d *demo) writeRaceReport(dir string, results []result) {
	var paths []string
	for _, r := range results {
		for _, name := range []string{escrowjson.FileName(r.plan.id, false), escrowjson.FileName(r.plan.id, true), escrowjson.PartialFileName(r.plan.id)} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				paths = append(paths, p)
				break
			} else if !errors.Is(err, fs.ErrNotExist) {
				break
			}
		}
	}
	if len(paths) == 0 {
		return
	}
	in, err := report.Load(paths...)
	if len(in) == 0 {
		d.log.Printf("warning: no race report: %v", err)
		return
	}
	r := report.Build(in)
	out := filepath.Join(dir, raceReportName)
	if err := writeOutput(out, io.Discard, func(w io.Writer) error {
		return reporthtml.Write(w, r, reporthtml.Options{Title: "escrowtrace demo: " + layoutTitle(d.opts)})
	}); err != nil {
		d.log.Printf("warning: no race report: %v", err)
		return
	}
	d.printf("Race report:      %s\n", out)
}

func layoutTitle(o demoOptions) string {
	t := "--rpc dedicated"
	switch {
	case o.rpc == layoutShared && o.safe:
		t = "--rpc shared --safe"
	case o.rpc == layoutShared:
		t = "--rpc shared (no lock)"
	}
	if o.processes > 0 {
		t += fmt.Sprintf(", %d process%s", o.processes, plural(o.processes, "es"))
	}
	return t
}

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.stdout, format, args...) }
