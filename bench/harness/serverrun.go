package harness

import (
	"context"
	"fmt"
	"time"
)

// serverRunTimeout bounds one run of a server case, its server's start
// included.
const serverRunTimeout = 3 * time.Minute

// A lazyServer is the server of one case of a group: started at the case's
// first run (so that a server that fails to start fails its case alone),
// warmed up by an untimed load, kept for the group's later runs, and stopped
// by the group's Teardown.
type lazyServer struct {
	start func(ctx context.Context) (*serverProc, error)
	warm  func(ctx context.Context, addr string) error
	proc  *serverProc
}

// get returns the running server, starting and warming it up first if
// needed.
func (l *lazyServer) get(ctx context.Context) (*serverProc, error) {
	if l.proc != nil {
		if err := l.proc.exitErr(); err != nil {
			return nil, err
		}
		return l.proc, nil
	}
	p, err := l.start(ctx)
	if err != nil {
		return nil, err
	}
	if l.warm != nil {
		if err := l.warm(ctx, p.addr); err != nil {
			err = fmt.Errorf("warm-up: %w%s", err, p.stderrNote())
			p.stop()
			return nil, err
		}
	}
	l.proc = p
	return p, nil
}

// stop stops the server if it runs.
func (l *lazyServer) stop() {
	if l.proc != nil {
		l.proc.stop()
		l.proc = nil
	}
}

// runAgainst is one run of a server case: it drives the server of l with
// load, which returns the sample with its Bytes, Ops and Elapsed, and adds
// the server's CPU time during the load. The run has a deadline of
// serverRunTimeout; when it fails, the server is stopped, so that nothing of
// it goes on.
func runAgainst(ctx context.Context, l *lazyServer, load func(ctx context.Context, addr string) (Sample, error)) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, serverRunTimeout)
	defer cancel()
	s, err := runAgainstServer(ctx, l, load)
	if err != nil {
		l.stop()
	}
	return s, err
}

func runAgainstServer(ctx context.Context, l *lazyServer, load func(ctx context.Context, addr string) (Sample, error)) (Sample, error) {
	p, err := l.get(ctx)
	if err != nil {
		return Sample{}, err
	}
	cpu0, err := p.cpu()
	if err != nil {
		return Sample{}, err
	}
	s, err := load(ctx, p.addr)
	if err != nil {
		return Sample{}, fmt.Errorf("%w%s", err, p.stderrNote())
	}
	cpu1, err := p.cpu()
	if err != nil {
		return Sample{}, err
	}
	s.CPU = cpuSince(cpu0, cpu1)
	return s, nil
}

// timeLoad runs f and returns the wall-clock time it took.
func timeLoad(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// A serverPeer is a server under test that a group starts in a process of
// its own.
type serverPeer struct {
	name          string
	series, point string // the case's Series and Point, in a section with Curves
	skip          string
	start         func(ctx context.Context) (*serverProc, error)
}

// A serverRun is one run of a server case: it measures l, the server of
// peer p.
type serverRun func(ctx context.Context, l *lazyServer, p serverPeer) (Sample, error)

// serverGroup returns a group with a case per peer: each starts its server
// at its first run (warmed up by warm) and is measured by run; the Teardown
// stops the servers.
func serverGroup(setting, baseline string, peers []serverPeer,
	warm func(ctx context.Context, addr string) error, run serverRun) Group {
	servers := make([]*lazyServer, len(peers))
	g := Group{
		Setting:  setting,
		Baseline: baseline,
		Teardown: func() {
			for _, l := range servers {
				l.stop()
			}
		},
	}
	for i, p := range peers {
		l := &lazyServer{start: p.start, warm: warm}
		servers[i] = l
		g.Cases = append(g.Cases, Case{
			Peer:   p.name,
			Series: p.series,
			Point:  p.point,
			Skip:   p.skip,
			Run:    func(ctx context.Context) (Sample, error) { return run(ctx, l, p) },
		})
	}
	return g
}

// loadRun returns the serverRun that runs load against the server (see
// runAgainst) and names its errors with what, the peer and the setting.
func loadRun(what, setting string, load func(ctx context.Context, addr string) (Sample, error)) serverRun {
	return func(ctx context.Context, l *lazyServer, p serverPeer) (Sample, error) {
		s, err := runAgainst(ctx, l, load)
		if err != nil {
			return Sample{}, fmt.Errorf("%s %s: %s: %w", what, p.name, setting, err)
		}
		return s, nil
	}
}
