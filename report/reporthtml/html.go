package reporthtml

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/report"
)

//go:embed page.html.tmpl
var pageTmpl string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"short":  short,
	"ms":     msText,
	"point":  func(p string) string { return strings.TrimPrefix(p, "SNAPSHOT_") },
	"clock":  func(t int64) string { return time.UnixMilli(t).UTC().Format("15:04:05.000") },
	"rel":    func(t, t0 int64) string { return fmt.Sprintf("+%.3fs", float64(t-t0)/1000) },
	"hashc":  hashClass,
	"add":    func(a, b int) int { return a + b },
	"add64":  func(a, b float64) float64 { return a + b },
	"sub":    func(a, b int64) int64 { return a - b },
	"secs":   func(ms int64) float64 { return float64(ms) / 1000 },
	"pct64":  func(n, of int64) string { return strconv.FormatFloat(100*float64(n)/float64(max(of, 1)), 'f', 1, 64) },
	"status": (*report.Escrow).Status,
}).Parse(pageTmpl))

// Options tune the page.
type Options struct {
	// Title heads the page; default "escrowtrace race report".
	Title string
	// Compare is the pair to compare; default: report.DefaultPair.
	Compare *report.Comparison
	// Problems are lines to show under the summary (files that could not
	// be read, ...).
	Problems []string
	// Now stamps the page; default time.Now.
	Now time.Time
}

// Geometry of the lanes, in SVG user units (px at zoom 1).
const (
	plotWidth = 1100.0
	laneHead  = 22.0 // pollution markers
	bandH     = 10.0 // which wallet is open
	rowH      = 12.0 // one row of call bars
	barH      = 9.0
	laneGap   = 14.0
	axisH     = 22.0
	minBarW   = 1.5
)

// Write renders r as one HTML page to w.
func Write(w io.Writer, r *report.Report, opts Options) error {
	p := build(r, opts)
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl.Execute(bw, p); err != nil {
		return fmt.Errorf("reporthtml: %w", err)
	}
	return bw.Flush()
}

type page struct {
	Title     string
	Generated string
	R         *report.Report
	Escrows   []escrowView
	Lanes     []lane
	PlotW     float64
	PlotH     float64
	Colors    []string
	Compare   *compareView
	Problems  []string
	Data      data
	CSS       template.CSS
	JS        template.JS
	Sources   []string
	MoreSrc   int
	Verdict   string
}

type lane struct {
	EP         *report.Endpoint
	Y, H       float64
	Bands      []band
	Bars       []bar
	Marks      []mark
	Links      []link
	EscrowsHit int
}

type band struct {
	X, W float64
	Y    float64
	E    int // escrow number, 0 for none in the report
	I    int // index in data.Open
}

type bar struct {
	X, W, Y float64
	E       int
	Class   string
	I       int    // index in data.Calls
	Label   string // the method, on bars wide enough at zoom 1 (the script shows more when zoomed)
}

type mark struct {
	X, Y, H float64
	I       int // index in data.Pollution
	E       int // victim
	O       int // culprit, 0 unknown
}

type link struct {
	D string // path
	O int
	I int
}

// data is what the script reads: one entry per call, open interval and
// pollution event, indexed from the SVG by data-i.
type data struct {
	T0        int64      `json:"t0"`
	Span      int64      `json:"span"`
	W         float64    `json:"w"`
	Escrows   []escrowJS `json:"escrows"`
	Calls     []callJS   `json:"calls"`
	Open      []openJS   `json:"open"`
	Pollution []pollJS   `json:"pollution"`
}

type escrowJS struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type callJS struct {
	E      int    `json:"e"`
	Role   string `json:"r"`
	Method string `json:"m"`
	Port   int    `json:"p"`
	Start  int64  `json:"s"`
	Dur    int64  `json:"d"`
	State  int    `json:"ok"` // 1 ok, 0 failed, 2 no end recorded
	Error  string `json:"err,omitempty"`
	Code   *int   `json:"code,omitempty"`
	Round  int    `json:"rd"`
	Polls  []int  `json:"pl,omitempty"`
}

type openJS struct {
	E      int    `json:"e"`
	Wallet string `json:"w"`
	Role   string `json:"r"`
	Start  int64  `json:"s"`
	End    int64  `json:"t"`
	Source string `json:"src"`
}

type pollJS struct {
	E        int    `json:"e"`
	Role     string `json:"r"`
	Reason   string `json:"why"`
	Expected string `json:"want"`
	Actual   string `json:"got"`
	Endpoint string `json:"ep"`
	Other    int    `json:"o"`
	OtherID  string `json:"oid"`
	Time     int64  `json:"t"`
	Cause    string `json:"cause"`
	Hit      string `json:"hit"`
	By       string `json:"by,omitempty"`    // detected_by: "collector", or "" for the process itself
	OtherIn  string `json:"oinst,omitempty"` // the other process's service.instance.id
}

type escrowView struct {
	*report.Escrow
	Grid       snapGrid
	Methods    []methodCount
	Open       bool // <details open>
	FailedList []*report.Call
}

type methodCount struct {
	Method      string
	Count, Fail int
	TotalMs     int64
}

type snapGrid struct {
	Points []string
	Rows   []snapRow
}

type snapRow struct {
	Role  string
	Cells []*report.Snapshot // nil where the role has no snapshot at the point
}

type compareView struct {
	*report.Comparison
	Rows []compareRow
}

type compareRow struct {
	Op      string
	A, B    *report.Step
	Skipped int // a run of same steps left out
}

func build(r *report.Report, opts Options) *page {
	p := &page{
		Title:    opts.Title,
		R:        r,
		PlotW:    plotWidth,
		Problems: opts.Problems,
		CSS:      template.CSS(pageCSS),
		JS:       template.JS(pageJS),
	}
	if p.Title == "" {
		p.Title = "escrowtrace race report"
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p.Generated = now.UTC().Format("2006-01-02 15:04:05 UTC")
	for _, e := range r.Escrows {
		if len(p.Sources) < 5 {
			p.Sources = append(p.Sources, e.Source)
		} else {
			p.MoreSrc++
		}
	}
	p.Colors = palette(len(r.Escrows))
	p.Verdict = verdict(r)
	span := max(r.End-r.Start, 1)
	p.Data = data{T0: r.Start, Span: span, W: plotWidth}
	x := func(t int64) float64 { return float64(t-r.Start) / float64(span) * plotWidth }
	for _, e := range r.Escrows {
		p.Data.Escrows = append(p.Data.Escrows, escrowJS{ID: e.ID, Status: e.Status()})
	}
	pollIdx := map[*report.Pollution]int{}
	for _, e := range r.Escrows {
		for _, pe := range e.Pollution {
			pollIdx[pe] = len(p.Data.Pollution)
			pj := pollJS{E: e.N, Role: pe.Role, Reason: pe.Reason, Expected: pe.Expected, Actual: pe.Actual,
				Endpoint: pe.Endpoint, OtherID: pe.OtherID, Time: pe.Time - r.Start, By: pe.DetectedBy, OtherIn: pe.OtherInstance}
			if pe.Other != nil {
				pj.Other = pe.Other.N
			}
			switch {
			case pe.Cause != nil:
				pj.Cause = fmt.Sprintf("its %s (%s) at +%.3fs", pe.Cause.Method, pe.Cause.Role, float64(pe.Cause.Start-r.Start)/1000)
			case pe.CauseTime != 0:
				pj.Cause = fmt.Sprintf("its snapshot at +%.3fs", float64(pe.CauseTime-r.Start)/1000)
			}
			switch {
			case pe.Call != nil:
				pj.Hit = pe.Call.Method
			case pe.Snapshot != nil:
				pj.Hit = "a call of the " + strings.TrimPrefix(pe.Snapshot.Point, "SNAPSHOT_") + " snapshot"
			}
			p.Data.Pollution = append(p.Data.Pollution, pj)
		}
	}
	y := axisH
	for _, ep := range r.Endpoints {
		l := lane{EP: ep, Y: y}
		l.H = laneHead + bandH + 4 + float64(ep.Rows)*rowH
		bandY := y + laneHead
		for _, iv := range ep.Open {
			n := 0
			if iv.Escrow != nil {
				n = iv.Escrow.N
			}
			l.Bands = append(l.Bands, band{X: x(iv.Start), W: max(x(iv.End)-x(iv.Start), 0.5), Y: bandY, E: n, I: len(p.Data.Open)})
			p.Data.Open = append(p.Data.Open, openJS{E: n, Wallet: iv.Wallet, Role: iv.Role, Start: iv.Start - r.Start, End: iv.End - r.Start, Source: iv.Source})
		}
		rowsY := bandY + bandH + 4
		for _, c := range ep.Calls {
			cl := ""
			state := 1
			switch {
			case !c.Ended:
				cl, state = " u", 2
			case !c.OK:
				cl, state = " f", 0
			}
			if len(c.Pollution) > 0 {
				cl += " v"
			}
			cj := callJS{E: c.Escrow.N, Role: c.Role, Method: c.Method, Port: c.Port, Start: c.Start - r.Start, Dur: c.End - c.Start,
				State: state, Error: c.Error, Code: c.Code, Round: c.Round}
			if c.Ended {
				cj.Dur = c.Duration
			}
			for _, pe := range c.Pollution {
				cj.Polls = append(cj.Polls, pollIdx[pe])
			}
			b := bar{X: x(c.Start), W: max(x(c.End)-x(c.Start), minBarW), Y: rowsY + float64(c.Row)*rowH, E: c.Escrow.N, Class: cl, I: len(p.Data.Calls)}
			if b.W >= 4 {
				b.Label = c.Method
			}
			l.Bars = append(l.Bars, b)
			p.Data.Calls = append(p.Data.Calls, cj)
		}
		hit := map[int]bool{}
		for _, pe := range ep.Pollution {
			i := pollIdx[pe]
			o := 0
			if pe.Other != nil {
				o = pe.Other.N
			}
			hit[pe.Escrow.N] = true
			mx := x(pe.Time)
			l.Marks = append(l.Marks, mark{X: mx, Y: y + 2, H: l.H - 2, I: i, E: pe.Escrow.N, O: o})
			if pe.CauseTime != 0 && o != 0 {
				cx := x(pe.CauseTime)
				if pe.Cause != nil {
					cx = x(pe.Cause.End) // the open took effect when it returned
				}
				if pe.Cause != nil && pe.Cause.End > pe.Time {
					cx = x(pe.Cause.Start)
				}
				top := y + 8
				l.Links = append(l.Links, link{
					D: fmt.Sprintf("M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f %.1f", cx, bandY+bandH/2, cx, top, mx, top, mx, y+8),
					O: o, I: i,
				})
			}
		}
		l.EscrowsHit = len(hit)
		p.Lanes = append(p.Lanes, l)
		y += l.H + laneGap
	}
	p.PlotH = y
	for _, e := range r.Escrows {
		v := escrowView{Escrow: e, Grid: grid(e), Open: e.Failed && len(r.Escrows) <= 3}
		counts := map[string]*methodCount{}
		for _, c := range e.Calls {
			m := counts[c.Method]
			if m == nil {
				m = &methodCount{Method: c.Method}
				counts[c.Method] = m
				v.Methods = append(v.Methods, methodCount{})
			}
			m.Count++
			m.TotalMs += c.Duration
			if c.Ended && !c.OK {
				m.Fail++
				v.FailedList = append(v.FailedList, c)
			}
		}
		v.Methods = v.Methods[:0]
		seen := map[string]bool{}
		for _, c := range e.Calls {
			if !seen[c.Method] {
				seen[c.Method] = true
				v.Methods = append(v.Methods, *counts[c.Method])
			}
		}
		p.Escrows = append(p.Escrows, v)
	}
	cmp := opts.Compare
	if cmp == nil {
		if a, b := r.DefaultPair(); a != nil {
			cmp = report.Compare(a, b)
		}
	}
	if cmp != nil {
		p.Compare = compareRows(cmp)
	}
	return p
}

func grid(e *report.Escrow) snapGrid {
	var g snapGrid
	idx := map[string]int{}
	for _, pt := range escrowconv.Points {
		for _, s := range e.Snapshots {
			if s.Point == pt {
				idx[pt] = len(g.Points)
				g.Points = append(g.Points, pt)
				break
			}
		}
	}
	for _, s := range e.Snapshots {
		if _, ok := idx[s.Point]; !ok {
			idx[s.Point] = len(g.Points)
			g.Points = append(g.Points, s.Point)
		}
	}
	for _, role := range e.Roles {
		row := snapRow{Role: role, Cells: make([]*report.Snapshot, len(g.Points))}
		for _, s := range e.Snapshots {
			if s.Role == role && row.Cells[idx[s.Point]] == nil {
				row.Cells[idx[s.Point]] = s
			}
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

func compareRows(c *report.Comparison) *compareView {
	v := &compareView{Comparison: c}
	for _, l := range c.Shown() {
		if l.Skipped > 0 {
			v.Rows = append(v.Rows, compareRow{Op: "…", Skipped: l.Skipped})
			continue
		}
		v.Rows = append(v.Rows, compareRow{Op: string(rune(l.Op)), A: l.A, B: l.B})
	}
	return v
}

// short cuts an id for labels: UUIDs to their first 8 characters.
func short(s string) string {
	r := []rune(s)
	if len(r) > 8 {
		return string(r[:8]) + "…"
	}
	return s
}

func msText(d int64) string {
	if d >= 10000 {
		return strconv.FormatFloat(float64(d)/1000, 'f', 1, 64) + " s"
	}
	return strconv.FormatInt(d, 10) + " ms"
}

// hashClass gives an address hash one of 24 background classes, so that
// equal hashes look alike and a change shows.
func hashClass(h string) string {
	if len(h) < 2 {
		return "h0"
	}
	n, err := strconv.ParseUint(h[:2], 16, 8)
	if err != nil {
		return "h0"
	}
	return "h" + strconv.Itoa(int(n%24))
}

// palette gives n distinguishable escrow colours: a hand-picked 20
// (readable on white, apart from the pollution red), then golden-angle
// hues.
func palette(n int) []string {
	base := []string{
		"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
		"#2f4b7c", "#a0cbe8", "#8cd17d", "#b6992d", "#499894", "#86bcb6", "#d4a6c8", "#fabfd2",
		"#79706e", "#d7b5a6", "#665191", "#bab0ac",
	}
	out := make([]string, n+1) // 1-based
	out[0] = "#c8c8c8"
	for i := 1; i <= n; i++ {
		if i <= len(base) {
			out[i] = base[i-1]
			continue
		}
		h := float64(i) * 137.508
		h -= 360 * float64(int(h/360))
		out[i] = hslHex(h, 0.55, 0.45+float64(i%3)*0.08)
	}
	return out
}

// hslHex converts a colour from HSL (h in degrees, s and l in 0..1) to
// #rrggbb, the form html/template lets into a style sheet.
func hslHex(h, s, l float64) string {
	c := (1 - abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - abs(hp-2*float64(int(hp/2))-1))
	var r, g, b float64
	switch int(hp) {
	case 0:
		r, g = c, x
	case 1:
		r, g = x, c
	case 2:
		g, b = c, x
	case 3:
		g, b = x, c
	case 4:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	to := func(v float64) int { return min(max(int((v+m)*255+0.5), 0), 255) }
	return fmt.Sprintf("#%02x%02x%02x", to(r), to(g), to(b))
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// verdict says in one sentence what the page shows.
func verdict(r *report.Report) string {
	s := r.Summary
	if s.Escrows == 0 {
		return "No escrows."
	}
	shared := 0
	for _, ep := range r.Endpoints {
		if len(ep.Escrows) > 1 {
			shared++
		}
	}
	failed := fmt.Sprintf("%d of %d escrows failed", s.Failed, s.Escrows)
	if s.Failed == 0 {
		failed = fmt.Sprintf("all %d escrows ok", s.Escrows)
	}
	switch {
	case s.Pollution > 0 && s.ByCollector > 0:
		return fmt.Sprintf("Race: escrows switched each other's wallets on %d shared wallet-rpc endpoint%s — %d cache-pollution events in %d escrows, "+
			"%d of them found by the collector (another process switched the wallet; no process saw it); %s.",
			shared, plural(shared), s.Pollution, s.Polluted, s.ByCollector, failed)
	case s.Pollution > 0:
		return fmt.Sprintf("Race: escrows switched each other's wallets on %d shared wallet-rpc endpoint%s — %d cache-pollution events in %d escrows; %s.",
			shared, plural(shared), s.Pollution, s.Polluted, failed)
	case shared > 0:
		return fmt.Sprintf("No cache pollution on %d shared wallet-rpc endpoint%s; %s.", shared, plural(shared), failed)
	}
	return fmt.Sprintf("No cache pollution; every endpoint served one escrow; %s.", failed)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
