package reporttext

import (
	"cmp"
	"slices"
)

func sortLines[T any](s []T, at func(T) int64) {
	slices.SortStableFunc(s, func(a, b T) int { return cmp.Compare(at(a), at(b)) })
}
