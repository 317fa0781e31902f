package testdb

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Linux system calls shared by every architecture's table.
const (
	sysPidfdOpen  = 434
	sysPidfdGetfd = 438
)

// goCommandStderr returns the stderr of the go command that runs this test
// binary, or nil (not run by go, or not reachable).
func goCommandStderr() *os.File {
	ppid := os.Getppid()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return nil
	}
	// The go command's own descriptor, shared (with its file offset, so
	// what go writes after the note does not overwrite it).
	if pidfd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(ppid), 0, 0); e == 0 {
		fd, _, e := syscall.Syscall(sysPidfdGetfd, pidfd, 2, 0)
		syscall.Close(int(pidfd))
		if e == 0 {
			return os.NewFile(fd, "go command stderr")
		}
	}
	// Else open it anew, where that cannot overwrite what go writes
	// later: a terminal or a pipe, not a file.
	p := fmt.Sprintf("/proc/%d/fd/2", ppid)
	if fi, err := os.Stat(p); err != nil || fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return f
}

// parentStart is the parent process's start time (clock ticks after boot),
// so a marker is not mistaken for one of an earlier process with its pid.
func parentStart() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", os.Getppid()))
	if err != nil {
		return "0"
	}
	// Field 22; the command name (field 2) may hold spaces, so count
	// from the closing parenthesis.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		if f := strings.Fields(s[i+1:]); len(f) > 19 {
			return f[19]
		}
	}
	return "0"
}
