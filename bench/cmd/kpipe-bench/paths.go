package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// kpipeModule is the module path of the kpipe repository's root go.mod.
const kpipeModule = "github.com/kpipe/kpipe"

// cmakeBenchDir is where the repository's CMake build of the C benchmark
// programs goes, relative to its root.
const cmakeBenchDir = "build/cmake-bench"

// defaultCBinDir returns the repository's build/cmake-bench, absolute, if
// the working directory is inside the kpipe repository and that directory
// exists; "" otherwise.
func defaultCBinDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	root, ok := findRepoRoot(wd)
	if !ok {
		return ""
	}
	dir := filepath.Join(root, cmakeBenchDir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// findRepoRoot walks up from dir to the directory whose go.mod declares
// module kpipeModule.
func findRepoRoot(dir string) (string, bool) {
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == kpipeModule {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// modulePath returns the module path a go.mod file declares, "" if the
// file cannot be read or declares none.
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		rest, _, _ = strings.Cut(rest, "//")
		path := strings.TrimSpace(rest)
		if u, err := strconv.Unquote(path); err == nil {
			path = u
		}
		return path
	}
	return ""
}
