package escrowconv

import (
	"strconv"

	"go.opentelemetry.io/otel/attribute"
)

// Instrumentation scope name used by otelmsig's tracers.
const ScopeName = "github.com/escrowtrace/escrowtrace/otelmsig"

// Span names. RPC client spans are named by the JSON-RPC method; round,
// wallet step and snapshot spans by the functions below (low cardinality:
// a round number, a role, a method or a point).
const (
	SpanEscrow = "escrow.setup"
	// SpanRound is the prefix of round span names: RoundSpanName(2) is
	// "multisig.round 2". Readers find round spans by the Round attribute
	// on a span without WalletStep (wallet step spans carry Round too).
	SpanRound = "multisig.round"
)

// RoundSpanName is the name of the span of key-exchange round n:
// "multisig.round 2". Numbered, so that Jaeger's statistics and compare
// views keep the rounds apart.
func RoundSpanName(n int) string { return SpanRound + " " + strconv.Itoa(n) }

// StepSpanName is the name of the INTERNAL span of one wallet's step in a
// round: "buyer make_multisig" (role, then the step's wallet RPC method).
func StepSpanName(role, method string) string { return role + " " + method }

// SnapshotSpanName is the name of the INTERNAL span of one wallet's
// snapshot: "buyer SNAPSHOT_PRE_ROUND1" (role, then the point).
func SnapshotSpanName(role, point string) string { return role + " " + point }

// Attribute keys on the escrow root span (and, for EscrowID, on every span
// of the escrow, so a single span can be found by escrow in Jaeger).
const (
	// EscrowID is the application's escrow id, normally a UUID.
	EscrowID = attribute.Key("escrow.id")
	// EscrowTraceID is the legacy correlation id, "<escrow id>-<unix ms at start>".
	EscrowTraceID = attribute.Key("escrow.trace_id")
	// EscrowThreshold is M of M-of-N.
	EscrowThreshold = attribute.Key("escrow.threshold")
	// EscrowParticipants is N of M-of-N.
	EscrowParticipants = attribute.Key("escrow.participants")
	// EscrowAddress is the shared multisig address, set on success.
	EscrowAddress = attribute.Key("escrow.multisig_address")
	// EscrowRounds is how many key-exchange rounds ran (make_multisig is
	// round 1), as wallet-rpc decided: 3 for a 2-of-3 on 0.18, 2 on 0.17.3.
	// Set by SetupMultisig when it ends, also on failure.
	EscrowRounds = attribute.Key("escrow.rounds")
	// EscrowRPCVersion is the wallet-rpc RPC version (get_version's
	// version, major<<16|minor, e.g. 65561 = 1.25 = monero 0.18.0.0) that
	// all participants answered.
	EscrowRPCVersion = attribute.Key("escrow.wallet_rpc_version")

	// The outcome, set on the root when the escrow ends, so that Jaeger's
	// search results and tag search filter on it (escrow.result=failed).

	// EscrowResult is ResultOK or ResultFailed.
	EscrowResult = attribute.Key("escrow.result")
	// EscrowRoundsCompleted is how many rounds ended without error (an
	// int; 0 when round 1 failed or never started).
	EscrowRoundsCompleted = attribute.Key("escrow.rounds_completed")
	// EscrowPollutionCount is how many cache_pollution events the escrow
	// recorded (an int, 0 when none).
	EscrowPollutionCount = attribute.Key("escrow.pollution_count")
	// EscrowAddressHash is the lower-case hex SHA-256 of the shared
	// multisig address (as WalletAddressHash), set with EscrowAddress.
	EscrowAddressHash = attribute.Key("escrow.multisig_address_hash")
)

// Values of EscrowResult.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
)

// Attribute keys on round spans.
const (
	// Round is the key-exchange round number, from 1.
	Round = attribute.Key("multisig.round")
	// RoundMethod is the main wallet RPC method of the round
	// (make_multisig, exchange_multisig_keys).
	RoundMethod = attribute.Key("multisig.round.method")
)

// WalletStep is the wallet RPC method of a wallet step span
// (prepare_multisig, make_multisig, exchange_multisig_keys); the span also
// carries WalletRole, WalletID and Round.
const WalletStep = attribute.Key("wallet.step")

// Attribute keys that say which wallet a span or event is about.
const (
	// WalletRole is buyer, vendor, arbiter (lower case), or coordinator.
	WalletRole = attribute.Key("wallet.role")
	// WalletID is the application's id for the wallet.
	WalletID = attribute.Key("wallet.id")
	// WalletFilename is the wallet file name as given to open_wallet. On
	// snapshot events it is the wallet read; on wallet RPC CLIENT spans it
	// is the wallet the call opens (open_wallet, create_wallet,
	// restore_deterministic_wallet, generate_from_keys) or, for any other
	// call made for an escrow's wallet but get_version (which touches no
	// wallet), the wallet the call is meant for.
	// A detector that orders an endpoint's calls (the escrowtrace
	// collector) reads it to tell which wallet each call met.
	WalletFilename = attribute.Key("wallet.filename")
	// WalletRPCPort is the wallet-rpc port on snapshot and pollution events
	// (RPC spans carry semconv server.port instead).
	WalletRPCPort = attribute.Key("wallet.rpc_port")
	// WalletRPCVersion is the RPC version the wallet's wallet-rpc answered
	// to get_version (an int, major<<16|minor: 65560 = 1.24 = monero
	// 0.17.3, 65561 = 1.25 = 0.18.0.0 to 0.18.1.1, 65562 = 1.26 = 0.18.1.2
	// to 0.18.2), on the escrow's RPC spans and snapshot events once known.
	WalletRPCVersion = attribute.Key("wallet.rpc_version")
)

// RoleCoordinator is the legacy role of events that belong to no single wallet.
const RoleCoordinator = "coordinator"

// AttrSnapshotCall marks an RPC span the instrumentation made for itself:
// the reads of a snapshot and SetupMultisig's get_version check. They are
// not events of the legacy file.
const AttrSnapshotCall = attribute.Key("escrow.snapshot_call")

// Snapshot events: one span event named EventSnapshot per wallet per point.
const (
	EventSnapshot = "wallet.snapshot"

	// SnapshotPoint is the legacy point name, one of the Point* constants.
	// It is on the event and on the snapshot span.
	SnapshotPoint = attribute.Key("snapshot.point")
	// SnapshotTimeMs is the unix time in ms at which the snapshot started
	// (its collection start, the legacy timestamp; the snapshot span starts
	// then too). The event itself is stamped when the values were read.
	SnapshotTimeMs = attribute.Key("snapshot.timestamp_ms")
	// SnapshotDurationMs is how long the snapshot took (legacy collection_time_ms).
	SnapshotDurationMs = attribute.Key("snapshot.collection_time_ms")
	// SnapshotError is set when a snapshot could not be taken completely;
	// the fields that could be read are still there.
	SnapshotError = attribute.Key("snapshot.error")
	// SnapshotMixedWallets (bool, set only when true) says the snapshot's
	// reads may have come from different wallets: the address changed
	// between two get_address reads, or this process sent an open_wallet
	// to the endpoint between the first and the last read. SnapshotError
	// says which.
	SnapshotMixedWallets = attribute.Key("snapshot.mixed_wallets")

	WalletIsMultisig      = attribute.Key("wallet.is_multisig")
	WalletMultisigReady   = attribute.Key("wallet.multisig_ready")
	WalletThreshold       = attribute.Key("wallet.threshold")
	WalletTotal           = attribute.Key("wallet.total")
	WalletBalance         = attribute.Key("wallet.balance")          // atomic units
	WalletUnlockedBalance = attribute.Key("wallet.unlocked_balance") // atomic units
	WalletAddress         = attribute.Key("wallet.address")
	WalletAddressHash     = attribute.Key("wallet.address_hash") // lower-case hex SHA-256
	WalletFileExists      = attribute.Key("wallet.file.exists")
	WalletFilePerms       = attribute.Key("wallet.file.perms") // owner bits, "rw-"; absent when no path is known
	WalletOpenCount       = attribute.Key("wallet.open_wallets_count")
)

// The seven legacy snapshot points, in order.
const (
	PointPreRound1          = "SNAPSHOT_PRE_ROUND1"
	PointPostMakeMultisig   = "SNAPSHOT_POST_MAKE_MULTISIG"
	PointPreRound2          = "SNAPSHOT_PRE_ROUND2"
	PointPostExportMultisig = "SNAPSHOT_POST_EXPORT_MULTISIG"
	PointPreRound3          = "SNAPSHOT_PRE_ROUND3"
	PointPostImportMultisig = "SNAPSHOT_POST_IMPORT_MULTISIG"
	PointFinal              = "SNAPSHOT_FINAL"
)

// Points lists the snapshot points in the order a 2-of-3 setup takes them.
var Points = []string{
	PointPreRound1, PointPostMakeMultisig, PointPreRound2, PointPostExportMultisig,
	PointPreRound3, PointPostImportMultisig, PointFinal,
}

// Error events: when a step fails, the span that failed and the escrow root
// get RecordError (an "exception" event) and status Error, and the root gets
// one EventError with the context the legacy ERROR_FINAL event needs.
const (
	EventError = "escrow.error"

	ErrorMessage   = attribute.Key("error.message")
	ErrorRound     = attribute.Key("error.round")     // int, 0 when before round 1
	ErrorOperation = attribute.Key("error.operation") // the method or step
	// ErrorWalletID and ErrorEscrowID use WalletID and EscrowID.
	// The error time is the event's time.
)

// Cache pollution events: a wallet found in a state it should not be in.
const (
	EventCachePollution = "cache_pollution"

	PollutionReason         = attribute.Key("pollution.reason")
	PollutionExpectedWallet = attribute.Key("pollution.expected_wallet")
	PollutionActualWallet   = attribute.Key("pollution.actual_wallet")
	PollutionEndpoint       = attribute.Key("pollution.endpoint") // host:port
	PollutionOtherEscrowID  = attribute.Key("pollution.other_escrow_id")
	// PollutionOtherServiceInstanceID is the service.instance.id of the
	// process whose call opened the other wallet, when a detector that
	// sees several processes (the escrowtrace collector) found it.
	PollutionOtherServiceInstanceID = attribute.Key("pollution.other_service_instance_id")
	// PollutionDetectedBy names the detector when it is not the process
	// that made the call: DetectedByCollector. Absent for the process's
	// own findings, so that their legacy files stay as they were.
	PollutionDetectedBy = attribute.Key("pollution.detected_by")
	// The role and wallet id of the wallet concerned use WalletRole and WalletID.

	// CachePollution (bool, set only when true) marks the span where
	// pollution was met, for tag search (escrow.cache_pollution=true). The
	// span also gets status Error (so Jaeger draws it red) and, when the
	// span that opened the wrong wallet is known, a link to it.
	CachePollution = attribute.Key("escrow.cache_pollution")
)

// DetectedByCollector is the PollutionDetectedBy value of findings made in
// the escrowtrace collector, across processes.
const DetectedByCollector = "collector"

// Pollution reasons.
const (
	ReasonWrongWalletOpen  = "wrong_wallet_open"  // another wallet is open on the endpoint
	ReasonMultisigTooEarly = "multisig_too_early" // already multisig at SNAPSHOT_PRE_ROUND1
	ReasonDuplicateAddress = "duplicate_address"  // two roles show the same address before round 1
)
