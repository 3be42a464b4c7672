/*
 * bench.c: what the C benchmark programs share (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		perror("clock_gettime");
		exit(1);
	}
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_fail(const char *prog, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

int bench_block_sigpipe(const char *prog)
{
	sigset_t set;
	int r;

	if (sigemptyset(&set) < 0 || sigaddset(&set, SIGPIPE) < 0)
		return bench_fail(prog, "sigset", errno);
	r = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (r != 0)
		return bench_fail(prog, "pthread_sigmask", r);
	return 0;
}
