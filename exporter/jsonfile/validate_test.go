package jsonfile_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// goldenEvents returns the golden successful file as generic JSON, for
// mutation.
func goldenEvents(t *testing.T, failed bool) []map[string]any {
	t.Helper()
	s := goldenOK
	if failed {
		s = goldenFail
	}
	data, err := os.ReadFile(filepath.Join("testdata", escrowjson.FileName(s.escrowID, failed)))
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

func details(ev map[string]any) map[string]any { return ev["details"].(map[string]any) }

func TestValidate(t *testing.T) {
	for _, failed := range []bool{false, true} {
		evs := goldenEvents(t, failed)
		data, _ := json.Marshal(evs)
		if err := escrowjson.Validate(data); err != nil {
			t.Fatalf("the golden file (re-encoded compact) is invalid: %v", err)
		}
	}
	for _, ok := range []string{"[]", " [ ]\n", "[]\n"} {
		if err := escrowjson.Validate([]byte(ok)); err != nil {
			t.Errorf("Validate(%q) = %v", ok, err)
		}
	}

	// Each case breaks one rule of the contract; the error must name the
	// event and the field.
	cases := []struct {
		name   string
		failed bool
		mutate func(evs []map[string]any) []map[string]any
		want   string
	}{
		{"rpc_port null", false, func(e []map[string]any) []map[string]any { e[3]["rpc_port"] = nil; return e },
			"event 3 (RPC_CALL_START): rpc_port: null"},
		{"rpc_port string", false, func(e []map[string]any) []map[string]any { e[3]["rpc_port"] = "18083"; return e },
			`event 3 (RPC_CALL_START): rpc_port: want an integer, got string "18083"`},
		{"rpc_port float", false, func(e []map[string]any) []map[string]any { e[3]["rpc_port"] = 18083.5; return e },
			"event 3 (RPC_CALL_START): rpc_port: want an integer, got 18083.5"},
		{"rpc_port range", false, func(e []map[string]any) []map[string]any { e[3]["rpc_port"] = 70000; return e },
			"event 3 (RPC_CALL_START): rpc_port: 70000 is not a TCP port"},
		{"details null", false, func(e []map[string]any) []map[string]any { e[4]["details"] = nil; return e },
			"event 4 (RPC_CALL_END): details: want an object, got null"},
		{"details missing", false, func(e []map[string]any) []map[string]any { delete(e[4], "details"); return e },
			"event 4 (RPC_CALL_END): details: missing"},
		{"trace_id differs", false, func(e []map[string]any) []map[string]any { e[7]["trace_id"] = "other-1"; return e },
			`event 7 (RPC_CALL_START): trace_id: "other-1" differs`},
		{"timestamp order", false, func(e []map[string]any) []map[string]any { e[10]["timestamp"] = 1; return e },
			"event 10 (RPC_CALL_END): timestamp: 1 is before the previous event's"},
		{"timestamp string", false, func(e []map[string]any) []map[string]any { e[2]["timestamp"] = "1"; return e },
			"event 2 (SNAPSHOT_PRE_ROUND1): timestamp: want an integer"},
		{"unknown type", false, func(e []map[string]any) []map[string]any { e[0]["event_type"] = "SNAPSHOT_X"; return e },
			`event 0 (SNAPSHOT_X): event_type: unknown event type "SNAPSHOT_X"`},
		{"role", false, func(e []map[string]any) []map[string]any { e[3]["role"] = "Buyer"; return e },
			`event 3 (RPC_CALL_START): role: "Buyer" is not buyer`},
		{"role missing", false, func(e []map[string]any) []map[string]any { delete(e[3], "role"); return e },
			"event 3 (RPC_CALL_START): role: missing"},
		{"balance one value", false, func(e []map[string]any) []map[string]any { details(e[0])["balance"] = []int{1}; return e },
			"event 0 (SNAPSHOT_PRE_ROUND1): details.balance: want 2 integers"},
		{"balance string", false, func(e []map[string]any) []map[string]any { details(e[0])["balance"] = []any{1, "5"}; return e },
			`event 0 (SNAPSHOT_PRE_ROUND1): details.balance[1]: want a non-negative integer, got string "5"`},
		{"balance negative", false, func(e []map[string]any) []map[string]any { details(e[0])["balance"] = []any{-1, 0}; return e },
			"details.balance[0]: want a non-negative integer, got -1"},
		{"balance object", false, func(e []map[string]any) []map[string]any {
			details(e[0])["balance"] = map[string]int{"total": 1}
			return e
		}, "details.balance: want an array of 2 integers, got object"},
		{"address_hash upper", false, func(e []map[string]any) []map[string]any {
			d := details(e[0])
			d["address_hash"] = strings.ToUpper(d["address_hash"].(string))
			return e
		}, "details.address_hash: "},
		{"address_hash mismatch", false, func(e []map[string]any) []map[string]any {
			details(e[0])["address_hash"] = strings.Repeat("0", 64)
			return e
		}, "details.address_hash: is not the SHA-256 of the address"},
		{"file_perms number", false, func(e []map[string]any) []map[string]any { details(e[1])["file_perms"] = 600; return e },
			"event 1 (SNAPSHOT_PRE_ROUND1): details.file_perms: want a string or null, got number"},
		{"file_perms format", false, func(e []map[string]any) []map[string]any { details(e[1])["file_perms"] = "rw-r--r--"; return e },
			`details.file_perms: "rw-r--r--" is not owner bits`},
		{"file_exists without path", false, func(e []map[string]any) []map[string]any { details(e[1])["file_perms"] = nil; return e },
			"details.file_exists: true while file_perms is null"},
		{"open_wallets_count missing", false, func(e []map[string]any) []map[string]any {
			delete(details(e[1]), "open_wallets_count")
			return e
		}, "details.open_wallets_count: missing"},
		{"snapshot rpc_port string", false, func(e []map[string]any) []map[string]any { details(e[1])["rpc_port"] = "x"; return e },
			"details.rpc_port: want an integer"},
		{"is_multisig string", false, func(e []map[string]any) []map[string]any { details(e[1])["is_multisig"] = "false"; return e },
			`details.is_multisig: want true or false, got string "false"`},
		{"snapshot role", false, func(e []map[string]any) []map[string]any { details(e[1])["role"] = "arbiter"; return e },
			`details.role: "arbiter" differs from the event's role "vendor"`},
		{"start timestamp", false, func(e []map[string]any) []map[string]any { details(e[3])["timestamp"] = 5; return e },
			"event 3 (RPC_CALL_START): details.timestamp: 5 differs"},
		{"success wrong", false, func(e []map[string]any) []map[string]any { details(e[4])["success"] = false; return e },
			"event 4 (RPC_CALL_END): details.success: false in a RPC_CALL_END event"},
		{"duration float", false, func(e []map[string]any) []map[string]any { details(e[4])["duration_ms"] = 1.5; return e },
			"event 4 (RPC_CALL_END): details.duration_ms: want an integer, got 1.5"},
		{"end before start", false, func(e []map[string]any) []map[string]any { e[3], e[4] = e[4], e[3]; return e },
			"event 3 (RPC_CALL_END): RPC_CALL_END of \"prepare_multisig\" (role buyer) with no RPC_CALL_START before it"},
		{"code string", true, func(e []map[string]any) []map[string]any {
			for _, ev := range e {
				if ev["event_type"] == escrowjson.TypeRPCCallError {
					details(ev)["code"] = "-48"
				}
			}
			return e
		}, `(RPC_CALL_ERROR): details.code: want an integer, got string "-48"`},
		{"error context timestamp", true, func(e []map[string]any) []map[string]any {
			details(e[len(e)-1])["context"].(map[string]any)["timestamp"] = "yesterday"
			return e
		}, `(ERROR_FINAL): details.context.timestamp: "yesterday" is not RFC 3339`},
		{"error context round", true, func(e []map[string]any) []map[string]any {
			delete(details(e[len(e)-1])["context"].(map[string]any), "round")
			return e
		}, `(ERROR_FINAL): details.context.round: missing`},
		{"pollution reason", false, func(e []map[string]any) []map[string]any {
			e[0]["event_type"] = escrowjson.TypeCachePollution
			return e
		}, "event 0 (CACHE_POLLUTION_DETECTED): details.reason: missing"},
		{"event not an object", false, func(e []map[string]any) []map[string]any { e[5] = nil; return e },
			"event 5: want an object, got null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := json.Marshal(c.mutate(goldenEvents(t, c.failed)))
			if err != nil {
				t.Fatal(err)
			}
			err = escrowjson.Validate(data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate = %v\nwant an error containing %q", err, c.want)
			}
		})
	}

	raw := []struct{ data, want string }{
		{`{"a":1}`, "one JSON array of events, got object"},
		{`null`, "got null"},
		{``, "got nothing"},
		{`[{"trace_id":"a"}`, "not JSON"},
		{`[] []`, "not JSON"},
		{"[\"\xff\"]", "not valid UTF-8"},
		{`[{"trace_id":"a","trace_id":"a","timestamp":1,"event_type":"CUSTOM","role":"buyer","details":{}}]`, "event 0: trace_id: appears twice"},
		{`[{"trace_id":"a","timestamp":1,"event_type":"CUSTOM","role":"buyer","details":[]}]`, "event 0 (CUSTOM): details: want an object, got array"},
	}
	for _, c := range raw {
		if err := escrowjson.Validate([]byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%q) = %v, want %q", c.data, err, c.want)
		}
	}
	// Free-form types take any details object; extra fields are allowed.
	ok := `[{"trace_id":"a","timestamp":1,"event_type":"STATE_CHANGE","role":"coordinator","details":{"x":[1]},"extra":true}]`
	if err := escrowjson.Validate([]byte(ok)); err != nil {
		t.Errorf("Validate(%s) = %v", ok, err)
	}
	// Many problems: the list is bounded.
	evs := goldenEvents(t, false)
	for _, e := range evs {
		e["role"] = "nobody"
	}
	data, _ := json.Marshal(evs)
	err := escrowjson.Validate(data)
	if err == nil || !strings.Contains(err.Error(), "more problems") || strings.Count(err.Error(), "\n") > 25 {
		t.Errorf("Validate with 45+ problems = %v", err)
	}
}
