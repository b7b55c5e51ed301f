package wallettest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/escrowtrace/escrowtrace/walletrpc"
	"github.com/escrowtrace/escrowtrace/walletrpc/wallettest"
)

// Start a wallet-rpc with digest auth and call it.
func ExampleStartProcess() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := wallettest.StartProcess(ctx, wallettest.Config{Login: "escrow:example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()

	c, err := p.Client(walletrpc.WithTimeout(10 * time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.GetVersion(ctx); err != nil {
		fmt.Println(err)
		return
	}
	// No wallet is open yet.
	_, err = c.GetAddress(ctx)
	code, _ := walletrpc.ErrorCode(err)
	fmt.Println("get_address without a wallet:", code)
	// Output: get_address without a wallet: -13
}

// One wallet-rpc per role, each with a new wallet (made over RPC) open: the
// starting point of a 2-of-3 escrow setup.
func ExampleDedicated() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	roles := []string{"buyer", "vendor", "arbiter"}
	procs, err := wallettest.Dedicated(ctx, wallettest.Config{}, roles...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for i, p := range procs {
		c, _ := p.Client()
		ms, err := c.IsMultisig(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		// The open wallet is the role's: its address is the one wallet-rpc
		// wrote next to the wallet file.
		addr, err := c.GetAddress(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		want, _ := os.ReadFile(filepath.Join(p.WalletDir, roles[i]+".address.txt"))
		fmt.Printf("%s: multisig=%v, own wallet open=%v\n", roles[i], ms.Multisig,
			addr.Address == strings.TrimSpace(string(want)))
	}
	// Output:
	// buyer: multisig=false, own wallet open=true
	// vendor: multisig=false, own wallet open=true
	// arbiter: multisig=false, own wallet open=true
}
