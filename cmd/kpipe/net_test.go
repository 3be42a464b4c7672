//go:build linux

package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// startEcho runs `kpipe echo` on a free port and returns its address.
func startEcho(t *testing.T) (*testprog.Server, string) {
	t.Helper()
	s := startServer(t, "Echoing on ", "echo", "-listen", "127.0.0.1:0")
	addr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s.First), "Echoing on "), "...")
	return s, addr
}

// startProxy runs `kpipe proxy` on a free port to upstream, with extra
// flags, and returns its address.
func startProxy(t *testing.T, upstream string, flags ...string) (*testprog.Server, string) {
	t.Helper()
	args := append([]string{"proxy", "-listen", "127.0.0.1:0", "-to", upstream}, flags...)
	s := startServer(t, "Proxying ", args...)
	addr, _, _ := strings.Cut(strings.TrimPrefix(s.First, "Proxying "), " to ")
	return s, addr
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// dialEcho opens a connection to addr and checks that line comes back.
func dialEcho(t *testing.T, addr, line string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn := c.(*net.TCPConn)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, line); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(line))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != line {
		t.Fatalf("echo of %q: %q, %v", line, buf, err)
	}
	return conn
}

// TestEchoAndProxyNetcat: `echo foobar | nc -N` against kpipe echo, and
// through kpipe proxy to it, returns foobar; the proxy logs the connection.
func TestEchoAndProxyNetcat(t *testing.T) {
	echo, echoAddr := startEcho(t)
	testprog.NetcatFoobar(t, echoAddr)
	proxy, proxyAddr := startProxy(t, echoAddr)
	testprog.NetcatFoobar(t, proxyAddr)
	big := testData(t, 1<<20)
	if got := testprog.Netcat(t, proxyAddr, big); !bytes.Equal(got, big) {
		t.Errorf("nc through the proxy: %d bytes back, want %d", len(got), len(big))
	}
	if !waitFor(func() bool {
		return strings.Contains(proxy.Stderr.String(), "7 bytes up, 7 bytes down") &&
			strings.Contains(proxy.Stderr.String(), "1048576 bytes up, 1048576 bytes down")
	}) {
		t.Errorf("proxy log %q, want a line for each connection with the bytes each way", proxy.Stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(proxy.Stderr.String()), "\n") {
		if !strings.HasPrefix(line, "kpipe proxy: ") || !strings.Contains(line, "127.0.0.1:") || !strings.Contains(line, " -> "+echoAddr) {
			t.Errorf("log line %q, want the client's address, the upstream and the counts", line)
		}
	}
	echo.CheckQuiet(t)
	// A connection to an upstream that is down is logged with its error.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	proxy2, addr2 := startProxy(t, dead)
	if got := testprog.Netcat(t, addr2, []byte("foobar\n")); len(got) != 0 {
		t.Errorf("nc through a proxy to nowhere printed %q", got)
	}
	if !waitFor(func() bool { return strings.Contains(proxy2.Stderr.String(), "error: dial upstream") }) {
		t.Errorf("proxy log %q, want a dial upstream error", proxy2.Stderr.String())
	}
}

// TestProxyGracefulShutdown: SIGTERM stops the proxy accepting, a live
// connection still finishes within the grace period, and the proxy then
// exits with status 0; one that outlives the grace is cancelled.
func TestProxyGracefulShutdown(t *testing.T) {
	_, echoAddr := startEcho(t)
	proxy, proxyAddr := startProxy(t, echoAddr, "-grace", "20s")
	conn := dialEcho(t, proxyAddr, "before the signal\n")
	proxy.Cmd.Process.Signal(syscall.SIGTERM)
	if !waitFor(func() bool { return strings.Contains(proxy.Stderr.String(), "no longer accepting") }) {
		t.Fatalf("no shutdown message after SIGTERM; stderr %q", proxy.Stderr.String())
	}
	if c, err := net.DialTimeout("tcp", proxyAddr, time.Second); err == nil {
		c.Close()
		t.Error("the proxy still accepts connections after SIGTERM")
	}
	if code := proxy.Wait(t, 200*time.Millisecond); code != -1 {
		t.Fatalf("the proxy exited (status %d) with a connection live", code)
	}
	// The live connection still works, and ends normally.
	dialled := conn
	if _, err := io.WriteString(dialled, "after the signal\n"); err != nil {
		t.Fatal(err)
	}
	dialled.CloseWrite()
	rest, err := io.ReadAll(dialled)
	if err != nil || string(rest) != "after the signal\n" {
		t.Errorf("after SIGTERM: %q, %v; want the echo and the end", rest, err)
	}
	if code := proxy.Wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; stderr %q", code, proxy.Stderr.String())
	}

	// A connection that outlives the grace period is cancelled.
	proxy, proxyAddr = startProxy(t, echoAddr, "-grace", "300ms")
	idle := dialEcho(t, proxyAddr, "idle\n")
	proxy.Cmd.Process.Signal(syscall.SIGTERM)
	if code := proxy.Wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after the grace period, want 0; stderr %q", code, proxy.Stderr.String())
	}
	if !strings.Contains(proxy.Stderr.String(), "cancelled at shutdown") {
		t.Errorf("proxy log %q, want the connection cancelled at shutdown", proxy.Stderr.String())
	}
	if b, err := io.ReadAll(idle); len(b) != 0 {
		t.Errorf("the cancelled connection read %q, %v; want its end", b, err)
	}
}

// TestProxyConnectionLimit: with -max-conns 1 a second client waits, not
// served, until the first one ends.
func TestProxyConnectionLimit(t *testing.T) {
	_, echoAddr := startEcho(t)
	_, proxyAddr := startProxy(t, echoAddr, "-max-conns", "1")
	first := dialEcho(t, proxyAddr, "first\n")
	c, err := net.Dial("tcp", proxyAddr) // queued by the kernel
	if err != nil {
		t.Fatal(err)
	}
	second := c.(*net.TCPConn)
	defer second.Close()
	io.WriteString(second, "second\n")
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := second.Read(make([]byte, 16)); n != 0 || !os.IsTimeout(err) {
		t.Fatalf("the second connection was served (%d bytes, %v) while the first was live", n, err)
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 7)
	if _, err := io.ReadFull(second, buf); err != nil || string(buf) != "second\n" {
		t.Errorf("the second connection after the first ended: %q, %v", buf, err)
	}
}

// TestServe: curl, compressed and not, and Go's client fetch a file from
// kpipe serve; SIGTERM then makes it exit with status 0.
func TestServe(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: run make deps")
	}
	dir := t.TempDir()
	want := testData(t, 1<<20+9)
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "Serving ", "serve", "-listen", "127.0.0.1:0", "-dir", dir)
	_, url, _ := strings.Cut(strings.TrimSpace(srv.First), " on ")
	for _, args := range [][]string{{"--compressed"}, {}} {
		args = append([]string{"-sS", "--max-time", "30"}, append(args, url+"data.txt")...)
		got, err := exec.Command("curl", args...).Output()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("curl %v: %d bytes, %v; want the %d of the file", args, len(got), err, len(want))
		}
	}
	resp, err := http.Get(url + "data.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, want) || !resp.Uncompressed {
		t.Errorf("Go client: %d bytes, %v, gzipped %v; want the file, gzipped", len(got), err, resp.Uncompressed)
	}
	if resp, err := http.Get(url + "missing"); err != nil || resp.StatusCode != 404 {
		t.Errorf("GET /missing: %v, %v; want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	srv.Cmd.Process.Signal(syscall.SIGTERM)
	if code := srv.Wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; stderr %q", code, srv.Stderr.String())
	}
	if r := runKpipe(t, "", nil, "serve", "-dir", filepath.Join(dir, "missing")); r.code != 1 || !strings.HasPrefix(r.stderr, "kpipe serve: ") {
		t.Errorf("serve of a missing directory: status %d, stderr %q; want 1 and an error", r.code, r.stderr)
	}
}
