package fileserver

import (
	"errors"
	"os"
	"strings"
)

// errOutside reports a request for a path that leads out of the root.
var errOutside = errors.New("path leads outside the served directory")

// open opens the file a URL path names (already percent-decoded), or the
// index.html of the directory it names. It returns errOutside for a ".."
// segment or a link out of the root, and an error satisfying
// errors.Is(err, fs.ErrNotExist) for a file that is not there or is not a
// regular file.
func (r *root) open(urlPath string) (*os.File, os.FileInfo, error) {
	rel := strings.Trim(urlPath, "/")
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." {
			return nil, nil, errOutside
		}
	}
	if rel == "" {
		rel = "."
	}
	f, err := r.openBeneath(rel)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		f.Close()
		if f, err = r.openBeneath(rel + "/index.html"); err != nil {
			return nil, nil, err
		}
		fi, err = f.Stat()
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: urlPath, Err: os.ErrNotExist}
	}
	return f, fi, nil
}
