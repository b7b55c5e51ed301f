package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// The race reproduced on real wallet-rpcs: two escrows at once on shared
// endpoints without the lock get cache_pollution events; two more with
// WithEndpointLock all succeed with none.
func TestRunRaceThenLock(t *testing.T) {
	if err := wallettest.CheckBinaries(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, nil, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	ready := regexp.MustCompile(`(?m)^ready in \S+: (.*)$`).FindStringSubmatch(s)
	if ready == nil {
		t.Fatal("no wallet-rpc URLs printed")
	}
	wallettest.CheckStopped(t, strings.Fields(ready[1])...)
	phases := strings.SplitN(s, "Phase 2:", 2)
	if len(phases) != 2 {
		t.Fatal("no phase 2")
	}
	race, fixed := phases[0], phases[1]

	// Phase 1: pollution detected, described with both wallets and the
	// escrow that opened the other one.
	m := regexp.MustCompile(`Phase 1: (\d+) cache_pollution events, \d of 2 escrows failed\.`).FindStringSubmatch(s)
	if m == nil {
		t.Fatal("no phase 1 verdict")
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Fatal("no cache pollution detected with two escrows racing on shared wallet-rpcs")
	}
	if !regexp.MustCompile(`wrong_wallet_open on \w+: (buyer|vendor|arbiter) wanted escrow[12], escrow[12] was open \(opened by race-escrow[12]\)`).MatchString(race) {
		t.Error("phase 1 does not describe a pollution event")
	}
	// Phase 2: every escrow ok, nothing detected.
	for _, id := range []string{"race-escrow3", "race-escrow4"} {
		if !strings.Contains(fixed, id+": 0 cache_pollution events; ok") {
			t.Errorf("%s did not succeed cleanly with the lock", id)
		}
	}
	if !strings.Contains(s, "Phase 2: 0 cache_pollution events, 0 of 2 escrows failed.") {
		t.Error("no clean phase 2 verdict")
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil)
	if err != nil || c.escrows != 2 || c.urls[0] != "" || c.wallets != nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c, err = parseFlags([]string{"--escrows", "3", "--buyer", "http://b", "--vendor", "http://v", "--arbiter", "http://a",
		"--wallets", "w1,w2,w3,w4,w5,w6"})
	if err != nil || c.escrows != 3 || strings.Join(c.urls, " ") != "http://b http://v http://a" || len(c.wallets) != 6 {
		t.Errorf("%+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"--escrows", "1"},
		{"--escrows", "6"},
		{"--buyer", "http://b"},
		{"--wallets", "a,b,c,d"},
		{"--buyer", "http://b", "--vendor", "http://v", "--arbiter", "http://a", "--wallets", "a,b,c"},
		{"--buyer", "http://b", "--vendor", "http://v", "--arbiter", "http://a"},
		{"stray"},
		{"--nope"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
