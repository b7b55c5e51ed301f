package main

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

func TestJaegerSearchURL(t *testing.T) {
	id := "3f0c2a1b-7d4e-4c1a-9b2f-0a1b2c3d4e5f"
	// An escrow two days ago: older than the UI's default lookback (1h).
	from := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	to := from.Add(4500 * time.Millisecond)
	got := jaegerSearchURL("", "escrowtrace", id, from, to)
	want := "http://localhost:16686/search?end=1795773664500000&lookback=custom&service=escrowtrace" +
		"&start=1795773540000000&tags=%7B%22escrow.id%22%3A%223f0c2a1b-7d4e-4c1a-9b2f-0a1b2c3d4e5f%22%7D"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	checkSearchURL(t, u, "http://localhost:16686", "escrowtrace", id, from, to)

	u, err = url.Parse(jaegerSearchURL("jaeger.internal:16686/", "svc a", `odd"id&x`, from, to))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Host != "jaeger.internal:16686" || u.Path != "/search" ||
		u.Query().Get("service") != "svc a" || u.Query().Get("tags") != `{"escrow.id":"odd\"id\u0026x"}` {
		t.Errorf("parsed: %+v query %v", u, u.Query())
	}
}

// checkSearchURL checks a Jaeger UI search URL from jaegerSearchURL: base,
// service, escrow.id tag, and a custom time range (start, end in Unix µs,
// what Jaeger UI and the v1 API read) that covers [from, to] with at most
// searchMargin and a second to spare on either side.
func checkSearchURL(t *testing.T, u *url.URL, base, service, escrowID string, from, to time.Time) {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != b.Scheme || u.Host != b.Host || u.Path != "/search" {
		t.Errorf("search URL %s: want %s/search", u, base)
	}
	if got := q.Get("service"); got != service {
		t.Errorf("service = %q, want %q", got, service)
	}
	if got, want := q.Get("tags"), `{"escrow.id":`+strconv.Quote(escrowID)+`}`; got != want {
		t.Errorf("tags = %s, want %s", got, want)
	}
	if got := q.Get("lookback"); got != "custom" {
		t.Errorf("lookback = %q, want custom (else Jaeger UI ignores start and end)", got)
	}
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("start %q, end %q: want Unix µs", q.Get("start"), q.Get("end"))
	}
	slack := (searchMargin + time.Second).Microseconds()
	if f := from.UnixMicro(); start > f || start < f-slack {
		t.Errorf("start = %d, want within %v before %d", start, searchMargin+time.Second, f)
	}
	if e := to.UnixMicro(); end < e || end > e+slack {
		t.Errorf("end = %d, want within %v after %d", end, searchMargin+time.Second, e)
	}
}
