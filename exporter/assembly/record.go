package assembly

import (
	"reflect"
	"slices"
	"sync"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// record is one legacy event as buffered: everything but the trace_id,
// which comes from the root span and may arrive last.
type record struct {
	at      int64  // unix ns; the legacy timestamp is at in ms
	seq     uint32 // arrival order within the escrow
	port    int32  // rpc_port; 0 when unknown
	typ     string // event_type
	role    string
	details any // *escrowjson.RPCCallStart, *RPCCallEnd, *Snapshot, *ErrorFinal, *CachePollution
}

// less orders records by time, then an RPC call's start before anything
// else at the same instant, then arrival.
func (r *record) less(o *record) bool {
	if r.at != o.at {
		return r.at < o.at
	}
	if rs, os := r.typ == escrowjson.TypeRPCCallStart, o.typ == escrowjson.TypeRPCCallStart; rs != os {
		return rs
	}
	return r.seq < o.seq
}

// recordOf is the record of an event read back from a file (a _PARTIAL
// file being merged). Its time has the file's millisecond precision, and
// it orders before events of the same millisecond that arrived as spans.
func recordOf(ev *escrowjson.Event) record {
	r := record{at: ev.Timestamp * 1e6, typ: ev.EventType, role: ev.Role, details: ev.Details}
	if ev.RPCPort != nil && *ev.RPCPort > 0 && *ev.RPCPort <= 65535 {
		r.port = int32(*ev.RPCPort)
	}
	return r
}

// equal reports whether r and o are the same legacy event, to the
// millisecond the files keep.
func (r record) equal(o record) bool {
	return msOf(r.at) == msOf(o.at) && r.typ == o.typ && r.role == o.role && r.port == o.port &&
		reflect.DeepEqual(r.details, o.details)
}

func compareRecords(a, b record) int {
	switch {
	case a.less(&b):
		return -1
	case b.less(&a):
		return 1
	}
	return 0
}

// fileEncoder renders files into buffers it keeps: a writer takes one from
// encoders for each file, so that they are reused rather than made anew.
type fileEncoder struct {
	buf    []byte
	events []escrowjson.Event
	ports  []int
}

var encoders = sync.Pool{New: func() any { return new(fileEncoder) }}

// render sorts recs in place and encodes them as one legacy file, every
// event with traceID. The bytes are e's until its next render.
func (e *fileEncoder) render(traceID string, recs []record) ([]byte, error) {
	slices.SortFunc(recs, compareRecords)
	e.events = slices.Grow(e.events[:0], len(recs))[:len(recs)]
	e.ports = slices.Grow(e.ports[:0], len(recs))[:len(recs)] // the rpc_port pointers point here
	for i := range recs {
		r := &recs[i]
		e.events[i] = escrowjson.Event{
			TraceID:   traceID,
			Timestamp: msOf(r.at),
			EventType: r.typ,
			Role:      r.role,
			Details:   r.details,
		}
		if r.port != 0 {
			e.ports[i] = int(r.port)
			e.events[i].RPCPort = &e.ports[i]
		}
	}
	var err error
	e.buf, err = escrowjson.Append(e.buf[:0], e.events)
	clear(e.events) // keep no details alive in the pool
	return e.buf, err
}
