/*
 * bench.h: what the C benchmark programs share.
 */
#ifndef KPIPE_BENCH_H
#define KPIPE_BENCH_H

/* bench_now returns CLOCK_MONOTONIC in seconds; it exits on failure. */
double bench_now(void);

/* bench_fail prints "PROG: WHAT: strerror(err)" and returns 1. */
int bench_fail(const char *prog, const char *what, int err);

/*
 * bench_block_sigpipe blocks SIGPIPE in the calling thread, as kpipe's own
 * threads do: a closed reader gives EPIPE, not death. It returns 0, or 1
 * after printing why it failed.
 */
int bench_block_sigpipe(const char *prog);

#endif
