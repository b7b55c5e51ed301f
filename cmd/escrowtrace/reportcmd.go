package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/jaegerlanes"
	"github.com/escrowtrace/escrowtrace/report/jaegerquery"
	"github.com/escrowtrace/escrowtrace/report/reporthtml"
	"github.com/escrowtrace/escrowtrace/report/reporttext"
)

// sourceFlags are the inputs report and analyze share: files and
// directories, and Jaeger.
type sourceFlags struct {
	jaeger   string
	service  string
	since    time.Duration
	from, to string
	escrows  multiFlag
	timeout  time.Duration
	compare  []string
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (s *sourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.jaeger, "jaeger", "", "also read escrows from this Jaeger query URL (v1 API), e.g. http://localhost:16686")
	fs.StringVar(&s.service, "service", "escrowtrace", "with --jaeger: the service.name of the escrows' spans")
	fs.DurationVar(&s.since, "since", 24*time.Hour, "with --jaeger: escrows started this long before --to")
	fs.StringVar(&s.from, "from", "", "with --jaeger: escrows started at or after this RFC 3339 time (instead of --since)")
	fs.StringVar(&s.to, "to", "", "with --jaeger: escrows started before this RFC 3339 time (default now)")
	fs.Var(&s.escrows, "escrow", "with --jaeger: read this escrow id (repeatable); default: every escrow in the time range")
	fs.DurationVar(&s.timeout, "timeout", 60*time.Second, "with --jaeger: give up after this long")
}

// splitCompare takes the escrows to compare out of args: "--compare A B"
// (the old script's form, which the flag package cannot take: it has one
// value per flag), "--compare A,B" and "--compare=A,B".
func splitCompare(args []string) (rest, pair []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if v, ok := strings.CutPrefix(strings.TrimPrefix(a, "-"), "-compare="); ok || strings.HasPrefix(a, "-compare=") {
			if !ok {
				v = strings.TrimPrefix(a, "-compare=")
			}
			pair = strings.Split(v, ",")
			continue
		}
		if a != "--compare" && a != "-compare" {
			rest = append(rest, a)
			continue
		}
		switch {
		case i+1 < len(args) && strings.Contains(args[i+1], ","):
			pair = strings.Split(args[i+1], ",")
			i++
		case i+2 < len(args) && !strings.HasPrefix(args[i+1], "-") && !strings.HasPrefix(args[i+2], "-"):
			pair = args[i+1 : i+3]
			i += 2
		default:
			pair = []string{} // too few: reported as a usage error
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				pair = args[i+1 : i+2]
				i++
			}
		}
	}
	return rest, pair
}

// load reads the files and Jaeger. Problems with single files are returned
// as lines to show (the rest is still reported); err is set when there is
// nothing to report or Jaeger failed.
func (s *sourceFlags) load(ctx context.Context, paths []string) (*report.Report, []string, error) {
	var inputs []report.Input
	var problems []string
	if len(paths) > 0 {
		in, err := report.Load(paths...)
		inputs = append(inputs, in...)
		if err != nil {
			for _, e := range unjoin(err) {
				problems = append(problems, e.Error())
			}
		}
	}
	if s.jaeger != "" {
		q := jaegerquery.Query{URL: s.jaeger, Service: s.service, EscrowIDs: s.escrows}
		var err error
		if s.to != "" {
			if q.End, err = time.Parse(time.RFC3339, s.to); err != nil {
				return nil, problems, usageError{fmt.Errorf("--to %q: want an RFC 3339 time such as 2026-11-29T13:00:00Z", s.to)}
			}
		} else {
			q.End = time.Now()
		}
		if s.from != "" {
			if q.Start, err = time.Parse(time.RFC3339, s.from); err != nil {
				return nil, problems, usageError{fmt.Errorf("--from %q: want an RFC 3339 time such as 2026-11-29T12:00:00Z", s.from)}
			}
		} else {
			q.Start = q.End.Add(-s.since)
		}
		ctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		in, err := jaegerquery.Fetch(ctx, q)
		if err != nil {
			return nil, problems, err
		}
		inputs = append(inputs, in...)
	}
	if len(inputs) == 0 {
		if len(problems) > 0 {
			return nil, problems, errors.New("no escrow file could be read")
		}
		return nil, nil, errors.New("no escrows to report")
	}
	return report.Build(inputs), problems, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (s *sourceFlags) comparison(r *report.Report) (*report.Comparison, error) {
	if s.compare == nil {
		return nil, nil
	}
	if len(s.compare) != 2 {
		return nil, usageError{fmt.Errorf("--compare wants two escrows: --compare A B or --compare A,B")}
	}
	a, err := r.Escrow(s.compare[0])
	if err != nil {
		return nil, usageError{fmt.Errorf("--compare: %w", err)}
	}
	b, err := r.Escrow(s.compare[1])
	if err != nil {
		return nil, usageError{fmt.Errorf("--compare: %w", err)}
	}
	return report.Compare(a, b), nil
}

func sourceUsage() string {
	return `Inputs are legacy escrow files (escrow_<id>.json, _FAILED, _PARTIAL) and
directories of them; with --jaeger, escrows are also read from Jaeger's v1
query API (by --escrow id, or every escrow.setup trace of --service in the
time range) and turned into the same events by the legacy exporter's own
conversion. An escrow found twice (file and Jaeger) counts once.
Escrows are named by number (#2), id, id prefix or file name (--compare).
`
}

func reportCmd(args []string, stdout, stderr io.Writer) int {
	var src sourceFlags
	var out, lanes, title string
	args, src.compare = splitCompare(args)
	fs := flag.NewFlagSet("escrowtrace report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src.register(fs)
	fs.StringVar(&out, "o", "", "write the HTML here (default: report.html in the first directory given, else ./escrowtrace-report.html; - for stdout)")
	fs.StringVar(&lanes, "lanes", "", "also write the per-endpoint lanes as a Jaeger JSON trace to this file (open it in the Jaeger UI: Search → Upload JSON)")
	fs.StringVar(&title, "title", "", "the page's title")
	fs.String("compare", "", "compare two escrows: --compare A B (default: the first ok with the first failed)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: escrowtrace report [flags] FILE|DIR...

Writes one self-contained HTML page (works offline, nothing fetched) that
shows the race: a summary, one swimlane per wallet-rpc endpoint (whose wallet
was open, every call as a bar in its escrow's colour), each cache-pollution
event joined to the escrow that opened the wrong wallet, RPC statistics per
method, each escrow's snapshot progression and errors, and a comparison of
two escrows.

`+sourceUsage()+`
Exit status: 0 when every input was read, 1 when some could not be (the page
shows the others and names them) or nothing could, 2 on bad usage.

Examples:
  escrowtrace report traces/
  escrowtrace report -o race.html --lanes race-jaeger.json traces/
  escrowtrace report --jaeger http://localhost:16686 --since 1h
  escrowtrace report --jaeger http://localhost:16686 --escrow 8e905562-75c6-4aed-b429-19a4db2873a3

Flags:
`)
		fs.PrintDefaults()
	}
	return src.run("report", fs, args, stderr, func(r *report.Report, cmp *report.Comparison, problems []string) error {
		if out == "" {
			out = defaultReportPath(fs.Args())
		}
		if err := writeOutput(out, stdout, func(w io.Writer) error {
			return reporthtml.Write(w, r, reporthtml.Options{Title: title, Compare: cmp, Problems: problems})
		}); err != nil {
			return err
		}
		if out != "-" {
			fmt.Fprintf(stdout, "Report: %s (%d escrows, %d cache pollution events)\n", out, len(r.Escrows), r.Summary.Pollution)
		}
		if lanes != "" {
			if err := writeOutput(lanes, stdout, func(w io.Writer) error { return jaegerlanes.Write(w, r) }); err != nil {
				return err
			}
			if lanes != "-" {
				fmt.Fprintf(stdout, "Lanes as a Jaeger trace: %s (Jaeger UI: Search → Upload JSON)\n", lanes)
			}
		}
		return nil
	})
}

func analyzeCmd(args []string, stdout, stderr io.Writer) int {
	var src sourceFlags
	var brief bool
	args, src.compare = splitCompare(args)
	fs := flag.NewFlagSet("escrowtrace analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src.register(fs)
	fs.BoolVar(&brief, "brief", false, "leave out the per-escrow timelines and snapshot tables")
	fs.String("compare", "", "compare two escrows: --compare A B")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: escrowtrace analyze [flags] FILE|DIR...

Prints what "escrowtrace report" shows, as text for CI logs and ssh
sessions: the summary, cache pollution per endpoint (who met the wrong
wallet, who opened it), every escrow's timeline, RPC statistics per method
(count, failures, p50/p95/max ms), snapshot progression, errors with their
ERROR_FINAL context, and with --compare A B where two escrows' event
sequences differ.

`+sourceUsage()+`
Exit status: 0 when every input was read, 1 when some could not be, 2 on
bad usage.

Flags:
`)
		fs.PrintDefaults()
	}
	return src.run("analyze", fs, args, stderr, func(r *report.Report, cmp *report.Comparison, _ []string) error {
		return reporttext.Write(stdout, r, reporttext.Options{Timelines: !brief, Snapshots: !brief, Compare: cmp})
	})
}

// run is what report and analyze share once fs holds their flags: parse
// args, insist on something to read, load it under a context that SIGINT
// and SIGTERM cancel, print each input that could not be read, pick the
// escrows to compare, then render (still under that context, so an
// interrupt does not cut a page half written). cmd names the command in
// messages. The result is the exit status: 0, 1 when some input could not
// be read or loading or render failed, 2 on bad usage.
func (s *sourceFlags) run(cmd string, fs *flag.FlagSet, args []string, stderr io.Writer, render func(r *report.Report, cmp *report.Comparison, problems []string) error) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 && s.jaeger == "" {
		fmt.Fprintf(stderr, "escrowtrace %s: give escrow files or directories, or --jaeger URL\nRun \"escrowtrace %s -h\" for usage.\n", cmd, cmd)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, problems, err := s.load(ctx, fs.Args())
	for _, p := range problems {
		fmt.Fprintf(stderr, "escrowtrace %s: %s\n", cmd, oneLine(p))
	}
	if err != nil {
		return fail(stderr, cmd, err)
	}
	cmp, err := s.comparison(r)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	if err := render(r, cmp, problems); err != nil {
		return fail(stderr, cmd, err)
	}
	if len(problems) > 0 {
		return exitFailure
	}
	return exitOK
}

func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "escrowtrace %s: %s\n", cmd, oneLine(err.Error()))
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFailure
}

// defaultReportPath is report.html in the first directory given, else
// ./escrowtrace-report.html.
func defaultReportPath(paths []string) string {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return filepath.Join(p, "report.html")
		}
	}
	return "escrowtrace-report.html"
}

// writeOutput writes through a temporary file renamed into place, so that
// a failed write leaves no half page; "-" is stdout.
func writeOutput(path string, stdout io.Writer, fn func(io.Writer) error) error {
	if path == "-" {
		return fn(stdout)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
