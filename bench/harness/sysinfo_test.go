package harness

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func TestReadSysInfo(t *testing.T) {
	info := ReadSysInfo()
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatalf("uname -r: %v", err)
	}
	if want := strings.TrimSpace(string(out)); info.Kernel != want {
		t.Errorf("Kernel = %q, uname -r says %q", info.Kernel, want)
	}
	if info.Go != runtime.Version() {
		t.Errorf("Go = %q, want %q", info.Go, runtime.Version())
	}
	if info.CPUs != runtime.NumCPU() {
		t.Errorf("CPUs = %d, want %d", info.CPUs, runtime.NumCPU())
	}
	if info.Zlib == "" || info.Zlib == unknown {
		t.Errorf("Zlib = %q", info.Zlib)
	}
	if info.Backend != "poll" && info.Backend != "io_uring" {
		t.Errorf("Backend = %q", info.Backend)
	}
	if info.Date.IsZero() {
		t.Error("no date")
	}
	t.Logf("%+v", info)
}
