package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// pprofAddrEnv names the opt-in profiling listener: empty (the default)
// serves no profiles at all. bench/ sets it to take CPU and allocation
// profiles of Junction under load.
const pprofAddrEnv = "JUNCTION_PPROF_ADDR"

// startPprof serves net/http/pprof under /debug/pprof/ on the loopback
// address in JUNCTION_PPROF_ADDR, on a listener of its own: the profiles
// are never on the API's router, behind no token, and never reachable
// from another machine. An address that is not loopback (":6060",
// "0.0.0.0:6060", a host name other than localhost) is refused, as is one
// that cannot be bound: the error is sent to errc, which serve reads, so
// the server does not start half-configured. The returned function closes
// the listener.
func startPprof(ctx context.Context, log *slog.Logger, errc chan<- error) (stop func()) {
	addr := os.Getenv(pprofAddrEnv)
	if addr == "" {
		return func() {}
	}
	fail := func(err error) func() {
		select {
		case errc <- fmt.Errorf("%s=%q: %w", pprofAddrEnv, addr, err):
		default:
		}
		return func() {}
	}
	bind, err := loopbackAddr(addr)
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return fail(err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return fail(errors.New("refusing to serve profiles on a non-loopback address"))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace answers after its ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.ErrorContext(ctx, "pprof listener stopped", "err", err)
		}
	}()
	log.Warn("serving profiles (net/http/pprof) on a loopback-only listener; unset "+pprofAddrEnv+" to turn it off", "addr", ln.Addr().String())
	return func() { srv.Close() }
}

// loopbackAddr checks that addr is host:port with a loopback host (an IP
// in 127.0.0.0/8 or ::1, or "localhost", which binds 127.0.0.1) and
// returns what to bind.
func loopbackAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("want host:port on loopback, e.g. 127.0.0.1:6060: %w", err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", errors.New("refusing to serve profiles on a non-loopback address: use 127.0.0.1:PORT or [::1]:PORT")
	}
	return net.JoinHostPort(ip.String(), port), nil
}
