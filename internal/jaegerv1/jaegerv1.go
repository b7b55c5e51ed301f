// Package jaegerv1 holds the JSON shape of traces in Jaeger's v1 query API
// (/api/traces, /api/traces/{id}), which is also what the Jaeger UI's
// Upload tab opens: {"data": [trace, ...]}.
package jaegerv1

// Response is the envelope of the v1 API.
type Response struct {
	Data   []Trace `json:"data"`
	Total  int     `json:"total"`
	Limit  int     `json:"limit"`
	Offset int     `json:"offset"`
	Errors []Error `json:"errors"`
}

// Error is an entry of Response.Errors.
type Error struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

// Trace is one trace: its spans and the processes (services) they ran in.
type Trace struct {
	TraceID   string             `json:"traceID"` // 32 hex digits
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
	Warnings  []string           `json:"warnings"`
}

// Span is one span. Times are µs.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"` // 16 hex digits
	Flags         int         `json:"flags,omitempty"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"` // unix µs
	Duration      int64       `json:"duration"`  // µs
	Tags          []KeyValue  `json:"tags"`
	Logs          []Log       `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`
}

// Reference links a span to another, CHILD_OF its parent.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a tag or a log field. Type is string, bool, int64, float64
// or binary.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Log is a span event at a time in unix µs.
type Log struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []KeyValue `json:"fields"`
}

// Process is the service a span ran in.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// Tag returns the value of the process tag key and whether it exists.
func (p Process) Tag(key string) (any, bool) { return find(p.Tags, key) }

// Parent returns the span id of the CHILD_OF reference, or "".
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Tag returns the value of tag key and whether it exists.
func (s Span) Tag(key string) (any, bool) { return find(s.Tags, key) }

// Field returns the value of the log field key and whether it exists.
func (l Log) Field(key string) (any, bool) { return find(l.Fields, key) }

func find(kvs []KeyValue, key string) (any, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}
