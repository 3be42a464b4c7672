package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverStartTimeout bounds the time a server process may take to start
// listening (haproxy takes seconds to start on a busy machine).
const serverStartTimeout = time.Minute

// serverStarted is called with the pid of every server process started; the
// tests replace it to check that every one of them is gone afterwards.
var serverStarted = func(pid int) {}

// A serverProc is a server under test running in a process of its own (a
// child of the harness executable, or a program such as haproxy), so that
// its CPU time is measured apart from the load that drives it. The process
// leads a process group of its own, which stop kills as a whole, and gets
// SIGKILL if the harness dies first.
type serverProc struct {
	name    string // what runs, for error messages
	addr    string // the address it listens on
	cmd     *exec.Cmd
	stdin   io.WriteCloser // nil for programs that do not read it
	stderr  *tailBuffer
	done    chan struct{} // closed once the process has been waited for
	waitErr error         // the process's exit status, once done is closed
	cleanup []func()      // run by stop, after the process has gone
}

// startServerProc starts cmd as a server process called name. keepStdin
// gives the process a standard input that stays open until stop (children
// of the harness exit at its end), and stdout, if not nil, receives the
// process's standard output.
func startServerProc(name string, cmd *exec.Cmd, keepStdin bool, stdout io.Writer) (*serverProc, error) {
	p := &serverProc{name: name, cmd: cmd, stderr: newTailBuffer(4 << 10), done: make(chan struct{})}
	cmd.Stdout = stdout
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	if keepStdin {
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("%s: stdin: %w", name, err)
		}
		p.stdin = in
	}
	if err := cmd.Start(); err != nil {
		if p.stdin != nil {
			p.stdin.Close()
		}
		return nil, fmt.Errorf("%s: start: %w", name, err)
	}
	serverStarted(cmd.Process.Pid)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// startChildServer starts `self -child child args...`, a server registered
// with RegisterChild that prints "listen ADDR" on its standard output once
// it listens, and exits at the end of its standard input.
func startChildServer(ctx context.Context, self, name, child string, args ...string) (*serverProc, error) {
	if self == "" {
		return nil, fmt.Errorf("%s: no harness executable to run as a child (Config.Self is empty)", name)
	}
	cmd := exec.Command(self, append([]string{ChildFlag, child}, args...)...)
	cmd.Env = childEnv()
	lines := newFirstLine()
	p, err := startServerProc(name, cmd, true, lines)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
	defer cancel()
	select {
	case line := <-lines.c:
		addr, ok := strings.CutPrefix(line, "listen ")
		if !ok {
			p.stop()
			return nil, fmt.Errorf("%s: first line %q, want \"listen ADDR\"%s", name, line, p.stderrNote())
		}
		p.addr = addr
		return p, nil
	case <-p.done:
		p.stop()
		return nil, fmt.Errorf("%s: exited before listening: %v%s", name, p.waitErr, p.stderrNote())
	case <-ctx.Done():
		p.stop()
		return nil, fmt.Errorf("%s: not listening yet: %w%s", name, ctx.Err(), p.stderrNote())
	}
}

// childEnv is the environment of the harness's child servers: the
// harness's own without KPIPE_BACKEND, so that every kpipe peer runs on the
// backend its name says.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KPIPE_BACKEND=") {
			env = append(env, kv)
		}
	}
	return env
}

// cpu returns the CPU time the server's process and every process it
// started have used so far.
func (p *serverProc) cpu() (cpuSnapshot, error) {
	select {
	case <-p.done:
		return cpuSnapshot{}, fmt.Errorf("%s: exited: %v%s", p.name, p.waitErr, p.stderrNote())
	default:
	}
	s := cpuSnapshot{threads: map[int]time.Duration{}}
	if err := s.addTree(p.cmd.Process.Pid); err != nil {
		return cpuSnapshot{}, fmt.Errorf("%s: cpu time: %w", p.name, err)
	}
	return s, nil
}

// addTree adds the CPU time of process pid and its descendants, from /proc
// (a process that ends meanwhile counts as nothing).
func (s *cpuSnapshot) addTree(pid int) error {
	if err := s.addProcess(pid); err != nil {
		return err
	}
	for _, c := range childPIDs(pid) {
		s.addTree(c)
	}
	return nil
}

// childPIDs returns the pids of the children of process pid, from
// /proc/PID/task/TID/children.
func childPIDs(pid int) []int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// exitErr returns an error if the process has ended, nil while it runs.
func (p *serverProc) exitErr() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v%s", p.name, p.waitErr, p.stderrNote())
	default:
		return nil
	}
}

// stderrNoteLines is the number of lines of a server's standard error an
// error message quotes at most.
const stderrNoteLines = 3

// stderrNote returns the end of what the process wrote on its standard
// error, as a suffix for an error message, or "".
func (p *serverProc) stderrNote() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > stderrNoteLines {
		return fmt.Sprintf("; the last %d lines of its stderr: %s", stderrNoteLines, strings.Join(lines[len(lines)-stderrNoteLines:], " | "))
	}
	return "; its stderr: " + strings.Join(lines, " | ")
}

// stop kills the process's group, waits for the process and runs the
// clean-ups. It may be called more than once.
func (p *serverProc) stop() {
	if p.stdin != nil {
		p.stdin.Close()
	}
	select {
	case <-p.done:
	default:
		// The negative pid names the process group the process leads.
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.cmd.Process.Kill()
		}
		<-p.done
	}
	for _, f := range p.cleanup {
		f()
	}
	p.cleanup = nil
}

// tailBuffer is an io.Writer that keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// firstLine is an io.Writer that sends the first line written to it on c
// and discards the rest.
type firstLine struct {
	c    chan string
	buf  bytes.Buffer
	sent bool
}

func newFirstLine() *firstLine { return &firstLine{c: make(chan string, 1)} }

func (f *firstLine) Write(b []byte) (int, error) {
	if f.sent {
		return len(b), nil
	}
	f.buf.Write(b)
	if i := bytes.IndexByte(f.buf.Bytes(), '\n'); i >= 0 {
		f.sent = true
		f.c <- strings.TrimSpace(string(f.buf.Bytes()[:i]))
	}
	return len(b), nil
}
