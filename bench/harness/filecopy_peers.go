package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/kpipe/kpipe"
	"github.com/kpipe/kpipe/bench"
)

// fileCopyPipeSize is the pipe capacity the splice loops ask for (Go's and
// the C program's): 1 MiB, Linux's default pipe-max-size.
const fileCopyPipeSize = 1 << 20

// A fileCopyPeer is one way to copy a file: a function run in this process
// (inProcess) or an external program (program and args).
type fileCopyPeer struct {
	name string
	// inProcess copies src to dst from their offsets and returns the bytes
	// copied; nil for a program.
	inProcess func(ctx context.Context, dst, src *os.File) (int64, error)
	// program returns the program's path, or the reason it cannot run.
	program func(cfg Config) (path, skip string)
	// args returns the program's arguments for the input and output paths.
	args func(src, dst string) []string
}

// fileCopyPeers are the file copy peers in report order; the first is the
// baseline.
var fileCopyPeers = []fileCopyPeer{
	{name: "read/write 32 KiB", inProcess: readWriteCopy(32 << 10)},
	{name: "read/write 1 MiB", inProcess: readWriteCopy(1 << 20)},
	{name: "io.Copy", inProcess: func(_ context.Context, dst, src *os.File) (int64, error) {
		return io.Copy(dst, src)
	}},
	{name: "kpipe.Copy", inProcess: func(_ context.Context, dst, src *os.File) (int64, error) {
		return kpipe.Copy(dst, src)
	}},
	{name: "kpipe.Splice loop", inProcess: spliceLoopCopy},
	{name: "kpipe.DoubleSplice", inProcess: func(ctx context.Context, dst, src *os.File) (int64, error) {
		return kpipe.DoubleSplice(ctx, dst, src)
	}},
	{
		name:    "C splice loop",
		program: func(cfg Config) (string, string) { return cProgram(cfg, "kp_splice_copy") },
		args: func(src, dst string) []string {
			return []string{src, dst, strconv.Itoa(fileCopyPipeSize)}
		},
	},
	{
		name:    "cp",
		program: func(Config) (string, string) { return commandPath("cp") },
		args:    func(src, dst string) []string { return []string{src, dst} },
	},
}

// fileCopyCases returns a case per peer of fileCopyPeers that copies f.
func fileCopyCases(cfg Config, f *fileCopyFiles) []Case {
	cases := make([]Case, 0, len(fileCopyPeers))
	for _, p := range fileCopyPeers {
		c := Case{Peer: p.name}
		if p.inProcess != nil {
			c.Run = fileCopyInProcess(f, p.inProcess)
		} else {
			path, skip := p.program(cfg)
			c.Skip = skip
			if skip == "" {
				c.Run = fileCopyProgram(f, path, p.args)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// fileCopyInProcess returns the Run of an in-process peer: it opens the
// input and the output (written over in place, see fileCopyFiles.prepare),
// times copyFn between them together with the process's CPU time, closes
// both and checks the output.
func fileCopyInProcess(f *fileCopyFiles, copyFn func(ctx context.Context, dst, src *os.File) (int64, error)) func(context.Context) (Sample, error) {
	verified := false
	return func(ctx context.Context) (Sample, error) {
		if err := f.prepare(!verified); err != nil {
			return Sample{}, err
		}
		n, elapsed, cpu, err := f.copyOnce(ctx, copyFn)
		if err != nil {
			return Sample{}, errors.Join(err, removeIfExists(f.dst))
		}
		if err := f.check(n, !verified); err != nil {
			return Sample{}, err
		}
		verified = true
		return Sample{Bytes: f.size, Elapsed: elapsed, CPU: cpu}, nil
	}
}

// copyOnce opens the files and runs copyFn once, timed.
func (f *fileCopyFiles) copyOnce(ctx context.Context, copyFn func(ctx context.Context, dst, src *os.File) (int64, error)) (n int64, elapsed, cpu time.Duration, err error) {
	src, err := os.Open(f.src)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("file copy input: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(f.dst, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("file copy output: %w", err)
	}
	defer func() {
		if cerr := dst.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("file copy output: %w", cerr)
		}
	}()
	cpu0 := selfCPU()
	start := time.Now()
	n, err = copyFn(ctx, dst, src)
	elapsed = time.Since(start)
	cpu = selfCPU() - cpu0
	if err != nil {
		return n, 0, 0, fmt.Errorf("after %d bytes: %w", n, err)
	}
	return n, elapsed, cpu, nil
}

// fileCopyProgram returns the Run of a program peer: it runs path with the
// arguments args makes of the input and output paths, and takes the
// process's wall time and its own CPU time.
func fileCopyProgram(f *fileCopyFiles, path string, args func(src, dst string) []string) func(context.Context) (Sample, error) {
	verified := false
	return func(ctx context.Context) (Sample, error) {
		if err := f.prepare(!verified); err != nil {
			return Sample{}, err
		}
		start := time.Now()
		cpu, err := bench.RunProgram(ctx, path, nil, nil, args(f.src, f.dst)...)
		wall := time.Since(start)
		if err != nil {
			return Sample{}, errors.Join(err, removeIfExists(f.dst))
		}
		if err := f.check(-1, !verified); err != nil {
			return Sample{}, err
		}
		verified = true
		return Sample{Bytes: f.size, Elapsed: wall, CPU: cpu}, nil
	}
}

// readWriteCopy returns a copy that reads src into a buffer of size bytes
// and writes it to dst, until end of input: the plain loop every other
// method is measured against. It stops between two reads when ctx is done.
func readWriteCopy(size int) func(ctx context.Context, dst, src *os.File) (int64, error) {
	return func(ctx context.Context, dst, src *os.File) (int64, error) {
		buf := make([]byte, size)
		done := ctx.Done()
		var total int64
		for {
			select {
			case <-done:
				return total, ctx.Err()
			default:
			}
			n, err := src.Read(buf)
			if n > 0 {
				w, werr := dst.Write(buf[:n])
				total += int64(w)
				if werr != nil {
					return total, werr
				}
			}
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
		}
	}
}

// spliceLoopCopy copies src to dst as a user of kpipe.Splice would: through
// a kpipe.Pipe of 1 MiB (or the capacity the kernel grants), splicing as
// much as the pipe holds from src into it, then all of that from it into
// dst, until src ends. It stops between two chunks when ctx is done.
func spliceLoopCopy(ctx context.Context, dst, src *os.File) (total int64, err error) {
	p, err := kpipe.NewPipe()
	if err != nil {
		return 0, fmt.Errorf("pipe: %w", err)
	}
	defer func() {
		if cerr := p.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close pipe: %w", cerr)
		}
	}()
	capacity, err := p.SetCap(fileCopyPipeSize)
	if err != nil {
		// Refused (pipe-max-size or a per-user limit): keep the default.
		if capacity, err = p.Cap(); err != nil {
			return 0, fmt.Errorf("pipe capacity: %w", err)
		}
	}
	done := ctx.Done()
	for {
		select {
		case <-done:
			return total, ctx.Err()
		default:
		}
		n, err := kpipe.Splice(p, src, int64(capacity))
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		for n > 0 {
			m, err := kpipe.Splice(dst, p, n)
			total += m
			if err != nil {
				return total, err
			}
			if m == 0 {
				return total, io.ErrUnexpectedEOF
			}
			n -= m
		}
	}
}
