package harness

import (
	"context"
	"fmt"
	"runtime"
)

func init() {
	Register(20, func(cfg Config) []Section { return []Section{ProxySection(cfg)} })
}

// proxySizes are the settings of the TCP proxy section.
type proxySizes struct {
	conns []int // the groups' connection counts
	total int64 // bytes pushed through the proxy per run, over all connections
	warm  int64 // bytes of the untimed warm-up of a new proxy
}

// proxySizesFor returns the sizes of the TCP proxy section for cfg.
func proxySizesFor(cfg Config) proxySizes {
	if cfg.Quick {
		return proxySizes{conns: []int{1, 16}, total: 16 << 20, warm: 1 << 20}
	}
	return proxySizes{conns: []int{1, 16, 256}, total: 256 << 20, warm: 4 << 20}
}

// ProxySection returns the TCP proxy section: kpipe's Engine.Proxy on both
// backends, io.Copy, a user-space read/write loop and HAProxy, each a TCP
// proxy in a process of its own, pushing a fixed number of bytes from
// clients to a sink that discards them, over 1, 16 and 256 connections.
// init registers it at order 20.
func ProxySection(cfg Config) Section {
	return proxySection(cfg, proxySizesFor(cfg))
}

// A proxyPeer is one TCP proxy under test.
type proxyPeer struct {
	name  string
	skip  string
	start func(ctx context.Context, upstream string) (*serverProc, error)
}

// proxyBaseline is the peer the ratios compare with.
const proxyBaseline = "io.Copy"

// proxyPeers returns the TCP proxies the section compares.
func proxyPeers(cfg Config) []proxyPeer {
	child := func(name, kind string) func(context.Context, string) (*serverProc, error) {
		return func(ctx context.Context, upstream string) (*serverProc, error) {
			return startChildServer(ctx, cfg.Self, "proxy "+name, proxyChildName, kind, upstream)
		}
	}
	hp, hskip := haproxyPath()
	return []proxyPeer{
		{name: "kpipe io_uring", skip: uringSkip(), start: child("kpipe io_uring", proxyKpipeUring)},
		{name: "kpipe poll", start: child("kpipe poll", proxyKpipePoll)},
		{name: proxyBaseline, start: child(proxyBaseline, proxyIOCopy)},
		{name: "user-space 64 KiB", start: child("user-space 64 KiB", proxyUser64K)},
		{name: "HAProxy splice-auto", skip: hskip, start: func(ctx context.Context, upstream string) (*serverProc, error) {
			return startHAProxy(ctx, hp, cfg.Dir, upstream)
		}},
	}
}

// proxySection returns the TCP proxy section with the given sizes.
func proxySection(cfg Config, sz proxySizes) Section {
	peers := proxyPeers(cfg)
	s := Section{
		Name:    "TCP proxy",
		About:   proxyAbout(sz),
		Metrics: []Metric{Throughput, CPUPerGiB},
	}
	for _, conns := range sz.conns {
		s.Groups = append(s.Groups, proxyGroup(peers, conns, sz))
	}
	return s
}

// proxyAbout is the section's description.
func proxyAbout(sz proxySizes) string {
	haproxy := "HAProxy"
	if hp, skip := haproxyPath(); skip == "" {
		if v := haproxyVersion(hp); v != "" {
			haproxy += " " + v
		}
	}
	return fmt.Sprintf("Each proxy listens on loopback in a process of its own and relays every connection to an upstream sink that "+
		"reads and discards; per run the clients open all the connections at once, push %d MiB in total over them (equal shares), "+
		"half-close (CloseWrite) and wait for the proxy to close its side; the sink's byte count is checked. "+
		"MB/s is that total over the wall-clock time of the run, connection set-up included; CPU s/GiB is the proxy process's "+
		"user plus system CPU time (from /proc: the run time of each of its threads and io_uring workers in nanoseconds, /proc/PID/task/TID/schedstat; the 10 ms ticks of /proc/PID/stat when a thread exited during the run) per GiB. "+
		"The clients and the sink run in the harness process. Peers: kpipe's `Engine.Proxy` on an io_uring and on a poll engine; "+
		"`io.Copy` both ways with a CloseWrite at each end (Go's own splice between TCP sockets; the baseline); "+
		"a read/write loop with a 64 KiB buffer; %s with `mode tcp` and `option splice-auto`, otherwise its defaults "+
		"(one process, nbthread = the CPUs available: %d here), maxconn %d. "+
		"Each proxy gets an untimed warm-up of %d MiB when it starts.",
		sz.total>>20, haproxy, runtime.NumCPU(), haproxyMaxConn, sz.warm>>20)
}

// connsSetting names a group by its connection count.
func connsSetting(conns int) string {
	if conns == 1 {
		return "1 connection"
	}
	return fmt.Sprintf("%d connections", conns)
}

// proxyGroup returns the group of the peers at conns connections.
func proxyGroup(peers []proxyPeer, conns int, sz proxySizes) Group {
	setting := connsSetting(conns)
	sink := new(tcpSink)
	return proxyServerGroup(sink, setting, peers, conns, max(sz.warm, int64(conns)),
		loadRun("proxy", setting, func(ctx context.Context, addr string) (Sample, error) {
			return proxyLoad(ctx, sink, addr, conns, sz.total)
		}))
}

// proxyServerGroup returns a group with a case per peer: a proxy in front
// of sink, warmed up with warm bytes over conns connections and measured by
// run (see serverGroup). Its Setup starts sink; each case starts its proxy
// at its first run; the Teardown stops them all.
func proxyServerGroup(sink *tcpSink, setting string, peers []proxyPeer, conns int, warm int64, run serverRun) Group {
	servers := make([]serverPeer, len(peers))
	for i, p := range peers {
		servers[i] = serverPeer{name: p.name, skip: p.skip, start: func(ctx context.Context) (*serverProc, error) {
			return p.start(ctx, sink.addr())
		}}
	}
	g := serverGroup(setting, proxyBaseline, servers,
		func(ctx context.Context, addr string) error {
			_, err := proxyLoad(ctx, sink, addr, conns, warm)
			return err
		}, run)
	stopServers := g.Teardown
	g.Setup = func(context.Context) error { return sink.start() }
	g.Teardown = func() {
		stopServers()
		sink.close()
	}
	return g
}

// proxyLoad is one timed run through the proxy at addr: total bytes over
// conns connections into sink, whose count it checks.
func proxyLoad(ctx context.Context, sink *tcpSink, addr string, conns int, total int64) (Sample, error) {
	before := sink.received()
	elapsed, err := timeLoad(func() error { return pushThrough(ctx, addr, conns, total) })
	if err != nil {
		return Sample{}, err
	}
	if err := sink.takeErr(); err != nil {
		return Sample{}, err
	}
	if got := sink.received() - before; got != total {
		return Sample{}, fmt.Errorf("the upstream received %d bytes, want %d", got, total)
	}
	return Sample{Bytes: total, Elapsed: elapsed}, nil
}
