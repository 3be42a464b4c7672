package harness

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/klauspost/compress/gzhttp"
	"github.com/kpipe/kpipe/kphttp"
)

// httpChildName is the child server of the HTTP handlers sections (Self
// -child http-server KIND LEVEL PATH): Go's net/http server on a loopback
// port, running the handler of the given kind; LEVEL 0 is the handler's
// default. It prints "listen ADDR" and serves until its standard input
// ends.
const httpChildName = "http-server"

// The handlers the http-server child runs. The gzip kinds answer every
// request with the bytes of the file PATH, as text/plain; the file server
// kinds serve the directory PATH.
const (
	httpKphttpGzip  = "kphttp-gzip"       // kphttp.GzipHandler, or kphttp.NewGzipHandler at LEVEL
	httpGzhttp      = "gzhttp"            // gzhttp.GzipHandler, or gzhttp.NewWrapper(gzhttp.CompressionLevel(LEVEL))
	httpKphttpFiles = "kphttp-fileserver" // kphttp.FileServer
	httpNetFiles    = "http-fileserver"   // http.FileServer(http.Dir(PATH))
	httpGzhttpFiles = "gzhttp-fileserver" // http.FileServer(http.Dir(PATH)) wrapped by gzhttp, as httpGzhttp
)

func init() { RegisterChild(httpChildName, httpChildMain) }

// httpChildMain is the body of the http-server child.
func httpChildMain(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: %s KIND LEVEL PATH", httpChildName)
	}
	level, err := strconv.Atoi(args[1])
	if err != nil {
		return fmt.Errorf("level: %w", err)
	}
	h, err := httpHandler(args[0], level, args[2])
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	return listenUntilStdinEnds(func(ln net.Listener) { srv.Serve(ln) })
}

// httpHandler returns the handler of a kind, at level (0: its default), on
// path.
func httpHandler(kind string, level int, path string) (http.Handler, error) {
	switch kind {
	case httpKphttpGzip, httpGzhttp:
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		text := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write(body)
		})
		if kind == httpGzhttp {
			return gzhttpWrap(text, level)
		}
		if level == 0 {
			return kphttp.GzipHandler(text), nil
		}
		return kphttp.NewGzipHandler(text, kphttp.GzipOptions{Level: level})
	case httpKphttpFiles:
		return kphttp.FileServer(path), nil
	case httpNetFiles:
		return http.FileServer(http.Dir(path)), nil
	case httpGzhttpFiles:
		return gzhttpWrap(http.FileServer(http.Dir(path)), level)
	}
	return nil, fmt.Errorf("no HTTP handler kind %q", kind)
}

// gzhttpWrap wraps h in gzhttp.GzipHandler, or at level 1 to 9 in gzhttp's
// wrapper at that level.
func gzhttpWrap(h http.Handler, level int) (http.Handler, error) {
	if level == 0 {
		return gzhttp.GzipHandler(h), nil
	}
	wrap, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(level))
	if err != nil {
		return nil, fmt.Errorf("gzhttp level %d: %w", level, err)
	}
	return wrap(h), nil
}
