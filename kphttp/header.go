package kphttp

import (
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// headerValues is the memory of the header values that serveFile sets:
// one allocation for all of them, rather than a slice per header and a
// string per formatted value. Each value is set as a slice of capacity one,
// so that an Add by another handler copies it rather than writes over the
// next slot.
type headerValues struct {
	v   [slotCount]string
	buf [128]byte // the bytes of the formatted values (ETag, dates, lengths)
	n   int       // of buf used
}

const (
	slotType = iota
	slotVary
	slotETag
	slotModified
	slotEncoding
	slotLength
	slotCount
)

// set sets the header key (in canonical form) to the single value v,
// backed by slot i.
func (vals *headerValues) set(h http.Header, key string, i int, v string) {
	vals.v[i] = v
	h[key] = vals.v[i : i+1 : i+1]
}

// str returns b as a string kept in vals.buf when it fits there (else a
// string of its own). Those bytes are written once, before the string is
// made, and never again: the string is as immutable as any.
func (vals *headerValues) str(b []byte) string {
	if len(b) == 0 || len(b) > len(vals.buf)-vals.n {
		return string(b)
	}
	s := vals.buf[vals.n : vals.n+len(b)]
	copy(s, b)
	vals.n += len(b)
	return unsafe.String(&s[0], len(s))
}

// addVaryAcceptEncoding adds Accept-Encoding to the Vary header unless it is
// there already (put by a gzip middleware, say).
func addVaryAcceptEncoding(h http.Header, vals *headerValues) {
	v, ok := h["Vary"]
	if !ok {
		vals.set(h, "Vary", slotVary, "Accept-Encoding")
		return
	}
	for _, line := range v {
		for line != "" {
			var tok string
			tok, line, _ = strings.Cut(line, ",")
			tok = strings.TrimSpace(tok)
			if tok == "*" || strings.EqualFold(tok, "Accept-Encoding") {
				return
			}
		}
	}
	h["Vary"] = append(v, "Accept-Encoding")
}

// appendETag appends the entity tag of the file fi: its modification time
// in nanoseconds and its size, in hex, then suffix, quoted, prefixed by W/
// if weak.
func appendETag(b []byte, fi *fileInfo, weak bool, suffix string) []byte {
	if weak {
		b = append(b, "W/"...)
	}
	b = append(b, '"')
	b = strconv.AppendInt(b, fi.modTime.UnixNano(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.size, 16)
	b = append(b, suffix...)
	return append(b, '"')
}

// appendHTTPDate appends t as an HTTP date (http.TimeFormat).
func appendHTTPDate(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, http.TimeFormat)
}

// unixEpoch is the modification time that, like the zero time, net/http
// takes for none.
var unixEpoch = time.Unix(0, 0)

// isZeroTime reports whether t stands for no modification time.
func isZeroTime(t time.Time) bool {
	return t.IsZero() || t.Equal(unixEpoch)
}

// contentType is the type of the file f named name, as http.ServeContent
// picks it: from the name's extension, else from the first 512 bytes.
func contentType(f *os.File, name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	var buf [512]byte
	n, _ := f.ReadAt(buf[:], 0) // at an offset: f's own stays at the start
	return http.DetectContentType(buf[:n])
}

// compressible reports whether a body of the content type ctype is worth
// gzipping: not when its format is compressed already (most image, audio
// and video formats, archives, WOFF fonts), nor for unknown binary data.
func compressible(ctype string) bool {
	t, _, _ := strings.Cut(ctype, ";")
	t = strings.TrimSpace(t)
	major, minor, ok := strings.Cut(t, "/")
	if !ok {
		return false
	}
	switch {
	case strings.EqualFold(major, "text"):
		return true
	case strings.EqualFold(major, "image"):
		// Only the formats that do not compress their data.
		return strings.EqualFold(minor, "svg+xml") || strings.EqualFold(minor, "bmp") ||
			strings.EqualFold(minor, "x-icon") || strings.EqualFold(minor, "vnd.microsoft.icon")
	case strings.EqualFold(major, "video"), strings.EqualFold(major, "audio"):
		return false
	case strings.EqualFold(major, "font"):
		return !strings.EqualFold(minor, "woff") && !strings.EqualFold(minor, "woff2")
	case strings.EqualFold(major, "application"):
		minor = strings.ToLower(minor) // mime's types are lower case: no allocation
		switch minor {
		case "octet-stream", "zip", "gzip", "x-gzip", "zstd", "x-bzip2", "x-xz", "x-lzip",
			"x-7z-compressed", "vnd.rar", "x-rar-compressed", "x-compress", "java-archive",
			"vnd.android.package-archive", "pdf", "ogg":
			return false
		}
		return !strings.HasSuffix(minor, "+zip") &&
			!strings.HasPrefix(minor, "vnd.openxmlformats-officedocument.") &&
			!strings.HasPrefix(minor, "vnd.oasis.opendocument.")
	}
	return true
}
