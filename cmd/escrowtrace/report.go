package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/escrowtrace/escrowtrace/internal/secret"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/escrowjson"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/report"
)

// maxPollutionLines is about how many pollution events are listed under
// the summary.
const maxPollutionLines = 12

// escrowFile is an escrow's legacy file as read back after the run.
type escrowFile struct {
	name   string // base name; "" when no file was found
	path   string
	events []escrowjson.Event
	err    error // missing, unreadable, or not following the contract
	// partial is a _PARTIAL file of the escrow beside its final file, and
	// partialEvents its events: the escrow's events are split between
	// them (a collector restarted mid-escrow wrote the first part).
	partial       string
	partialEvents int
}

// loadEscrowFile finds the file of escrow id in dir, checks it against the
// contract (escrowjson.Validate) and reads it (escrowjson.Load).
func loadEscrowFile(dir, id string) escrowFile {
	for _, name := range []string{escrowjson.FileName(id, false), escrowjson.FileName(id, true), escrowjson.PartialFileName(id)} {
		f := escrowFile{name: name, path: filepath.Join(dir, name)}
		data, err := os.ReadFile(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = escrowjson.Validate(data)
		}
		if err == nil {
			f.events, err = escrowjson.Load(f.path)
		}
		f.err = err
		if p := filepath.Join(dir, escrowjson.PartialFileName(id)); err == nil && p != f.path {
			if evs, perr := escrowjson.Load(p); perr == nil || !errors.Is(perr, fs.ErrNotExist) {
				f.partial, f.partialEvents = p, len(evs)
			}
		}
		return f
	}
	return escrowFile{err: fmt.Errorf("no %s in %s", escrowjson.FileName(id, false), dir)}
}

// fileStats is what a file says about its escrow.
type fileStats struct {
	calls, failedCalls, snapshots, pollution int
	rounds                                   int // rounds completed, from the POST_* snapshots
	errFinal                                 *escrowjson.ErrorFinal

	// byCollector counts the pollution events the escrowtrace collector
	// found (detected_by "collector"): calls that met a wallet another
	// process had opened, which no process saw.
	byCollector int
}

// completes says which round a snapshot point closes.
var completes = map[string]int{
	escrowconv.PointPostMakeMultisig:   1,
	escrowconv.PointPostExportMultisig: 2,
	escrowconv.PointPostImportMultisig: 3,
}

func statsOf(events []escrowjson.Event) fileStats {
	var s fileStats
	// A round is complete when every wallet has its snapshot after it; one
	// wallet's post-snapshot only says that wallet's call went through.
	post := map[int]map[string]bool{}
	for _, ev := range events {
		switch d := ev.Details.(type) {
		case *escrowjson.RPCCallStart:
			s.calls++
		case *escrowjson.RPCCallEnd:
			if !d.Success {
				s.failedCalls++
			}
		case *escrowjson.Snapshot:
			s.snapshots++
			if n, ok := completes[ev.EventType]; ok {
				if post[n] == nil {
					post[n] = map[string]bool{}
				}
				post[n][ev.Role] = true
			}
		case *escrowjson.CachePollution:
			s.pollution++
			if byCollector(d) {
				s.byCollector++
			}
		case *escrowjson.ErrorFinal:
			s.errFinal = d
		}
	}
	for n := 1; len(post[n]) == len(roles); n++ {
		s.rounds = n
	}
	if s.errFinal != nil && s.errFinal.Context.Round > 0 {
		s.rounds = min(s.rounds, s.errFinal.Context.Round-1)
	}
	return s
}

// writeTimeline prints an escrow's file as a timeline: one line per RPC
// call (at its start, with its duration and ✓/✗), one per snapshot point
// (all wallets), and the pollution and error events.
func writeTimeline(w io.Writer, id string, events []escrowjson.Event) {
	if len(events) == 0 {
		fmt.Fprintf(w, "Escrow %s: the trace file has no events\n", id)
		return
	}
	fmt.Fprintf(w, "Escrow %s (trace_id %s)\n\n", id, events[0].TraceID)
	t0 := events[0].Timestamp
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  time\tround\trole\tstep\ttook\t")

	// Pair each call's start with its end: per role and method, in order.
	type key struct{ role, method string }
	ends := map[key][]*escrowjson.RPCCallEnd{}
	for _, ev := range events {
		if d, ok := ev.Details.(*escrowjson.RPCCallEnd); ok {
			k := key{ev.Role, d.Method}
			ends[k] = append(ends[k], d)
		}
	}
	// Snapshots of one point, one line at the first one's place.
	snaps := map[string][]escrowjson.Event{}
	for _, ev := range events {
		if _, ok := ev.Details.(*escrowjson.Snapshot); ok {
			snaps[ev.EventType] = append(snaps[ev.EventType], ev)
		}
	}

	var rounds report.RoundTracker
	for _, ev := range events {
		at := fmt.Sprintf("+%.3fs", float64(ev.Timestamp-t0)/1000)
		switch d := ev.Details.(type) {
		case *escrowjson.RPCCallStart:
			r := rounds.Call(ev.Role, d.Method)
			k := key{ev.Role, d.Method}
			took, mark := "…", "(no end recorded)"
			if q := ends[k]; len(q) > 0 {
				end := q[0]
				ends[k] = q[1:]
				took = fmt.Sprintf("%d ms", end.DurationMs)
				mark = "✓"
				if !end.Success {
					mark = "✗ " + oneLine(end.Error)
					if end.Code != nil {
						mark = fmt.Sprintf("✗ %d %s", *end.Code, oneLine(end.Error))
					}
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", at, roundCol(r), ev.Role, d.Method, took, mark)
		case *escrowjson.Snapshot:
			group, ok := snaps[ev.EventType]
			if !ok {
				continue // already printed with the first of its point
			}
			delete(snaps, ev.EventType)
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", at, roundCol(rounds.Snapshot(ev.EventType)), "all",
				"snapshot "+strings.TrimPrefix(ev.EventType, "SNAPSHOT_"), snapshotTook(group), snapshotNote(group))
		case *escrowjson.CachePollution:
			text := pollutionText(d, nil, nil)
			if byCollector(d) {
				text += "; found by the collector"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\t%s\n", at, roundCol(rounds.Round()), ev.Role, "⚠ cache pollution", text)
		case *escrowjson.ErrorFinal:
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\t%s\n", at, roundCol(d.Context.Round), ev.Role,
				"✗ setup failed", fmt.Sprintf("%s (%s): %s", d.Context.Operation, d.Context.WalletID, oneLine(d.Error)))
		}
	}
	_ = tw.Flush()
	s := statsOf(events)
	fmt.Fprintf(w, "\n%d events: %d RPC calls (%d failed), %d wallet snapshots, %d cache pollution events",
		len(events), s.calls, s.failedCalls, s.snapshots, s.pollution)
	if s.byCollector > 0 {
		fmt.Fprintf(w, " (%d found by the collector)", s.byCollector)
	}
	fmt.Fprintln(w)
}

func roundCol(r int) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprint(r)
}

func snapshotTook(group []escrowjson.Event) string {
	var most int64
	for _, ev := range group {
		most = max(most, ev.Details.(*escrowjson.Snapshot).CollectionTimeMs)
	}
	return fmt.Sprintf("%d ms", most)
}

// snapshotNote says, per role, whether the wallet is multisig, and at the
// end whether all wallets show one address.
func snapshotNote(group []escrowjson.Event) string {
	var parts []string
	hashes := map[string]bool{}
	group = slices.Clone(group)
	slices.SortStableFunc(group, func(a, b escrowjson.Event) int { return roleRank(a.Role) - roleRank(b.Role) })
	for _, ev := range group {
		s := ev.Details.(*escrowjson.Snapshot)
		ms := "no"
		if s.IsMultisig {
			ms = "yes"
		}
		if s.Error != "" {
			ms += "(incomplete)"
		}
		parts = append(parts, ev.Role+"="+ms)
		hashes[s.AddressHash] = true
	}
	note := "multisig: " + strings.Join(parts, " ")
	if group[0].EventType == escrowconv.PointFinal {
		if len(hashes) == 1 && len(group) > 1 {
			note += ", one shared address ✓"
		} else {
			note += fmt.Sprintf(", %d different addresses ✗", len(hashes))
		}
	}
	return note
}

// roleRank orders roles as escrows list them: buyer, vendor, arbiter.
func roleRank(role string) int {
	if i := slices.Index(roles, role); i >= 0 {
		return i
	}
	return len(roles)
}

// byCollector reports whether the escrowtrace collector found p, across
// processes, rather than the process that made the call.
func byCollector(p *escrowjson.CachePollution) bool {
	return p.DetectedBy == escrowconv.DetectedByCollector
}

// pollutionText describes a pollution event; names maps escrow ids to their
// numbers in the summary, procs service.instance.ids to process numbers.
func pollutionText(p *escrowjson.CachePollution, names map[string]string, procs map[string]int) string {
	var b strings.Builder
	b.WriteString(p.Reason)
	if p.Endpoint != "" {
		b.WriteString(" on " + p.Endpoint)
	}
	switch {
	case p.ExpectedWallet != "" && p.ActualWallet != "":
		fmt.Fprintf(&b, ": wanted %s, %s was open", p.ExpectedWallet, p.ActualWallet)
	case p.ExpectedWallet != "":
		fmt.Fprintf(&b, ": %s", p.ExpectedWallet)
	}
	if p.OtherEscrowID != "" {
		other := p.OtherEscrowID
		if n, ok := names[other]; ok {
			other = n // the summary's number
		}
		b.WriteString(" (opened by escrow " + other)
		if p.OtherServiceInstanceID != "" {
			if n, ok := procs[p.OtherServiceInstanceID]; ok {
				fmt.Fprintf(&b, " in process %d", n)
			} else {
				b.WriteString(" in service instance " + p.OtherServiceInstanceID)
			}
		}
		b.WriteString(")")
	}
	return oneLine(b.String())
}

// report reads every escrow's file back and prints the timeline (one
// escrow, or --timeline), the summary, the address, where the files are and
// the Jaeger URLs. It returns an error when the run failed where the demo
// promises success.
func (d *demo) report(dir string, results []result, exportErr error) error {
	w := d.stdout
	files := make([]escrowFile, len(results))
	for i, r := range results {
		files[i] = loadEscrowFile(dir, r.plan.id)
	}
	results, files = inStartOrder(results, files)
	if exportErr != nil {
		fmt.Fprintf(d.stderr, "escrowtrace demo: warning: exporting traces: %s\n", oneLine(exportErr.Error()))
	}

	var problems []error
	var failed, polluted, pollutionEvents, foundByCollector int
	names := map[string]string{}
	for i, r := range results {
		names[r.plan.id] = fmt.Sprint(i + 1)
	}
	stats := make([]fileStats, len(results))
	for i, r := range results {
		if r.err != nil {
			failed++
		}
		// An escrow whose process died: its file, if any span of it
		// reached the collector, is _PARTIAL, without ERROR_FINAL.
		lost := errors.As(r.err, new(*lostError))
		if lost {
			problems = append(problems, fmt.Errorf("escrow %s: %w", r.plan.id, r.err))
		}
		f := files[i]
		if f.err != nil {
			problems = append(problems, fmt.Errorf("escrow %s: trace file: %w", r.plan.id, f.err))
			continue
		}
		if f.partial != "" {
			problems = append(problems, fmt.Errorf("escrow %s: its events are split between %s (%d events) and %s (%d events): "+
				"the collector that had the first part stopped (a restart) or gave it up before the escrow's root span came",
				r.plan.id, f.name, len(f.events), filepath.Base(f.partial), f.partialEvents))
		}
		stats[i] = statsOf(f.events)
		pollutionEvents += stats[i].pollution
		foundByCollector += stats[i].byCollector
		if stats[i].pollution > 0 {
			polluted++
		}
		if got := stats[i].errFinal != nil; !lost && got != (r.err != nil) {
			problems = append(problems, fmt.Errorf("escrow %s: the setup returned %v, but its file %s", r.plan.id, r.err,
				map[bool]string{true: "has an ERROR_FINAL", false: "has no ERROR_FINAL"}[got]))
		}
	}

	single := len(results) == 1
	if single || d.opts.timeline {
		for i, r := range results {
			if files[i].err == nil {
				writeTimeline(w, r.plan.id, files[i].events)
				fmt.Fprintln(w)
			}
		}
	}
	if !single {
		d.writeSummary(w, results, files, stats)
		if pollutionEvents > 0 {
			if pollutionEvents > foundByCollector {
				d.writePollution(w, results, files, names, false, foundByCollector > 0)
			}
			if foundByCollector > 0 {
				d.writePollution(w, results, files, names, true, true)
			}
		}
	}

	// Where things are.
	if single {
		r, f := results[0], files[0]
		if r.err == nil {
			fmt.Fprintf(w, "Multisig address: %s\n", r.address)
		} else {
			fmt.Fprintf(w, "Setup failed: %s\n", oneLine(r.err.Error()))
		}
		if f.name != "" {
			fmt.Fprintf(w, "Trace file:       %s (%d events, valid)\n", f.path, len(f.events))
		}
	} else {
		fmt.Fprintf(w, "Trace files:      %s\n", dir)
	}
	if d.jaeger {
		svc := serviceName(context.Background())
		base := os.Getenv("JAEGER_UI_URL")
		if single {
			fmt.Fprintf(w, "Jaeger:           %s\n", jaegerSearchURL(base, svc, results[0].plan.id, results[0].start, results[0].start.Add(results[0].took)))
		} else {
			fmt.Fprintln(w, "Jaeger:")
			for i, r := range results {
				fmt.Fprintf(w, "  %2d  %s\n", i+1, jaegerSearchURL(base, svc, r.plan.id, r.start, r.start.Add(r.took)))
			}
		}
	}

	// The verdict. Escrows in several processes that share wallet-rpcs
	// race whatever --safe says: its lock holds within one process.
	crossProcess := d.opts.rpc == layoutShared && d.opts.processes > 1
	unsafeShared := d.opts.rpc == layoutShared && (!d.opts.safe || crossProcess)
	switch {
	case !single && crossProcess:
		fmt.Fprintf(w, "\n%d of %d escrows failed; %d cache pollution events in %d escrows:\n"+
			"  found in the processes:  %d (by their Trackers, which see their own calls, and their snapshots)\n"+
			"  found by the collector:  %d (no process saw them: another process switched the wallet)\n"+
			"The processes share the wallet-rpcs, and --safe's lock holds within a process only. A process sees its\n"+
			"own calls only; the collector's walletpollution processor sees every process's calls to a wallet-rpc\n"+
			"and finds the calls that met a wallet another process had opened.\n",
			failed, len(results), pollutionEvents, polluted, pollutionEvents-foundByCollector, foundByCollector)
		if foundByCollector == 0 && d.externalCollector {
			fmt.Fprintf(w, "The collector found none: is walletpollution the first processor of its traces pipeline\n"+
				"(deploy/collector/config.yaml)?\n")
		}
	case !single && unsafeShared && pollutionEvents > 0:
		fmt.Fprintf(w, "\nCache pollution: %d events in %d of %d escrows, %d failed. Escrows sharing a wallet-rpc switched its\n"+
			"open wallet under each other. Run again with --safe: otelmsig.WithEndpointLock holds a lock per\n"+
			"endpoint across re-open and call.\n", pollutionEvents, polluted, len(results), failed)
	case !single && unsafeShared:
		fmt.Fprintf(w, "\nNo cache pollution detected this time (%d of %d escrows failed): the race depends on timing.\n"+
			"Try more escrows, e.g. --escrows 8.\n", failed, len(results))
	case !single && failed == 0 && pollutionEvents == 0 && len(problems) == 0:
		fmt.Fprintf(w, "\nAll %d escrows ok, no cache pollution.\n", len(results))
	}
	if !unsafeShared {
		if failed > 0 {
			problems = append(problems, fmt.Errorf("%d of %d escrow setups failed", failed, len(results)))
		}
		if pollutionEvents > 0 {
			problems = append(problems, fmt.Errorf("%d cache pollution events although no escrow shared a wallet-rpc without the lock", pollutionEvents))
		}
	}
	return errors.Join(problems...)
}

func (d *demo) writeSummary(w io.Writer, results []result, files []escrowFile, stats []fileStats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// With --processes, which process ran each escrow, and how many of
	// its pollution events the collector found.
	procHead, proc := "", func(result) string { return "" }
	collectorHead, collector := "", func(int, string) string { return "" }
	if d.opts.processes > 0 {
		procHead, proc = "process\t", func(r result) string { return fmt.Sprintf("%d\t", r.process) }
		collectorHead = "by collector\t"
		collector = func(i int, pollution string) string {
			if pollution == "-" {
				return "-\t"
			}
			return fmt.Sprintf("%d\t", stats[i].byCollector)
		}
	}
	fmt.Fprintln(tw, " #\tescrow\t"+procHead+"result\trounds\tpollution\t"+collectorHead+"took\tfile\t")
	for i, r := range results {
		res := "ok"
		if r.err != nil {
			res = "failed"
			var se *otelmsig.StepError
			var lost *lostError
			switch {
			case errors.As(r.err, &se):
				res = fmt.Sprintf("failed: round %d %s (%s)", se.Round, se.Operation, se.Role)
			case errors.As(r.err, &lost):
				how, _, _ := strings.Cut(lost.how, " (")
				res = fmt.Sprintf("lost: process %d %s", lost.process, how)
			}
		}
		rounds, pollution, file := "-", "-", "✗ "+oneLine(fmt.Sprint(files[i].err))
		if f := files[i]; f.err == nil {
			rounds = fmt.Sprintf("%d/3", stats[i].rounds)
			pollution = fmt.Sprint(stats[i].pollution)
			file = fmt.Sprintf("%s ✓ %d events", f.name, len(f.events))
			if f.partial != "" {
				file += fmt.Sprintf(" + %s %d events", filepath.Base(f.partial), f.partialEvents)
			}
		}
		fmt.Fprintf(tw, "%2d\t%s\t%s%s\t%s\t%s\t%s%v\t%s\t\n", i+1, r.plan.id, proc(r), res, rounds, pollution, collector(i, pollution),
			r.took.Round(time.Millisecond), file)
	}
	_ = tw.Flush()
}

// writePollution lists the pollution events of the files, a few per
// escrow, so that every escrow's side of the race shows: those the
// processes found, or (collector) those the collector found.
// split says that the collector's are listed apart.
func (d *demo) writePollution(w io.Writer, results []result, files []escrowFile, names map[string]string, collector, split bool) {
	switch {
	case collector:
		fmt.Fprintln(w, "\nCache pollution found by the collector (another process switched the wallet; no process saw it):")
	case split:
		fmt.Fprintln(w, "\nCache pollution found in the processes (from the trace files):")
	default:
		fmt.Fprintln(w, "\nCache pollution detected (from the trace files):")
	}
	perEscrow := max(2, maxPollutionLines/len(results))
	for i := range results {
		shown, total := 0, 0
		for _, ev := range files[i].events {
			p, ok := ev.Details.(*escrowjson.CachePollution)
			if !ok || byCollector(p) != collector {
				continue
			}
			total++
			if shown < perEscrow {
				shown++
				fmt.Fprintf(w, "  escrow %d %s: %s\n", i+1, ev.Role, pollutionText(p, names, d.instances))
			}
		}
		if total > shown {
			fmt.Fprintf(w, "  escrow %d: ... and %d more\n", i+1, total-shown)
		}
	}
}

// oneLine makes a message printable on one line, without key material
// (wallet-rpc error texts could echo a multisig_info string).
func oneLine(s string) string {
	s = secret.Redact(s)
	return strings.Join(strings.Fields(s), " ")
}

// inStartOrder sorts the escrows as the race report and analyze number
// them (report.Build): by their file's earliest event, then id; an escrow
// without a readable file by its start. So "escrow 2" here is "#2" in
// report.html and in `escrowtrace analyze` of the same files.
func inStartOrder(results []result, files []escrowFile) ([]result, []escrowFile) {
	type pair struct {
		r     result
		f     escrowFile
		start int64
	}
	ps := make([]pair, len(results))
	for i := range results {
		ps[i] = pair{r: results[i], f: files[i], start: results[i].start.UnixMilli()}
		for j, ev := range files[i].events {
			if j == 0 || ev.Timestamp < ps[i].start {
				ps[i].start = ev.Timestamp
			}
		}
	}
	slices.SortStableFunc(ps, func(a, b pair) int {
		return cmp.Or(cmp.Compare(a.start, b.start), strings.Compare(a.r.plan.id, b.r.plan.id))
	})
	for i, p := range ps {
		results[i], files[i] = p.r, p.f
	}
	return results, files
}
