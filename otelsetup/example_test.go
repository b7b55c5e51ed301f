package otelsetup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/escrowtrace/escrowtrace/internal/fakewalletrpc"
	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/otelsetup"
	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// exampleWallets starts one fake wallet-rpc per role with the role's wallet
// open, and returns instrumented wallets for them.
func exampleWallets(escrowID string) ([]otelmsig.Wallet, func()) {
	var ws []otelmsig.Wallet
	var servers []*fakewalletrpc.Server
	for _, role := range []string{"buyer", "vendor", "arbiter"} {
		name := escrowID + "-" + role
		s := fakewalletrpc.New(fakewalletrpc.WithWallet(name, ""))
		_ = s.OpenWallet(name)
		servers = append(servers, s)
		c, err := walletrpc.New(s.URL(), otelmsig.WithTracing())
		if err != nil {
			panic(err)
		}
		ws = append(ws, otelmsig.Wallet{Role: role, ID: "wallet-" + name, Filename: name, Client: c})
	}
	return ws, func() {
		for _, s := range servers {
			s.Close()
		}
	}
}

// An application sets up tracing once at start-up; with
// ENABLE_INSTRUMENTATION=1 (here: WithEnabled) each escrow becomes a legacy
// JSON file in ESCROW_TRACE_DIR (here: WithTraceDir) and, when
// OTEL_TRACES_EXPORTER or an OTEL_EXPORTER_OTLP_ENDPOINT asks for it, a
// trace in the collector (here: WithoutEnvExporter, files only).
func ExampleSetup() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "escrow-traces")
	defer os.RemoveAll(dir)

	shutdown, err := otelsetup.Setup(ctx, otelsetup.WithEnabled(true), otelsetup.WithTraceDir(dir),
		otelsetup.WithoutEnvExporter())
	if err != nil {
		fmt.Println(err)
		return
	}
	wallets, stop := exampleWallets("setup-example") // clients use the global provider
	defer stop()
	if _, err := otelmsig.SetupMultisig(ctx, "setup-example", wallets); err != nil {
		fmt.Println(err)
	}
	if err := shutdown(ctx); err != nil { // writes the files
		fmt.Println(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// escrow_setup-example.json
}

// PlanSetup tells, without building anything, where traces will go.
func ExamplePlanSetup() {
	os.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	os.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	os.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
	defer func() {
		for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
			os.Unsetenv(k)
		}
	}()
	p, err := otelsetup.PlanSetup(context.Background(), otelsetup.WithEnabled(true), otelsetup.WithTraceDir("traces"),
		otelsetup.WithServiceName("escrow-api"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("files in:", p.TraceDir)
	fmt.Println("exporter:", p.Exporter, p.OTLPProtocol, p.OTLPEndpoint)
	fmt.Println("service:", p.ServiceName)
	// Output:
	// files in: traces
	// exporter: otlp grpc http://127.0.0.1:4317
	// service: escrow-api
}
