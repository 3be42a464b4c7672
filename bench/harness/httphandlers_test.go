package harness

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// httpTestSizes are tiny sizes of the HTTP handlers sections, for the
// tests.
var httpTestSizes = httpSizes{
	conns: 4,
	gzip:  httpSetting{files: 1, pieces: 4, size: 64 << 10, requests: 9, gzip: true, file: true},
	plain: []httpSetting{{files: 3, pieces: 1, size: 16<<10 + 1, requests: 7}},
	files: httpSetting{files: 3, pieces: 1, size: 16 << 10, requests: 6, gzip: true},
}

// TestHTTPSections runs the HTTP handlers sections once with tiny sizes
// and checks every peer's sample (the requests made, the bytes counted, a
// size ratio above 1 for gzip, the server's CPU), the equal-ratio and
// baseline tables, and that no server process or file is left.
func TestHTTPSections(t *testing.T) {
	cfg := proxyTestConfig(t)
	pids := proxyRecordPIDs(t)
	src := compressTestSource(t)
	secs := httpSections(cfg, httpTestSizes, func() (string, error) { return src, nil })
	want := []httpSetting{httpTestSizes.gzip, httpTestSizes.plain[0], httpTestSizes.files}
	if len(secs) != len(want) {
		t.Fatalf("%d sections, want %d", len(secs), len(want))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, secs, Options{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, sr := range res {
		if !strings.HasPrefix(sr.Name, "HTTP handlers: ") || len(sr.Groups) != 1 {
			t.Fatalf("section %q with %d groups", sr.Name, len(sr.Groups))
		}
		g, st := sr.Groups[0], want[i]
		if g.Err != nil {
			t.Fatalf("%s: setup: %v", sr.Name, g.Err)
		}
		for _, r := range g.Rows {
			httpCheckRow(t, sr.Name, r, st)
		}
		if sr.Curves == nil {
			continue
		}
		speed, cost := sr.Curves.speedCost()
		for _, row := range equalRatioRows(g, sr.Curves.EqualRatio[0], speed, cost) {
			if row.Runs != 1 {
				t.Errorf("%s: level %s against %s: %d runs (%s)", sr.Name, row.Point, httpGzhttpSeries, row.Runs, row.Why)
			}
		}
	}
	if n := len(res[0].Groups[0].Rows); n != 11 {
		t.Errorf("%d peers of the GzipHandler section, want 11", n)
	}
	md := markdown(t, cfg, 1, res)
	checkContains(t, "report", md,
		"| Setting | Peer | ops/s | size ratio | CPU ms/op | MB/s | × vs "+httpGzhttpBase+" | Runs |",
		"### kphttp.GzipHandler against gzhttp at equal ratio",
		"| Setting | Level | kphttp.GzipHandler ops/s | CPU ms/op | size ratio | gzhttp ops/s at that ratio | CPU ms/op | × vs gzhttp | × less CPU | Runs |",
		"### kphttp.GzipHandler against "+httpGzhttpBase,
		"| Setting | Level | kphttp.GzipHandler ops/s | CPU ms/op | size ratio | baseline ops/s | CPU ms/op | size ratio | × vs baseline | × less CPU | Runs |",
		"| Setting | Peer | MB/s | CPU s/GiB | × vs http.FileServer | Runs |",
	)
	for _, s := range []string{"failed", "skipped", "not run"} {
		if strings.Contains(md, s) {
			t.Errorf("report says %q:\n%s", s, md)
		}
	}
	proxyCheckGone(t, pids)
	assertEmptyDir(t, cfg.Dir)
}

// httpCheckRow checks one peer's result at st: one sample of st.requests
// responses of the files' bytes, a size ratio above 1 with gzip, none
// without, and the server's CPU time.
func httpCheckRow(t *testing.T, section string, r Result, st httpSetting) {
	t.Helper()
	if r.Skip != "" || r.Err != nil || len(r.Samples) != 1 {
		t.Errorf("%s: %s: skip %q, error %v, %d samples; want 1 sample", section, r.Peer, r.Skip, r.Err, len(r.Samples))
		return
	}
	s := r.Samples[0]
	if s.Ops != int64(st.requests) || s.Bytes != int64(st.requests)*st.size || s.Elapsed <= 0 || s.CPU <= 0 {
		t.Errorf("%s: %s: sample %+v, want %d requests of %d bytes and some server CPU", section, r.Peer, s, st.requests, st.size)
	}
	if st.gzip && s.SizeRatio() <= 1 || !st.gzip && s.Out != 0 {
		t.Errorf("%s: %s: %d bytes out of %d (gzip %v)", section, r.Peer, s.Out, s.Bytes, st.gzip)
	}
	t.Logf("%s: %s: %.0f ops/s, ratio %.2f, %.3f CPU ms/op, %.0f MB/s", section, r.Peer, s.OpsPerSec(), s.SizeRatio(), s.CPUPerOp(), s.MBps())
}

// TestHTTPChecks checks that the client refuses what it must: a body of the
// wrong length, a gzip body whose trailer is not its file's, a plain answer
// to a gzip request, and a body that decodes to other bytes.
func TestHTTPChecks(t *testing.T) {
	dir := memTestDir(t)
	targets, err := httpMakeFiles(dir, compressTestSource(t), 2, 2, 8<<10)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(kind string) string {
		h, err := httpHandler(kind, 0, dir)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	plain, gz := serve(httpNetFiles), serve(httpKphttpFiles)
	ctx := context.Background()
	for _, c := range []struct {
		addr string
		gzip bool
	}{{plain, false}, {gz, false}, {gz, true}} {
		if s, err := httpRequests(ctx, c.addr, 2, c.gzip, targets, 5); err != nil || s.Ops != 5 || (s.Out > 0) != c.gzip {
			t.Errorf("gzip %v: %+v, %v", c.gzip, s, err)
		}
		if err := httpVerify(ctx, c.addr, c.gzip, targets); err != nil {
			t.Errorf("verify, gzip %v: %v", c.gzip, err)
		}
	}
	wrong := append([]httpTarget(nil), targets...)
	wrong[1].size++
	if _, err := httpRequests(ctx, plain, 2, false, wrong, 4); err == nil || !strings.Contains(err.Error(), "bytes, want") {
		t.Errorf("a body of the wrong length: %v", err)
	}
	if _, err := httpRequests(ctx, gz, 2, true, wrong, 4); err == nil || !strings.Contains(err.Error(), "trailer") {
		t.Errorf("a gzip body of another length: %v", err)
	}
	wrong = append([]httpTarget(nil), targets...)
	wrong[0].crc ^= 1
	if _, err := httpRequests(ctx, gz, 2, true, wrong, 4); err == nil || !strings.Contains(err.Error(), "trailer") {
		t.Errorf("a gzip body of another CRC: %v", err)
	}
	if _, err := httpRequests(ctx, plain, 2, true, targets, 2); err == nil || !strings.Contains(err.Error(), `want 200 with "gzip"`) {
		t.Errorf("a plain answer to a gzip request: %v", err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, bytes.Repeat([]byte("x"), int(targets[0].size)), 0o644); err != nil {
		t.Fatal(err)
	}
	wrong = append([]httpTarget(nil), targets...)
	wrong[0].file = other
	for _, addr := range []string{plain, gz} {
		if err := httpVerify(ctx, addr, addr == gz, wrong); err == nil || !strings.Contains(err.Error(), "is not the file's") {
			t.Errorf("verify of another file's bytes (gzip %v): %v", addr == gz, err)
		}
	}
}

func TestGzipTail(t *testing.T) {
	data := []byte("0123456789abcdefghij")
	var tail gzipTail
	for _, n := range []int{3, 1, 10, 2, 4} {
		tail.Write(data[:n])
		data = data[n:]
	}
	if string(tail[:]) != "cdefghij" {
		t.Errorf("tail %q, want %q", tail[:], "cdefghij")
	}
}

// TestHTTPRegistered checks the sizes of a run and the registered order of
// the sections.
func TestHTTPRegistered(t *testing.T) {
	sz := httpSizesFor(Config{})
	if sz.conns != 16 || sz.gzip.size != 1<<20 || sz.gzip.requests != 320 || !sz.gzip.gzip || !sz.gzip.file || len(sz.plain) != 2 {
		t.Errorf("sizes %+v", sz)
	}
	for _, m := range makers {
		if m.order != 35 {
			continue
		}
		secs := m.make(Config{Quick: true})
		if len(secs) == 3 && secs[0].Name == "HTTP handlers: GzipHandler, 1 MiB text" && secs[1].Name == "HTTP handlers: FileServer, plain files" {
			return
		}
	}
	t.Error("the HTTP handlers sections are not registered with order 35")
}
