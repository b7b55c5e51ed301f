package reporthtml_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/internal/synth"
)

// screenshotDir holds the browser tests' screenshots for people to look at
// (ignored by git).
const screenshotDir = "screenshots"

// chromium finds Debian's chromium; without it the test fails with how to
// install it.
func chromium(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: install it with `make tools` (as root: apt-get install -y chromium)")
	return ""
}

// browserPage is what a headless chromium saw of a page.
type browserPage struct {
	console  []string // errors and warnings logged, exceptions thrown
	requests []string // anything fetched besides the page
	ready    float64  // ms from navigation start to the script's end
	parsed   float64  // ms from navigation start to domInteractive (HTML parsed)
	lanes    int
	markers  int
	bars     int
	pwned    string
	pinText  string
}

// open loads the file in headless chromium, clicks the first pollution
// marker, and takes a screenshot.
func open(t testing.TB, file, shot string) browserPage {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	var p browserPage
	url := "file://" + file
	listenErr := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p.console = append(p.console, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			p.console = append(p.console, fmt.Sprintf("exception: %s %v", ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception))
		case *network.EventRequestWillBeSent:
			if ev.Request.URL != url {
				p.requests = append(p.requests, ev.Request.URL)
			}
		}
	})
	if listenErr != nil {
		t.Fatalf("chromium: %v", listenErr)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.reportReady !== undefined`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("chromium: the page's script did not finish: %v", err)
	}
	var err error
	must := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	var e error
	p.ready, e = eval[float64](ctx, `window.reportReady`)
	must(e)
	p.parsed, e = eval[float64](ctx, `performance.getEntriesByType("navigation")[0].domInteractive`)
	must(e)
	p.lanes, e = eval[int](ctx, `document.querySelectorAll("#lanes g.lane").length`)
	must(e)
	p.markers, e = eval[int](ctx, `document.querySelectorAll("#marks g.pm").length`)
	must(e)
	p.bars, e = eval[int](ctx, `document.querySelectorAll("#lanes rect.b").length`)
	must(e)
	p.pwned, e = eval[string](ctx, `String(window.pwned)`)
	must(e)
	if p.markers > 0 {
		// Click a marker and read the pinned details.
		p.pinText, e = eval[string](ctx, `document.querySelector("#marks g.pm path").dispatchEvent(new MouseEvent("click", {bubbles: true})), document.getElementById("pin-body").textContent`)
		must(e)
		_, e = eval[bool](ctx, `document.getElementById("pin").hidden = true`)
		must(e)
	}
	png, e := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(e)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, shot)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot: %s", abs)
	mu.Lock()
	defer mu.Unlock()
	return p
}

func writePage(t testing.TB, r *report.Report) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(f, page(t, r), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBrowserRealSharedRace(t *testing.T) {
	r := sharedRun(t)
	p := open(t, writePage(t, r), "shared3.png")
	if len(p.console) > 0 {
		t.Errorf("console: %q", p.console)
	}
	if len(p.requests) > 0 {
		t.Errorf("the page fetched %q", p.requests)
	}
	if p.lanes != 3 || p.markers != 48 || p.bars != 36 {
		t.Errorf("DOM: %d lanes, %d pollution markers, %d bars; want 3, 48, 36", p.lanes, p.markers, p.bars)
	}
	if !strings.Contains(p.pinText, "cache pollution") || !strings.Contains(p.pinText, "opened by escrow #") {
		t.Errorf("clicking a marker pinned %q", p.pinText)
	}
	t.Logf("interactive %.0f ms after navigation start", p.ready)
}

func TestBrowserHostile(t *testing.T) {
	p := open(t, writePage(t, report.Build(synth.Hostile())), "hostile.png")
	if p.pwned != "undefined" {
		t.Errorf("script from the file ran: window.pwned = %s", p.pwned)
	}
	if len(p.console) > 0 || len(p.requests) > 0 {
		t.Errorf("console %q, requests %q", p.console, p.requests)
	}
	if p.lanes != 1 || p.markers != 2 {
		t.Errorf("%d lanes, %d markers", p.lanes, p.markers)
	}
}

// A marker of a finding of the collector says so when clicked, with the
// other process's service instance.
func TestBrowserCrossProcess(t *testing.T) {
	p := open(t, writePage(t, report.Build(synth.CrossProcess())), "crossprocess.png")
	if len(p.console) > 0 || len(p.requests) > 0 {
		t.Errorf("console %q, requests %q", p.console, p.requests)
	}
	want := "found by the collector (no process saw it): opened in service instance " + synth.Instance2
	if p.markers != 2 || !strings.Contains(p.pinText, want) {
		t.Errorf("%d markers; clicking the first pinned %q, want it to say %q", p.markers, p.pinText, want)
	}
}

func TestBrowserTwentyEscrows(t *testing.T) {
	r := report.Build(synth.Escrows(20, 1))
	p := open(t, writePage(t, r), "synthetic20.png")
	if len(p.console) > 0 || p.lanes != 3 || p.markers != r.Summary.Pollution || p.bars != r.Summary.Calls {
		t.Errorf("console %q; %d lanes, %d markers, %d bars", p.console, p.lanes, p.markers, p.bars)
	}
}

// BenchmarkBrowserInteractive100 loads the page of 100 racing escrows in
// headless chromium and reports when its script is done (ms after
// navigation start), beside the time of the page of 3.
func BenchmarkBrowserInteractive100(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(fmt.Sprintf("escrows=%d", n), func(b *testing.B) {
			f := writePage(b, report.Build(synth.Escrows(n, 1)))
			var total, parsed float64
			for i := 0; b.Loop(); i++ {
				p := open(b, f, fmt.Sprintf("bench%d.png", n))
				total += p.ready
				parsed += p.parsed
			}
			b.ReportMetric(total/float64(b.N), "ms-interactive")
			b.ReportMetric(parsed/float64(b.N), "ms-parsed")
		})
	}
}

func eval[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}
