/*
 * kp_rw_copy SRC DST [BUFSIZE]: copies SRC to DST with read(2)/write(2)
 * through one buffer (default 1 MiB) with kp_read_write, and prints the bytes
 * moved and the seconds taken. DST is written over in place and then cut to
 * the bytes copied, so that a repeated run reuses its pages. The pure-C user-space-copy baseline for
 * kpipe's benchmarks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "kpipe.h"

int main(int argc, char **argv)
{
	int64_t bufsize = 1 << 20;
	int src, dst, ret = 0;
	char *buf;

	if (bench_init("kp_rw_copy") != 0)
		return 1;
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: kp_rw_copy SRC DST [BUFSIZE]\n");
		return 2;
	}
	if (argc == 4 &&
	    bench_size_arg("BUFSIZE", argv[3], KP_MAX_REQUEST, &bufsize) != 0)
		return 2;
	buf = malloc((size_t)bufsize);
	if (buf == NULL)
		return bench_fail("malloc", ENOMEM);
	if (bench_open_copy(argv[1], argv[2], &src, &dst) != 0) {
		free(buf);
		return 1;
	}

	double t0 = bench_now();
	kp_io io = kp_read_write(src, dst, buf, bufsize, -1);
	double secs = bench_now() - t0;

	if (io.err != 0)
		ret = bench_fail("copy", io.err);
	else if (ftruncate(dst, (off_t)io.moved) < 0)
		ret = bench_fail(argv[2], errno);
	else
		printf("kp_rw_copy bytes=%" PRId64 " seconds=%.6f MBps=%.1f "
		       "buffer=%" PRId64 "\n",
		       io.moved, secs,
		       secs > 0 ? (double)io.moved / secs / 1e6 : 0.0, bufsize);
	ret = bench_close(argv[2], dst, ret);
	ret = bench_close(argv[1], src, ret);
	free(buf);
	return ret;
}
