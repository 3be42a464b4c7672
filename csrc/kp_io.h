/*
 * kp_io.h: what kpipe's transfer calls share: the largest request, the
 * sides a transfer waits for, and kp_io, the outcome of a call that moves
 * data until it cannot go on.
 */
#ifndef KP_IO_H
#define KP_IO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest single request handed to the kernel (splice, sendfile and
 * copy_file_range all cap a request near 2 GiB). */
#define KP_MAX_REQUEST ((int64_t)1 << 30)

/* Which side a transfer is waiting for after it stopped with EAGAIN. */
enum kp_side {
	KP_SIDE_NONE = 0,
	KP_SIDE_SRC = 1, /* the source has nothing to read */
	KP_SIDE_DST = 2  /* the destination cannot take more */
};

/* The outcome of a call that moves data until it cannot go on. */
typedef struct kp_io {
	int64_t moved; /* bytes written to the destination by this call */
	int err; /* 0, or the errno that stopped the call (EAGAIN: would block) */
	int eof;  /* 1 when the source reported end of input */
	int side; /* with EAGAIN: enum kp_side, the side to wait for */
} kp_io;

#ifdef __cplusplus
}
#endif

#endif /* KP_IO_H */
