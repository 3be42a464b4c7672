/*
 * io_internal.h: what the loops of splice.c and copy.c share. Not part of
 * kpipe's public contract (kp_io.h is).
 */
#ifndef KPIPE_IO_INTERNAL_H
#define KPIPE_IO_INTERNAL_H

#include <errno.h>

#include "kp_io.h"

/* io, ended by the error err; with EAGAIN, side is the one to wait for. */
static inline kp_io kp_io_failed(kp_io io, int err, int side)
{
	io.err = err;
	if (err == EAGAIN)
		io.side = side;
	return io;
}

#endif /* KPIPE_IO_INTERNAL_H */
