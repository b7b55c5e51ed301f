package reporttext

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/report"
)

// Options choose the sections.
type Options struct {
	// Timelines prints every escrow's timeline.
	Timelines bool
	// Snapshots prints every escrow's snapshot progression.
	Snapshots bool
	// Compare, when set, prints the comparison of its two escrows.
	Compare *report.Comparison
}

// Write prints r: the summary, pollution per endpoint, RPC statistics and
// errors always; timelines, snapshots and the comparison as opts say.
func Write(w io.Writer, r *report.Report, opts Options) error {
	p := &printer{w: w}
	p.summary(r)
	p.pollution(r)
	if opts.Timelines {
		for _, e := range r.Escrows {
			p.timeline(e)
		}
	}
	p.methods(r)
	if opts.Snapshots {
		p.snapshots(r)
	}
	p.errors(r)
	if opts.Compare != nil {
		p.compare(opts.Compare)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) table(fn func(tw *tabwriter.Writer)) {
	if p.err != nil {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fn(tw)
	p.err = tw.Flush()
}

func (p *printer) heading(s string) { p.f("\n%s\n%s\n", s, strings.Repeat("=", len(s))) }

// Clean puts text from a file on one line: control characters (escapes,
// carriage returns, newlines, tabs) become spaces or U+FFFD, and long
// texts are cut.
func Clean(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.Is(unicode.Bidi_Control, r):
			return '\uFFFD'
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

func ms(d int64) string {
	if d >= 10000 {
		return fmt.Sprintf("%.1f s", float64(d)/1000)
	}
	return fmt.Sprintf("%d ms", d)
}

func clock(t int64) string { return time.UnixMilli(t).UTC().Format("2006-01-02 15:04:05.000 UTC") }

// status is Escrow.Status, with a failure in capitals so it stands out in
// a terminal.
func status(e *report.Escrow) string {
	if st := e.Status(); st != report.StatusFailed {
		return st
	}
	return "FAILED"
}

func (p *printer) summary(r *report.Report) {
	s := r.Summary
	p.heading("Summary")
	if len(r.Escrows) == 0 {
		p.f("no escrows\n")
		return
	}
	p.f("%d escrow%s from %s, %s: %d ok, %d failed", s.Escrows, plural(s.Escrows), clock(r.Start), ms(r.End-r.Start), s.OK, s.Failed)
	if s.Partial > 0 {
		p.f(", %d partial", s.Partial)
	}
	var rounds []string
	for n := 3; n >= 0; n-- {
		if s.Rounds[n] > 0 {
			rounds = append(rounds, fmt.Sprintf("%d/3 ×%d", n, s.Rounds[n]))
		}
	}
	p.f("\nrounds reached: %s", strings.Join(rounds, ", "))
	p.f("\n%d RPC calls (%d failed), %d snapshots, %d cache pollution events in %d escrow%s",
		s.Calls, s.FailedCalls, s.Snapshots, s.Pollution, s.Polluted, plural(s.Polluted))
	if s.ByCollector > 0 {
		p.f(" (%d found by the collector, across processes: no process saw them)", s.ByCollector)
	}
	p.f("\n\n")
	p.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, " #\tescrow\tresult\trounds\tcalls\tfailed\tpollution\ttook\tsource\t")
		for _, e := range r.Escrows {
			fmt.Fprintf(tw, "%2d\t%s\t%s\t%d/3\t%d\t%d\t%d\t%s\t%s\t\n", e.N, Clean(e.ID), status(e), e.Rounds,
				len(e.Calls), e.FailedCalls, len(e.Pollution), ms(e.End-e.Start), Clean(e.Source))
		}
	})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (p *printer) pollution(r *report.Report) {
	p.heading("Cache pollution per endpoint")
	if r.Summary.Pollution == 0 {
		p.f("none detected\n")
		return
	}
	// The collector's column only when it found some: a process's own
	// files look as they always did.
	byCollector := r.Summary.ByCollector > 0
	p.table(func(tw *tabwriter.Writer) {
		head := "endpoint\tcalls\tescrows\tpollution\t"
		if byCollector {
			head += "by collector\t"
		}
		fmt.Fprintln(tw, head+"met the wrong wallet\topened it\t")
		for _, ep := range r.Endpoints {
			victims, causes := map[int]int{}, map[string]int{}
			var vOrder, cOrder []string
			for _, pe := range ep.Pollution {
				if victims[pe.Escrow.N] == 0 {
					vOrder = append(vOrder, "#"+strconv.Itoa(pe.Escrow.N))
				}
				victims[pe.Escrow.N]++
				c := otherName(pe)
				if causes[c] == 0 {
					cOrder = append(cOrder, c)
				}
				causes[c]++
			}
			vs := make([]string, len(vOrder))
			for i, v := range vOrder {
				n, _ := strconv.Atoi(v[1:])
				vs[i] = fmt.Sprintf("%s ×%d", v, victims[n])
			}
			cs := make([]string, len(cOrder))
			for i, c := range cOrder {
				cs[i] = fmt.Sprintf("%s ×%d", c, causes[c])
			}
			collector := ""
			if byCollector {
				n := 0
				for _, pe := range ep.Pollution {
					if pe.ByCollector() {
						n++
					}
				}
				collector = strconv.Itoa(n) + "\t"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s%s\t%s\t\n", Clean(ep.Name), len(ep.Calls), len(ep.Escrows), len(ep.Pollution), collector,
				dash(strings.Join(vs, ", ")), dash(strings.Join(cs, ", ")))
		}
	})
	p.f("\n")
	for _, ep := range r.Endpoints {
		for _, pe := range ep.Pollution {
			p.f("  %s %s  escrow #%d %s: %s\n", clock(pe.Time)[11:23], Clean(ep.Name), pe.Escrow.N, Clean(pe.Role), Describe(pe))
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func otherName(pe *report.Pollution) string {
	switch {
	case pe.Other != nil:
		return "#" + strconv.Itoa(pe.Other.N)
	case pe.OtherID != "":
		return Clean(pe.OtherID)
	}
	return "?"
}

// Describe says in one line what a pollution event found.
func Describe(pe *report.Pollution) string {
	var b strings.Builder
	b.WriteString(Clean(pe.Reason))
	switch {
	case pe.Expected != "" && pe.Actual != "":
		fmt.Fprintf(&b, ": wanted %s, %s was open", Clean(pe.Expected), Clean(pe.Actual))
	case pe.Expected != "":
		fmt.Fprintf(&b, ": %s", Clean(pe.Expected))
	}
	if pe.Other != nil || pe.OtherID != "" {
		fmt.Fprintf(&b, " (opened by escrow %s", otherName(pe))
		if pe.Cause != nil {
			fmt.Fprintf(&b, ", its %s at %s", pe.Cause.Method, clock(pe.CauseTime)[11:23])
		} else if pe.CauseTime != 0 {
			fmt.Fprintf(&b, ", its snapshot at %s", clock(pe.CauseTime)[11:23])
		}
		b.WriteString(")")
	}
	switch {
	case pe.Call != nil:
		fmt.Fprintf(&b, "; hit %s", pe.Call.Method)
	case pe.Snapshot != nil:
		fmt.Fprintf(&b, "; hit the %s snapshot", strings.TrimPrefix(Clean(pe.Snapshot.Point), "SNAPSHOT_"))
	}
	switch {
	case pe.ByCollector() && pe.OtherInstance != "":
		fmt.Fprintf(&b, "; found by the collector (opened in service instance %s)", Clean(pe.OtherInstance))
	case pe.ByCollector():
		b.WriteString("; found by the collector")
	case pe.DetectedBy != "":
		fmt.Fprintf(&b, "; found by %s", Clean(pe.DetectedBy))
	}
	return b.String()
}

func roundCol(r int) string {
	if r == 0 {
		return "-"
	}
	return strconv.Itoa(r)
}

func (p *printer) timeline(e *report.Escrow) {
	p.heading(fmt.Sprintf("Timeline of escrow #%d %s (%s)", e.N, Clean(e.ID), status(e)))
	p.f("trace_id %s, %d events, from %s\n", Clean(e.TraceID), e.EventCount, Clean(e.Source))
	type line struct {
		at   int64
		cols string
	}
	var lines []line
	for _, c := range e.Calls {
		took, mark := "…", "(no end recorded)"
		if c.Ended {
			took, mark = ms(c.Duration), "✓"
			if !c.OK {
				mark = "✗ " + Clean(c.Error)
				if c.Code != nil {
					mark = fmt.Sprintf("✗ %d %s", *c.Code, Clean(c.Error))
				}
			}
		}
		if len(c.Pollution) > 0 {
			mark += fmt.Sprintf("  ⚠ met the wrong wallet (%d)", len(c.Pollution))
			if slices.ContainsFunc(c.Pollution, (*report.Pollution).ByCollector) {
				mark += " found by the collector"
			}
		}
		lines = append(lines, line{c.Start, fmt.Sprintf("%s\t%s\t%d\t%s\t%s\t%s", roundCol(c.Round), Clean(c.Role), c.Port, c.Method, took, mark)})
	}
	var group []*report.Snapshot
	flush := func() {
		if len(group) == 0 {
			return
		}
		var parts []string
		most := int64(0)
		for _, s := range group {
			v := "no"
			if s.IsMultisig {
				v = "yes"
			}
			if s.Error != "" {
				v += "(incomplete)"
			}
			parts = append(parts, Clean(s.Role)+"="+v)
			most = max(most, s.CollectionMs)
		}
		note := "multisig: " + strings.Join(parts, " ")
		if group[0].Point == escrowconv.PointFinal {
			hashes := map[string]bool{}
			for _, s := range group {
				hashes[s.AddressHash] = true
			}
			if len(hashes) == 1 && len(group) > 1 {
				note += ", one shared address ✓"
			} else {
				note += fmt.Sprintf(", %d different addresses ✗", len(hashes))
			}
		}
		lines = append(lines, line{group[0].Time, fmt.Sprintf("\tall\t\tsnapshot %s\t%s\t%s", strings.TrimPrefix(Clean(group[0].Point), "SNAPSHOT_"), ms(most), note)})
		group = nil
	}
	for _, s := range e.Snapshots {
		if len(group) > 0 && group[0].Point != s.Point {
			flush()
		}
		group = append(group, s)
	}
	flush()
	for _, pe := range e.Pollution {
		lines = append(lines, line{pe.Time, fmt.Sprintf("\t%s\t%d\t⚠ cache pollution\t\t%s", Clean(pe.Role), pe.Port, Describe(pe))})
	}
	for _, ef := range e.Errors {
		lines = append(lines, line{ef.Time, fmt.Sprintf("%s\t%s\t\t✗ setup failed\t\t%s (%s): %s", roundCol(ef.Round), Clean(ef.Role),
			Clean(ef.Operation), Clean(ef.WalletID), Clean(ef.Message))})
	}
	// A stable merge by time keeps calls, snapshots, pollution and errors
	// in the order built above at one instant.
	sortLines(lines, func(l line) int64 { return l.at })
	p.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "  time\tround\trole\tport\tstep\ttook\t\t")
		for _, l := range lines {
			fmt.Fprintf(tw, "  +%.3fs\t%s\t\n", float64(l.at-e.Start)/1000, l.cols)
		}
	})
}

func (p *printer) methods(r *report.Report) {
	p.heading("RPC statistics per method")
	if len(r.Methods) == 0 {
		p.f("no RPC calls\n")
		return
	}
	p.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "method\tcalls\tfailed\tp50 ms\tp95 ms\tmax ms\ttotal ms\t")
		for _, m := range r.Methods {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", Clean(m.Method), m.Count, m.Failed, m.P50, m.P95, m.Max, m.TotalMs)
		}
	})
}

func (p *printer) snapshots(r *report.Report) {
	p.heading("Snapshot progression (multisig, address hash, balance)")
	for _, e := range r.Escrows {
		p.f("\nescrow #%d %s\n", e.N, Clean(e.ID))
		if len(e.Snapshots) == 0 {
			p.f("  no snapshots\n")
			continue
		}
		p.table(func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "  point\trole\tmultisig\taddress hash\tbalance\tnote\t")
			for _, s := range e.Snapshots {
				ms := "false"
				if s.IsMultisig {
					ms = "true"
				}
				h := s.AddressHash
				if len(h) > 12 {
					h = h[:12]
				}
				note := ""
				if s.HashChanged {
					note = "address changed"
				}
				if s.Error != "" {
					note = strings.TrimSpace(note + " incomplete: " + Clean(s.Error))
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d/%d\t%s\t\n", strings.TrimPrefix(Clean(s.Point), "SNAPSHOT_"), Clean(s.Role), ms, Clean(h),
					s.Balance[0], s.Balance[1], note)
			}
		})
	}
}

func (p *printer) errors(r *report.Report) {
	p.heading("Errors")
	n := 0
	for _, e := range r.Escrows {
		for _, ef := range e.Errors {
			n++
			p.f("escrow #%d %s: %s\n  round %d, operation %s, wallet %s, escrow %s, at %s\n", e.N, Clean(e.ID), Clean(ef.Message),
				ef.Round, Clean(ef.Operation), Clean(ef.WalletID), Clean(ef.EscrowID), Clean(ef.When))
		}
		failed := 0
		for _, c := range e.Calls {
			if c.Ended && !c.OK {
				failed++
				if failed <= 5 {
					code := ""
					if c.Code != nil {
						code = fmt.Sprintf(" %d", *c.Code)
					}
					p.f("  call failed: %s %s on port %d at +%.3fs:%s %s\n", Clean(c.Role), c.Method, c.Port, float64(c.Start-e.Start)/1000, code, Clean(c.Error))
				}
			}
		}
		if failed > 5 {
			p.f("  ... and %d more failed calls\n", failed-5)
		}
		n += failed
	}
	if n == 0 {
		p.f("none\n")
	}
}

// compare prints the aligned sequences as Comparison.Shown folds them.
func (p *printer) compare(c *report.Comparison) {
	p.heading(fmt.Sprintf("Compare escrow #%d %s (%s) with #%d %s (%s)", c.A.N, Clean(c.A.ID), status(c.A), c.B.N, Clean(c.B.ID), status(c.B)))
	if c.Differences == 0 {
		p.f("the event sequences are the same (%d events)\n", len(c.Lines))
		return
	}
	p.f("%d differences; first at step %d", c.Differences, c.FirstDiff+1)
	if !c.Aligned {
		p.f(" (too long to align step by step: everything after the common start is listed)")
	}
	p.f("\n")
	p.table(func(tw *tabwriter.Writer) {
		fmt.Fprintf(tw, "\t#%d\ttime\t#%d\ttime\t\n", c.A.N, c.B.N)
		for _, l := range c.Shown() {
			if l.Skipped > 0 {
				fmt.Fprintf(tw, "\t… %d same steps …\t\t\t\t\n", l.Skipped)
				continue
			}
			fmt.Fprintln(tw, row(l.DiffLine))
		}
	})
}

func row(l report.DiffLine) string {
	side := func(s *report.Step) (string, string) {
		if s == nil {
			return "", ""
		}
		k := Clean(s.Key)
		if s.Note != "" {
			k += " (" + Clean(s.Note) + ")"
		}
		return k, fmt.Sprintf("+%.3fs", float64(s.Time)/1000)
	}
	a, at := side(l.A)
	b, bt := side(l.B)
	if l.Op == report.Same {
		b = "〃"
	}
	return fmt.Sprintf("%c\t%s\t%s\t%s\t%s\t", l.Op, a, at, b, bt)
}
