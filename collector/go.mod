module github.com/escrowtrace/escrowtrace/collector

go 1.26.0

require github.com/escrowtrace/escrowtrace v0.0.0

// The collector is built from this repository's library, never a published one.
replace github.com/escrowtrace/escrowtrace => ../
