//go:build linux

// Command kpipe moves data between files, pipes and sockets with the kpipe
// library, so that the bytes never pass through the program's memory.
//
// Usage:
//
//	kpipe COMMAND [FLAGS] [ARGS]
//
// The commands:
//
//	cp       copy a file (copy_file_range, sendfile or splice)
//	cat      concatenate files to standard output
//	gzip     compress to gzip format with zlib, between descriptors
//	gunzip   decompress gzip data
//	echo     run a TCP echo server (DoubleSplice)
//	proxy    run a TCP proxy (Proxy)
//	serve    serve a directory over HTTP/1.1, gzip-compressed on request
//	bench    run the benchmark harness (the kpipe-bench program)
//
// Every command takes -h for its own usage. Errors go to standard error,
// prefixed "kpipe COMMAND: "; the exit status is 0 on success, 1 on
// failure and 2 on a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand of kpipe.
type command struct {
	name    string
	summary string
	// run carries the command out with the arguments after its name. It
	// returns a usageError for bad usage, errHelp after -h, and any other
	// error for a failure; the error is reported by main.
	run func(args []string) error
}

// commands are kpipe's subcommands, in the order the usage lists them.
var commands = []command{
	{"cp", "copy a file (copy_file_range, sendfile or splice)", runCp},
	{"cat", "concatenate files to standard output", runCat},
	{"gzip", "compress to gzip format with zlib, between descriptors", runGzip},
	{"gunzip", "decompress gzip data", runGunzip},
	{"echo", "run a TCP echo server (DoubleSplice)", runEcho},
	{"proxy", "run a TCP proxy (Proxy)", runProxy},
	{"serve", "serve a directory over HTTP/1.1, gzip-compressed on request", runServe},
	{"bench", "run the benchmark harness (the kpipe-bench program)", runBench},
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches to the command args name and returns the exit status.
func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:])
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, errHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(os.Stderr, "kpipe %s: %s\n", c.name, ue.msg)
			fmt.Fprintf(os.Stderr, "Run 'kpipe %s -h' for usage.\n", c.name)
			return exitUsage
		case errors.Is(err, errReported):
			return exitFailure
		default:
			fmt.Fprintf(os.Stderr, "kpipe %s: %v\n", c.name, err)
			return exitFailure
		}
	}
	fmt.Fprintf(os.Stderr, "kpipe: unknown command %q\n", args[0])
	usage(os.Stderr)
	return exitUsage
}

// usage prints the list of commands to w.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: kpipe COMMAND [FLAGS] [ARGS]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'kpipe COMMAND -h' for a command's flags.")
}

// usageError reports a command line that a command cannot run; main exits
// with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// errHelp is returned by a command that printed its usage after -h.
var errHelp = flag.ErrHelp

// errReported is returned by a command that has already reported its
// failures on standard error; main only sets the exit status.
var errReported = errors.New("failure already reported")

// newFlags returns the flag set of a command. Its usage, printed on -h,
// is the synopsis, the description and the flags.
func newFlags(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet("kpipe "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags reports errors itself
	fs.Usage = func() {
		out := os.Stderr
		fmt.Fprintf(out, "Usage: kpipe %s %s\n\n", name, synopsis)
		fmt.Fprintln(out, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(out, "\nFlags:")
			fs.SetOutput(out)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	return fs
}

// parseFlags parses args with fs: a bad flag is a usageError, -h prints
// the usage and returns errHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	// The flag package prints the usage on any error; only -h wants it.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		usage()
		return errHelp
	}
	return usageError{err.Error()}
}

// warnf prints a warning on standard error, prefixed like the command's
// errors.
func warnf(cmd, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kpipe %s: warning: "+format+"\n", append([]any{cmd}, args...)...)
}
