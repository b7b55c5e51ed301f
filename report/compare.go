package report

// Op says on which side of a comparison a step is.
type Op byte

// Comparison operations.
const (
	Same  Op = '=' // in both sequences, at this place
	OnlyA Op = '-' // only in the first escrow
	OnlyB Op = '+' // only in the second
)

// DiffLine is one line of a comparison: a step of A, of B, or of both.
type DiffLine struct {
	Op   Op
	A, B *Step // nil on the side that lacks it
}

// Comparison is where two escrows' event sequences differ.
type Comparison struct {
	A, B  *Escrow
	Lines []DiffLine
	// Differences counts the lines not Same.
	Differences int
	// FirstDiff is the index in Lines of the first difference, -1 when none.
	FirstDiff int
	// Aligned is false when the sequences were too long to align step by
	// step: Lines then hold the common start and end and, between them,
	// everything else of A, then of B.
	Aligned bool
}

// maxAlignCells bounds the table of the alignment (a longest common
// subsequence of the steps, after their common start and end): 4M cells of
// 4 bytes.
const maxAlignCells = 4 << 20

// Compare aligns the event sequences of a and b (what happened: event type,
// role, method or point, not when) and says where they differ, like the old
// analysis script's --compare.
func Compare(a, b *Escrow) *Comparison {
	c := &Comparison{A: a, B: b, FirstDiff: -1, Aligned: true}
	sa, sb := a.Steps, b.Steps
	pre := 0
	for pre < len(sa) && pre < len(sb) && sa[pre].Key == sb[pre].Key {
		pre++
	}
	suf := 0
	for suf < len(sa)-pre && suf < len(sb)-pre && sa[len(sa)-1-suf].Key == sb[len(sb)-1-suf].Key {
		suf++
	}
	for i := range pre {
		c.Lines = append(c.Lines, DiffLine{Op: Same, A: &sa[i], B: &sb[i]})
	}
	ma, mb := sa[pre:len(sa)-suf], sb[pre:len(sb)-suf]
	n, m := len(ma), len(mb)
	if (n+1)*(m+1) > maxAlignCells {
		c.Aligned = false
		for i := range ma {
			c.Lines = append(c.Lines, DiffLine{Op: OnlyA, A: &ma[i]})
		}
		for i := range mb {
			c.Lines = append(c.Lines, DiffLine{Op: OnlyB, B: &mb[i]})
		}
	} else {
		// lcs[i][j]: longest common subsequence of ma[i:] and mb[j:].
		w := m + 1
		lcs := make([]int32, (n+1)*w)
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i].Key == mb[j].Key {
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				} else {
					lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i].Key == mb[j].Key:
				c.Lines = append(c.Lines, DiffLine{Op: Same, A: &ma[i], B: &mb[j]})
				i, j = i+1, j+1
			case j < m && (i == n || lcs[i*w+j+1] >= lcs[(i+1)*w+j]):
				c.Lines = append(c.Lines, DiffLine{Op: OnlyB, B: &mb[j]})
				j++
			default:
				c.Lines = append(c.Lines, DiffLine{Op: OnlyA, A: &ma[i]})
				i++
			}
		}
	}
	for k := range suf {
		ia, ib := len(sa)-suf+k, len(sb)-suf+k
		c.Lines = append(c.Lines, DiffLine{Op: Same, A: &sa[ia], B: &sb[ib]})
	}
	for k, l := range c.Lines {
		if l.Op != Same {
			c.Differences++
			if c.FirstDiff < 0 {
				c.FirstDiff = k
			}
		}
	}
	return c
}

// ShownLine is a line of a comparison as a renderer shows it: one of the
// comparison's DiffLines, or, where Skipped > 0, a run of Skipped Same lines
// left out (Op Same, A and B nil).
type ShownLine struct {
	DiffLine
	Skipped int
}

// foldOver is the longest run of Same lines Shown keeps whole; foldEnds is
// how many lines it keeps at each end of a longer run.
const (
	foldOver = 6
	foldEnds = 2
)

// Shown returns the lines worth showing: Lines in order, with every run of
// more than 6 Same lines cut to its first 2 and last 2 and the rest replaced
// by one ShownLine whose Skipped counts them. What differs is always shown
// with some context; a long common stretch does not drown it.
func (c *Comparison) Shown() []ShownLine {
	var out []ShownLine
	for i := 0; i < len(c.Lines); i++ {
		if c.Lines[i].Op == Same {
			j := i
			for j < len(c.Lines) && c.Lines[j].Op == Same {
				j++
			}
			if j-i > foldOver {
				for _, l := range c.Lines[i : i+foldEnds] {
					out = append(out, ShownLine{DiffLine: l})
				}
				out = append(out, ShownLine{DiffLine: DiffLine{Op: Same}, Skipped: j - i - 2*foldEnds})
				for _, l := range c.Lines[j-foldEnds : j] {
					out = append(out, ShownLine{DiffLine: l})
				}
				i = j - 1
				continue
			}
		}
		out = append(out, ShownLine{DiffLine: c.Lines[i]})
	}
	return out
}

// DefaultPair picks two escrows worth comparing: the first that succeeded
// and the first that failed, else the first two. It returns nil, nil when
// the report has fewer than two escrows.
func (r *Report) DefaultPair() (a, b *Escrow) {
	if len(r.Escrows) < 2 {
		return nil, nil
	}
	var ok, bad *Escrow
	for _, e := range r.Escrows {
		if e.Failed && bad == nil {
			bad = e
		}
		if !e.Failed && !e.Partial && ok == nil {
			ok = e
		}
	}
	if ok != nil && bad != nil {
		return ok, bad
	}
	return r.Escrows[0], r.Escrows[1]
}
