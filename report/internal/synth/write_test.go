package synth_test

import (
	"os"
	"testing"

	"github.com/escrowtrace/escrowtrace/report"
	"github.com/escrowtrace/escrowtrace/report/internal/synth"
)

// TestWriteFiles writes the synthetic escrows as files and reads them back
// as the same events.
func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("SYNTH_DIR"); d != "" {
		dir = d // to look at: SYNTH_DIR=/tmp/x go test -run TestWriteFiles ./report/internal/synth
	}
	in := synth.Escrows(20, 1)
	paths, err := synth.WriteFiles(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	back, err := report.Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	a, b := report.Build(in), report.Build(back)
	if a.Summary != b.Summary || len(back) != 20 {
		t.Errorf("written %+v, read back %+v", a.Summary, b.Summary)
	}
}
