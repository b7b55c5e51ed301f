package wallettest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// waitExitNoReap blocks until process pid has exited, without reaping it
// (waitid with WNOWAIT). While the exited process stays unreaped its PID, and
// so its process group ID, cannot be reused, which makes it safe to signal
// the group afterwards. Only Process.terminate reaps, through exec.Cmd.Wait.
func waitExitNoReap(pid int) error {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return errno
		}
	}
}

// ownsListener reports whether process pid holds the listening TCP socket on
// 127.0.0.1:port. When /proc cannot tell (not mounted, no permission), it
// reports true and the caller relies on the process being alive.
func ownsListener(pid, port int) (bool, error) {
	inodes, err := listenInodes(port)
	if err != nil {
		return true, err
	}
	if len(inodes) == 0 {
		return false, nil
	}
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return true, err
	}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			if inodes[strings.TrimSuffix(ino, "]")] {
				return true, nil
			}
		}
	}
	return false, nil
}

// listenInodes returns the socket inodes of IPv4 TCP listeners on
// 127.0.0.1:port, from /proc/net/tcp.
func listenInodes(port int) (map[string]bool, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// local_address is hex IP (host byte order) ':' hex port; 0100007F is
	// 127.0.0.1 on little-endian machines, the only ones monero ships for here.
	want := fmt.Sprintf("0100007F:%04X", port)
	inodes := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
		if len(fields) < 10 || fields[1] != want || fields[3] != "0A" { // 0A: LISTEN
			continue
		}
		inodes[fields[9]] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return inodes, nil
}

// signalGroup sends sig to the process group pgid, ignoring a group that is
// already gone.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("wallettest: refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("wallettest: signal %v to process group %d: %w", sig, pgid, err)
	}
	return nil
}
