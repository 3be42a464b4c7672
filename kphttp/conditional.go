package kphttp

import (
	"net/http"
	"strings"
	"time"
)

// The conditional requests of the responses that do not go through
// http.ServeContent (the gzip made on the fly, directory listings) are
// evaluated here as ServeContent evaluates them (RFC 9110, 13.2.2), against
// the ETag header already set and the modification time. Only GET and HEAD
// reach this point.

// condResult is the outcome of one precondition.
type condResult int

const (
	condNone condResult = iota // the header is absent or not usable
	condTrue
	condFalse
)

// checkPreconditions evaluates r's preconditions. When they decide the
// response (304 Not Modified or 412 Precondition Failed), it writes it and
// returns true.
func checkPreconditions(w http.ResponseWriter, r *http.Request, modtime time.Time) bool {
	etag := ""
	if v := w.Header()["Etag"]; len(v) > 0 {
		etag = v[0]
	}
	// If-Match (strong), or else If-Unmodified-Since: 412 when false.
	c := matchETags(r.Header.Get("If-Match"), etag, true)
	if c == condNone {
		c = notModifiedSince(r, "If-Unmodified-Since", modtime)
	}
	if c == condFalse {
		w.WriteHeader(http.StatusPreconditionFailed)
		return true
	}
	// If-None-Match (weak), or else If-Modified-Since (a date in the
	// future included, as net/http has it): 304 when the tag matches or
	// the file was not modified since.
	c = matchETags(r.Header.Get("If-None-Match"), etag, false)
	if c == condNone {
		c = notModifiedSince(r, "If-Modified-Since", modtime)
	}
	if c == condTrue {
		writeNotModified(w)
		return true
	}
	return false
}

// matchETags reports whether list, a header's comma-separated entity tags
// (or "*"), matches etag: condNone for an empty list, condTrue for a
// match, strong (both tags strong and equal) or weak (equal once any W/ is
// dropped), condFalse otherwise. A list that stops parsing matches no
// further.
func matchETags(list, etag string, strong bool) condResult {
	if list == "" {
		return condNone
	}
	for {
		list = strings.TrimSpace(list)
		if list == "" {
			return condFalse
		}
		if list[0] == ',' {
			list = list[1:]
			continue
		}
		if list[0] == '*' {
			return condTrue
		}
		var tag string
		if tag, list = scanETag(list); tag == "" {
			return condFalse
		}
		if strong {
			if tag == etag && tag[0] == '"' {
				return condTrue
			}
		} else if strings.TrimPrefix(tag, "W/") == strings.TrimPrefix(etag, "W/") {
			return condTrue
		}
	}
}

// notModifiedSince: was the file not modified after the date in r's header
// key? condNone when there is no usable date.
func notModifiedSince(r *http.Request, key string, modtime time.Time) condResult {
	t, ok := headerTime(r, key, modtime)
	if !ok {
		return condNone
	}
	if !modtime.Truncate(time.Second).After(t) {
		return condTrue
	}
	return condFalse
}

// headerTime parses the date in r's header key; ok is false when there is
// none, it is not valid, or the file has no modification time.
func headerTime(r *http.Request, key string, modtime time.Time) (t time.Time, ok bool) {
	v := r.Header.Get(key)
	if v == "" || isZeroTime(modtime) {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	return t, err == nil
}

// scanETag takes the entity tag at the start of s: "..." or W/"...". It
// returns "" if s does not start with a valid one.
func scanETag(s string) (tag, rest string) {
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s)-start < 2 || s[start] != '"' {
		return "", ""
	}
	for i := start + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i+1], s[i+1:]
		case c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80:
		default:
			return "", ""
		}
	}
	return "", ""
}

// writeNotModified answers 304 without the headers that describe a body
// (RFC 9110, 15.4.5).
func writeNotModified(w http.ResponseWriter) {
	h := w.Header()
	delete(h, "Content-Type")
	delete(h, "Content-Length")
	delete(h, "Content-Encoding")
	if len(h["Etag"]) > 0 {
		delete(h, "Last-Modified")
	}
	w.WriteHeader(http.StatusNotModified)
}
