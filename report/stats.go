package report

import (
	"cmp"
	"slices"
)

// methodStats gathers the durations of every ended call by method. Methods
// are ordered by total time spent, most first.
func methodStats(escrows []*Escrow) []MethodStats {
	durs := map[string][]int64{}
	failed := map[string]int{}
	for _, e := range escrows {
		for _, c := range e.Calls {
			if !c.Ended {
				continue
			}
			durs[c.Method] = append(durs[c.Method], c.Duration)
			if !c.OK {
				failed[c.Method]++
			}
		}
	}
	out := make([]MethodStats, 0, len(durs))
	for m, d := range durs {
		slices.Sort(d)
		s := MethodStats{Method: m, Count: len(d), Failed: failed[m], P50: Percentile(d, 50), P95: Percentile(d, 95), Max: d[len(d)-1]}
		for _, v := range d {
			s.TotalMs += v
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b MethodStats) int {
		return cmp.Or(cmp.Compare(b.TotalMs, a.TotalMs), cmp.Compare(a.Method, b.Method))
	})
	return out
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted
// values; 0 for none.
func Percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	// rank = ceil(p/100 * n), 1-based.
	n := len(sorted)
	rank := int(p * float64(n) / 100)
	if float64(rank) < p*float64(n)/100 {
		rank++
	}
	return sorted[min(max(rank, 1), n)-1]
}
