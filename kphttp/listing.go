package kphttp

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
)

// listDir answers with an HTML list of the entries of the directory f, as
// http.FileServer does; only when FileServerOptions.Listing is set.
func listDir(w http.ResponseWriter, r *http.Request, f *os.File, fi *fileInfo) {
	hdr := w.Header()
	if !isZeroTime(fi.modTime) {
		hdr.Set("Last-Modified", string(appendHTTPDate(nil, fi.modTime)))
	}
	if checkPreconditions(w, r, fi.modTime) {
		return
	}
	entries, err := f.ReadDir(-1)
	if err != nil {
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
		if e.IsDir() {
			names[i] += "/"
		}
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteString("<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n")
	for _, name := range names {
		// url.URL turns a name like "a:b" into "./a:b", which no browser
		// takes for a scheme.
		u := url.URL{Path: name}
		b.WriteString(`<a href="`)
		b.WriteString(htmlEscaper.Replace(u.String()))
		b.WriteString(`">`)
		b.WriteString(htmlEscaper.Replace(name))
		b.WriteString("</a>\n")
	}
	b.WriteString("</pre>\n")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// htmlEscaper escapes text for HTML content and attribute values.
var htmlEscaper = strings.NewReplacer(
	"&", "&amp;",
	"<", "&lt;",
	">", "&gt;",
	`"`, "&#34;",
	"'", "&#39;",
)
