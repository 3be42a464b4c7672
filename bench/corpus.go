// Package bench holds kpipe's compression benchmarks, in a module of its own
// so that the libraries they compare against (github.com/klauspost/compress)
// stay out of the kpipe module's go.mod.
//
// The benchmarks run on a corpus made at benchmark time: a tar of the Go
// toolchain's own source tree ($(go env GOROOT)/src, which holds the
// compress packages' testdata too), and the gzip -6 form of that tar. See
// Load and README.md.
package bench

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultDir is the directory that holds the corpus and the benchmarks'
// output files when KPIPE_BENCH_DIR is not set. It is in memory (tmpfs), so
// that the figures measure compression and not a disk, and it is not under
// /tmp, whose cold pages some machines page out.
const DefaultDir = "/dev/shm/kpipe-bench"

// corpusTime is the modification time of every entry of the tar, so that
// the tar (and its size) depend only on the contents of GOROOT/src.
var corpusTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Corpus describes the benchmark corpus on disk.
type Corpus struct {
	Dir      string            // directory holding the files (see Dir)
	Tar      string            // path of the uncompressed tar of GOROOT/src
	Gzip     string            // path of the tar compressed by gzip -6 -n
	Size     int64             // size of Tar in bytes
	GzipSize int64             // size of Gzip in bytes
	Sum      [sha256.Size]byte // SHA-256 of Tar
	GoRoot   string            // the GOROOT whose src the tar holds
	Version  string            // that toolchain's version, e.g. go1.26.8
}

// Dir returns the benchmark directory: $KPIPE_BENCH_DIR if set, DefaultDir
// otherwise. It creates the directory if needed.
func Dir() (string, error) {
	dir := os.Getenv("KPIPE_BENCH_DIR")
	if dir == "" {
		if st, err := os.Stat("/dev/shm"); err != nil || !st.IsDir() {
			return "", errors.New("bench: no /dev/shm; set KPIPE_BENCH_DIR to a directory in memory (not /tmp)")
		}
		dir = DefaultDir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return dir, nil
}

var (
	loadOnce   sync.Once
	loadCorpus *Corpus
	loadErr    error
)

// Load returns the corpus, making it on the first call of the process if
// the benchmark directory does not hold it yet. The files are named after the
// Go version (gosrc-go1.26.8.tar and gosrc-go1.26.8.tar.gz) and are kept
// between runs; delete them to make them again. Making them takes a few
// seconds and needs the go and gzip commands in PATH.
func Load() (*Corpus, error) {
	loadOnce.Do(func() { loadCorpus, loadErr = load() })
	return loadCorpus, loadErr
}

func load() (*Corpus, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	root, version, err := goEnv()
	if err != nil {
		return nil, err
	}
	c := &Corpus{
		Dir:     dir,
		Tar:     filepath.Join(dir, "gosrc-"+version+".tar"),
		Gzip:    filepath.Join(dir, "gosrc-"+version+".tar.gz"),
		GoRoot:  root,
		Version: version,
	}
	if err := ensure(c.Tar, func(w io.Writer) error {
		return writeTar(w, filepath.Join(root, "src"))
	}); err != nil {
		return nil, fmt.Errorf("bench: making the corpus tar: %w", err)
	}
	if err := ensure(c.Gzip, func(w io.Writer) error {
		return gzipCommand(w, c.Tar)
	}); err != nil {
		return nil, fmt.Errorf("bench: compressing the corpus: %w", err)
	}
	if c.Size, c.Sum, err = hashFile(c.Tar); err != nil {
		return nil, err
	}
	st, err := os.Stat(c.Gzip)
	if err != nil {
		return nil, err
	}
	c.GzipSize = st.Size()
	return c, nil
}

// goEnv returns GOROOT and GOVERSION as the go command reports them.
func goEnv() (root, version string, err error) {
	out, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		return "", "", fmt.Errorf("bench: go env: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] == "" || lines[1] == "" {
		return "", "", fmt.Errorf("bench: go env GOROOT GOVERSION printed %q", out)
	}
	return lines[0], lines[1], nil
}

// ensure makes the file at path with write unless it exists. It writes a
// temporary file in the same directory and renames it, so that a file that
// exists is complete.
func ensure(path string, write func(io.Writer) error) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// writeTar writes a tar of the tree at root to w, with entries named
// go/src/..., in lexical order, with fixed times and owners, so that the same
// tree always gives the same bytes. Regular files, directories and symbolic
// links are archived; anything else is left out.
func writeTar(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join("go", "src", rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:    name,
			Mode:    int64(info.Mode().Perm()),
			ModTime: corpusTime,
			Format:  tar.FormatPAX,
		}
		switch {
		case info.Mode().IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = info.Size()
		case info.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case info.Mode()&fs.ModeSymlink != 0:
			hdr.Typeflag = tar.TypeSymlink
			if hdr.Linkname, err = os.Readlink(path); err != nil {
				return err
			}
		default:
			return nil
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(tw, f)
		if err == nil && n != hdr.Size {
			err = fmt.Errorf("%s changed size while archived", path)
		}
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// gzipCommand writes the gzip -6 form of the file at path to w, made by the
// gzip command without name or time stamp (-n), as a user would make it.
func gzipCommand(w io.Writer, path string) error {
	cmd := exec.Command("gzip", "-6", "-n", "-c", path)
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gzip: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// hashFile returns the size and SHA-256 of the file at path.
func hashFile(path string) (int64, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return 0, sum, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, sum, err
	}
	h.Sum(sum[:0])
	return n, sum, nil
}
