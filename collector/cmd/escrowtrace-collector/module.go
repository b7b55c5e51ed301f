package main

import (
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
)

// module names the Go module that defines the function f, with the version
// this binary was built with, as ocb writes it in generated code:
// "go.opentelemetry.io/collector/exporter/otlpexporter v0.165.0". f is a
// package-level function such as a component's NewFactory. Without build
// info (or for a package of no listed module) it is f's package path alone.
func module(f any) string {
	pkg := funcPackage(f)
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return pkg
	}
	best := bi.Main
	if !within(pkg, best.Path) {
		best = debug.Module{}
	}
	for _, m := range bi.Deps {
		if within(pkg, m.Path) && len(m.Path) > len(best.Path) {
			best = *m
		}
	}
	if best.Path == "" {
		return pkg
	}
	if best.Version == "" {
		return best.Path
	}
	return best.Path + " " + best.Version
}

// funcPackage is the import path of the package that defines the
// package-level function f: runtime names it "import/path.Name".
func funcPackage(f any) string {
	name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	slash := strings.LastIndexByte(name, '/') + 1
	if dot := strings.IndexByte(name[slash:], '.'); dot >= 0 {
		return name[:slash+dot]
	}
	return name
}

// within says whether package pkg belongs to the module path mod (or a
// module nested in it, which a longer match then wins).
func within(pkg, mod string) bool {
	return mod != "" && (pkg == mod || strings.HasPrefix(pkg, mod+"/"))
}
