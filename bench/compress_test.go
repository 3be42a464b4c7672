package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/kpipe/kpipe"
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

// A method moves all of src, at offset 0, into dst, empty and at offset 0.
type method struct {
	name  string
	needs func() (string, error) // a program the method runs, or nil
	run   func(dst, src *os.File) error
}

// gzipMethods are the methods of BenchmarkGzip, in table order.
var gzipMethods = []method{
	{"kpipe", nil, func(dst, src *os.File) error {
		_, err := kpipe.Codec{Level: level}.Gzip(dst, src, nil)
		return err
	}},
	{"kpipeC", kpGzip, func(dst, src *os.File) error {
		return runProgram(kpGzipPath, dst, src, "-l", fmt.Sprint(level))
	}},
	{"zlibC", kpGzip, func(dst, src *os.File) error {
		return runProgram(kpGzipPath, dst, src, "-bare", "-l", fmt.Sprint(level))
	}},
	{"compressgzip", nil, func(dst, src *os.File) error {
		return goCompress(dst, src, func(w io.Writer) (io.WriteCloser, error) {
			return gzip.NewWriterLevel(w, level)
		})
	}},
	{"klauspost", nil, func(dst, src *os.File) error {
		return goCompress(dst, src, func(w io.Writer) (io.WriteCloser, error) {
			return kgzip.NewWriterLevel(w, level)
		})
	}},
	{"gzipcmd", gzipCmd, func(dst, src *os.File) error {
		return runProgram(gzipPath, dst, src, fmt.Sprintf("-%d", level), "-n", "-c")
	}},
}

// gunzipMethods are the methods of BenchmarkGunzip, in table order.
var gunzipMethods = []method{
	{"kpipe", nil, func(dst, src *os.File) error {
		_, err := kpipe.Gunzip(dst, src, nil)
		return err
	}},
	{"kpipeC", kpGzip, func(dst, src *os.File) error {
		return runProgram(kpGzipPath, dst, src, "-d")
	}},
	{"zlibC", kpGzip, func(dst, src *os.File) error {
		return runProgram(kpGzipPath, dst, src, "-d", "-bare")
	}},
	{"compressgzip", nil, func(dst, src *os.File) error {
		return goDecompress(dst, src, func(r io.Reader) (io.ReadCloser, error) {
			return gzip.NewReader(r)
		})
	}},
	{"klauspost", nil, func(dst, src *os.File) error {
		return goDecompress(dst, src, func(r io.Reader) (io.ReadCloser, error) {
			return kgzip.NewReader(r)
		})
	}},
	{"gzipcmd", gzipCmd, func(dst, src *os.File) error {
		return runProgram(gzipPath, dst, src, "-d", "-c")
	}},
}

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
		b.Run(m.name, func(b *testing.B) {
			benchMethod(b, c, m, c.Tar, true, verifyGzip)
		})
	}
}

func BenchmarkGunzip(b *testing.B) {
	c := corpus(b)
	for _, m := range gunzipMethods {
		b.Run(m.name, func(b *testing.B) {
			benchMethod(b, c, m, c.Gzip, false, verifyGunzip)
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
func benchMethod(b *testing.B, c *Corpus, m method, in string, ratio bool, verify func(*Corpus, string) error) {
	if m.needs != nil {
		if _, err := m.needs(); err != nil {
			// Skip messages show only with -v: say it once in any case.
			if verifyOnce("skip " + b.Name()) {
				fmt.Fprintf(os.Stderr, "skipping %s: %v\n", b.Name(), err)
			}
			b.Skipf("%s: %v", m.name, err)
		}
	}
	src, err := os.Open(in)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(c.Dir, fmt.Sprintf("%s%s-%s", outPrefix, filepath.Base(in), m.name))
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
			b.Fatalf("%s: empty output", m.name)
		}
		b.ReportMetric(float64(c.Size)/float64(st.Size()), "ratio")
	}
	if verifyOnce(b.Name()) {
		if err := verify(c, out); err != nil {
			b.Fatalf("%s: %v", m.name, err)
		}
	}
}

// op runs m once, timing m alone: before it both files go back to offset
// 0, after it the output is cut where m stopped writing.
func op(b *testing.B, m method, dst, src *os.File) {
	b.StopTimer()
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		b.Fatal(err)
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	err := m.run(dst, src)
	b.StopTimer()
	if err != nil {
		b.Fatalf("%s: %v", m.name, err)
	}
	end, err := dst.Seek(0, io.SeekCurrent)
	if err != nil {
		b.Fatal(err)
	}
	if end == 0 {
		b.Fatalf("%s: nothing written at the file offset", m.name)
	}
	if err := dst.Truncate(end); err != nil {
		b.Fatal(err)
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

// verifyGzip checks that the gzip file at path decodes to the corpus.
func verifyGzip(c *Corpus, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("output does not decode: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, zr)
	if err != nil {
		return fmt.Errorf("output does not decode: %w", err)
	}
	if n != c.Size || !bytes.Equal(h.Sum(nil), c.Sum[:]) {
		return fmt.Errorf("output decodes to %d bytes that are not the corpus (%d bytes)", n, c.Size)
	}
	return nil
}

// verifyGunzip checks that the file at path is the corpus.
func verifyGunzip(c *Corpus, path string) error {
	n, sum, err := hashFile(path)
	if err != nil {
		return err
	}
	if n != c.Size || sum != c.Sum {
		return fmt.Errorf("output is %d bytes that are not the corpus (%d bytes)", n, c.Size)
	}
	return nil
}

// goCompress copies src into a compressor from newWriter over a 64 KiB
// buffer on dst.
func goCompress(dst, src *os.File, newWriter func(io.Writer) (io.WriteCloser, error)) error {
	bw := bufio.NewWriterSize(dst, 64<<10)
	zw, err := newWriter(bw)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zw, src); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// goDecompress copies a decompressor from newReader on src into dst.
func goDecompress(dst, src *os.File, newReader func(io.Reader) (io.ReadCloser, error)) error {
	zr, err := newReader(src)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, zr); err != nil {
		return err
	}
	return zr.Close()
}

// runProgram runs the program at path with args, src as its standard input
// and dst as its standard output.
func runProgram(path string, dst, src *os.File, args ...string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout = src, dst
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w: %s", filepath.Base(path), args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
