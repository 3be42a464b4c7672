/* copy.c: copy_file_range(2), sendfile(2) and a read/write loop. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "io_internal.h"
#include "kp_copy.h"

/* io ended by a call that returned n <= 0, not for EINTR: n == 0 is the end
 * of input, n < 0 the error in errno. */
static kp_io copy_stopped(kp_io io, ssize_t n, int side)
{
	if (n < 0)
		return kp_io_failed(io, errno, side);
	io.eof = 1;
	return io;
}

kp_io kp_copy_range(int in, int out, int64_t limit)
{
	kp_io io = { 0, 0, 0, KP_SIDE_NONE };
	while (limit < 0 || io.moved < limit) {
		ssize_t n = copy_file_range(
			in, NULL, out, NULL,
			kp_io_request(limit, io.moved, KP_MAX_REQUEST), 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return copy_stopped(io, n, KP_SIDE_NONE);
		}
		io.moved += n;
	}
	return io;
}

kp_io kp_sendfile(int out, int in, int64_t limit)
{
	kp_io io = { 0, 0, 0, KP_SIDE_NONE };
	while (limit < 0 || io.moved < limit) {
		ssize_t n = sendfile(out, in, NULL,
				     kp_io_request(limit, io.moved,
						   KP_MAX_REQUEST));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return copy_stopped(io, n, KP_SIDE_DST);
		}
		io.moved += n;
	}
	return io;
}

/* Writes all of buf[0:len], adding each part written to *moved (a failure
 * after a short write must not lose it); returns 0 or an errno. */
static int write_all(int out, const char *buf, int64_t len, int64_t *moved)
{
	while (len > 0) {
		ssize_t n = write(out, buf, (size_t)len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		buf += n;
		len -= n;
		*moved += n;
	}
	return 0;
}

kp_io kp_read_write(int in, int out, char *buf, int64_t len, int64_t limit)
{
	kp_io io = { 0, 0, 0, KP_SIDE_NONE };
	/* A zero-byte read would look like end of input. */
	if (len <= 0) {
		io.err = EINVAL;
		return io;
	}
	while (limit < 0 || io.moved < limit) {
		ssize_t n = read(in, buf, kp_io_request(limit, io.moved, len));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return copy_stopped(io, n, KP_SIDE_SRC);
		}
		int err = write_all(out, buf, n, &io.moved);
		if (err != 0)
			return kp_io_failed(io, err, KP_SIDE_DST);
	}
	return io;
}
