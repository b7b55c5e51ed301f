package jaegerquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowconv"
	"github.com/escrowtrace/escrowtrace/internal/jaegerv1"
	"github.com/escrowtrace/escrowtrace/report"
)

// Query says which escrows to read.
type Query struct {
	// URL is Jaeger's query base URL, e.g. http://localhost:16686.
	URL string
	// Service is the service.name of the escrows' spans (default
	// escrowtrace, otelmsig's default).
	Service string
	// Start and End bound the traces' start times; zero End is now, zero
	// Start is End less 24 h.
	Start, End time.Time
	// EscrowIDs, when set, fetch these escrows (by the escrow.id tag);
	// otherwise every escrow.setup trace of Service in the time range.
	EscrowIDs []string
	// Limit bounds the traces of one search (default 1000).
	Limit int
	// Client is the HTTP client (default: one with a 30 s timeout).
	Client *http.Client
}

// maxBody bounds one API reply.
const maxBody = 512 << 20

// Fetch reads the escrows of q from Jaeger and returns them as report
// inputs, one per escrow, Source being the trace's URL. An escrow id with
// no trace is an error, as is a search that finds nothing.
func Fetch(ctx context.Context, q Query) ([]report.Input, error) {
	base, err := url.Parse(strings.TrimRight(q.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("jaeger %q: want an http(s) URL such as http://localhost:16686", q.URL)
	}
	if q.Service == "" {
		q.Service = "escrowtrace"
	}
	if q.End.IsZero() {
		q.End = time.Now()
	}
	if q.Start.IsZero() {
		q.Start = q.End.Add(-24 * time.Hour)
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	if q.Client == nil {
		q.Client = &http.Client{Timeout: 30 * time.Second}
	}
	search := func(tags map[string]string) ([]jaegerv1.Trace, error) {
		v := url.Values{
			"service": {q.Service},
			"start":   {strconv.FormatInt(q.Start.UnixMicro(), 10)},
			"end":     {strconv.FormatInt(q.End.UnixMicro(), 10)},
			"limit":   {strconv.Itoa(q.Limit)},
		}
		if tags != nil {
			b, _ := json.Marshal(tags)
			v.Set("tags", string(b))
		} else {
			v.Set("operation", escrowconv.SpanEscrow)
		}
		return get(ctx, q.Client, base.String()+"/api/traces?"+v.Encode())
	}
	var traces []jaegerv1.Trace
	if len(q.EscrowIDs) > 0 {
		for _, id := range q.EscrowIDs {
			ts, err := search(map[string]string{string(escrowconv.EscrowID): id})
			if err != nil {
				return nil, err
			}
			if len(ts) == 0 {
				return nil, fmt.Errorf("jaeger %s: no trace of escrow %q for service %q between %s and %s",
					base, id, q.Service, q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
			}
			traces = append(traces, ts...)
		}
	} else {
		traces, err = search(nil)
		if err != nil {
			return nil, err
		}
		if len(traces) == 0 {
			return nil, fmt.Errorf("jaeger %s: no %s traces for service %q between %s and %s", base, escrowconv.SpanEscrow, q.Service,
				q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
		}
	}
	return convert(ctx, base.String(), traces)
}

func get(ctx context.Context, c *http.Client, u string) ([]jaegerv1.Trace, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("jaeger query API %s is not reachable: %w", redact(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("jaeger %s: reading the reply: %w", redact(u), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaeger %s: HTTP %d: %s", redact(u), resp.StatusCode, snippet(body))
	}
	var r jaegerv1.Response
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("jaeger %s: not a v1 API reply: %w", redact(u), err)
	}
	if len(r.Errors) > 0 && len(r.Data) == 0 {
		return nil, fmt.Errorf("jaeger %s: %s", redact(u), r.Errors[0].Msg)
	}
	return r.Data, nil
}

// redact drops a URL's user info and query from error messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(bad URL)"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// tempDir is where the conversion writes; a variable for tests.
var tempDir = os.TempDir
