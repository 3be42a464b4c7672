package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFileServer compares kpipe's file server (examples/fileserver:
// net/http running kphttp.FileServer, which gzips with kpipe's engine at
// kpipe.BestSpeed and sends plain bodies by sendfile) with Go's
// http.FileServer behind a compress/gzip handler (cmd/gofileserver), on the
// same files, each server in a process of its own:
//
//	BenchmarkFileServer/{gzip,plain}/{kpipe,gohttp}
//
// One operation fetches every file of the site once, over 16 concurrent
// kept-alive connections; gzip asks for gzip and reads the compressed body
// as it comes (the client does not inflate). MB/s counts the files' own
// bytes; req/s is requests per second; server-cpu-s/GiB is the server
// process's user plus system CPU time per GiB of files served.
//
//	cd bench && go test -run '^$' -bench FileServer -benchtime 20x -count 3
func BenchmarkFileServer(b *testing.B) {
	site, err := loadSite()
	if err != nil {
		b.Fatal(err)
	}
	bins, err := fileServerBinaries()
	if err != nil {
		b.Fatal(err)
	}
	for _, gz := range []bool{true, false} {
		mode := "plain"
		if gz {
			mode = "gzip"
		}
		for _, name := range []string{"kpipe", "gohttp"} {
			b.Run(mode+"/"+name, func(b *testing.B) {
				srv := startFileServer(b, bins[name], site.dir)
				benchFileServer(b, srv, site, gz)
			})
		}
	}
}

// site is the tree the servers serve: the Go sources of net/http, a mix of
// sizes typical of text assets.
type site struct {
	dir   string
	files []string // URL paths
	bytes int64    // their total size
}

// loadSite copies $GOROOT/src/net/http's files into the benchmark
// directory once.
var loadSite = sync.OnceValues(makeSite)

func makeSite() (*site, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	from := filepath.Join(strings.TrimSpace(string(goroot)), "src", "net", "http")
	s := &site{dir: filepath.Join(dir, "www")}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(s.dir, e.Name()), data, 0o644); err != nil {
			return nil, err
		}
		s.files = append(s.files, "/"+e.Name())
		s.bytes += int64(len(data))
	}
	return s, nil
}

// fileServerBinaries builds both servers once, into the benchmark
// directory.
var fileServerBinaries = sync.OnceValues(func() (map[string]string, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	bins := map[string]string{
		"kpipe":  filepath.Join(dir, "kpipe-fileserver"),
		"gohttp": filepath.Join(dir, "go-fileserver"),
	}
	for name, pkg := range map[string]string{
		"kpipe":  "github.com/kpipe/kpipe/examples/fileserver",
		"gohttp": "github.com/kpipe/kpipe/bench/cmd/gofileserver",
	} {
		out, err := exec.Command("go", "build", "-o", bins[name], pkg).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return bins, nil
})

// fileServer is a server process under measurement.
type fileServer struct {
	url string
	pid int
}

// startFileServer runs bin on a free loopback port until the benchmark ends.
func startFileServer(b *testing.B, bin, dir string) *fileServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-listen", addr, "-dir", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not start listening on %s: %v", bin, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &fileServer{url: "http://" + addr, pid: cmd.Process.Pid}
}

// cpu returns the server process's user plus system CPU time.
func (s *fileServer) cpu(b *testing.B) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (which may hold spaces) start
	// with the state, field 3; utime and stime are fields 14 and 15.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	f := strings.Fields(rest)
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		b.Fatal(err)
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// fileServerClients is how many connections fetch at once.
const fileServerClients = 16

// benchFileServer runs the measurement against one server.
func benchFileServer(b *testing.B, srv *fileServer, s *site, gz bool) {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: fileServerClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	fetchAll := func() error {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, fileServerClients)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 64<<10)
				for {
					k := int(next.Add(1)) - 1
					if k >= len(s.files) {
						return
					}
					if err := fetch(client, srv.url+s.files[k], gz, buf); err != nil {
						errs[i] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	if err := fetchAll(); err != nil { // warm-up, and a check
		b.Fatal(err)
	}
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := srv.cpu(b)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := fetchAll(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := srv.cpu(b) - cpu0
	gib := float64(b.N) * float64(s.bytes) / (1 << 30)
	b.ReportMetric(float64(b.N*len(s.files))/elapsed.Seconds(), "req/s")
	b.ReportMetric(cpu.Seconds()/gib, "server-cpu-s/GiB")
}

// fetch GETs url and reads the body to its end, checking the encoding.
func fetch(client *http.Client, url string, gz bool, buf []byte) error {
	req, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	if err != nil {
		return err
	}
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	// kphttp.FileServer sends files under 1 KiB as they are, even to a
	// client that accepts gzip.
	if got := resp.Header.Get("Content-Encoding") == "gzip"; got != gz && !(gz && resp.ContentLength >= 0 && resp.ContentLength < 1024) {
		return fmt.Errorf("GET %s: gzip %v, want %v", url, got, gz)
	}
	_, err = io.CopyBuffer(io.Discard, bufio.NewReader(resp.Body), buf)
	return err
}
