package escrowjson_test

import (
	"fmt"
	"strings"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// FileName tells where an escrow's file is (or will be) written.
func ExampleFileName() {
	fmt.Println(escrowjson.FileName("7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70", false))
	fmt.Println(escrowjson.FileName("7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70", true))
	fmt.Println(escrowjson.FileName("../etc/passwd", false))
	// Output:
	// escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70.json
	// escrow_7f3c2a9e-4b1d-4e8a-9c0f-2d6b5a1e3f70_FAILED.json
	// escrow_.._etc_passwd_7fef78f53440346c.json
}

// Validate is the schema check other packages' tests run on the files.
func ExampleValidate() {
	err := escrowjson.Validate([]byte(`[{"trace_id": "e-1", "timestamp": 1, "event_type": "RPC_CALL_START",
		"role": "buyer", "rpc_port": null, "details": {"method": "prepare_multisig", "timestamp": 1}}]`))
	fmt.Println(err)
	// Output:
	// escrowjson: invalid escrow file: event 0 (RPC_CALL_START): rpc_port: null: omit the field when the port is unknown
}

// Decode reads a file into typed events; Encode writes them back, byte for
// byte as the exporters do.
func ExampleDecode() {
	events, err := escrowjson.Decode(strings.NewReader(`[{"trace_id": "e-1-1773500966535", "timestamp": 1773500966535,
		"event_type": "RPC_CALL_START", "role": "buyer", "rpc_port": 18083,
		"details": {"method": "prepare_multisig", "timestamp": 1773500966535}}]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	call := events[0].Details.(*escrowjson.RPCCallStart)
	fmt.Println(events[0].EventType, events[0].Role, *events[0].RPCPort, call.Method)
	data, _ := escrowjson.Encode(events)
	fmt.Print(string(data))
	// Output:
	// RPC_CALL_START buyer 18083 prepare_multisig
	// [
	//   {
	//     "trace_id": "e-1-1773500966535",
	//     "timestamp": 1773500966535,
	//     "event_type": "RPC_CALL_START",
	//     "role": "buyer",
	//     "rpc_port": 18083,
	//     "details": {
	//       "method": "prepare_multisig",
	//       "timestamp": 1773500966535
	//     }
	//   }
	// ]
}
