package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/kpipe/kpipe/bench"
)

func init() { Register(35, HTTPSections) }

// An httpSetting is one group of the HTTP handlers sections: the files its
// servers serve, made by its Setup, and the load.
type httpSetting struct {
	files    int   // files made for the group
	pieces   int   // pieces of the source each file is made of
	size     int64 // bytes of each file
	requests int   // requests per run, for the files in turn
	gzip     bool  // the client asks for gzip, otherwise for identity
	// file gives the servers the path of the group's one file (which the
	// gzip handlers send as the body of every response) rather than the
	// directory.
	file bool
}

// httpSizes are the settings of the HTTP handlers sections.
type httpSizes struct {
	conns int           // keep-alive connections of the client
	gzip  httpSetting   // the GzipHandler section's body and load
	plain []httpSetting // the groups of the plain FileServer section
	files httpSetting   // the group of the gzip FileServer section
}

// httpBodyPieces is the number of pieces of the corpus that make the body
// of the GzipHandler section.
const httpBodyPieces = 16

// httpSizesFor returns the sizes of the HTTP handlers sections for cfg: a
// run takes about a second per peer at 300 responses per second of the
// GzipHandler section, at 1 GB/s of plain files, at 2000 responses per
// second of gzipped files.
func httpSizesFor(cfg Config) httpSizes {
	sz := httpSizes{
		conns: 16,
		gzip:  httpSetting{files: 1, pieces: httpBodyPieces, size: 1 << 20, requests: 320, gzip: true, file: true},
		plain: []httpSetting{
			{files: 64, pieces: 1, size: 64 << 10, requests: 64 * 128},
			{files: 16, pieces: 1, size: 4 << 20, requests: 16 * 32},
		},
		files: httpSetting{files: 64, pieces: 1, size: 64 << 10, requests: 64 * 32, gzip: true},
	}
	if cfg.Quick {
		sz.gzip.requests = 64
		sz.plain[0].requests, sz.plain[1].requests = 64*16, 16*4
		sz.files.requests = 64 * 8
	}
	return sz
}

// HTTPSections returns the HTTP handlers sections, each handler served by
// net/http in a process of its own and loaded by a client of keep-alive
// connections in the harness process: "HTTP handlers: GzipHandler" sets
// kphttp.GzipHandler at levels 1, 2, 3, 4 and 6 against gzhttp's curve
// (klauspost/compress) on a 1 MiB text response; "HTTP handlers:
// FileServer, plain files" kphttp.FileServer against http.FileServer
// without gzip; "HTTP handlers: FileServer, gzip" kphttp.FileServer against
// gzhttp over http.FileServer. Their text comes from the bench package's
// corpus (see bench.Load). init registers them at order 35.
func HTTPSections(cfg Config) []Section {
	return httpSections(cfg, httpSizesFor(cfg), func() (string, error) {
		c, err := bench.Load()
		if err != nil {
			return "", err
		}
		return c.Tar, nil
	})
}

// An httpPeer is a handler under test: the http-server child's KIND and
// LEVEL, and its place on a curve.
type httpPeer struct {
	name, series, point string
	kind                string
	level               int // 0: the handler's default
}

// The series of the GzipHandler section, and its baseline.
const (
	httpKphttpSeries = "kphttp.GzipHandler"
	httpGzhttpSeries = "gzhttp"
	httpGzhttpBase   = "gzhttp.GzipHandler (default, level 5)"
	httpFilesBase    = "http.FileServer"
	httpGzFilesBase  = "gzhttp.GzipHandler + http.FileServer"
)

// httpGzipPeers returns the peers of the GzipHandler section: kphttp at
// its default level 1 and at 2, 3, 4 and 6, gzhttp at its default level 5 and
// at 1, 2, 3, 4 and 6.
func httpGzipPeers() []httpPeer {
	var peers []httpPeer
	for _, level := range []int{1, 2, 3, 4, 6} {
		p := httpPeer{name: fmt.Sprintf("%s, level %d", httpKphttpSeries, level), series: httpKphttpSeries,
			point: strconv.Itoa(level), kind: httpKphttpGzip, level: level}
		if level == 1 {
			p.name, p.level = httpKphttpSeries+", level 1 (default)", 0
		}
		peers = append(peers, p)
	}
	for level := 1; level <= 6; level++ {
		p := httpPeer{name: fmt.Sprintf("%s, level %d", httpGzhttpSeries, level), series: httpGzhttpSeries,
			point: strconv.Itoa(level), kind: httpGzhttp, level: level}
		if level == 5 {
			p.name, p.level = httpGzhttpBase, 0
		}
		peers = append(peers, p)
	}
	return peers
}

// httpAbout describes what every section of HTTP handlers shares.
const httpAbout = "Each handler is served by Go's net/http server on loopback in a process of its own (its CPU measured as the proxy sections' is: " +
	"the run time of each of its threads from /proc/PID/task/TID/schedstat, the 10 ms ticks of /proc/PID/stat when a thread exited during the run). " +
	"The client, in the harness process, makes a fixed number of GET requests per run over %d keep-alive connections (one http.Transport, " +
	"DisableCompression, HTTP/1.1) and reads every body to its end without decoding it; the run's time includes the connections' set-up. " +
	"Each client goroutine's requests are built before the clock starts and sent again, so building them is not timed. "

// httpSections returns the HTTP handlers sections with the given sizes,
// their files made from the file source names.
func httpSections(cfg Config, sz httpSizes, source func() (string, error)) []Section {
	about := fmt.Sprintf(httpAbout, sz.conns)
	text := fmt.Sprintf("%s of text (text/plain; charset=utf-8): %d pieces of %s taken at even steps across a tar of the Go toolchain's source tree",
		binarySize(sz.gzip.size), sz.gzip.pieces, binarySize(sz.gzip.size/int64(sz.gzip.pieces)))
	gzipSection := Section{
		Name: "HTTP handlers: GzipHandler, " + binarySize(sz.gzip.size) + " text",
		About: about + fmt.Sprintf("Every response is %s, written by one Write, through the peer's gzip handler: "+
			"kphttp.GzipHandler (kpipe's engine at its default level 1, ISA-L's where it runs) and kphttp.NewGzipHandler at levels 2, 3, 4 and 6 (4 and 6: libdeflate on the whole response); "+
			"gzhttp.GzipHandler of klauspost/compress (its default, level 5: the baseline) and gzhttp.NewWrapper(gzhttp.CompressionLevel(L)) at "+
			"levels 1, 2, 3, 4 and 6. The client asks with `Accept-Encoding: gzip` alone (gzhttp would answer zstd if asked for it), %d responses per run. "+
			"Every response must be 200 with Content-Encoding gzip and end in a gzip trailer that gives the body's CRC-32 and length; "+
			"each server's first response is decoded and compared with the body, and it gets an untimed warm-up, outside the timed part. "+
			"ops/s is responses per second; size ratio the uncompressed over the compressed bytes; CPU ms/op the server's CPU time per response; "+
			"MB/s counts the uncompressed bytes. The chart draws MB/s against size ratio, a line per handler through its levels. "+
			"The tables below set each kphttp level against gzhttp's curve at the same size ratio, and against gzhttp's default plainly. "+
			"The target: at least 1.5 times gzhttp's responses per second at a compressed size no larger, with less server CPU per response.",
			text, sz.gzip.requests),
		Metrics: []Metric{OpsPerSec, SizeRatio, CPUPerOp, Throughput},
		Curves: &Curves{Point: "Level", PerOp: true,
			EqualRatio:      []EqualRatio{{Series: httpKphttpSeries, Against: httpGzhttpSeries}},
			AgainstBaseline: []string{httpKphttpSeries}},
		Groups: []Group{httpGroup(cfg, source, sz.gzip, sz.conns,
			fmt.Sprintf("%s text/plain, %s", binarySize(sz.gzip.size), connsSetting(sz.conns)), httpGzhttpBase, httpGzipPeers())},
	}

	filePeers := []httpPeer{
		{name: "kphttp.FileServer", kind: httpKphttpFiles},
		{name: httpFilesBase, kind: httpNetFiles},
	}
	plain := Section{
		Name: "HTTP handlers: FileServer, plain files",
		About: about + "kphttp.FileServer(dir) against http.FileServer(http.Dir(dir)) (the baseline), serving files made of pieces of a tar " +
			"of the Go toolchain's source tree, in the work directory (memory). The client asks with `Accept-Encoding: identity`, requests every file " +
			"in turn, and checks each body's length; every file is fetched whole and compared once per server, outside the timed part, " +
			"with an untimed warm-up. MB/s counts the bodies' bytes; CPU s/GiB is the server's CPU time per GiB of them. " +
			"The target: kphttp's throughput at least http.FileServer's, and its CPU per GiB no more.",
		Metrics: []Metric{Throughput, CPUPerGiB},
	}
	for _, st := range sz.plain {
		setting := fmt.Sprintf("%d files of %s, %d requests", st.files, binarySize(st.size), st.requests)
		plain.Groups = append(plain.Groups, httpGroup(cfg, source, st, sz.conns, setting, httpFilesBase, filePeers))
	}

	st := sz.files
	gzFiles := Section{
		Name: "HTTP handlers: FileServer, gzip",
		About: about + "kphttp.FileServer(dir), which gzips on the fly with kpipe's engine at level 1, against gzhttp.GzipHandler " +
			"over http.FileServer(http.Dir(dir)) (klauspost/compress at its default level 5: the baseline) and gzhttp's wrapper at level 1 over it, " +
			"serving the same files as the plain section's small ones, named .txt (text/plain). The client asks with `Accept-Encoding: gzip` " +
			"alone and requests every file in turn; every body must end in the gzip trailer of its file, and every file is fetched, decoded and " +
			"compared once per server, outside the timed part. MB/s and CPU s/GiB count the files' uncompressed bytes; ops/s is responses " +
			"per second; size ratio the uncompressed over the compressed bytes.",
		Metrics: []Metric{Throughput, OpsPerSec, SizeRatio, CPUPerGiB},
		Groups: []Group{httpGroup(cfg, source, st, sz.conns,
			fmt.Sprintf("%d text files of %s, %d requests", st.files, binarySize(st.size), st.requests), httpGzFilesBase, []httpPeer{
				{name: "kphttp.FileServer", kind: httpKphttpFiles},
				{name: httpGzFilesBase, kind: httpGzhttpFiles},
				{name: "gzhttp, level 1 + http.FileServer", kind: httpGzhttpFiles, level: 1},
			})},
	}
	return []Section{gzipSection, plain, gzFiles}
}

// httpGroup returns the group of peers at st: its Setup makes the files
// from the file source names in a directory of the work directory, each
// case starts its server on them at its first run (whose warm-up checks
// every file's body whole, then makes a short load) and loads it with
// st.requests requests over conns connections; the Teardown stops the
// servers and removes the files.
func httpGroup(cfg Config, source func() (string, error), st httpSetting, conns int, setting, baseline string, peers []httpPeer) Group {
	var dir string
	var targets []httpTarget
	servers := make([]serverPeer, len(peers))
	for i, p := range peers {
		servers[i] = serverPeer{name: p.name, series: p.series, point: p.point, start: func(ctx context.Context) (*serverProc, error) {
			path := dir
			if st.file {
				path = targets[0].file
			}
			return startChildServer(ctx, cfg.Self, "http "+p.name, httpChildName, p.kind, strconv.Itoa(p.level), path)
		}}
	}
	g := serverGroup(setting, baseline, servers,
		func(ctx context.Context, addr string) error {
			if err := httpVerify(ctx, addr, st.gzip, targets); err != nil {
				return err
			}
			_, err := httpRequests(ctx, addr, conns, st.gzip, targets, max(len(targets), 2*conns))
			return err
		},
		loadRun("http", setting, func(ctx context.Context, addr string) (Sample, error) {
			return httpRequests(ctx, addr, conns, st.gzip, targets, st.requests)
		}))
	stopServers := g.Teardown
	g.Setup = func(ctx context.Context) error {
		if cfg.Dir == "" {
			return errors.New("HTTP handlers: no work directory (Config.Dir)")
		}
		src, err := source()
		if err != nil {
			return err
		}
		if dir, err = os.MkdirTemp(cfg.Dir, "http-"); err != nil {
			return err
		}
		targets, err = httpMakeFiles(dir, src, st.files, st.pieces, st.size)
		return err
	}
	g.Teardown = func() {
		stopServers()
		if dir != "" {
			os.RemoveAll(dir)
			dir, targets = "", nil
		}
	}
	return g
}

// binarySize formats n bytes as "4 MiB", "64 KiB" or "1000 B": in the
// largest binary unit that divides it.
func binarySize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
