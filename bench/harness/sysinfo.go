package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kpipe/kpipe"
	"golang.org/x/sys/unix"
)

// unknown is what SysInfo says of a fact it could not read.
const unknown = "unknown"

// SysInfo describes the machine and the software a report was measured on.
type SysInfo struct {
	CPUModel string    // "model name" of /proc/cpuinfo
	CPUs     int       // logical CPUs the process may use
	MemBytes int64     // total memory (MemTotal of /proc/meminfo); 0 if unknown
	Kernel   string    // kernel release, as uname -r prints it
	OS       string    // PRETTY_NAME of /etc/os-release
	Go       string    // Go version the harness was built with
	Liburing string    // liburing version (liburing-dev package or pkg-config)
	Zlib     string    // version of the C zlib kpipe runs with
	ZEngine  string    // kpipe.CompressionEngine(): what compresses
	Backend  string    // kpipe's default engine backend
	IOUring  bool      // whether an engine can run on io_uring here
	Date     time.Time // when the facts were read (UTC)
}

// ReadSysInfo reads the facts of the running machine. A fact it cannot read
// is "unknown" (0 for MemBytes); it never fails.
func ReadSysInfo() SysInfo {
	return SysInfo{
		CPUModel: cpuModel(),
		CPUs:     runtime.NumCPU(),
		MemBytes: memTotal(),
		Kernel:   kernelRelease(),
		OS:       osPrettyName(),
		Go:       runtime.Version(),
		Liburing: liburingVersion(),
		Zlib:     kpipe.ZlibVersion(),
		ZEngine:  kpipe.CompressionEngine(),
		Backend:  kpipe.DefaultBackend(),
		IOUring:  uringSkip() == "",
		Date:     time.Now().UTC(),
	}
}

// Machine returns a one-line description of the hardware, e.g.
// "2 × Intel(R) Xeon(R) CPU @ 2.20GHz, 7.8 GiB".
func (s SysInfo) Machine() string {
	m := fmt.Sprintf("%d × %s", s.CPUs, s.CPUModel)
	if s.MemBytes > 0 {
		m += fmt.Sprintf(", %.1f GiB", float64(s.MemBytes)/(1<<30))
	}
	return m
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	v, ok := fileKey("/proc/cpuinfo", ":", "model name")
	if !ok {
		return unknown
	}
	return strings.Join(strings.Fields(v), " ")
}

// memTotal returns MemTotal of /proc/meminfo in bytes, 0 if unknown.
func memTotal() int64 {
	v, ok := fileKey("/proc/meminfo", ":", "MemTotal")
	f := strings.Fields(v)
	if !ok || len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

// kernelRelease returns the kernel release uname(2) reports.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return unknown
	}
	return unix.ByteSliceToString(u.Release[:])
}

// osPrettyName returns PRETTY_NAME of /etc/os-release.
func osPrettyName() string {
	v, ok := fileKey("/etc/os-release", "=", "PRETTY_NAME")
	if !ok {
		return unknown
	}
	if u, err := strconv.Unquote(v); err == nil {
		return u
	}
	return strings.Trim(v, `"'`)
}

// fileKey returns the value of key in the file at path, a file of lines
// "key SEP value": the rest, as it is, of the first line whose text before
// sep, with the spaces around it trimmed, is key. ok is false when the file
// cannot be read or has no such line.
func fileKey(path, sep, key string) (value string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), sep)
		if found && strings.TrimSpace(k) == key {
			return v, true
		}
	}
	return "", false
}

// liburingVersion returns the version of the liburing-dev package, or
// failing that what pkg-config knows of liburing.
func liburingVersion() string {
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "liburing-dev").Output(); err == nil {
		if v := strings.TrimSpace(string(out)); v != "" {
			return v
		}
	}
	if out, err := exec.Command("pkg-config", "--modversion", "liburing").Output(); err == nil {
		if v := strings.TrimSpace(string(out)); v != "" {
			return v
		}
	}
	return unknown
}
