/*
 * bench.h: what the C benchmark programs share.
 */
#ifndef KPIPE_BENCH_H
#define KPIPE_BENCH_H

#include <stdint.h>

/* bench_now returns CLOCK_MONOTONIC in seconds; it exits on failure. */
double bench_now(void);

/* bench_wait waits until fd is readable (for_write == 0) or writable.
 * It returns 0 or -errno. */
int bench_wait(int fd, int for_write);

/* bench_fail prints "PROG: WHAT: strerror(err)" and returns 1. */
int bench_fail(const char *what, int err);

/*
 * bench_init names the program PROG in the messages of the functions here
 * and blocks SIGPIPE in the calling thread, as kpipe's own threads do: a
 * closed reader gives EPIPE, not death. Call it first, before any thread
 * starts. It returns 0, or 1 after printing why it failed.
 */
int bench_init(const char *prog);

/*
 * bench_size_arg parses arg, PROG's argument NAME, into *v: a whole number
 * from 1 to max (decimal, or 0x hexadecimal or 0 octal). It returns 0, or 2
 * (the status of a usage error) after printing "PROG: bad NAME ARG".
 */
int bench_size_arg(const char *name, const char *arg, int64_t max, int64_t *v);

/*
 * bench_open_copy opens src_path for reading into *src and dst_path for
 * writing into *dst, created if need be. DST is written over in place, not
 * truncated: the caller cuts it to the bytes copied, and the pages of an
 * existing DST are reused, as a benchmark that repeats wants. It returns 0,
 * or 1 after printing why it failed, with neither left open.
 */
int bench_open_copy(const char *src_path, const char *dst_path, int *src,
		    int *dst);

/*
 * bench_close closes fd, the file path. It returns ret, or 1 after printing
 * why the close failed when ret is 0 (the first failure is the one told).
 */
int bench_close(const char *path, int fd, int ret);

#endif
