package walletrpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc"
)

// exampleWalletRPC stands in for a monero-wallet-rpc process: it answers a
// few methods with replies shaped like wallet-rpc 0.18's, and -13 "No
// wallet file" for the rest.
func exampleWalletRPC() *httptest.Server {
	replies := map[string]string{
		"get_version": `{"release":false,"version":65561}`,
		"is_multisig": `{"multisig":true,"ready":true,"threshold":2,"total":3}`,
		"get_height":  `{"height":1}`,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		for method, result := range replies {
			if strings.Contains(string(body), `"method":"`+method+`"`) {
				fmt.Fprintf(w, `{"id":"0","jsonrpc":"2.0","result":%s}`, result)
				return
			}
		}
		fmt.Fprint(w, `{"error":{"code":-13,"message":"No wallet file"},"id":"0","jsonrpc":"2.0"}`)
	}))
}

func ExampleNew() {
	srv := exampleWalletRPC() // a monero-wallet-rpc, e.g. http://127.0.0.1:18083
	defer srv.Close()

	c, err := walletrpc.New(srv.URL, walletrpc.WithTimeout(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.GetVersion(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wallet-rpc RPC version %d.%d\n", v.Version>>16, v.Version&0xffff)
	// Output: wallet-rpc RPC version 1.25
}

// Credentials in the URL are used for digest auth and never kept in the
// URL the client reports.
func ExampleNew_credentials() {
	c, err := walletrpc.New("http://alice:s3cret@127.0.0.1:18083")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Endpoint().URL)
	fmt.Println(c.Endpoint())

	_, err = walletrpc.New("http://alice:s3cret@127.0.0.1:99999")
	fmt.Println(err)
	// Output:
	// http://127.0.0.1:18083/json_rpc
	// 127.0.0.1:18083
	// walletrpc: invalid URL "http://127.0.0.1:99999": port "99999" out of range 1-65535
}

func ExampleClient_IsMultisig() {
	srv := exampleWalletRPC()
	defer srv.Close()
	c, err := walletrpc.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}

	m, err := c.IsMultisig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("multisig=%t ready=%t %d-of-%d\n", m.Multisig, m.Ready, m.Threshold, m.Total)
	// Output: multisig=true ready=true 2-of-3
}

// A middleware sees every call: its method, params, result, error and
// endpoint. It must not log params or results: they hold passwords and
// multisig key material.
func ExampleWithMiddleware() {
	srv := exampleWalletRPC()
	defer srv.Close()

	logCalls := func(next walletrpc.Invoker) walletrpc.Invoker {
		return func(ctx context.Context, req *walletrpc.Request) error {
			err := next(ctx, req)
			if code, ok := walletrpc.ErrorCode(err); ok {
				fmt.Printf("%s: json-rpc error %d\n", req.Method, code)
			} else if err != nil {
				fmt.Printf("%s: %v\n", req.Method, err)
			} else {
				fmt.Printf("%s: ok\n", req.Method)
			}
			return err
		}
	}
	c, err := walletrpc.New(srv.URL, walletrpc.WithMiddleware(logCalls))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, _ = c.IsMultisig(ctx)
	_, _ = c.PrepareMultisig(ctx, walletrpc.PrepareMultisigParams{EnableMultisigExperimental: true})
	// Output:
	// is_multisig: ok
	// prepare_multisig: json-rpc error -13
}

// JSON-RPC errors come with HTTP 200 and are *Error; ErrorCode reads their
// code through any wrapping.
func ExampleErrorCode() {
	srv := exampleWalletRPC()
	defer srv.Close()
	c, err := walletrpc.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}

	err = c.Store(context.Background())
	if code, ok := walletrpc.ErrorCode(err); ok && code == walletrpc.CodeNotOpen {
		fmt.Println("no wallet is open:", err)
	}
	// Output: no wallet is open: walletrpc: json-rpc error -13: No wallet file
}

// Everything below JSON-RPC is a *TransportError, classified by Kind.
func ExampleTransportError() {
	srv := exampleWalletRPC()
	c, err := walletrpc.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	srv.Close() // wallet-rpc is gone

	_, err = c.GetHeight(context.Background())
	var te *walletrpc.TransportError
	if errors.As(err, &te) {
		fmt.Println(te.Kind, te.Method)
	}
	// Output: connect get_height
}
