package main

import (
	"errors"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// The demo numbers escrows as report.Build does: by the earliest event of
// their file (then id), an escrow without a file by its start; launch order
// does not count.
func TestInStartOrder(t *testing.T) {
	t0 := time.UnixMilli(1_800_000_000_000)
	ev := func(ms int64) []escrowjson.Event { return []escrowjson.Event{{Timestamp: ms + 5}, {Timestamp: ms}} }
	results := []result{
		{plan: escrowPlan{id: "launched-first"}, start: t0},
		{plan: escrowPlan{id: "launched-second"}, start: t0.Add(time.Millisecond)},
		{plan: escrowPlan{id: "no-file"}, start: t0.Add(15 * time.Millisecond)},
		{plan: escrowPlan{id: "b-tie"}, start: t0},
		{plan: escrowPlan{id: "a-tie"}, start: t0},
	}
	files := []escrowFile{
		{events: ev(t0.UnixMilli() + 20)}, // its first event came last
		{events: ev(t0.UnixMilli() + 10)},
		{err: errors.New("missing")},
		{events: ev(t0.UnixMilli() + 30)},
		{events: ev(t0.UnixMilli() + 30)},
	}
	gotR, gotF := inStartOrder(results, files)
	want := []string{"launched-second", "no-file", "launched-first", "a-tie", "b-tie"}
	for i, w := range want {
		if gotR[i].plan.id != w {
			t.Fatalf("order %d = %q, want %q (all: %v)", i, gotR[i].plan.id, w, ids(gotR))
		}
	}
	if gotF[1].err == nil || gotF[0].events[1].Timestamp != t0.UnixMilli()+10 {
		t.Error("files did not move with their escrows")
	}
}

func ids(rs []result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.plan.id
	}
	return out
}
