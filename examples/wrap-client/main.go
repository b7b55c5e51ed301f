// Command wrap-client adds OpenTelemetry tracing to an existing walletrpc
// client with one option, makes a few wallet-rpc calls and prints the spans
// they produced.
//
//	go run ./examples/wrap-client                          # starts its own wallet-rpc
//	go run ./examples/wrap-client --rpc http://127.0.0.1:18083
//
// With --rpc it only reads (get_version, get_address, is_multisig,
// get_balance). Set WALLET_RPC_LOGIN=user:pass when your wallet-rpc runs with
// --rpc-login.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/escrowtrace/escrowtrace/otelmsig"
	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "wrap-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("wrap-client", flag.ContinueOnError)
	rpcURL := fs.String("rpc", "", "your monero-wallet-rpc, e.g. http://127.0.0.1:18083 (default: start one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	url, own := *rpcURL, *rpcURL == ""
	var opts []walletrpc.Option
	if login := os.Getenv("WALLET_RPC_LOGIN"); login != "" {
		user, pass, _ := strings.Cut(login, ":")
		opts = append(opts, walletrpc.WithDigestAuth(user, pass))
	}
	if own {
		p, err := wallettest.StartProcess(ctx, wallettest.Config{})
		if err != nil {
			return err
		}
		defer p.Stop()
		url, opts = p.URL, nil
		fmt.Fprintf(stdout, "started monero-wallet-rpc on %s\n\n", url)
	}

	// In an application, otelsetup.Setup installs the TracerProvider
	// (legacy JSON files, OTLP) and WithTracing uses it. Here the spans go
	// to a recorder so that we can print them.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	// The client you already have, plus one option: every call is a CLIENT
	// span named after the method, with semconv RPC attributes and errors.
	client, err := walletrpc.New(url, append(opts, otelmsig.WithTracing(otelmsig.WithTracerProvider(tp)))...)
	if err != nil {
		return err
	}
	// Optional: say which wallet the calls are for (wallet.role, wallet.id).
	ctx = otelmsig.ContextWithWallet(ctx, otelmsig.Wallet{Role: "buyer", ID: "wallet-42"})

	if _, err := client.GetVersion(ctx); err != nil {
		return err
	}
	if own {
		if err := client.CreateWallet(ctx, walletrpc.CreateWalletParams{Filename: "wrap-client"}); err != nil {
			return err
		}
	}
	// Read-only calls: on your wallet-rpc they may fail (no wallet open:
	// -13); the failure is on the span, and this example goes on.
	var errs []error
	if _, err := client.GetAddress(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := client.IsMultisig(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := client.GetBalance(ctx); err != nil {
		errs = append(errs, err)
	}
	if own {
		if err := errors.Join(errs...); err != nil {
			return err
		}
		// A call that fails on purpose, to show an error span.
		if err := client.OpenWallet(ctx, walletrpc.OpenWalletParams{Filename: "no-such-wallet"}); err == nil {
			return errors.New("open_wallet of a missing wallet succeeded")
		}
	}

	printSpans(stdout, rec.Ended())
	return nil
}

// printSpans writes one block per span: name, kind, duration, status,
// attributes and events.
func printSpans(w io.Writer, spans []sdktrace.ReadOnlySpan) {
	fmt.Fprintf(w, "%d spans:\n", len(spans))
	for _, s := range spans {
		status := s.Status().Code.String()
		if d := s.Status().Description; d != "" {
			status += " " + d
		}
		fmt.Fprintf(w, "\n%s  %s  %v  %s\n", s.Name(), s.SpanKind(), s.EndTime().Sub(s.StartTime()).Round(time.Microsecond), status)
		fmt.Fprintf(w, "    %s\n", attrs(s.Attributes()))
		for _, ev := range s.Events() {
			fmt.Fprintf(w, "    event %s: %s\n", ev.Name, attrs(ev.Attributes))
		}
	}
}

func attrs(kvs []attribute.KeyValue) string {
	parts := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
