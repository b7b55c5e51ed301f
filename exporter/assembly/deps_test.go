package assembly_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The format, the assembly and the report link neither the OpenTelemetry
// SDK nor the Collector: the SDK exporter and the collector are front ends
// that import them, never the reverse.
func TestImportsNeitherSDKNorCollector(t *testing.T) {
	for _, pkg := range []string{
		"github.com/escrowtrace/escrowtrace/escrowjson",
		"github.com/escrowtrace/escrowtrace/exporter/assembly",
		"github.com/escrowtrace/escrowtrace/report",
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(dep, "go.opentelemetry.io/collector") ||
				strings.HasPrefix(dep, "google.golang.org/grpc") || strings.HasSuffix(dep, "/exporter/jsonfile") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
