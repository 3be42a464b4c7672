package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kpipe/kpipe/bench"
)

// compressFiles are the input files of a compression group.
type compressFiles struct {
	raw  string   // the uncompressed data
	gz   string   // its gzip -6 form, when asked for
	made []string // the files made for the group, which its teardown removes
}

// A compressInput is the data the compression sections run on.
type compressInput struct {
	setting string // the groups' Setting
	about   string // what the data is, for the sections' About
	// make returns a group's input files, making what it must in dir
	// with names that start with prefix; withGzip asks for the gzip form
	// too. On error the files it returns are still those it made.
	make func(ctx context.Context, dir, prefix string, withGzip bool) (compressFiles, error)
}

// compressQuickSize is the size of the input with Config.Quick.
const compressQuickSize = 4 << 20

// compressCorpusInput returns the bench package's corpus (see bench.Load)
// as the input, or with quick its first compressQuickSize bytes. Without
// quick the corpus is loaded at once (made, the first time ever, which takes
// some seconds), so that the setting can give its size.
func compressCorpusInput(quick bool) compressInput {
	about := "a tar of the Go toolchain's source tree ($(go env GOROOT)/src)"
	if quick {
		return compressInput{
			setting: fmt.Sprintf("Go source tar, first %d MiB", compressQuickSize>>20),
			about:   fmt.Sprintf("the first %d MiB of %s", compressQuickSize>>20, about),
			make: func(ctx context.Context, dir, prefix string, withGzip bool) (compressFiles, error) {
				c, err := bench.Load()
				if err != nil {
					return compressFiles{}, err
				}
				return compressPrefixInput(ctx, c.Tar, compressQuickSize, dir, prefix, withGzip)
			},
		}
	}
	setting := "Go source tar"
	if c, err := bench.Load(); err == nil {
		setting = fmt.Sprintf("Go source tar (%s), %d MB", c.Version, (c.Size+500_000)/1_000_000)
	}
	return compressInput{
		setting: setting,
		about:   about + ", and its gzip -6 -n form, made once and kept in " + compressCorpusDir(),
		make: func(_ context.Context, _, _ string, _ bool) (compressFiles, error) {
			c, err := bench.Load()
			if err != nil {
				return compressFiles{}, err
			}
			return compressFiles{raw: c.Tar, gz: c.Gzip}, nil
		},
	}
}

// The sample that the Gzip levels section compresses: sweepChunks pieces
// of sweepChunk bytes of the corpus (sweepQuickChunks with Config.Quick).
const (
	sweepChunk       = 1 << 20
	sweepChunks      = 16
	sweepQuickChunks = 4
)

// compressSweepInput returns the input of the Gzip levels section: a sample
// of the bench package's corpus (see bench.Load), sweepChunks pieces of
// sweepChunk bytes taken at even steps from its start to its end and put
// one after another (see compressSampleFile), made in the work directory
// for the run; with quick, sweepQuickChunks pieces. Without quick the corpus
// is loaded at once, so that the setting can give its size.
func compressSweepInput(quick bool) compressInput {
	chunks := sweepChunks
	if quick {
		chunks = sweepQuickChunks
	}
	mib := chunks * sweepChunk >> 20
	whole := "a tar of the Go toolchain's source tree ($(go env GOROOT)/src)"
	setting := fmt.Sprintf("Go source tar, %d MiB sample", mib)
	if !quick {
		if c, err := bench.Load(); err == nil {
			setting = fmt.Sprintf("Go source tar (%s), %d MiB sample", c.Version, mib)
			whole = fmt.Sprintf("a tar of the Go toolchain's source tree ($(go env GOROOT)/src, %s, %d MB)",
				c.Version, (c.Size+500_000)/1_000_000)
		}
	}
	return compressInput{
		setting: setting,
		about: fmt.Sprintf("a %d MiB sample of %s: %d pieces of %d MiB taken at even steps from its start "+
			"to its end, put one after another", mib, whole, chunks, sweepChunk>>20),
		make: func(_ context.Context, dir, prefix string, _ bool) (compressFiles, error) {
			c, err := bench.Load()
			if err != nil {
				return compressFiles{}, err
			}
			files := compressFiles{raw: filepath.Join(dir, prefix+"-input")}
			files.made = append(files.made, files.raw)
			return files, compressSampleFile(files.raw, c.Tar, chunks, sweepChunk)
		},
	}
}

// compressSampleFile writes to a new file at dst chunks pieces of chunk
// bytes of the file at src, one after another: the first at its start, the
// last at its end and the others evenly between. A file of chunks*chunk
// bytes or fewer is copied whole.
func compressSampleFile(dst, src string, chunks int, chunk int64) error {
	return deriveFile(dst, src, "input sample", func(out, in *os.File) error {
		st, err := in.Stat()
		if err != nil {
			return fmt.Errorf("input sample: %w", err)
		}
		size := st.Size()
		if chunks < 1 || size <= int64(chunks)*chunk {
			if _, err := io.Copy(out, in); err != nil {
				return fmt.Errorf("input sample %s: %w", dst, err)
			}
			return nil
		}
		for i := 0; i < chunks; i++ {
			if _, err := io.Copy(out, io.NewSectionReader(in, sampleOffset(i, chunks, size, chunk), chunk)); err != nil {
				return fmt.Errorf("input sample %s: %w", dst, err)
			}
		}
		return nil
	})
}

// sampleOffset returns the offset of piece i of n pieces of chunk bytes
// taken at even steps across size bytes: the first at the start, the last
// at the end.
func sampleOffset(i, n int, size, chunk int64) int64 {
	if n <= 1 {
		return 0
	}
	return int64(i) * (size - chunk) / int64(n-1)
}

// compressCorpusDir names the directory of the bench package's corpus for
// the report.
func compressCorpusDir() string {
	if dir := os.Getenv("KPIPE_BENCH_DIR"); dir != "" {
		return dir
	}
	return bench.DefaultDir
}

// compressPrefixInput copies the first size bytes of the file at path into
// dir (as PREFIX-input) and, with withGzip, compresses that copy at level 6
// with the gzip command, or with kpipe where there is none (as
// PREFIX-input.gz).
func compressPrefixInput(ctx context.Context, path string, size int64, dir, prefix string, withGzip bool) (compressFiles, error) {
	var files compressFiles
	files.raw = filepath.Join(dir, prefix+"-input")
	files.made = append(files.made, files.raw)
	if err := compressCopyPrefix(files.raw, path, size); err != nil {
		return files, err
	}
	if !withGzip {
		return files, nil
	}
	files.gz = files.raw + ".gz"
	files.made = append(files.made, files.gz)
	return files, compressGzipFile(ctx, files.gz, files.raw)
}

// compressCopyPrefix writes the first size bytes of the file at src (all
// of it if it is shorter) to a new file at dst.
func compressCopyPrefix(dst, src string, size int64) error {
	return deriveFile(dst, src, "input prefix", func(out, in *os.File) error {
		if _, err := io.Copy(out, io.LimitReader(in, size)); err != nil {
			return fmt.Errorf("input prefix %s: %w", dst, err)
		}
		return nil
	})
}

// compressGzipFile writes the level 6 gzip form of the file at src to a
// new file at dst, made by the gzip command if there is one, by kpipe
// otherwise.
func compressGzipFile(ctx context.Context, dst, src string) error {
	noKpGzip := func() (string, error) { return "", errors.New("kp_gzip is not used here") }
	methods := bench.GzipMethods(compressLevel, noKpGzip)
	m, ok := compressMethodNamed(methods, "gzipcmd")
	if ok {
		if _, err := m.Needs(); err != nil {
			ok = false
		}
	}
	if !ok {
		if m, ok = compressMethodNamed(methods, "kpipe"); !ok {
			return errors.New("gzip form of the input: no kpipe method")
		}
	}
	return deriveFile(dst, src, "gzip form of the input", func(out, in *os.File) error {
		if _, err := m.Run(ctx, out, in); err != nil {
			return fmt.Errorf("gzip form of the input (%s): %w", m.Peer, err)
		}
		return nil
	})
}

// deriveFile makes a new file at dst and has write fill it from the file at
// src, both open for the call. The errors of opening src and of creating
// and closing dst say what; write's are returned as they are.
func deriveFile(dst, src, what string, write func(out, in *os.File) error) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: %w", what, cerr)
		}
	}()
	return write(out, in)
}

// compressMethodNamed returns the method of methods called name.
func compressMethodNamed(methods []bench.Method, name string) (bench.Method, bool) {
	for _, m := range methods {
		if m.Name == name {
			return m, true
		}
	}
	return bench.Method{}, false
}

// compressKpGzip returns a function that gives the path of kp_gzip in
// cfg.CBinDir, or why it cannot be used.
func compressKpGzip(cfg Config) func() (string, error) {
	return func() (string, error) {
		path, skip := cProgram(cfg, "kp_gzip")
		if skip != "" {
			return "", errors.New(skip)
		}
		return path, nil
	}
}
