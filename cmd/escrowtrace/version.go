package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
// Without it, the module version or VCS revision from the build info is
// used.
var version = ""

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("escrowtrace version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: escrowtrace version\n\nPrints the version of escrowtrace and of the monero-wallet-rpc on PATH.\n")
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "escrowtrace version: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	fmt.Fprintf(stdout, "escrowtrace %s (%s %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "%s: %s\n", wallettest.RPCBinary, rpcVersion())
	return exitOK
}

// buildVersion is version, else the module version, else the VCS revision.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "(devel) " + rev + modified
}

// rpcVersion asks monero-wallet-rpc for its version.
func rpcVersion() string {
	path, err := exec.LookPath(wallettest.RPCBinary)
	if err != nil {
		return "not found on PATH; install with: make tools (or: apt-get install -y monero)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return path + " (--version failed: " + err.Error() + ")"
	}
	v := strings.TrimSpace(string(out))
	if i := strings.IndexByte(v, '\n'); i >= 0 {
		v = v[:i]
	}
	return v + " (" + path + ")"
}
