package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// selfCPU returns the user plus system CPU time the running process has
// used so far, all its threads together.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ), 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// pidCPU returns the user plus system CPU time process pid has used so far,
// from /proc/PID/stat (in clock ticks of 10 ms).
func pidCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, x := range f[11:13] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// cpuSnapshot is the CPU time a process tree has used at one moment, two
// ways: the total of /proc/PID/stat, in 10 ms ticks, which includes threads
// that have exited, and each live thread's run time in nanoseconds from
// /proc/PID/task/TID/schedstat.
type cpuSnapshot struct {
	ticks   time.Duration
	threads map[int]time.Duration // by thread id
}

// addProcess adds process pid's CPU time to s.
func (s *cpuSnapshot) addProcess(pid int) error {
	d, err := pidCPU(pid)
	if err != nil {
		return err
	}
	s.ticks += d
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, tid))
		if err != nil {
			continue // the thread has just exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			s.threads[tid] = time.Duration(ns)
		}
	}
	return nil
}

// cpuSince returns the CPU time used between snapshots a and b: the sum of
// the threads' precise run times when every thread of a is still there in
// b, and the tick count otherwise (a thread that exited in between took its
// run time with it).
func cpuSince(a, b cpuSnapshot) time.Duration {
	var d time.Duration
	for tid, t1 := range b.threads {
		d += t1 - a.threads[tid]
	}
	for tid := range a.threads {
		if _, ok := b.threads[tid]; !ok {
			return b.ticks - a.ticks
		}
	}
	return d
}
