// Package wallettest runs real monero-wallet-rpc processes for tests,
// benchmarks and demos, and makes wallets for them.
//
// Every process runs offline on testnet, bound to 127.0.0.1 on a free port,
// with its own temporary --wallet-dir, ring database and log file:
//
//	monero-wallet-rpc --offline --testnet --rpc-bind-ip 127.0.0.1 --rpc-bind-port P
//	    --wallet-dir D --non-interactive --rpc-ssl disabled --daemon-ssl disabled
//	    --shared-ringdb-dir D/ringdb --log-file D/wallet-rpc.log
//	    (--rpc-login user:pass | --disable-rpc-login)
//
// StartProcess returns once the process answers get_version and the port is
// verifiably held by that process (another program may grab a port between
// picking it and binding it; then a new port is tried). A process that dies
// while starting yields an error carrying the tail of its log.
//
// No process outlives its owner: each runs in its own process group, Stop
// sends SIGTERM to the group and SIGKILL after a bound, and the kernel sends
// SIGKILL to the process if the Go program that started it dies (Pdeathsig),
// so a test binary killed by a timeout takes its wallet-rpcs along. The test
// wrappers Start and StartDedicated register Stop with t.Cleanup.
//
// Wallets are made over RPC, as escrow servers make them: CreateWallets
// calls create_wallet, and Dedicated puts one new wallet, already open, on
// each of several processes, the layout of an escrow service with one
// wallet-rpc per role. On monero 0.18 such a wallet fails
// exchange_multisig_keys with -48 unless prepare_multisig switched multisig
// on (enable_multisig_experimental; otelmsig.SetupMultisig does). The old
// way, monero-wallet-cli with "set enable-multisig-experimental 1"
// (CreateMultisigWallet, Config.CLIWallets), stays for the tests that prove
// that path still works; it costs seconds of CPU per wallet and prints the
// new wallet's seed, which this package never lets reach logs, errors or
// test output.
//
// The core API takes a context and returns errors so that the escrowtrace
// demo and benchmarks can use it outside tests. The binaries come from the
// Debian package monero (apt-get install -y monero); CheckBinaries reports
// whether monero-wallet-rpc is on PATH. The package is Linux-only (process groups,
// Pdeathsig, /proc).
package wallettest
