package harness

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"path/filepath"
)

func init() { Register(10, FileCopySections) }

// fileCopySizes are the input sizes of the file copy section, in decimal
// bytes as in the table it reproduces; fileCopyQuickSizes those of a quick
// run.
var (
	fileCopySizes      = []int64{7e6, 200e6, 1e9}
	fileCopyQuickSizes = []int64{7e6, 50e6}
)

// fileCopyAbout is the section's paragraph in the report.
const fileCopyAbout = "Copies one file to another, both in `Config.Dir` on tmpfs " +
	"(`/dev/shm`), so this is memory to memory: no disk is involved and the figures " +
	"are the cost of the copy itself. The input is written once per size and read " +
	"once before timing so its pages are in memory. The output is kept from run to " +
	"run and written over in place (the C program too, which then cuts it to " +
	"size), so that no copy pays for new memory pages, which on a VM can cost more " +
	"than the copy; `cp` truncates its output and does pay for them. Its size is " +
	"checked after every copy, and its content once per peer and size after " +
	"zeroing it first, outside the timing. The time is the wall-clock time of the " +
	"copy (for `cp` and the C program, of the whole process, start-up included). " +
	"CPU is the CPU time of the process that copies: this process's own for the Go " +
	"peers, the child's user plus system time for the programs. The ratio column " +
	"says how many times faster than the 32 KiB read/write loop each peer copied, " +
	"run by run."

// FileCopySections returns the file copy section for cfg: one group per
// input size (7 MB, 200 MB and 1 GB; 7 MB and 50 MB with cfg.Quick).
func FileCopySections(cfg Config) []Section {
	sizes := fileCopySizes
	if cfg.Quick {
		sizes = fileCopyQuickSizes
	}
	return []Section{fileCopySection(cfg, sizes)}
}

// fileCopySection returns the file copy section with a group per size.
func fileCopySection(cfg Config, sizes []int64) Section {
	s := Section{
		Name:    "File copy",
		About:   fileCopyAbout,
		Metrics: []Metric{Throughput, CPUPerGiB},
	}
	for _, size := range sizes {
		s.Groups = append(s.Groups, fileCopyGroup(cfg, size))
	}
	return s
}

// decimalSize formats n bytes in decimal units: "7 MB", "1 GB", "512 B".
func decimalSize(n int64) string {
	switch {
	case n >= 1e9 && n%1e9 == 0:
		return fmt.Sprintf("%d GB", n/1e9)
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%d MB", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%d kB", n/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// A fileCopyFiles is a group's input and output files and what is known of
// the input.
type fileCopyFiles struct {
	dir      string // Config.Dir
	src, dst string
	size     int64
	sum      uint32 // CRC-32C of the input, set by make
}

// fileCopyTable is the CRC-32C table, computed in hardware where the CPU
// has an instruction for it.
var fileCopyTable = crc32.MakeTable(crc32.Castagnoli)

// fileCopyGroup returns the group that copies a file of size bytes with
// every peer.
func fileCopyGroup(cfg Config, size int64) Group {
	name := decimalSize(size)
	tag := fmt.Sprintf("kpipe-filecopy-%d-%d", os.Getpid(), size)
	f := &fileCopyFiles{
		dir:  cfg.Dir,
		src:  filepath.Join(cfg.Dir, tag+".in"),
		dst:  filepath.Join(cfg.Dir, tag+".out"),
		size: size,
	}
	return Group{
		Setting:  name,
		Baseline: fileCopyPeers[0].name,
		Setup:    f.make,
		Teardown: f.remove,
		Cases:    fileCopyCases(cfg, f),
	}
}

// make writes the input file, a 1 MiB pseudo-random block over and over
// (each 4 KiB page stamped with its offset),
// then reads it once to checksum it and bring its pages in.
func (f *fileCopyFiles) make(ctx context.Context) error {
	if f.dir == "" {
		return errors.New("file copy: Config.Dir is empty: no directory for the files")
	}
	if err := f.write(ctx); err != nil {
		return err
	}
	sum, n, err := fileChecksum(f.src)
	if err != nil {
		return err
	}
	if n != f.size {
		return fmt.Errorf("file copy input %s: read %d bytes, wrote %d", f.src, n, f.size)
	}
	f.sum = sum
	return nil
}

// write creates the input file.
func (f *fileCopyFiles) write(ctx context.Context) (err error) {
	out, err := os.OpenFile(f.src, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("file copy input: %w", err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("file copy input: %w", cerr)
		}
	}()
	block := make([]byte, 1<<20)
	rand.New(rand.NewSource(f.size)).Read(block)
	for left := f.size; left > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Every 4 KiB page starts with its own offset in the file, so
		// that the checksum catches a page or chunk copied to the
		// wrong place, not only bytes that differ from the block.
		off := f.size - left
		for p := 0; p+8 <= len(block); p += 4096 {
			binary.LittleEndian.PutUint64(block[p:], uint64(off)+uint64(p))
		}
		chunk := block[:min(left, int64(len(block)))]
		if _, err := out.Write(chunk); err != nil {
			return fmt.Errorf("file copy input: %w", err)
		}
		left -= int64(len(chunk))
	}
	return nil
}

// remove deletes the input and output files; missing ones are fine.
func (f *fileCopyFiles) remove() {
	for _, p := range []string{f.src, f.dst} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "kpipe-bench: file copy: %v\n", err)
		}
	}
}

// fileChecksum returns the CRC-32C and the length of the file at path.
func fileChecksum(path string) (uint32, int64, error) {
	in, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("checksum: %w", err)
	}
	defer in.Close()
	h := crc32.New(fileCopyTable)
	n, err := io.CopyBuffer(h, in, make([]byte, 1<<20))
	if err != nil {
		return 0, n, fmt.Errorf("checksum %s: %w", path, err)
	}
	return h.Sum32(), n, nil
}

// prepare readies the output before a run, outside the timing. The output
// is kept from one run to the next and written over in place, so that the
// copies do not pay for new memory pages: on the VMs kpipe is measured on,
// a page the guest has not touched lately costs far more than copying it,
// and allocating the output's pages would swamp every figure. The first
// run of a group makes the output. Before a run whose content is checked
// (poison), the output is overwritten with zeros, in place, so that stale
// bytes from an earlier run cannot pass for a good copy.
func (f *fileCopyFiles) prepare(poison bool) error {
	out, err := os.OpenFile(f.dst, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("file copy output: %w", err)
	}
	st, err := out.Stat()
	if err == nil && (poison || st.Size() != f.size) {
		zeros := make([]byte, 1<<20)
		for off := int64(0); off < f.size && err == nil; off += int64(len(zeros)) {
			_, err = out.WriteAt(zeros[:min(f.size-off, int64(len(zeros)))], off)
		}
		if err == nil {
			err = out.Truncate(f.size)
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("file copy output: %w", err)
	}
	return nil
}

// check verifies the output of a copy that reported n bytes (-1: not
// known): its size always, its content too when content is set. On a
// failure the output is removed.
func (f *fileCopyFiles) check(n int64, content bool) (err error) {
	defer func() {
		if err != nil {
			err = errors.Join(err, removeIfExists(f.dst))
		}
	}()
	if n >= 0 && n != f.size {
		return fmt.Errorf("copied %d bytes, want %d", n, f.size)
	}
	st, err := os.Stat(f.dst)
	if err != nil {
		return fmt.Errorf("file copy output: %w", err)
	}
	if st.Size() != f.size {
		return fmt.Errorf("output has %d bytes, want %d", st.Size(), f.size)
	}
	if !content {
		return nil
	}
	sum, _, err := fileChecksum(f.dst)
	if err != nil {
		return err
	}
	if sum != f.sum {
		return fmt.Errorf("output differs from the input (CRC-32C %08x, want %08x)", sum, f.sum)
	}
	return nil
}

// removeIfExists removes the file at path; a missing file is no error.
func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("file copy: %w", err)
	}
	return nil
}
