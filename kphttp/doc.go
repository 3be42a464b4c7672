// Package kphttp puts kpipe inside net/http: a file server and a gzip
// middleware that mount in any mux, next to the handlers Go services
// already run.
//
// FileServer serves a directory as http.FileServer(http.Dir(root)) does
// (ranges, conditional requests, HEAD, index.html, the directory redirect),
// with the plain body moved by the kernel (sendfile(2)), gzip done by
// kpipe's C engine, and no path ever resolved outside the root.
//
// GzipHandler compresses another handler's responses on kpipe's engine,
// as gzhttp.GzipHandler does with klauspost/compress: only for clients that
// accept gzip, only responses large enough to gain, with http.Flusher and
// http.ResponseController still working.
package kphttp
