package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// BenchmarkGzip and BenchmarkGunzip compare, side by side in one run, ways
// to gzip the corpus (see Load) at level 6 and to gunzip its gzip -6 form,
// file to file in the benchmark directory:
//
//	kpipe         kpipe.Codec{Level: 6}.Gzip, kpipe.Gunzip: *os.File to *os.File
//	kpipeC        the C program kp_gzip (csrc/bench/kp_gzip.c): kpipe's C
//	              streams without Go
//	zlibC         kp_gzip -bare: a plain C zlib loop (windowBits 31), the
//	              baseline kpipe must stay within 5% of
//	compressgzip  Go's compress/gzip: io.Copy from the file into a new
//	              gzip.Writer over a 64 KiB bufio.Writer on the output file
//	              (unbuffered, flate writes the file 240 bytes at a time);
//	              gunzip: io.Copy from a new gzip.Reader on the file
//	klauspost     github.com/klauspost/compress/gzip, used the same way
//	gzipcmd       the gzip(1) command: gzip -6 -n -c, gzip -d -c
//	pigzcmd, igzipcmd, libdeflatecmd
//	              Gunzip only: pigz -d -c, igzip -d -c, libdeflate-gunzip -c
//
// One op is the whole corpus; run with -benchtime 3x or so. Both directions
// report the uncompressed size with SetBytes, so that their MB/s compare;
// BenchmarkGzip also reports the compression ratio (uncompressed size /
// compressed size). Each output is checked once per method and process,
// outside the timed loop: gzip output must decode (with compress/gzip) to
// the corpus, gunzip output must be the corpus. Every op overwrites the
// method's output file in place (see benchMethod). The Go methods make new
// writers and readers every op, as a call would; their allocations are part
// of the figures. The C programs are run with the files themselves as stdin
// and stdout. kp_gzip is built with cmake on first use (see kpGzip).

// level is the compression level of every method.
const level = 6

// gzipMethods and gunzipMethods are the methods of BenchmarkGzip and
// BenchmarkGunzip, in table order (see GzipMethods and GunzipMethods).
var (
	gzipMethods   = GzipMethods(level, kpGzip)
	gunzipMethods = GunzipMethods(kpGzip)
)

// outPrefix starts the names of the benchmarks' output files in the corpus
// directory.
const outPrefix = "out-"

// TestMain runs the tests and benchmarks, then removes the output files.
func TestMain(m *testing.M) {
	code := m.Run()
	if loadCorpus != nil {
		names, _ := filepath.Glob(filepath.Join(loadCorpus.Dir, outPrefix+"*"))
		for _, name := range names {
			os.Remove(name)
		}
	}
	os.Exit(code)
}

func BenchmarkGzip(b *testing.B) {
	c := corpus(b)
	for _, m := range gzipMethods {
		b.Run(m.Name, func(b *testing.B) {
			benchMethod(b, c, m, c.Tar, true, VerifyGzip)
		})
	}
}

func BenchmarkGunzip(b *testing.B) {
	c := corpus(b)
	for _, m := range gunzipMethods {
		b.Run(m.Name, func(b *testing.B) {
			benchMethod(b, c, m, c.Gzip, false, VerifyGunzip)
		})
	}
}

// corpus returns the corpus, or stops b.
func corpus(b *testing.B) *Corpus {
	b.Helper()
	c, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchMethod times m on the file in, writing to a file of its own in the
// corpus directory. ratio asks for the compression
// ratio metric; verify checks the output once per method.
func benchMethod(b *testing.B, c *Corpus, m Method, in string, ratio bool, verify func(string, Digest) error) {
	if m.Needs != nil {
		if _, err := m.Needs(); err != nil {
			// Skip messages show only with -v: say it once in any case.
			if verifyOnce("skip " + b.Name()) {
				fmt.Fprintf(os.Stderr, "skipping %s: %v\n", b.Name(), err)
			}
			b.Skipf("%s: %v", m.Name, err)
		}
	}
	src, err := os.Open(in)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(c.Dir, fmt.Sprintf("%s%s-%s", outPrefix, filepath.Base(in), m.Name))
	dst, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()

	// The output file stays from call to call (TestMain removes it) and
	// every op overwrites it in place, so that no op is timed allocating
	// the file's pages, a cost of the file system and not of the method.
	// A new file gets an untimed op first, which also warms up the method.
	if st, err := dst.Stat(); err != nil {
		b.Fatal(err)
	} else if st.Size() == 0 {
		op(b, m, dst, src)
	}
	b.SetBytes(c.Size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op(b, m, dst, src)
	}
	b.StopTimer()

	st, err := dst.Stat()
	if err != nil {
		b.Fatal(err)
	}
	if ratio {
		if st.Size() == 0 {
			b.Fatalf("%s: empty output", m.Name)
		}
		b.ReportMetric(float64(c.Size)/float64(st.Size()), "ratio")
	}
	if verifyOnce(b.Name()) {
		if err := verify(out, Digest{Size: c.Size, Sum: c.Sum}); err != nil {
			b.Fatalf("%s: %v", m.Name, err)
		}
	}
}

// op runs m once, timing m alone: before it both files go back to offset
// 0, after it the output is cut where m stopped writing.
func op(b *testing.B, m Method, dst, src *os.File) {
	b.StopTimer()
	if err := Rewind(dst, src); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	_, err := m.Run(context.Background(), dst, src)
	b.StopTimer()
	if err != nil {
		b.Fatalf("%s: %v", m.Name, err)
	}
	if _, err := CutOutput(dst); err != nil {
		b.Fatalf("%s: %v", m.Name, err)
	}
	b.StartTimer()
}

var verified sync.Map // keys verifyOnce has seen

// verifyOnce reports whether key is new in this process (for instance, the
// output of the benchmark called key has yet to be checked), and records it.
func verifyOnce(name string) bool {
	_, done := verified.LoadOrStore(name, true)
	return !done
}
