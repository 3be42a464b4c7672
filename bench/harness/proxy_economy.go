package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	Register(21, func(cfg Config) []Section { return []Section{ProxyEconomySection(cfg)} })
}

// economySizes are the settings of the proxy economy section.
type economySizes struct {
	conns int   // connections of the counted transfer
	total int64 // bytes of the counted transfer
	idle  int   // idle connections held open for the descriptor count
}

func economySizesFor(cfg Config) economySizes {
	if cfg.Quick {
		return economySizes{conns: 16, total: 32 << 20, idle: 64}
	}
	return economySizes{conns: 16, total: 256 << 20, idle: 256}
}

// straceMissing is the reason the section is skipped where strace is not
// installed.
const straceMissing = "strace not installed (make bench installs it)"

// ProxyEconomySection returns the "TCP proxy economy" section: per proxy of
// the TCP proxy section, the system calls it makes per GiB (counted by
// strace -c over one transfer; strace slows the proxy, so the section does
// not time it) and the descriptors it holds per idle connection. init
// registers it at order 21, after the TCP proxy section.
func ProxyEconomySection(cfg Config) Section {
	sz := economySizesFor(cfg)
	peers := proxyPeers(cfg)
	strace, err := exec.LookPath("strace")
	skip := ""
	if err != nil {
		skip = straceMissing
	}
	sink := new(tcpSink)
	g := proxyServerGroup(sink, fmt.Sprintf("%d connections, %d idle", sz.conns, sz.idle), peers, sz.conns, 4<<20,
		func(ctx context.Context, l *lazyServer, p serverPeer) (Sample, error) {
			s, err := economyRun(ctx, l, sink, strace, cfg.Dir, sz)
			if err != nil {
				l.stop()
				return Sample{}, fmt.Errorf("proxy economy %s: %w", p.name, err)
			}
			return s, nil
		})
	for i := range g.Cases {
		g.Cases[i].MaxRuns = 1 // the counts barely vary
		if g.Cases[i].Skip == "" {
			g.Cases[i].Skip = skip
		}
	}
	return Section{
		Name: "TCP proxy economy",
		About: fmt.Sprintf("The proxies of the TCP proxy section, each in its process. System calls: `strace -f -c` attached to the "+
			"proxy's process (all its threads) while %d connections push %d MiB through it, per GiB; splice+io_uring_enter "+
			"counts the calls that move the data (io_uring's kernel workers are not traced). strace slows every call, "+
			"so these runs are not timed; one run per proxy (the counts barely vary). Descriptors: %d connections "+
			"opened through the proxy and left idle (the proxy has dialled the upstream for each), the proxy's "+
			"open descriptors (/proc/PID/fd) counted before and after, per connection; its two sockets are 2.",
			sz.conns, sz.total>>20, sz.idle),
		Metrics: []Metric{IOCallsPerGiB, CallsPerGiB, FDsPerConn},
		Groups:  []Group{g},
	}
}

// economyRun counts the proxy's system calls over one transfer and its
// descriptors per idle connection.
func economyRun(ctx context.Context, l *lazyServer, sink *tcpSink, strace, dir string, sz economySizes) (Sample, error) {
	p, err := l.get(ctx)
	if err != nil {
		return Sample{}, err
	}
	pid := p.cmd.Process.Pid
	fds, err := idleFDs(ctx, pid, p.addr, sz.idle)
	if err != nil {
		return Sample{}, err
	}
	calls, io, err := straceCounts(ctx, strace, dir, pid, func() error {
		_, err := proxyLoad(ctx, sink, p.addr, sz.conns, sz.total)
		return err
	})
	if err != nil {
		return Sample{}, fmt.Errorf("%w%s", err, p.stderrNote())
	}
	return Sample{Bytes: sz.total, Elapsed: time.Second, Calls: calls, IOCalls: io, FDs: fds}, nil
}

// procFDs counts the descriptors process pid holds.
func procFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// idleFDs opens n connections through the proxy at addr, waits until the
// proxy's descriptor count settles, and returns the descriptors it added
// per connection.
func idleFDs(ctx context.Context, pid int, addr string, n int) (float64, error) {
	before, err := procFDs(pid)
	if err != nil {
		return 0, err
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, fmt.Errorf("dial: %w", err)
		}
		conns = append(conns, c)
	}
	// Settled: the count has not changed for 300 ms (each connection's
	// upstream is dialled by then), within 10 s.
	last, since := -1, time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		now, err := procFDs(pid)
		if err != nil {
			return 0, err
		}
		if now != last {
			last, since = now, time.Now()
		} else if now-before >= 2*n && time.Since(since) >= 300*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(last-before) / float64(n), nil
}

// straceCounts runs load with strace -f -c attached to process pid and
// returns the system calls it counted, and of them the splice and
// io_uring_enter calls.
func straceCounts(ctx context.Context, strace, dir string, pid int, load func() error) (calls, io int64, err error) {
	out := filepath.Join(dir, fmt.Sprintf("strace-%d.txt", pid))
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, strace, "-f", "-c", "-o", out, "-p", strconv.Itoa(pid))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("strace: %w", err)
	}
	// strace says "Process N attached" once it traces the process.
	attached := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "attached") {
				attached <- nil
				for sc.Scan() {
				}
				return
			}
		}
		attached <- errors.New("strace did not attach")
	}()
	select {
	case err = <-attached:
	case <-time.After(10 * time.Second):
		err = errors.New("strace did not attach within 10 s")
	}
	if err == nil {
		err = load()
	}
	cmd.Process.Signal(syscall.SIGINT)
	if werr := cmd.Wait(); err == nil && werr != nil && !strings.Contains(werr.Error(), "interrupt") {
		err = fmt.Errorf("strace: %w", werr)
	}
	if err != nil {
		return 0, 0, err
	}
	return parseStraceSummary(out)
}

// parseStraceSummary reads the table strace -c writes: its total calls, and
// the calls of splice and io_uring_enter.
func parseStraceSummary(path string) (calls, io int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// % time, seconds, usecs/call, calls, [errors,] syscall
		if len(f) < 5 || strings.HasPrefix(line, "%") || strings.HasPrefix(line, "-") {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			continue
		}
		// The total line may leave usecs/call empty: add the rows up.
		switch name := f[len(f)-1]; name {
		case "total":
			found = true
		case "splice", "io_uring_enter":
			io += n
			calls += n
		default:
			calls += n
		}
	}
	if !found {
		return 0, 0, fmt.Errorf("strace -c output %s has no total", path)
	}
	return calls, io, nil
}
