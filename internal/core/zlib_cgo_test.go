//go:build linux && cgo

package core

import (
	"os"
	"strings"
	"testing"
)

func TestZlibVersion(t *testing.T) {
	v := ZlibVersion()
	if !strings.HasPrefix(v, "1.") {
		t.Errorf("ZlibVersion() = %q, want 1.x", v)
	}
	if !zlibCompatible() {
		t.Error("run-time zlib incompatible with the headers")
	}
}

// TestCompressionEngine: where libisal-dev and libdeflate-dev are installed
// (make deps installs them), ISA-L and libdeflate run, unless
// KPIPE_ZENGINE=zlib keeps them out (make test's second run of the
// compression tests).
func TestCompressionEngine(t *testing.T) {
	var engines []string
	if os.Getenv("KPIPE_ZENGINE") != "zlib" {
		if _, err := os.Stat("/usr/include/isa-l/igzip_lib.h"); err == nil {
			engines = append(engines, "isa-l")
		}
		if _, err := os.Stat("/usr/include/libdeflate.h"); err == nil {
			engines = append(engines, "libdeflate")
		}
	}
	want := strings.Join(append(engines, "zlib"), "+")
	if got := CompressionEngine(); got != want {
		t.Errorf("CompressionEngine() = %q, want %q", got, want)
	}
}
