/*
 * io_internal.h: what the loops of splice.c and copy.c share. Not part of
 * kpipe's public contract (kp_io.h is).
 */
#ifndef KPIPE_IO_INTERNAL_H
#define KPIPE_IO_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_io.h"

/* The length of the next request of a loop that has done bytes of limit
 * (limit < 0: no limit), at most max. */
static inline size_t kp_io_request(int64_t limit, int64_t done, int64_t max)
{
	if (limit < 0)
		return (size_t)max;
	int64_t left = limit - done;
	return (size_t)(left < max ? left : max);
}

/* io, ended by the error err; with EAGAIN, side is the one to wait for. */
static inline kp_io kp_io_failed(kp_io io, int err, int side)
{
	io.err = err;
	if (err == EAGAIN)
		io.side = side;
	return io;
}

#endif /* KPIPE_IO_INTERNAL_H */
