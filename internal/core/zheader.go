package core

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// GzipHeader implements kpipe.GzipHeader, which documents it.
type GzipHeader struct {
	Name    string
	Comment string
	ModTime time.Time
	Extra   []byte
	OS      byte
}

// The bounds of the header fields, as the C core's KP_GZ_NAME_MAX and
// KP_GZ_EXTRA_MAX (bindings_cgo.go checks): a name or comment longer than
// gzNameMax bytes is refused, writing and reading, so that a stream without
// a NUL cannot make a reader buffer without end.
const (
	gzNameMax  = 4096
	gzExtraMax = 65535
)

// latin1Len returns the length of s in Latin-1, or an error when s holds a
// rune Latin-1 cannot encode, a NUL (which ends the field on the wire), or
// is longer than a reader accepts.
func latin1Len(s, field string) (int, error) {
	n := 0
	for _, r := range s {
		// Invalid UTF-8 comes as utf8.RuneError, above 0xFF too.
		if r == 0 || r > 0xFF {
			if r == 0 {
				return 0, fmt.Errorf("%w: %s holds a NUL byte", ErrHeader, field)
			}
			return 0, fmt.Errorf("%w: %s holds %U, which Latin-1 cannot encode", ErrHeader, field, r)
		}
		n++
	}
	if n > gzNameMax {
		return 0, fmt.Errorf("%w: %s is %d bytes in Latin-1, more than %d", ErrHeader, field, n, gzNameMax)
	}
	return n, nil
}

// appendLatin1 appends s, already checked by latin1Len, in Latin-1: one
// byte per rune. It writes in place when b has the room.
func appendLatin1(b []byte, s string) []byte {
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// latin1String decodes Latin-1 bytes to a UTF-8 string.
func latin1String(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	u := make([]byte, 0, 2*len(b))
	for _, c := range b {
		u = utf8.AppendRune(u, rune(c))
	}
	return string(u)
}

// checkHeader checks that h can be written and returns the Latin-1 lengths
// of its name and comment and its MTIME; the error wraps ErrHeader.
func checkHeader(h *GzipHeader) (nameLen, commentLen int, mtime uint32, err error) {
	if nameLen, err = latin1Len(h.Name, "Name"); err != nil {
		return 0, 0, 0, err
	}
	if commentLen, err = latin1Len(h.Comment, "Comment"); err != nil {
		return 0, 0, 0, err
	}
	if len(h.Extra) > gzExtraMax {
		return 0, 0, 0, fmt.Errorf("%w: Extra is %d bytes, more than %d", ErrHeader, len(h.Extra), gzExtraMax)
	}
	if h.ModTime.After(time.Unix(0, 0)) {
		t := h.ModTime.Unix()
		if t > math.MaxUint32 {
			return 0, 0, 0, fmt.Errorf("%w: ModTime %v is past what gzip can hold (2106)", ErrHeader, h.ModTime)
		}
		mtime = uint32(t)
	}
	return nameLen, commentLen, mtime, nil
}
