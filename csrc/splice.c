/* splice.c: splice(2), one call or a whole pipe-in-the-middle loop. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/types.h>

#include "io_internal.h"
#include "kp_splice.h"
#include "kpipe_compat.h"

int64_t kp_splice(int in, int out, int64_t len, unsigned int flags)
{
	if (len <= 0)
		return 0;
	for (;;) {
		ssize_t n = splice(in, NULL, out, NULL,
				   kp_io_request(len, 0, KP_MAX_REQUEST),
				   flags);
		if (n >= 0)
			return (int64_t)n;
		if (errno != EINTR)
			return -errno;
	}
}

kp_io kp_splice_via_count(int src, int dst, int pr, int pw, int pipe_cap,
			  int64_t limit, int64_t *in_pipe, uint64_t *calls)
{
	const unsigned int flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
	kp_io io = { 0, 0, 0, KP_SIDE_NONE };
	int64_t taken = 0; /* bytes taken from src by this call */

	/* A zero-byte request would read as end of input. */
	if (pipe_cap <= 0) {
		io.err = EINVAL;
		return io;
	}
	for (;;) {
		/* Drain what the pipe holds before taking more. */
		while (*in_pipe > 0) {
			int64_t n = kp_splice(pr, dst, *in_pipe, flags);
			(*calls)++;
			if (n < 0)
				return kp_io_failed(io, (int)-n, KP_SIDE_DST);
			if (n == 0) {
				/* A pipe we own cannot run dry while it holds data. */
				io.err = EIO;
				return io;
			}
			*in_pipe -= n;
			io.moved += n;
		}
		if (limit >= 0 && taken >= limit)
			return io;
		int64_t want = pipe_cap;
		if (limit >= 0 && limit - taken < want)
			want = limit - taken;
		int64_t n = kp_splice(src, pw, want, flags);
		(*calls)++;
		if (n < 0)
			return kp_io_failed(io, (int)-n, KP_SIDE_SRC);
		if (n == 0) {
			io.eof = 1;
			return io;
		}
		taken += n;
		*in_pipe += n;
	}
}

kp_io kp_splice_via(int src, int dst, int pr, int pw, int pipe_cap,
		    int64_t limit, int64_t *in_pipe)
{
	uint64_t calls = 0;

	return kp_splice_via_count(src, dst, pr, pw, pipe_cap, limit, in_pipe,
				   &calls);
}
