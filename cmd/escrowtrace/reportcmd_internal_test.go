package main

import (
	"slices"
	"testing"
)

func TestSplitCompare(t *testing.T) {
	for _, tc := range []struct {
		args, rest, pair []string
	}{
		{[]string{"--compare", "1", "3", "dir"}, []string{"dir"}, []string{"1", "3"}},
		{[]string{"-o", "x.html", "--compare", "a,b", "dir"}, []string{"-o", "x.html", "dir"}, []string{"a", "b"}},
		{[]string{"--compare=a,b", "dir"}, []string{"dir"}, []string{"a", "b"}},
		{[]string{"-compare=a,b", "dir"}, []string{"dir"}, []string{"a", "b"}},
		{[]string{"dir", "--compare", "1"}, []string{"dir"}, []string{"1"}},
		{[]string{"dir", "--compare"}, []string{"dir"}, []string{}},
		{[]string{"dir"}, []string{"dir"}, nil},
	} {
		rest, pair := splitCompare(tc.args)
		if !slices.Equal(rest, tc.rest) || !slices.Equal(pair, tc.pair) || (pair == nil) != (tc.pair == nil) {
			t.Errorf("%q: rest %q pair %q; want %q %q", tc.args, rest, pair, tc.rest, tc.pair)
		}
	}
}
