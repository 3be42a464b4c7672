//go:build linux

package core

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"time"
	"unicode/utf8"
)

// Gzip header flags (RFC 1952 section 2.3.1).
const (
	gzFText     = 0x01
	gzFHCRC     = 0x02
	gzFExtra    = 0x04
	gzFName     = 0x08
	gzFComment  = 0x10
	gzFReserved = 0xe0
)

// stdNameMax is the longest name or comment compress/gzip reads: it keeps
// them in a 512-byte buffer, NUL included.
const stdNameMax = 511

// gzipHeaderCase is one header that FuzzGzipHeader builds.
type gzipHeaderCase struct {
	flags         byte
	mtime         uint32
	xfl, os       byte
	extra         []byte
	name, comment []byte
	badCRC        bool   // write a wrong FHCRC
	raw           []byte // when not empty: replaces the header from byte cut on
	cut           uint16
}

// bytes returns the header: the fixed part, then each optional part its
// flag asks for, then FHCRC; raw, if any, replaces what follows byte cut.
func (c *gzipHeaderCase) bytes() []byte {
	h := []byte{0x1f, 0x8b, 8, c.flags, 0, 0, 0, 0, c.xfl, c.os}
	binary.LittleEndian.PutUint32(h[4:8], c.mtime)
	if c.flags&gzFExtra != 0 {
		h = binary.LittleEndian.AppendUint16(h, uint16(len(c.extra)))
		h = append(h, c.extra...)
	}
	if c.flags&gzFName != 0 {
		h = append(append(h, c.name...), 0)
	}
	if c.flags&gzFComment != 0 {
		h = append(append(h, c.comment...), 0)
	}
	if c.flags&gzFHCRC != 0 {
		sum := uint16(crc32.ChecksumIEEE(h))
		if c.badCRC {
			sum ^= 0x0100
		}
		h = binary.LittleEndian.AppendUint16(h, sum)
	}
	if len(c.raw) > 0 {
		h = append(h[:min(int(c.cut), len(h))], c.raw...)
	}
	return h
}

// clean reports whether the header is one every decoder must accept with
// exactly the fields it was built from.
func (c *gzipHeaderCase) clean() bool {
	return len(c.raw) == 0 && c.flags&gzFReserved == 0 &&
		(c.flags&gzFHCRC == 0 || !c.badCRC) &&
		(c.flags&gzFName == 0 || cleanText(c.name)) &&
		(c.flags&gzFComment == 0 || cleanText(c.comment))
}

// cleanText: a name or comment without NUL that compress/gzip reads whole.
func cleanText(b []byte) bool {
	return len(b) <= stdNameMax && bytes.IndexByte(b, 0) < 0
}

// want returns the GzipHeader a clean header holds.
func (c *gzipHeaderCase) want() GzipHeader {
	h := GzipHeader{OS: c.os}
	if c.flags&gzFExtra != 0 {
		h.Extra = append([]byte{}, c.extra...)
	}
	if c.flags&gzFName != 0 {
		h.Name = fromLatin1(c.name)
	}
	if c.flags&gzFComment != 0 {
		h.Comment = fromLatin1(c.comment)
	}
	if c.mtime != 0 {
		h.ModTime = time.Unix(int64(c.mtime), 0)
	}
	return h
}

func fromLatin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// deflateMember returns a raw deflate stream of data and the gzip trailer.
func deflateMember(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint32(buf.Bytes(), crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(b, uint32(len(data)))
}

// sameHeader reports how two headers differ, or "" when they agree; the
// nil-ness of Extra counts (nil: no FEXTRA; empty: an empty one).
func sameHeader(got, want GzipHeader) string {
	switch {
	case got.Name != want.Name:
		return "Name " + quote(got.Name) + ", want " + quote(want.Name)
	case got.Comment != want.Comment:
		return "Comment " + quote(got.Comment) + ", want " + quote(want.Comment)
	case !got.ModTime.Equal(want.ModTime):
		return "ModTime " + got.ModTime.String() + ", want " + want.ModTime.String()
	case got.OS != want.OS:
		return "OS differs"
	case (got.Extra == nil) != (want.Extra == nil) || !bytes.Equal(got.Extra, want.Extra):
		return "Extra " + quote(string(got.Extra)) + ", want " + quote(string(want.Extra))
	}
	return ""
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "\"" + s + "\""
}

// fromStd converts compress/gzip's header.
func fromStd(h gzip.Header) GzipHeader {
	return GzipHeader{Name: h.Name, Comment: h.Comment, ModTime: h.ModTime, Extra: h.Extra, OS: h.OS}
}

// unsetName marks a GzipHeader that Gunzip has not filled: a parsed name
// never holds a NUL.
const unsetName = "\x00unset"

// FuzzGzipHeader builds gzip headers from every combination of flags
// (reserved bits included), fields, right and wrong header CRCs, and raw
// bytes spliced over any part of the header, before a valid deflate body
// and trailer. Gunzip with a non-nil *GzipHeader must agree with
// compress/gzip on accepting the header, on its fields, and on the member's
// bytes; a clean header must come back as it was built. The header is read
// all at once and a byte at a time, which must not change anything.
func FuzzGzipHeader(f *testing.F) {
	type seed struct {
		c    gzipHeaderCase
		body []byte
	}
	long := bytes.Repeat([]byte("n\xe9"), 300) // past compress/gzip's bound
	seeds := []seed{
		{gzipHeaderCase{}, nil},
		{gzipHeaderCase{flags: gzFText, mtime: 1700000000, xfl: 2, os: 3}, []byte("hello, hello")},
		{gzipHeaderCase{flags: gzFName, name: []byte("file.txt"), os: 255}, zData(3000)},
		{gzipHeaderCase{flags: gzFName | gzFComment, name: []byte("caf\xe9"), comment: []byte("\xff\x80 latin-1")}, []byte("x")},
		{gzipHeaderCase{flags: gzFExtra, extra: []byte("AP\x04\x00abcd")}, []byte("extra")},
		{gzipHeaderCase{flags: gzFExtra}, []byte("empty extra")},
		{gzipHeaderCase{flags: gzFHCRC}, []byte("hcrc")},
		{gzipHeaderCase{flags: gzFHCRC, badCRC: true}, []byte("bad hcrc")},
		{gzipHeaderCase{flags: gzFHCRC | gzFExtra | gzFName | gzFComment, mtime: 1, extra: []byte{1, 2, 3},
			name: []byte("n"), comment: []byte("c")}, []byte("all of them")},
		{gzipHeaderCase{flags: 0x20}, []byte("reserved")},
		{gzipHeaderCase{flags: 0x80 | gzFName, name: []byte("r")}, []byte("reserved")},
		{gzipHeaderCase{flags: gzFName, name: []byte("a\x00b")}, []byte("NUL in the name")},
		{gzipHeaderCase{flags: gzFName | gzFHCRC, name: long}, []byte("long name")},
		{gzipHeaderCase{flags: gzFComment, comment: long[:stdNameMax]}, []byte("511")},
		{gzipHeaderCase{flags: gzFComment, comment: long[:stdNameMax+1]}, []byte("512")},
		{gzipHeaderCase{flags: gzFName, name: bytes.Repeat([]byte("z"), 4097)}, []byte("past kpipe's bound")},
		{gzipHeaderCase{mtime: 0xffffffff}, []byte("2106")},
		{gzipHeaderCase{raw: []byte{0x1f, 0x8b, 7}, cut: 0}, []byte("method 7")},
		{gzipHeaderCase{raw: []byte{0x1f}, cut: 0}, nil},
		{gzipHeaderCase{flags: gzFExtra, extra: []byte("xx"), raw: []byte{0xff, 0xff}, cut: 10}, []byte("xlen")},
		{gzipHeaderCase{flags: gzFName, name: []byte("cut"), raw: []byte("ut\x00"), cut: 11}, []byte("cut")},
	}
	for _, s := range seeds {
		c := s.c
		f.Add(c.flags, c.mtime, c.xfl, c.os, c.extra, c.name, c.comment, c.badCRC, c.raw, c.cut, s.body)
	}
	codec := Codec{MaxOutput: fuzzMaxOutput}
	f.Fuzz(func(t *testing.T, flags byte, mtime uint32, xfl, os byte, extra, name, comment []byte,
		badCRC bool, raw []byte, cut uint16, body []byte) {
		if len(extra) > 0xffff {
			extra = extra[:0xffff]
		}
		c := gzipHeaderCase{flags, mtime, xfl, os, extra, name, comment, badCRC, raw, cut}
		comp := append(c.bytes(), deflateMember(t, body)...)

		// kpipe, all at once and in small pieces (decodeBoth compares
		// the two), with the header each call filled.
		var hdrs []GzipHeader
		out, err := decodeBoth(t, comp, func(dst io.Writer, src io.Reader) (int64, error) {
			h := GzipHeader{Name: unsetName}
			n, err := codec.Gunzip(dst, src, &h)
			hdrs = append(hdrs, h)
			return n, err
		})
		kh := hdrs[0]
		if d := sameHeader(hdrs[1], kh); d != "" {
			t.Fatalf("header read a byte at a time: %s", d)
		}
		parsed := kh.Name != unsetName

		// compress/gzip: the header, then one member.
		br := bytes.NewReader(comp)
		zr, herr := gzip.NewReader(br)
		var ref []byte
		rerr := herr
		if herr == nil {
			zr.Multistream(false)
			ref, rerr = readLimited(zr)
		}
		reserved := len(comp) > 3 && comp[3]&gzFReserved != 0

		// Accepting the header.
		switch {
		case herr == nil && !reserved && !parsed:
			t.Fatalf("compress/gzip read the header, kpipe did not: %v", err)
		case herr == nil && reserved && (parsed || err == nil):
			t.Fatalf("kpipe accepted reserved flags %#x: %v", comp[3], err)
		case herr != nil && parsed:
			// compress/gzip refuses names and comments past 511 bytes,
			// kpipe reads up to 4096.
			if !errors.Is(herr, gzip.ErrHeader) ||
				utf8.RuneCountInString(kh.Name) <= stdNameMax && utf8.RuneCountInString(kh.Comment) <= stdNameMax {
				t.Fatalf("kpipe read the header %+v; compress/gzip: %v", kh, herr)
			}
		case herr == nil && parsed:
			if d := sameHeader(kh, fromStd(zr.Header)); d != "" {
				t.Fatalf("kpipe and compress/gzip disagree on the header: %s", d)
			}
		}

		// The bytes: whatever kpipe accepts compress/gzip reads to the same
		// bytes (every member: raw bytes can hold a member of their own),
		// and a single member compress/gzip reads that takes the whole
		// input kpipe accepts.
		if err == nil {
			all, aerr := gzip.NewReader(bytes.NewReader(comp))
			var refAll []byte
			if aerr == nil {
				refAll, aerr = readLimited(all)
			}
			// compress/gzip bounds names and comments at 511 bytes, in
			// any member.
			if aerr != nil && !errors.Is(aerr, gzip.ErrHeader) || aerr == nil && !bytes.Equal(out, refAll) {
				t.Fatalf("kpipe decoded %d bytes; compress/gzip %d bytes, %v", len(out), len(refAll), aerr)
			}
		}
		whole := herr == nil && rerr == nil && br.Len() == 0 && !reserved
		if whole && (err != nil || !bytes.Equal(out, ref)) {
			t.Fatalf("compress/gzip decoded the member to %d bytes; kpipe %d bytes, %v", len(ref), len(out), err)
		}

		if !c.clean() {
			return
		}
		// A clean header is accepted and read back as built, with the body.
		want := c.want()
		if err != nil || !bytes.Equal(out, body) {
			t.Fatalf("clean header %x: %d bytes, %v; want %d bytes", c.bytes(), len(out), err, len(body))
		}
		if d := sameHeader(kh, want); d != "" {
			t.Fatalf("clean header %x: %s", c.bytes(), d)
		}
		// Gzip writes the same fields back, as compress/gzip reads them.
		var again bytes.Buffer
		if _, err := Gzip(&again, bytes.NewReader(body), &want); err != nil {
			t.Fatalf("Gzip with %+v: %v", want, err)
		}
		_, sh, err := refGunzip(again.Bytes())
		if err != nil {
			t.Fatalf("compress/gzip on Gzip's output: %v", err)
		}
		if d := sameHeader(fromStd(sh), want); d != "" {
			t.Fatalf("Gzip wrote a header that reads back differently: %s", d)
		}
	})
}
