package escrowjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/escrowtrace/escrowtrace/escrowconv"
)

// Legacy event types (event_type). The seven snapshot types are the
// escrowconv.Point* constants.
const (
	TypeRPCCallStart   = "RPC_CALL_START"
	TypeRPCCallEnd     = "RPC_CALL_END"
	TypeRPCCallError   = "RPC_CALL_ERROR"
	TypeErrorFinal     = "ERROR_FINAL"
	TypeCachePollution = "CACHE_POLLUTION_DETECTED"
	TypeStateChange    = "STATE_CHANGE"
	TypeFileOperation  = "FILE_OPERATION"
	TypeCustom         = "CUSTOM"
)

// Legacy roles.
const (
	RoleBuyer       = "buyer"
	RoleVendor      = "vendor"
	RoleArbiter     = "arbiter"
	RoleCoordinator = escrowconv.RoleCoordinator
)

// Event is one object of a legacy escrow file. The field order is the order
// the files have always had.
//
// Details holds, by EventType:
//   - RPC_CALL_START: *RPCCallStart
//   - RPC_CALL_END, RPC_CALL_ERROR: *RPCCallEnd
//   - SNAPSHOT_*: *Snapshot
//   - ERROR_FINAL: *ErrorFinal
//   - CACHE_POLLUTION_DETECTED: *CachePollution
//   - anything else (STATE_CHANGE, FILE_OPERATION, CUSTOM): map[string]any
type Event struct {
	TraceID   string `json:"trace_id"`
	Timestamp int64  `json:"timestamp"` // unix ms
	EventType string `json:"event_type"`
	Role      string `json:"role"`
	RPCPort   *int   `json:"rpc_port,omitempty"` // omitted, never null, when unknown
	Details   any    `json:"details"`
}

// RPCCallStart is the details object of RPC_CALL_START.
type RPCCallStart struct {
	Method    string `json:"method"`
	Timestamp int64  `json:"timestamp"` // unix ms, same as the event's
}

// RPCCallEnd is the details object of RPC_CALL_END and RPC_CALL_ERROR.
type RPCCallEnd struct {
	Method     string `json:"method"`
	DurationMs int64  `json:"duration_ms"`
	Success    bool   `json:"success"`
	Error      string `json:"error,omitempty"` // RPC_CALL_ERROR only
	Code       *int   `json:"code,omitempty"`  // JSON-RPC error code; absent for transport errors
}

// Snapshot is the details object of the SNAPSHOT_* events.
type Snapshot struct {
	Timestamp        int64     `json:"timestamp"` // unix ms when the snapshot was started
	WalletID         string    `json:"wallet_id"`
	Role             string    `json:"role"`
	IsMultisig       bool      `json:"is_multisig"`
	Balance          [2]uint64 `json:"balance"` // total, unlocked (atomic units)
	Address          string    `json:"address"`
	AddressHash      string    `json:"address_hash"` // lower-case hex SHA-256 of Address
	FilePerms        *string   `json:"file_perms"`   // null when no wallet path is known
	FileExists       bool      `json:"file_exists"`
	RPCPort          *int      `json:"rpc_port"`
	CollectionTimeMs int64     `json:"collection_time_ms"`
	OpenWalletsCount *int      `json:"open_wallets_count"`

	// Extra fields, welcome by the contract and ignored by old scripts.
	MultisigReady  *bool  `json:"multisig_ready,omitempty"`
	Threshold      *int   `json:"threshold,omitempty"`
	Total          *int   `json:"total,omitempty"`
	WalletFilename string `json:"wallet_filename,omitempty"`
	// RPCVersion is what the wallet's wallet-rpc answered to get_version
	// (major<<16|minor, 65561 = monero 0.18.0.0); absent when not known.
	RPCVersion *int `json:"rpc_version,omitempty"`
	// MixedWallets: the snapshot's reads may come from different wallets
	// (Error says why); absent when not.
	MixedWallets bool   `json:"mixed_wallets,omitempty"`
	Error        string `json:"error,omitempty"` // the snapshot could not be taken completely
	// Point is set only on CUSTOM events that carry a snapshot taken at a
	// point the legacy format does not name.
	Point string `json:"point,omitempty"`
}

// ErrorFinal is the details object of ERROR_FINAL.
type ErrorFinal struct {
	Error   string       `json:"error"`
	Context ErrorContext `json:"context"`
}

// ErrorContext says where an escrow setup failed.
type ErrorContext struct {
	Round     int    `json:"round"` // 0 before round 1
	Operation string `json:"operation"`
	WalletID  string `json:"wallet_id"`
	EscrowID  string `json:"escrow_id"`
	Timestamp string `json:"timestamp"` // RFC 3339
}

// CachePollution is the details object of CACHE_POLLUTION_DETECTED.
type CachePollution struct {
	Reason         string `json:"reason"`
	WalletID       string `json:"wallet_id,omitempty"`
	ExpectedWallet string `json:"expected_wallet,omitempty"`
	ActualWallet   string `json:"actual_wallet,omitempty"`
	Endpoint       string `json:"endpoint,omitempty"`
	OtherEscrowID  string `json:"other_escrow_id,omitempty"`

	// Extra fields of findings made across processes (the escrowtrace
	// collector): the service.instance.id of the process whose call opened
	// the other wallet, and "collector". Absent in a process's own findings.
	OtherServiceInstanceID string `json:"other_service_instance_id,omitempty"`
	DetectedBy             string `json:"detected_by,omitempty"`
}

// UnmarshalJSON decodes an event and its details into the type that matches
// its event_type.
func (ev *Event) UnmarshalJSON(data []byte) error {
	var aux struct {
		TraceID   string          `json:"trace_id"`
		Timestamp int64           `json:"timestamp"`
		EventType string          `json:"event_type"`
		Role      string          `json:"role"`
		RPCPort   *int            `json:"rpc_port"`
		Details   json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	var details any
	switch {
	case aux.EventType == TypeRPCCallStart:
		details = new(RPCCallStart)
	case aux.EventType == TypeRPCCallEnd || aux.EventType == TypeRPCCallError:
		details = new(RPCCallEnd)
	case isSnapshotType(aux.EventType):
		details = new(Snapshot)
	case aux.EventType == TypeErrorFinal:
		details = new(ErrorFinal)
	case aux.EventType == TypeCachePollution:
		details = new(CachePollution)
	default:
		details = &map[string]any{}
	}
	if len(aux.Details) > 0 && !bytes.Equal(aux.Details, []byte("null")) {
		if err := json.Unmarshal(aux.Details, details); err != nil {
			return fmt.Errorf("%s details: %w", aux.EventType, err)
		}
	}
	if m, ok := details.(*map[string]any); ok {
		details = *m
	}
	*ev = Event{
		TraceID:   aux.TraceID,
		Timestamp: aux.Timestamp,
		EventType: aux.EventType,
		Role:      aux.Role,
		RPCPort:   aux.RPCPort,
		Details:   details,
	}
	return nil
}

// Decode reads one legacy escrow file: a JSON array of events. It checks the
// JSON and the Go types, not the whole contract: use Validate for that.
func Decode(r io.Reader) ([]Event, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("escrowjson: read: %w", err)
	}
	var events []Event
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, fmt.Errorf("escrowjson: decode: %w", err)
	}
	if events == nil {
		if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			return nil, fmt.Errorf("escrowjson: decode: the file is null, not an array")
		}
		events = []Event{}
	}
	return events, nil
}

// Load reads and decodes the legacy escrow file at path.
func Load(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("escrowjson: %w", err)
	}
	defer f.Close()
	events, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return events, nil
}

func isSnapshotType(t string) bool {
	for _, p := range escrowconv.Points {
		if t == p {
			return true
		}
	}
	return false
}
