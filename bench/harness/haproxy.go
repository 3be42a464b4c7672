package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

// haproxyMaxConn is the connection limit written in HAProxy's
// configuration, far above the 256 connections (twice that many sockets)
// of the largest group.
const haproxyMaxConn = 4096

// haproxyMissing is the reason the HAProxy peer is skipped where the
// program is not installed.
const haproxyMissing = "haproxy not installed (make bench installs it)"

// haproxyPath returns the path of the haproxy program, or "" and the
// reason it cannot run.
func haproxyPath() (path, skip string) {
	p, err := exec.LookPath("haproxy")
	if err != nil {
		return "", haproxyMissing
	}
	return p, ""
}

// haproxyVersion returns HAProxy's version, such as "2.6.12", or "" when
// it cannot tell.
func haproxyVersion(path string) string {
	out, err := exec.Command(path, "-v").Output()
	if err != nil {
		return ""
	}
	// "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/"
	f := strings.Fields(string(out))
	if len(f) < 3 || f[1] != "version" {
		return ""
	}
	v, _, _ := strings.Cut(f[2], "-")
	return v
}

// haproxyConfig returns a configuration of HAProxy as a TCP proxy from
// listen to upstream with splicing left to HAProxy (option splice-auto),
// and every other setting at its default (nbthread: one thread per CPU).
func haproxyConfig(listen, upstream string) string {
	return fmt.Sprintf(`global
	maxconn %[1]d
	no strict-limits

defaults
	mode tcp
	option splice-auto
	maxconn %[1]d
	timeout connect 10s
	timeout client 120s
	timeout server 120s

frontend bench
	bind %[2]s
	default_backend sink

backend sink
	server sink %[3]s
`, haproxyMaxConn, listen, upstream)
}

// startHAProxy starts haproxy (at path) in the foreground as a TCP proxy to
// upstream, its configuration in a file in dir, and waits until it accepts
// connections.
func startHAProxy(ctx context.Context, path, dir, upstream string) (*serverProc, error) {
	const name = "haproxy"
	if dir == "" {
		return nil, fmt.Errorf("%s: no work directory for its configuration (Config.Dir is empty)", name)
	}
	listen, err := freeLoopbackAddr()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, err := os.CreateTemp(dir, "haproxy-*.cfg")
	if err != nil {
		return nil, fmt.Errorf("%s: configuration: %w", name, err)
	}
	conf := f.Name()
	_, werr := f.WriteString(haproxyConfig(listen, upstream))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(conf)
		return nil, fmt.Errorf("%s: configuration: %w", name, werr)
	}
	// -db: stay in the foreground, one process, logs on stderr.
	p, err := startServerProc(name, exec.Command(path, "-db", "-f", conf), false, nil)
	if err != nil {
		os.Remove(conf)
		return nil, err
	}
	p.addr = listen
	p.cleanup = append(p.cleanup, func() { os.Remove(conf) })
	if err := waitListening(ctx, p); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago, for a program that cannot be asked to pick its own.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// waitListening waits until p accepts a connection on p.addr.
func waitListening(ctx context.Context, p *serverProc) error {
	ctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
	defer cancel()
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", p.addr)
		if err == nil {
			return c.Close()
		}
		if xerr := p.exitErr(); xerr != nil {
			return fmt.Errorf("%s before listening on %s", xerr, p.addr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not listening on %s yet: %w (%v)%s", p.name, p.addr, ctx.Err(), err, p.stderrNote())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
