package providertest

import (
	"net"
	"sync"
	"testing"
)

// Serve accepts connections on ln and hands each to serve in its own
// goroutine until the test ends, when the listener and every accepted
// connection are closed and the goroutines waited for. It returns ln's port.
func Serve(t testing.TB, ln net.Listener, serve func(net.Conn)) int64 {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return int64(ln.Addr().(*net.TCPAddr).Port)
}

// Listen is Serve on a new loopback TCP listener.
func Listen(t testing.TB, serve func(net.Conn)) int64 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, ln, serve)
}
