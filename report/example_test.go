package report_test

import (
	"fmt"

	"github.com/escrowtrace/escrowtrace/report"
)

// Build a report of the files of a real shared-wallet-rpc race and say who
// opened the wrong wallet under whom.
func Example() {
	in, err := report.Load("testdata/shared3")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := report.Build(in)
	fmt.Printf("%d escrows, %d failed, %d cache pollution events\n", r.Summary.Escrows, r.Summary.Failed, r.Summary.Pollution)
	for _, ep := range r.Endpoints {
		p := ep.Pollution[0]
		fmt.Printf("%s: escrow #%d met %s, opened by escrow #%d\n", ep.Name, p.Escrow.N, p.Actual, p.Other.N)
	}
	// Output:
	// 3 escrows, 3 failed, 48 cache pollution events
	// 127.0.0.1:34139: escrow #3 met arbiter-a948985c, opened by escrow #2
	// 127.0.0.1:36279: escrow #1 met buyer-cf59039f, opened by escrow #3
	// 127.0.0.1:39497: escrow #1 met vendor-cf59039f, opened by escrow #3
}
