// Command kpipe-bench runs kpipe's benchmark harness: it measures kpipe and
// its peers side by side (file copy, TCP proxy, echo, HTTP handlers,
// compression, cgo overhead), several runs each with the peers' runs
// interleaved, and writes a report of medians, spreads and run-by-run ratios
// as Markdown and as an SVG chart. `make bench` runs it.
//
// Usage:
//
//	kpipe-bench [-quick] [-runs N] [-only REGEXP] [-out DIR] [-dir DIR] [-cbin DIR]
//	kpipe-bench -list [-quick] [-only REGEXP]
//
// The flags:
//
//	-quick        small sizes and few settings: a smoke test of the whole
//	              harness that ends in under two minutes
//	-runs N       runs of every case; figures are medians over them (default 5)
//	-only REGEXP  run only the sections whose name matches REGEXP
//	-out DIR      where to write report.md and chart.svg (default bench-report;
//	              created if needed)
//	-dir DIR      work directory for input and output files, in memory
//	              (default $KPIPE_BENCH_DIR, else /dev/shm/kpipe-bench)
//	-cbin DIR     directory of the C programs kp_splice_copy, kp_rw_copy and
//	              kp_gzip (default build/cmake-bench in the kpipe repository,
//	              if the working directory is inside it and that directory
//	              exists); peers whose program is missing are skipped
//	-list         print the names of the sections and exit
//
// Progress goes to standard error, rewriting one line in place when standard
// error is a terminal. The Markdown report goes to standard output as well
// as to DIR/report.md, and the paths of the files written to standard error.
// SIGINT or SIGTERM stops the run; the report of what finished is still
// written. The exit status is 0 when every case ran, 1 when a case failed,
// the run was interrupted or no section is there to run, and 2 for a usage
// error.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/kpipe/kpipe/bench/harness"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // a case failed, the run was interrupted, or nothing to run
	exitUsage   = 2 // bad flags
)

func main() {
	harness.ChildMain()
	os.Exit(run(os.Args[1:]))
}

// run runs the command with args and returns its exit status.
func run(args []string) int {
	opt, err := parseOptions(args)
	if err != nil {
		if errors.Is(err, errHelp) {
			return exitOK
		}
		fmt.Fprintf(os.Stderr, "kpipe-bench: %v\n", err)
		return exitUsage
	}
	cfg, err := opt.config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kpipe-bench: %v\n", err)
		return exitUsage
	}
	sections := selectSections(harness.Sections(cfg), opt.only)
	if len(sections) == 0 {
		msg := "no sections"
		if opt.only != nil {
			msg += fmt.Sprintf(" (none matches -only %q)", opt.only)
		}
		fmt.Fprintf(os.Stderr, "kpipe-bench: %s\n", msg)
		return exitFailure
	}
	if opt.list {
		for _, s := range sections {
			fmt.Println(s.Name)
		}
		return exitOK
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()

	describeRun(cfg, opt, sections)
	info := harness.ReadSysInfo()
	results, runErr := harness.Run(ctx, sections, harness.Options{
		Runs:     opt.runs,
		Progress: os.Stderr,
		Terminal: isTerminal(os.Stderr),
	})
	if err := writeReport(opt.out, info, cfg, opt.runs, results); err != nil {
		fmt.Fprintf(os.Stderr, "kpipe-bench: %v\n", err)
		return exitFailure
	}
	status := exitOK
	if runErr != nil {
		fmt.Fprintf(os.Stderr, "kpipe-bench: run stopped: %v; the report holds what finished\n", runErr)
		status = exitFailure
	}
	if failed := failures(results); len(failed) > 0 {
		fmt.Fprintf(os.Stderr, "kpipe-bench: %d case(s) failed:\n", len(failed))
		for _, f := range failed {
			fmt.Fprintf(os.Stderr, "  %s\n", f)
		}
		status = exitFailure
	}
	return status
}

// selectSections returns the sections whose name only matches (all of
// them when only is nil).
func selectSections(all []harness.Section, only *regexp.Regexp) []harness.Section {
	if only == nil {
		return all
	}
	var out []harness.Section
	for _, s := range all {
		if only.MatchString(s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// describeRun tells on standard error what is about to run, and where.
func describeRun(cfg harness.Config, opt options, sections []harness.Section) {
	cbin := cfg.CBinDir
	if cbin == "" {
		cbin = "none (the C programs' peers are skipped)"
	}
	mode := ""
	if cfg.Quick {
		mode = ", quick"
	}
	fmt.Fprintf(os.Stderr, "kpipe-bench: %d section(s), %d run(s) each%s; work dir %s; C programs %s\n",
		len(sections), opt.runs, mode, cfg.Dir, cbin)
}

// failures describes every case that failed (not skipped) in results, and
// every group whose setup failed.
func failures(results []harness.SectionResult) []string {
	var out []string
	for _, sr := range results {
		for _, g := range sr.Groups {
			if g.Err != nil {
				out = append(out, fmt.Sprintf("%s · %s: setup: %v", sr.Name, g.Setting, g.Err))
			}
			for _, r := range g.Rows {
				if r.Err != nil {
					out = append(out, fmt.Sprintf("%s · %s · %s: %v", sr.Name, g.Setting, r.Peer, r.Err))
				}
			}
		}
	}
	return out
}
