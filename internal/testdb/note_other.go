//go:build !linux

package testdb

import "os"

func goCommandStderr() *os.File { return nil }

func parentStart() string { return "0" }
