package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// cProgram returns the path of the C program name in cfg.CBinDir, or, when
// it cannot be run, an empty path and the reason, for a Case's Skip.
func cProgram(cfg Config, name string) (path, skip string) {
	if cfg.CBinDir == "" {
		return "", "no C programs: Config.CBinDir is empty"
	}
	path = filepath.Join(cfg.CBinDir, name)
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Sprintf("%s is not built in %s (cmake --build it)", name, cfg.CBinDir)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Sprintf("%s is not an executable", path)
	}
	return path, ""
}

// commandPath returns the path of the command name in PATH, or, when there
// is none, an empty path and the reason, for a Case's Skip.
func commandPath(name string) (path, skip string) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Sprintf("%s is not in PATH", name)
	}
	return path, ""
}
