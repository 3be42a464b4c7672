/*
 * bench.c: what the C benchmark programs share (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int bench_wait(int fd, int for_write)
{
	struct pollfd p = { .fd = fd, .events = for_write ? POLLOUT : POLLIN };

	/* poll(2) skips a negative fd: it would wait forever. */
	if (fd < 0)
		return -EBADF;
	for (;;) {
		int r = poll(&p, 1, -1);
		if (r > 0)
			return (p.revents & POLLNVAL) ? -EBADF : 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

double bench_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		perror("clock_gettime");
		exit(1);
	}
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The program's name, set once by bench_init before any thread starts. */
static const char *bench_prog = "bench";

int bench_fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", bench_prog, what, strerror(err));
	return 1;
}

int bench_init(const char *prog)
{
	bench_prog = prog;
	sigset_t set;
	int r;

	if (sigemptyset(&set) < 0 || sigaddset(&set, SIGPIPE) < 0)
		return bench_fail("sigset", errno);
	r = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (r != 0)
		return bench_fail("pthread_sigmask", r);
	return 0;
}

int bench_size_arg(const char *name, const char *arg, int64_t max, int64_t *v)
{
	char *end;
	long long n = strtoll(arg, &end, 0);

	if (*end != '\0' || n <= 0 || n > max) {
		fprintf(stderr, "%s: bad %s %s\n", bench_prog, name, arg);
		return 2;
	}
	*v = n;
	return 0;
}

int bench_open_copy(const char *src_path, const char *dst_path, int *src,
		    int *dst)
{
	*src = open(src_path, O_RDONLY | O_CLOEXEC);
	if (*src < 0)
		return bench_fail(src_path, errno);
	*dst = open(dst_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (*dst < 0) {
		int ret = bench_fail(dst_path, errno);
		return bench_close(src_path, *src, ret);
	}
	return 0;
}

int bench_close(const char *path, int fd, int ret)
{
	if (close(fd) < 0 && ret == 0)
		return bench_fail(path, errno);
	return ret;
}
