package jsonfile

import (
	"io"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// The file format moved to package escrowjson, which links neither the SDK
// nor the Collector. These names stay so that code written against this
// package keeps compiling.

// Event is escrowjson.Event.
//
// Deprecated: use escrowjson.Event.
type Event = escrowjson.Event

// Details types.
//
// Deprecated: use the escrowjson types of the same names.
type (
	RPCCallStart   = escrowjson.RPCCallStart
	RPCCallEnd     = escrowjson.RPCCallEnd
	Snapshot       = escrowjson.Snapshot
	ErrorFinal     = escrowjson.ErrorFinal
	ErrorContext   = escrowjson.ErrorContext
	CachePollution = escrowjson.CachePollution
)

// Event types and roles.
//
// Deprecated: use the escrowjson constants of the same names.
const (
	TypeRPCCallStart   = escrowjson.TypeRPCCallStart
	TypeRPCCallEnd     = escrowjson.TypeRPCCallEnd
	TypeRPCCallError   = escrowjson.TypeRPCCallError
	TypeErrorFinal     = escrowjson.TypeErrorFinal
	TypeCachePollution = escrowjson.TypeCachePollution
	TypeStateChange    = escrowjson.TypeStateChange
	TypeFileOperation  = escrowjson.TypeFileOperation
	TypeCustom         = escrowjson.TypeCustom

	RoleBuyer       = escrowjson.RoleBuyer
	RoleVendor      = escrowjson.RoleVendor
	RoleArbiter     = escrowjson.RoleArbiter
	RoleCoordinator = escrowjson.RoleCoordinator
)

// Decode is escrowjson.Decode.
//
// Deprecated: use escrowjson.Decode.
func Decode(r io.Reader) ([]Event, error) { return escrowjson.Decode(r) }

// Load is escrowjson.Load.
//
// Deprecated: use escrowjson.Load.
func Load(path string) ([]Event, error) { return escrowjson.Load(path) }

// Validate is escrowjson.Validate.
//
// Deprecated: use escrowjson.Validate.
func Validate(data []byte) error { return escrowjson.Validate(data) }

// FileName is escrowjson.FileName.
//
// Deprecated: use escrowjson.FileName.
func FileName(escrowID string, failed bool) string { return escrowjson.FileName(escrowID, failed) }

// PartialFileName is escrowjson.PartialFileName.
//
// Deprecated: use escrowjson.PartialFileName.
func PartialFileName(escrowID string) string { return escrowjson.PartialFileName(escrowID) }
