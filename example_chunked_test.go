//go:build linux

package kpipe_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/kpipe/kpipe"
)

// ChunkedTransfer writes an HTTP/1.1 chunked body: each chunk's size in
// hexadecimal, the data, and the last chunk at the end. Between descriptors
// (a file and a socket, say) the data is spliced and never enters Go.
func ExampleChunkedTransfer() {
	var body bytes.Buffer
	src := strings.NewReader("hello, chunks")
	n, err := kpipe.ChunkedTransfer(&body, src)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n)
	fmt.Printf("%q\n", body.String())
	// Output:
	// 13
	// "d\r\nhello, chunks\r\n0\r\n\r\n"
}

// SpliceChunks frames any chunked protocol. Here a file goes out in chunks
// of at most 4 bytes, each announced by its length; the announced length is
// always exactly what follows.
func ExampleSpliceChunks() {
	name := filepath.Join(os.TempDir(), "kpipe-example-chunks.txt")
	if err := os.WriteFile(name, []byte("abcdefghij"), 0o600); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(name)
	f, err := os.Open(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	var out bytes.Buffer
	n, err := kpipe.SpliceChunks(&out, f, kpipe.ChunkOptions{
		Prefix:       []byte("["),
		Postfix:      []byte("]"),
		ChunkPrefix:  func(n int) []byte { return []byte(fmt.Sprintf("%d:", n)) },
		ChunkPostfix: func(int) []byte { return []byte(";") },
		ChunkSize:    4,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, out.String())
	// Output:
	// 10 [4:abcd;4:efgh;2:ij;]
}
