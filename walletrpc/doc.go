// Package walletrpc is a client for monero-wallet-rpc's JSON-RPC 2.0 endpoint
// (POST /json_rpc).
//
// It talks to a wallet-rpc deployment exactly as it is: plain HTTP on
// loopback, or HTTP digest authentication when wallet-rpc runs with
// --rpc-login. Every call takes a context first. JSON-RPC errors, which
// wallet-rpc sends with HTTP 200, come back as *Error; everything that went
// wrong below JSON-RPC (connection refused, timeouts, HTTP status codes,
// bodies that are not JSON or are too large) comes back as *TransportError.
// Both work with errors.As.
//
// A Client knows nothing about tracing. WithMiddleware wraps every call in
// functions that see the method, params, result, error and endpoint; the
// otelmsig package builds OpenTelemetry instrumentation on that hook. With no
// middleware a call goes straight to the HTTP round trip.
//
// One monero-wallet-rpc process has one open wallet and serves one request at
// a time. A Client does not hide that: after OpenWallet(B) every later call
// on that endpoint acts on B, whoever makes it.
package walletrpc
