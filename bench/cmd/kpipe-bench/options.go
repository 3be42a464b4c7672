package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/kpipe/kpipe/bench"
	"github.com/kpipe/kpipe/bench/harness"
)

// errHelp is parseOptions's error when -h or -help asked for the usage.
var errHelp = flag.ErrHelp

// options are the command's flags.
type options struct {
	quick   bool
	runs    int
	only    *regexp.Regexp // nil: every section
	out     string
	dir     string // "" until config: bench.Dir()
	cbin    string // "" until config: the repository's build/cmake-bench
	cbinSet bool   // -cbin was given, even empty
	list    bool
}

// parseOptions parses the command's arguments.
func parseOptions(args []string) (options, error) {
	var o options
	var only string
	fs := flag.NewFlagSet("kpipe-bench", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.BoolVar(&o.quick, "quick", false, "small sizes: a smoke test of the whole harness, under two minutes")
	fs.IntVar(&o.runs, "runs", 5, "runs of every case; figures are medians over them")
	fs.StringVar(&only, "only", "", "run only the sections whose name matches this regular expression")
	fs.StringVar(&o.out, "out", "bench-report", "directory to write report.md and chart.svg to")
	fs.StringVar(&o.dir, "dir", "", "work directory, in memory (default $KPIPE_BENCH_DIR, else "+bench.DefaultDir+")")
	fs.StringVar(&o.cbin, "cbin", "", "directory of the C programs (default build/cmake-bench of the kpipe repository, if it exists)")
	fs.BoolVar(&o.list, "list", false, "print the names of the sections and exit")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.runs < 1 {
		return o, fmt.Errorf("-runs %d: need at least 1", o.runs)
	}
	if o.out == "" {
		return o, errors.New("-out: empty directory name")
	}
	fs.Visit(func(f *flag.Flag) { o.cbinSet = o.cbinSet || f.Name == "cbin" })
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return o, fmt.Errorf("-only: %w", err)
		}
		o.only = re
	}
	return o, nil
}

// usage prints the command's usage on the flag set's output.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, "usage: kpipe-bench [-quick] [-runs N] [-only REGEXP] [-out DIR] [-dir DIR] [-cbin DIR]")
	fmt.Fprintln(w, "       kpipe-bench -list [-quick] [-only REGEXP]")
	fs.PrintDefaults()
}

// config returns the harness's Config for the options: it makes the work
// directory and finds the C programs' directory and the executable.
func (o options) config() (harness.Config, error) {
	cfg := harness.Config{Quick: o.quick}
	if o.dir == "" {
		dir, err := bench.Dir()
		if err != nil {
			return cfg, fmt.Errorf("work directory: %w", err)
		}
		cfg.Dir = dir
	} else {
		if err := os.MkdirAll(o.dir, 0o755); err != nil {
			return cfg, fmt.Errorf("-dir: %w", err)
		}
		cfg.Dir = o.dir
	}
	if o.cbinSet {
		if o.cbin != "" {
			st, err := os.Stat(o.cbin)
			if err != nil {
				return cfg, fmt.Errorf("-cbin: %w", err)
			}
			if !st.IsDir() {
				return cfg, fmt.Errorf("-cbin: %s is not a directory", o.cbin)
			}
		}
		cfg.CBinDir = o.cbin
	} else {
		cfg.CBinDir = defaultCBinDir()
	}
	self, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("path of the executable: %w", err)
	}
	cfg.Self = self
	return cfg, nil
}
