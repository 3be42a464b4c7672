/*
 * kp_splice_copy SRC DST [PIPESIZE]: copies SRC to DST through a private
 * non-blocking pipe with kp_splice_via, and prints the bytes moved and the
 * seconds taken. The pure-C baseline for kpipe's splice benchmarks (no Go
 * involved); meant for regular files, where nothing ever waits.
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
	int fds[2] = { -1, -1 }, cap = 0, src, dst, r, ret = 0;
	int64_t size = KP_PIPE_SIZE_DEFAULT;
	int64_t in_pipe = 0, total = 0;

	if (bench_init("kp_splice_copy") != 0)
		return 1;
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: kp_splice_copy SRC DST [PIPESIZE]\n");
		return 2;
	}
	if (argc == 4 &&
	    bench_size_arg("PIPESIZE", argv[3], (int64_t)1 << 30, &size) != 0)
		return 2;
	if (bench_open_copy(argv[1], argv[2], &src, &dst) != 0)
		return 1;
	r = kp_pipe_open(fds, 1, (int)size, &cap);
	if (r < 0) {
		ret = bench_fail("pipe", -r);
		goto close_files;
	}

	double t0 = bench_now();
	for (;;) {
		kp_io io = kp_splice_via(src, dst, fds[0], fds[1], cap, -1,
					 &in_pipe);
		total += io.moved;
		if (io.err == EAGAIN) {
			/* Not a regular file after all (a FIFO, a socket). */
			int w = io.side == KP_SIDE_DST;
			r = bench_wait(w ? dst : src, w);
			if (r < 0) {
				ret = bench_fail("poll", -r);
				break;
			}
			continue;
		}
		if (io.err != 0) {
			ret = bench_fail("splice", io.err);
			break;
		}
		if (io.eof)
			break;
	}
	double secs = bench_now() - t0;

	if (ret == 0 && ftruncate(dst, (off_t)total) < 0)
		ret = bench_fail(argv[2], errno);
	if (ret == 0)
		printf("kp_splice_copy bytes=%" PRId64
		       " seconds=%.6f MBps=%.1f "
		       "pipe=%d\n",
		       total, secs, secs > 0 ? (double)total / secs / 1e6 : 0.0,
		       cap);
	r = kp_pipe_close(fds);
	if (r < 0 && ret == 0)
		ret = bench_fail("close pipe", -r);
close_files:
	ret = bench_close(argv[2], dst, ret);
	ret = bench_close(argv[1], src, ret);
	return ret;
}
