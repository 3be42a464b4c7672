package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// kpBuildDir is the CMake build directory of kp_gzip, relative to the root of
// the kpipe repository: a Release build of its own, apart from the
// developers' debug and sanitizer builds.
const kpBuildDir = "build/cmake-bench"

// kpGzip returns the path of the kp_gzip program (csrc/bench/kp_gzip.c). It
// is $KPIPE_KP_GZIP if set; otherwise kp_gzip is built, or brought up to
// date, with cmake in ../build/cmake-bench (Release). Without cmake a binary
// already there is used as it is. It finds or builds the program once per
// process.
var kpGzip = sync.OnceValues(findKpGzip)

func findKpGzip() (string, error) {
	if p := os.Getenv("KPIPE_KP_GZIP"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KPIPE_KP_GZIP: %w", err)
		}
		return p, nil
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	build := filepath.Join(root, kpBuildDir)
	bin := filepath.Join(build, "kp_gzip")
	how := fmt.Sprintf("build it with `cmake -S %s -B %s -DCMAKE_BUILD_TYPE=Release && cmake --build %s --target kp_gzip`, or set KPIPE_KP_GZIP",
		root, build, build)
	if _, err := os.Stat(filepath.Join(root, "csrc", "bench", "kp_gzip.c")); err != nil {
		return "", fmt.Errorf("kp_gzip is not built: %s has no csrc/bench/kp_gzip.c", root)
	}
	cmake, err := exec.LookPath("cmake")
	if err != nil {
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
		return "", fmt.Errorf("kp_gzip is not built and there is no cmake: %s", how)
	}
	if err := run(cmake, "-S", root, "-B", build, "-DCMAKE_BUILD_TYPE=Release"); err != nil {
		return "", fmt.Errorf("kp_gzip: cmake configure failed (%v); %s", err, how)
	}
	if err := run(cmake, "--build", build, "--target", "kp_gzip"); err != nil {
		return "", fmt.Errorf("kp_gzip: build failed (%v); %s", err, how)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("kp_gzip: cmake built no %s", bin)
	}
	return bin, nil
}

// run runs a command and returns an error with the end of its output if it
// fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err == nil {
		return nil
	}
	out = bytes.TrimSpace(out)
	if len(out) > 2000 {
		out = append([]byte("..."), out[len(out)-2000:]...)
	}
	return errors.Join(err, fmt.Errorf("%s", out))
}
