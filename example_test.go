//go:build linux

package kpipe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kpipe/kpipe"
)

// A Pipe is a kernel pipe: bytes written to it wait in the kernel until they
// are read, or spliced elsewhere.
func ExampleNewPipe() {
	p, err := kpipe.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	if _, err := p.Write([]byte("hello, pipe")); err != nil {
		log.Fatal(err)
	}
	n, err := p.Buffered()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("buffered:", n)

	p.CloseWrite() // the reader sees io.EOF once the pipe is drained
	data, err := io.ReadAll(p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read: %q\n", data)
	// Output:
	// buffered: 11
	// read: "hello, pipe"
}

// SetCap grows a pipe so that each splice through it can move more at once.
// The kernel rounds the request up to a power of two pages.
func ExamplePipe_SetCap() {
	p, err := kpipe.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	granted, err := p.SetCap(100_000)
	if err != nil {
		// Unprivileged processes can be refused (pipe-user-pages limits);
		// the pipe then keeps its capacity and still works.
		log.Fatal(err)
	}
	size, err := p.Cap()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(granted >= 100_000, size == granted)
	// Output: true true
}

// Splice moves a file's contents into a pipe and from the pipe into another
// file, the pipe-in-the-middle copy of the Ruby article: the bytes never
// enter the program's memory.
func ExampleSplice() {
	src, dst, done := exampleFiles("spliced, not copied\n") // two files in a new directory
	defer done()

	p, err := kpipe.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	for {
		// file -> pipe: up to what the pipe holds (64 KiB by default)
		n, err := kpipe.Splice(p, src, 64<<10)
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			break // end of the source file
		}
		// pipe -> file: all of it, in as many steps as it takes
		for n > 0 {
			m, err := kpipe.Splice(dst, p, n)
			if err != nil {
				log.Fatal(err)
			}
			n -= m
		}
	}

	copied, err := os.ReadFile(dst.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(copied))
	// Output: spliced, not copied
}

// With a negative n, Splice keeps going until the source ends. Here a
// goroutine fills the pipe from a file while the caller drains it into a
// buffer, as the two fibers of the Polyphony article's echo server do.
func ExampleSplice_untilEOF() {
	f, err := os.CreateTemp("", "kpipe-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.WriteString(strings.Repeat("0123456789", 20_000)); err != nil {
		log.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}

	p, err := kpipe.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	done := make(chan error, 1)
	go func() {
		_, err := kpipe.Splice(p, f, -8192) // file -> pipe until EOF
		p.CloseWrite()
		done <- err
	}()

	var buf bytes.Buffer
	if _, err := buf.ReadFrom(p); err != nil { // pipe -> memory until EOF
		log.Fatal(err)
	}
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	fmt.Println(buf.Len(), buf.String()[:10])
	// Output: 200000 0123456789
}

// Splice needs a Pipe on at least one side; Copy does not.
func ExampleSplice_needPipe() {
	var dst bytes.Buffer
	_, err := kpipe.Splice(&dst, strings.NewReader("no pipe here"), 100)
	fmt.Println(errors.Is(err, kpipe.ErrNeedPipe))

	n, err := kpipe.Copy(&dst, strings.NewReader("no pipe here"))
	fmt.Println(n, err, dst.String())
	// Output:
	// true
	// 12 <nil> no pipe here
}

// Tee copies what waits in one pipe into another without consuming it, so
// the same bytes can go two ways.
func ExampleTee() {
	primary, err := kpipe.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer primary.Close()
	side, err := kpipe.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer side.Close()

	if _, err := primary.Write([]byte("log me and keep me")); err != nil {
		log.Fatal(err)
	}
	n, err := kpipe.Tee(side, primary, 1<<16)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("teed:", n)

	primary.CloseWrite()
	side.CloseWrite()
	a, err := io.ReadAll(primary)
	if err != nil {
		log.Fatal(err)
	}
	b, err := io.ReadAll(side)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("primary: %q\nside:    %q\n", a, b)
	// Output:
	// teed: 18
	// primary: "log me and keep me"
	// side:    "log me and keep me"
}

// Copy is io.Copy by the best means the pair allows: between two files it
// uses copy_file_range(2), so the data is copied inside the kernel.
func ExampleCopy() {
	src, dst, done := exampleFiles("copied in the kernel\n") // two files in a new directory
	defer done()

	n, err := kpipe.Copy(dst, src)
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile(dst.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes: %s", n, data)
	// Output: 21 bytes: copied in the kernel
}

// Copy honours an *io.LimitedReader: it copies at most N bytes and lowers N
// by what it copied, as io.Copy does.
func ExampleCopy_limitedReader() {
	src, dst, done := exampleFiles("header|body") // two files in a new directory
	defer done()

	lr := &io.LimitedReader{R: src, N: 6}
	n, err := kpipe.Copy(dst, lr)
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile(dst.Name())
	if err != nil {
		log.Fatal(err)
	}
	rest, err := io.ReadAll(src) // the source's offset moved by n bytes
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("copied %d: %q, N left %d, rest %q\n", n, data, lr.N, rest)
	// Output: copied 6: "header", N left 0, rest "|body"
}

// Copy moves bytes out of a Pipe with splice(2); here into a file, until the
// pipe's write end is closed.
func ExampleCopy_fromPipe() {
	f, err := os.CreateTemp("", "kpipe-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	p, err := kpipe.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	go func() {
		fmt.Fprint(p, "through the pipe")
		p.CloseWrite()
	}()
	n, err := kpipe.Copy(f, p)
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, string(data))
	// Output: 16 through the pipe
}

// Gzip compresses from any reader to any writer; between descriptors (files,
// sockets, pipes) the whole loop runs in C. Here a string is compressed into
// a buffer, both read and written in place.
func ExampleGzip() {
	var compressed bytes.Buffer
	hdr := &kpipe.GzipHeader{Name: "greeting.txt", OS: 3}
	if _, err := kpipe.Gzip(&compressed, strings.NewReader("hello, gzip\n"), hdr); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", compressed.Bytes()[:4])

	// Any gzip reader understands it.
	var out bytes.Buffer
	if _, err := kpipe.Gunzip(&out, &compressed, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	// Output:
	// 1f 8b 08 08
	// hello, gzip
}

// A GzipWriter compresses output made piece by piece; Flush makes what was
// written so far readable at once, as a reader waiting on a stream needs.
func ExampleCodec_NewGzipWriter() {
	pr, pw := io.Pipe()
	zw, err := kpipe.Codec{Level: kpipe.BestSpeed}.NewGzipWriter(pw, nil)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for i := range 3 {
			fmt.Fprintf(zw, "event %d\n", i)
			if err := zw.Flush(); err != nil { // the reader has it now
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(zw.Close())
	}()
	var out bytes.Buffer
	if _, err := kpipe.Gunzip(&out, pr, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	// Output:
	// event 0
	// event 1
	// event 2
}

// Gunzip reads every member of its input, checks each one's CRC and length,
// and reports the first member's header.
func ExampleGunzip() {
	var compressed bytes.Buffer
	kpipe.Gzip(&compressed, strings.NewReader("first member, "), &kpipe.GzipHeader{Name: "one.txt", OS: 3})
	kpipe.Gzip(&compressed, strings.NewReader("second member\n"), nil)

	var hdr kpipe.GzipHeader
	n, err := kpipe.Gunzip(os.Stdout, &compressed, &hdr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes; name:", hdr.Name)

	// Damage is never silent: a stream cut short is io.ErrUnexpectedEOF,
	// a wrong CRC kpipe.ErrChecksum.
	var member bytes.Buffer
	kpipe.Gzip(&member, strings.NewReader("data"), nil)
	cut := member.Bytes()[:member.Len()-1]
	_, err = kpipe.Gunzip(io.Discard, bytes.NewReader(cut), nil)
	fmt.Println(errors.Is(err, io.ErrUnexpectedEOF))
	// Output:
	// first member, second member
	// 28 bytes; name: one.txt
	// true
}

// A Codec chooses the level, and bounds what decompression may write so
// that a small input cannot fill a disk.
func ExampleCodec() {
	var compressed bytes.Buffer
	fast := kpipe.Codec{Level: kpipe.BestSpeed}
	if _, err := fast.Deflate(&compressed, strings.NewReader(strings.Repeat("kpipe ", 10_000))); err != nil {
		log.Fatal(err)
	}
	fmt.Println("60000 bytes compressed to fewer than 1000:", compressed.Len() < 1000)

	bounded := kpipe.Codec{MaxOutput: 1000}
	n, err := bounded.Inflate(io.Discard, bytes.NewReader(compressed.Bytes()))
	fmt.Println(n, errors.Is(err, kpipe.ErrTooLarge))
	// Output:
	// 60000 bytes compressed to fewer than 1000: true
	// 1000 true
}

// Codec.Threads compresses one large stream on several cores; the output is
// still one gzip member, and the same bytes whatever the thread count.
func ExampleCodec_threads() {
	src := strings.Repeat("a line of a large log file\n", 200_000) // 5.4 MB
	var two, four bytes.Buffer
	if _, err := (kpipe.Codec{Threads: 2}).Gzip(&two, strings.NewReader(src), nil); err != nil {
		log.Fatal(err)
	}
	if _, err := (kpipe.Codec{Threads: 4}).Gzip(&four, strings.NewReader(src), nil); err != nil {
		log.Fatal(err)
	}
	same := bytes.Equal(two.Bytes(), four.Bytes())
	var out bytes.Buffer
	n, err := kpipe.Gunzip(&out, &two, nil)
	fmt.Println(n == int64(len(src)), err, same)
	// Output: true <nil> true
}

// A transfer that is cancelled while its destination is full hands back
// what it had taken from the source: nothing is lost.
func ExampleUndelivered() {
	src, _ := kpipe.NewPipe()
	dst, _ := kpipe.NewPipe() // nobody reads it
	defer src.Close()
	defer dst.Close()
	dst.SetCap(4096) // the smallest pipe: it fills at 4096 bytes
	src.Write(bytes.Repeat([]byte("k"), 10_000))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	n, err := kpipe.DoubleSplice(ctx, dst, src) // src never ends: the timeout does
	held := 0
	for _, ue := range kpipe.Undelivered(err) {
		held += len(ue.Data) // ue.Dst.Write(ue.Data) would deliver them later
	}
	buffered, _ := src.Buffered()
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	fmt.Println("delivered", n, "handed back", held, "left in the source", buffered)
	// Output:
	// true
	// delivered 4096 handed back 5904 left in the source 0
}

// exampleFiles creates a temporary directory holding src.txt with content
// and returns src.txt opened for reading, a new dst.txt open for writing,
// and a function that closes both and removes the directory.
func exampleFiles(content string) (src, dst *os.File, done func()) {
	dir, err := os.MkdirTemp("", "kpipe-example")
	if err != nil {
		log.Fatal(err)
	}
	srcName := filepath.Join(dir, "src.txt")
	if err := os.WriteFile(srcName, []byte(content), 0o644); err != nil {
		log.Fatal(err)
	}
	if src, err = os.Open(srcName); err != nil {
		log.Fatal(err)
	}
	if dst, err = os.Create(filepath.Join(dir, "dst.txt")); err != nil {
		log.Fatal(err)
	}
	return src, dst, func() {
		dst.Close()
		src.Close()
		os.RemoveAll(dir)
	}
}
