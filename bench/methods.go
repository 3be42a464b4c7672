package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
	"github.com/kpipe/kpipe"
)

// A Method is one way to gzip or gunzip a file into another: kpipe, a C
// program, a Go library or the gzip command. The go test benchmarks
// (BenchmarkGzip, BenchmarkGunzip) and the kpipe-bench harness run the same
// Methods.
type Method struct {
	// Name is the method's short name, the name of its sub-benchmark,
	// e.g. "kpipeC".
	Name string
	// Peer is the name a report gives the method, e.g. "kpipe C loop (no Go)".
	Peer string
	// Needs, if not nil, returns the path of the program the method runs,
	// or an error saying why that program is not available here (then the
	// method cannot run).
	Needs func() (string, error)
	// Program reports that Run runs a program: the work is done by a child
	// process, whose CPU time Run returns, not by the calling process.
	Program bool
	// Run moves all of src, at offset 0, into dst, empty or to be
	// overwritten and at offset 0, leaving dst's offset where it stopped
	// writing (see CutOutput). It returns the CPU time (user plus system) of
	// the program it ran, or 0 for a method that runs in the calling
	// process. A program is killed when ctx is done; an in-process method
	// runs to the end.
	Run func(ctx context.Context, dst, src *os.File) (time.Duration, error)
}

// GzipMethods returns the ways to gzip a file at level (1 to 9), in table
// order: kpipe (kpipe.Codec.Gzip between *os.File), kpipeC (the C program
// kp_gzip: kpipe's C streams, no Go), zlibC (kp_gzip -bare: a plain C zlib
// loop with windowBits 31), compressgzip (Go's compress/gzip: io.Copy from
// the file into a new gzip.Writer over a 64 KiB bufio.Writer on the output
// file, since unbuffered flate writes 240 bytes at a time), klauspost
// (github.com/klauspost/compress/gzip, used the same way) and gzipcmd (the
// gzip command: gzip -LEVEL -n -c). kpGzip returns the path of the kp_gzip
// program, or why there is none; it is called whenever a kp_gzip method is
// checked or run, so it should be cheap after its first call.
func GzipMethods(level int, kpGzip func() (string, error)) []Method {
	lv := fmt.Sprintf("-%d", level)
	return []Method{
		{Name: "kpipe", Peer: "kpipe (cgo)", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			_, err := kpipe.Codec{Level: level}.Gzip(dst, src, nil)
			return 0, err
		}},
		programMethod("kpipeC", "kpipe C loop (no Go)", kpGzip, "-l", fmt.Sprint(level)),
		programMethod("zlibC", "zlib bare C loop", kpGzip, "-bare", "-l", fmt.Sprint(level)),
		{Name: "compressgzip", Peer: "compress/gzip", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			return 0, goCompress(dst, src, func(w io.Writer) (io.WriteCloser, error) {
				return gzip.NewWriterLevel(w, level)
			})
		}},
		{Name: "klauspost", Peer: "klauspost/compress", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			return 0, goCompress(dst, src, func(w io.Writer) (io.WriteCloser, error) {
				return kgzip.NewWriterLevel(w, level)
			})
		}},
		programMethod("gzipcmd", "gzip command", GzipCommand, lv, "-n", "-c"),
	}
}

// GzipLevelMethods returns the ways to gzip a file at level (1 to 9) that
// the harness's level sweep sets side by side, those that have the level,
// in table order. Their Peer names the peer without the level:
//
//   - kpipe: kpipe.Codec{Level: level}.Gzip between *os.File, one thread
//   - kpipeThreads: the same with Codec.Threads = threads
//   - klauspost: github.com/klauspost/compress/gzip, io.Copy from the file
//     into a new gzip.Writer over a 64 KiB bufio.Writer on the output file
//   - pgzip: github.com/klauspost/pgzip used the same way, threads blocks
//     of 1 MiB compressed at once (its default with GOMAXPROCS = threads)
//   - compressgzip: Go's compress/gzip used the same way
//   - zlibC: kp_gzip -bare -l LEVEL, a plain C zlib loop
//   - gzipcmd: gzip -LEVEL -n -c
//   - pigzcmd: pigz -LEVEL -n -p THREADS -c
//   - igzipcmd: igzip -LEVEL -n -c (ISA-L; levels 1 to 3 only)
//   - libdeflatecmd: libdeflate-gzip -LEVEL -n -c
//
// The programs read the input file as their standard input and write the
// output file as their standard output. kpGzip is as for GzipMethods.
func GzipLevelMethods(level, threads int, kpGzip func() (string, error)) []Method {
	lv := fmt.Sprintf("-%d", level)
	ms := []Method{
		{Name: "kpipe", Peer: "kpipe (1 thread)", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			_, err := kpipe.Codec{Level: level}.Gzip(dst, src, nil)
			return 0, err
		}},
		{Name: "kpipeThreads", Peer: "kpipe (" + threadsWord(threads) + ")", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			_, err := kpipe.Codec{Level: level, Threads: threads}.Gzip(dst, src, nil)
			return 0, err
		}},
		{Name: "klauspost", Peer: "klauspost/compress", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			return 0, goCompress(dst, src, func(w io.Writer) (io.WriteCloser, error) {
				return kgzip.NewWriterLevel(w, level)
			})
		}},
		{Name: "pgzip", Peer: "pgzip (" + threadsWord(threads) + ")", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			return 0, goCompress(dst, src, func(w io.Writer) (io.WriteCloser, error) {
				zw, err := pgzip.NewWriterLevel(w, level)
				if err != nil {
					return nil, err
				}
				return zw, zw.SetConcurrency(pgzipBlock, threads)
			})
		}},
		{Name: "compressgzip", Peer: "compress/gzip", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			return 0, goCompress(dst, src, func(w io.Writer) (io.WriteCloser, error) {
				return gzip.NewWriterLevel(w, level)
			})
		}},
		programMethod("zlibC", "zlib bare C loop", kpGzip, "-bare", "-l", fmt.Sprint(level)),
		programMethod("gzipcmd", "gzip command", GzipCommand, lv, "-n", "-c"),
		programMethod("pigzcmd", "pigz command ("+threadsWord(threads)+")", commandFinder("pigz"), lv, "-n", "-p", fmt.Sprint(threads), "-c"),
	}
	if level <= igzipMaxLevel {
		ms = append(ms, programMethod("igzipcmd", "igzip command", commandFinder("igzip"), lv, "-n", "-c"))
	}
	return append(ms, programMethod("libdeflatecmd", "libdeflate-gzip command", commandFinder("libdeflate-gzip"), lv, "-n", "-c"))
}

// pgzipBlock is the size of pgzip's blocks: its default, 1 MiB.
const pgzipBlock = 1 << 20

// igzipMaxLevel is the highest level of the igzip command (ISA-L).
const igzipMaxLevel = 3

// threadsWord returns "1 thread" or "N threads".
func threadsWord(n int) string {
	if n == 1 {
		return "1 thread"
	}
	return fmt.Sprintf("%d threads", n)
}

// GunzipMethods returns the ways to gunzip a file, in table order, the
// decompressing forms of GzipMethods and more programs: kpipe
// (kpipe.Gunzip), kpipeC (kp_gzip -d), zlibC (kp_gzip -d -bare),
// compressgzip and klauspost (io.Copy from a new gzip.Reader on the file
// into the output file), gzipcmd (gzip -d -c), pigzcmd (pigz -d -c),
// igzipcmd (igzip -d -c) and libdeflatecmd (libdeflate-gunzip -c, which
// reads its standard input whole). kpGzip is as for GzipMethods.
func GunzipMethods(kpGzip func() (string, error)) []Method {
	return []Method{
		{Name: "kpipe", Peer: "kpipe (cgo)", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			_, err := kpipe.Gunzip(dst, src, nil)
			return 0, err
		}},
		programMethod("kpipeC", "kpipe C loop (no Go)", kpGzip, "-d"),
		programMethod("zlibC", "zlib bare C loop", kpGzip, "-d", "-bare"),
		{Name: "compressgzip", Peer: "compress/gzip", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			return 0, goDecompress(dst, src, func(r io.Reader) (io.ReadCloser, error) {
				return gzip.NewReader(r)
			})
		}},
		{Name: "klauspost", Peer: "klauspost/compress", Run: func(_ context.Context, dst, src *os.File) (time.Duration, error) {
			return 0, goDecompress(dst, src, func(r io.Reader) (io.ReadCloser, error) {
				return kgzip.NewReader(r)
			})
		}},
		programMethod("gzipcmd", "gzip command", GzipCommand, "-d", "-c"),
		programMethod("pigzcmd", "pigz command", commandFinder("pigz"), "-d", "-c"),
		programMethod("igzipcmd", "igzip command", commandFinder("igzip"), "-d", "-c"),
		programMethod("libdeflatecmd", "libdeflate-gunzip command", commandFinder("libdeflate-gunzip"), "-c"),
	}
}

// programMethod returns the method that runs the program that find returns
// with args, the input file as its standard input and the output file as
// its standard output.
func programMethod(name, peer string, find func() (string, error), args ...string) Method {
	return Method{Name: name, Peer: peer, Needs: find, Program: true,
		Run: func(ctx context.Context, dst, src *os.File) (time.Duration, error) {
			path, err := find()
			if err != nil {
				return 0, err
			}
			return RunProgram(ctx, path, dst, src, args...)
		}}
}

// GzipCommand returns the path of the gzip command, looked up in PATH once
// per process.
func GzipCommand() (string, error) { return Command("gzip") }

// A lookup is the outcome of a command's look-up in PATH.
type lookup struct {
	path string
	err  error
}

var commands sync.Map // command name -> lookup, once Command looked it up

// Command returns the path of the command name, looked up in PATH once per
// process, or an error that names the command.
func Command(name string) (string, error) {
	if l, ok := commands.Load(name); ok {
		return l.(lookup).path, l.(lookup).err
	}
	path, err := exec.LookPath(name)
	if err != nil {
		err = fmt.Errorf("no %s command: %w", name, err)
	}
	l, _ := commands.LoadOrStore(name, lookup{path, err})
	return l.(lookup).path, l.(lookup).err
}

// commandFinder returns the function that finds the command name (see
// Command), for a Method's Needs.
func commandFinder(name string) func() (string, error) {
	return func() (string, error) { return Command(name) }
}

// Rewind puts dst and src back at offset 0, as Method.Run wants them.
func Rewind(dst, src *os.File) error {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding %s: %w", src.Name(), err)
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding %s: %w", dst.Name(), err)
	}
	return nil
}

// CutOutput truncates dst where a Method.Run that overwrote it stopped
// writing (its offset) and returns that size. Nothing written is an error.
func CutOutput(dst *os.File) (int64, error) {
	end, err := dst.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, fmt.Errorf("output offset of %s: %w", dst.Name(), err)
	}
	if end == 0 {
		return 0, fmt.Errorf("nothing written at the file offset of %s", dst.Name())
	}
	if err := dst.Truncate(end); err != nil {
		return 0, fmt.Errorf("cutting %s: %w", dst.Name(), err)
	}
	return end, nil
}

// A Digest is the size and SHA-256 of a file's contents, what a method's
// output is checked against.
type Digest struct {
	Size int64
	Sum  [sha256.Size]byte
}

// DigestFile returns the digest of the file at path, reading all of it.
func DigestFile(path string) (Digest, error) {
	n, sum, err := hashFile(path)
	if err != nil {
		return Digest{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	return Digest{Size: n, Sum: sum}, nil
}

// VerifyGzip checks that the gzip file at path decodes (with compress/gzip)
// to the data want describes.
func VerifyGzip(path string, want Digest) error {
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
	if n != want.Size || !bytes.Equal(h.Sum(nil), want.Sum[:]) {
		return fmt.Errorf("output decodes to %d bytes that are not the input (%d bytes)", n, want.Size)
	}
	return nil
}

// VerifyGunzip checks that the file at path holds the data want describes.
func VerifyGunzip(path string, want Digest) error {
	got, err := DigestFile(path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("output is %d bytes that are not the input (%d bytes)", got.Size, want.Size)
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

// RunProgram runs the program at path with args, src as its standard input
// and dst as its standard output (nil: /dev/null), and returns the CPU time
// it used (user plus system, from the kernel's accounting of the child). A
// failure quotes the program's standard error. The program is killed if ctx
// is done first.
func RunProgram(ctx context.Context, path string, dst, src *os.File, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin, cmd.Stdout = src, dst
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return cpu, fmt.Errorf("%s %v: %w: %s", filepath.Base(path), args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return cpu, nil
}
