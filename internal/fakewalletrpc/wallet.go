package fakewalletrpc

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Prefixes of the simulated multisig strings, as real ones begin: 0.18
// (multisig_kex_msg v2) "MultisigxV2R1" for prepare_multisig and
// "MultisigxV2Rn" for every later round; 0.17.3 "MultisigV1" and
// "MultisigxV1". The rest is base58, as in real ones.
const (
	prepareInfoPrefixV2 = "MultisigxV2R1"
	kexInfoPrefixV2     = "MultisigxV2Rn"
	prepareInfoPrefixV1 = "MultisigV1"
	kexInfoPrefixV1     = "MultisigxV1"
)

func (r Release) prefixes() (prepare, kex string) {
	if r == Release0_17_3 {
		return prepareInfoPrefixV1, kexInfoPrefixV1
	}
	return prepareInfoPrefixV2, kexInfoPrefixV2
}

const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

type wallet struct {
	name, password, seed string
	address              string
	balance, unlocked    uint64
	attrs                map[string]string

	// enable-multisig-experimental (0.18): msigEnabled is the wallet's
	// setting while it is open, msigSaved what its keys file says.
	// prepare_multisig's flag sets only the first; make_multisig writes
	// the keys file; closing the wallet (or switching to another) forgets
	// what was not written, as 0.18.0.0 was measured to do.
	msigEnabled, msigSaved bool
	multisig, ready        bool
	threshold, total       uint32
	group                  string // identifies the participant set, from make_multisig
	nextRound              int    // kex round whose infos exchange_multisig_keys expects
	lastRound              int
	sharedAddr             string
}

func newWallet(name, password, seed string) *wallet {
	return &wallet{
		name:     name,
		password: password,
		seed:     seed,
		address:  "9" + b58(hashHex(seed, "address"), 94),
		attrs:    map[string]string{},
	}
}

// b58 spells the hex string h as n base58 characters (not an encoding,
// just something that looks like Monero's strings).
func b58(h string, n int) string {
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		if i == len(h) {
			h, i = hashHex(h), 0
		}
		sb.WriteByte(base58[(int(h[i])*7+i)%len(base58)])
	}
	return sb.String()
}

// currentAddress is what get_address shows, as measured on 0.18.0.0: the
// wallet's own address until make_multisig, the group's placeholder until
// the first exchange_multisig_keys, then the shared address (although that
// exchange returns address "").
func (w *wallet) currentAddress() string {
	switch {
	case w.ready, w.multisig && w.nextRound > 2:
		return w.sharedAddress()
	case w.multisig:
		return w.placeholder()
	}
	return w.address
}

// placeholder is the address of a multisig wallet before the key exchange
// has gone further than make_multisig (see PlaceholderPrefix).
func (w *wallet) placeholder() string {
	return PlaceholderPrefix + b58(hashHex(w.group, "common view key"), 95-len(PlaceholderPrefix))
}

func (w *wallet) prepareInfo(r Release) string {
	prefix, _ := r.prefixes()
	return prefix + b58(hashHex(w.seed, "prepare"), 120)
}

// kexInfo is this wallet's string for key-exchange round n: the round (one
// base58 digit), the group (16 base58 characters) and a per-wallet part, so
// that a receiver can tell strings of the wrong round or of another escrow.
func (w *wallet) kexInfo(r Release, n int) string {
	_, prefix := r.prefixes()
	return prefix + string(base58[n%len(base58)]) + groupTag(w.group) + b58(hashHex(w.seed, "kex", strconv.Itoa(n)), 100)
}

func groupTag(group string) string { return b58(group, 16) }

func parseKexInfo(r Release, s string) (round int, tag string, ok bool) {
	_, prefix := r.prefixes()
	if !strings.HasPrefix(s, prefix) || len(s) < len(prefix)+1+16+1 {
		return 0, "", false
	}
	rest := s[len(prefix):]
	round = strings.IndexByte(base58, rest[0])
	return round, rest[1:17], round >= 0
}

// switchTo makes w (nil: none) the open wallet. The wallet closed by it
// keeps only what its files say.
func (s *Server) switchTo(w *wallet) {
	if s.open != nil && s.open != w {
		s.open.msigEnabled = s.open.msigSaved
	}
	s.open = w
}

// dispatch runs one method on the server's state.
func (s *Server) dispatch(method string, raw json.RawMessage) (any, *rpcError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "get_version":
		return map[string]any{"version": s.release.Version(), "release": false}, nil
	case "create_wallet":
		var p struct {
			Filename string `json:"filename"`
			Password string `json:"password"`
			Language string `json:"language"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		if validName(p.Filename) != nil {
			return nil, errf(CodeUnknownError, "Invalid filename")
		}
		if _, ok := s.wallets[p.Filename]; ok {
			return nil, errf(CodeWalletAlreadyExists, "Wallet already exists.")
		}
		if p.Language == "" {
			return nil, errf(CodeUnknownError, "Invalid language: ")
		}
		w, err := s.createLocked(p.Filename, p.Password, "")
		if err != nil {
			return nil, errf(CodeUnknownError, "Failed to create wallet")
		}
		s.switchTo(w)
		return struct{}{}, nil
	case "restore_deterministic_wallet":
		var p struct {
			Filename string `json:"filename"`
			Password string `json:"password"`
			Seed     string `json:"seed"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		if validName(p.Filename) != nil {
			return nil, errf(CodeUnknownError, "Invalid filename")
		}
		if _, ok := s.wallets[p.Filename]; ok {
			return nil, errf(CodeWalletAlreadyExists, "Wallet already exists.")
		}
		if strings.TrimSpace(p.Seed) == "" {
			return nil, errf(CodeUnknownError, "Electrum-style word list failed verification")
		}
		w, err := s.createLocked(p.Filename, p.Password, p.Seed)
		if err != nil {
			return nil, errf(CodeUnknownError, "Failed to create wallet")
		}
		s.switchTo(w)
		return map[string]any{"address": w.address, "info": "Wallet has been restored successfully.", "seed": p.Seed, "was_deprecated": false}, nil
	case "open_wallet":
		var p struct {
			Filename string `json:"filename"`
			Password string `json:"password"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		if validName(p.Filename) != nil {
			return nil, errf(CodeUnknownError, "Invalid filename")
		}
		w, ok := s.wallets[p.Filename]
		if !ok || w.password != p.Password {
			// A failed open leaves the previous wallet open.
			return nil, errf(CodeUnknownError, "Failed to open wallet")
		}
		s.switchTo(w)
		return struct{}{}, nil
	}

	// Everything below acts on the open wallet.
	w := s.open
	if w == nil {
		if !knownMethod(method) {
			return nil, errf(CodeMethodNotFound, "Method not found")
		}
		return nil, errf(CodeNotOpen, "No wallet file")
	}
	switch method {
	case "close_wallet":
		s.switchTo(nil)
		return struct{}{}, nil
	case "store":
		return struct{}{}, nil
	case "get_height":
		return map[string]any{"height": 1}, nil
	case "get_address":
		a := w.currentAddress()
		return map[string]any{"address": a, "addresses": []map[string]any{
			{"address": a, "address_index": 0, "label": "Primary account", "used": false},
		}}, nil
	case "get_balance":
		return map[string]any{"balance": w.balance, "unlocked_balance": w.unlocked,
			"multisig_import_needed": false, "blocks_to_unlock": 0, "time_to_unlock": 0}, nil
	case "is_multisig":
		return map[string]any{"multisig": w.multisig, "ready": w.ready, "threshold": w.threshold, "total": w.total}, nil
	case "get_attribute":
		var p struct {
			Key string `json:"key"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		v, ok := w.attrs[p.Key]
		if !ok {
			return nil, errf(CodeAttributeNotFound, "Attribute not found.")
		}
		return map[string]any{"value": v}, nil
	case "set_attribute":
		var p struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		w.attrs[p.Key] = p.Value
		return struct{}{}, nil
	case "prepare_multisig":
		var p struct {
			Enable bool `json:"enable_multisig_experimental"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		if w.multisig {
			return nil, errf(CodeAlreadyMultisig, "This wallet is already multisig")
		}
		if p.Enable {
			w.msigEnabled = true
		}
		return map[string]any{"multisig_info": w.prepareInfo(s.release)}, nil
	case "make_multisig":
		var p struct {
			Infos     []string `json:"multisig_info"`
			Threshold uint32   `json:"threshold"`
			Password  string   `json:"password"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		return s.makeMultisig(w, p.Infos, p.Threshold, p.Password)
	case "exchange_multisig_keys":
		var p struct {
			Infos    []string `json:"multisig_info"`
			Password string   `json:"password"`
			Force    bool     `json:"force_update_use_with_caution"`
		}
		if e := decodeParams(raw, &p); e != nil {
			return nil, e
		}
		return s.exchange(w, p.Infos, p.Password)
	}
	return nil, errf(CodeMethodNotFound, "Method not found")
}

func knownMethod(m string) bool {
	switch m {
	case "close_wallet", "store", "get_height", "get_address", "get_balance", "is_multisig",
		"get_attribute", "set_attribute", "prepare_multisig", "make_multisig", "exchange_multisig_keys":
		return true
	}
	return false
}

func decodeParams(raw json.RawMessage, v any) *rpcError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errf(CodeInvalidParams, "Invalid params")
	}
	return nil
}

// Messages of a finished wallet asked for another exchange round.
const (
	msgAlreadyFinalized = "This wallet is multisig, and already finalized"
	msgKexComplete      = "multisig account: tried to update kex, but kex is already complete."
	msgMultisigDisabled = "This wallet is multisig, and multisig is disabled. Multisig is an experimental feature and may have bugs. Things that could go wrong include: funds sent to a multisig wallet can't be spent at all, can only be spent with the participation of a malicious group member, or can be stolen by a malicious group member. You can enable it by running this once in monero-wallet-cli: set enable-multisig-experimental 1"
)

func (s *Server) makeMultisig(w *wallet, infos []string, threshold uint32, password string) (any, *rpcError) {
	if w.multisig {
		return nil, errf(CodeAlreadyMultisig, "This wallet is already multisig")
	}
	if password != w.password {
		return nil, errf(-22, "Invalid password")
	}
	w.msigSaved = w.msigEnabled // make_multisig rewrites the keys file
	own := w.prepareInfo(s.release)
	prefix, _ := s.release.prefixes()
	all := []string{own}
	for _, in := range infos {
		if !strings.HasPrefix(in, prefix) || in == own || slices.Contains(all, in) {
			return nil, errf(CodeBadMultisigInfo, "Invalid multisig info")
		}
		all = append(all, in)
	}
	n := uint32(len(all))
	if n < 2 || threshold < 2 || threshold > n {
		return nil, errf(CodeBadMultisigInfo, "Invalid threshold")
	}
	slices.Sort(all)
	w.group = hashHex(append(all, strconv.Itoa(int(threshold)))...)
	w.multisig, w.ready = true, false
	w.threshold, w.total = threshold, n
	// make_multisig is key-exchange round 1. 0.18 follows it with N-M+1
	// exchange rounds (the last one verifies); 0.17.3 with N-M.
	exchanges := int(n - threshold + 1)
	if s.release == Release0_17_3 {
		exchanges--
	}
	w.nextRound = 2
	w.lastRound = 1 + exchanges
	if exchanges == 0 {
		// 0.17.3, N-of-N: done already.
		w.ready = true
		w.sharedAddr = w.sharedAddress()
		return map[string]any{"address": w.sharedAddr, "multisig_info": ""}, nil
	}
	return map[string]any{"address": w.placeholder(), "multisig_info": w.kexInfo(s.release, 2)}, nil
}

func (w *wallet) sharedAddress() string { return "9" + b58(hashHex(w.group, "shared address"), 94) }

func (s *Server) exchange(w *wallet, infos []string, password string) (any, *rpcError) {
	if !w.multisig {
		return nil, errf(CodeNotMultisig, "This wallet is not multisig")
	}
	if s.release != Release0_17_3 && !w.msigEnabled {
		return nil, errf(CodeMultisigDisabled, msgMultisigDisabled)
	}
	if w.ready {
		if s.release == Release0_18_1_2 {
			return nil, errf(CodeUnknownError, msgKexComplete)
		}
		return nil, errf(CodeAlreadyMultisig, msgAlreadyFinalized)
	}
	if password != w.password {
		return nil, errf(-22, "Invalid password")
	}
	if len(infos) != int(w.total)-1 {
		return nil, errf(CodeBadMultisigInfo, "Invalid number of multisig infos")
	}
	own := w.kexInfo(s.release, w.nextRound)
	for _, in := range infos {
		r, tag, ok := parseKexInfo(s.release, in)
		if !ok || r != w.nextRound || tag != groupTag(w.group) || in == own {
			return nil, errf(CodeBadMultisigInfo, "Invalid multisig info")
		}
	}
	w.nextRound++
	if w.nextRound > w.lastRound {
		w.ready = true
		w.sharedAddr = w.sharedAddress()
		info := ""
		if s.release != Release0_17_3 {
			// 0.18.0.0 was measured to return a next-round message with
			// the address; nobody needs it.
			info = w.kexInfo(s.release, w.nextRound)
		}
		return map[string]any{"address": w.sharedAddr, "multisig_info": info}, nil
	}
	return map[string]any{"address": "", "multisig_info": w.kexInfo(s.release, w.nextRound)}, nil
}
