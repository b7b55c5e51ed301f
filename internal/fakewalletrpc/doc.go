// Package fakewalletrpc is an in-process stand-in for monero-wallet-rpc 0.18,
// for fast unit tests, fault injection and benchmarks.
//
// A Server listens on a loopback port (net/http/httptest) and answers
// JSON-RPC 2.0 on /json_rpc the way the real wallet-rpc does, as measured in
// the project's facts: one open wallet per process, requests served one at a
// time, a failed open leaving the previous wallet open, JSON-RPC errors sent
// with HTTP 200 and the same codes (-13 no wallet open, -1 failed to open,
// -21 wallet exists, -32601 unknown method, -32700 garbage or batch, ...),
// HTTP 404 with an empty body for an unknown path.
//
// The multisig key exchange is simulated, not computed: prepare_multisig,
// make_multisig and exchange_multisig_keys hand out strings that begin with
// "Multisig" like the real ones, check that a wallet gets the other
// participants' strings of the right round and group, and, after N-M+1
// exchange rounds, give every participant the same shared address. That is
// enough to drive an escrow setup and to catch mixed-up wallets; it is not
// cryptography.
//
// Every request is counted per method (Calls, TotalCalls, CallLog) so tests
// can prove that something did or did not reach the server, and Faults make
// chosen calls fail with a JSON-RPC error, an HTTP status, a malformed body,
// a delay, a hang or a dropped connection.
//
// The fake is never the only proof: every capability is also tested against
// real monero-wallet-rpc processes.
package fakewalletrpc
