package harness

import (
	"context"
	"fmt"
	"net"
)

func init() {
	Register(30, EchoSections)
}

// echoSizes are the settings of the echo sections.
type echoSizes struct {
	roundTrips  int   // round trips per run of the round-trip section
	message     int   // bytes per round-trip message
	streamConns int   // connections of the throughput section
	streamTotal int64 // bytes echoed per run of the throughput section, over all connections
}

// echoSizesFor returns the sizes of the echo sections for cfg.
func echoSizesFor(cfg Config) echoSizes {
	if cfg.Quick {
		return echoSizes{roundTrips: 5000, message: 64, streamConns: 16, streamTotal: 32 << 20}
	}
	return echoSizes{roundTrips: 20000, message: 64, streamConns: 16, streamTotal: 256 << 20}
}

// EchoSections returns the two echo server sections: "Echo round trips"
// (ping-pong of small messages on one connection, in operations per second)
// and "Echo throughput" (many connections streaming at once, in MB/s and the
// server's CPU per GiB). The servers are kpipe.DoubleSplice(ctx, conn, conn)
// on the default engine, the same on an io_uring engine, and io.Copy(conn,
// conn), each in a process of its own. init registers them at order 30.
func EchoSections(cfg Config) []Section {
	return echoSections(cfg, echoSizesFor(cfg))
}

// An echoPeer is one echo server under test.
type echoPeer struct {
	name string
	skip string
	kind string // the echo-server child's KIND
}

// echoBaseline is the peer the ratios compare with.
const echoBaseline = "io.Copy"

// echoPeers returns the echo servers the sections compare.
func echoPeers() []echoPeer {
	return []echoPeer{
		{name: "kpipe DoubleSplice", kind: echoKpipeDefault},
		{name: "kpipe io_uring", skip: uringSkip(), kind: echoKpipeUring},
		{name: echoBaseline, kind: echoIOCopy},
	}
}

// echoServersAbout describes the servers, for both sections.
const echoServersAbout = "Each echo server listens on loopback in a process of its own; the clients run in the harness process. " +
	"Servers: `kpipe.DoubleSplice(ctx, conn, conn)` per connection on the default engine (the poll backend; " +
	"KPIPE_BACKEND is removed from the servers' environment), the same on an engine with `Backend: io_uring`, " +
	"and `io.Copy(conn, conn)` (Go's splice between sockets; the baseline). Each server gets a short untimed warm-up when it starts."

// echoSections returns the echo sections with the given sizes.
func echoSections(cfg Config, sz echoSizes) []Section {
	peers := echoPeers()
	return []Section{
		{
			Name: "Echo round trips",
			About: fmt.Sprintf("%s Per run one connection, opened before the clock starts, does %d round trips: "+
				"write a %d-byte message, read it back whole and check it; ops/s is round trips per second of wall-clock time.",
				echoServersAbout, sz.roundTrips, sz.message),
			Metrics: []Metric{OpsPerSec},
			Groups:  []Group{echoRoundTripGroup(cfg, peers, sz)},
		},
		{
			Name: "Echo throughput",
			About: fmt.Sprintf("%s Per run %d connections open at once; each writes an equal share of %d MiB, half-closes, "+
				"and meanwhile reads the echo to its end (the byte count is checked). MB/s is the bytes echoed (counted once) "+
				"over the wall-clock time of the run, connection set-up included; CPU s/GiB is the server process's user plus "+
				"system CPU time (from /proc: the run time of each of its threads and io_uring workers in nanoseconds, /proc/PID/task/TID/schedstat; the 10 ms ticks of /proc/PID/stat when a thread exited during the run) per GiB echoed.",
				echoServersAbout, sz.streamConns, sz.streamTotal>>20),
			Metrics: []Metric{Throughput, CPUPerGiB},
			Groups:  []Group{echoStreamGroup(cfg, peers, sz)},
		},
	}
}

// echoGroup returns a group of the echo peers, each case starting its
// server at its first run (warmed up by warm) and running load against it;
// the Teardown stops the servers.
func echoGroup(cfg Config, peers []echoPeer, setting string,
	warm func(ctx context.Context, addr string) error,
	load func(ctx context.Context, addr string) (Sample, error)) Group {
	servers := make([]serverPeer, len(peers))
	for i, p := range peers {
		servers[i] = serverPeer{name: p.name, skip: p.skip, start: func(ctx context.Context) (*serverProc, error) {
			return startChildServer(ctx, cfg.Self, "echo "+p.name, echoChildName, p.kind)
		}}
	}
	return serverGroup(setting, echoBaseline, servers, warm, loadRun("echo", setting, load))
}

// echoRoundTripGroup returns the group of the round-trip section.
func echoRoundTripGroup(cfg Config, peers []echoPeer, sz echoSizes) Group {
	trips := func(ctx context.Context, addr string, n int) (Sample, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return Sample{}, fmt.Errorf("dial: %w", err)
		}
		defer c.Close()
		elapsed, err := timeLoad(func() error { return echoRoundTrips(ctx, c, n, sz.message) })
		if err != nil {
			return Sample{}, err
		}
		return Sample{Bytes: int64(n) * int64(sz.message), Ops: int64(n), Elapsed: elapsed}, nil
	}
	setting := fmt.Sprintf("1 connection, %d B", sz.message)
	return echoGroup(cfg, peers, setting,
		func(ctx context.Context, addr string) error {
			_, err := trips(ctx, addr, min(sz.roundTrips, 200))
			return err
		},
		func(ctx context.Context, addr string) (Sample, error) { return trips(ctx, addr, sz.roundTrips) })
}

// echoStreamGroup returns the group of the throughput section.
func echoStreamGroup(cfg Config, peers []echoPeer, sz echoSizes) Group {
	conns, total := sz.streamConns, sz.streamTotal
	return echoGroup(cfg, peers, connsSetting(conns),
		func(ctx context.Context, addr string) error {
			return echoStreams(ctx, addr, conns, max(min(total, 1<<20), int64(conns)))
		},
		func(ctx context.Context, addr string) (Sample, error) {
			elapsed, err := timeLoad(func() error { return echoStreams(ctx, addr, conns, total) })
			if err != nil {
				return Sample{}, err
			}
			return Sample{Bytes: total, Elapsed: elapsed}, nil
		})
}
