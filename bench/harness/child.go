package harness

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// ChildFlag is the first argument that turns the harness's executable into
// a child process: Self ChildFlag NAME ARGS... runs the child registered as
// NAME with ARGS.
const ChildFlag = "-child"

var children = map[string]func(args []string) error{}

// RegisterChild registers a child process body under name. Call it from an
// init function; a section starts the child with StartChild.
func RegisterChild(name string, body func(args []string) error) {
	if _, dup := children[name]; dup {
		panic("harness: child " + name + " registered twice")
	}
	children[name] = body
}

// ChildMain runs the child that os.Args names, if os.Args[1] is ChildFlag,
// and exits with its status; otherwise it returns at once. Call it first in
// main.
func ChildMain() {
	if len(os.Args) < 3 || os.Args[1] != ChildFlag {
		return
	}
	body, ok := children[os.Args[2]]
	if !ok {
		names := make([]string, 0, len(children))
		for n := range children {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "kpipe-bench: no child %q (have %s)\n", os.Args[2], strings.Join(names, ", "))
		os.Exit(2)
	}
	if err := body(os.Args[3:]); err != nil {
		fmt.Fprintf(os.Stderr, "kpipe-bench %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	os.Exit(0)
}
