/*
 * kp_fd.h: descriptor facts and readiness (fd.c).
 */
#ifndef KP_FD_H
#define KP_FD_H

#include "kp_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What fstat says an fd is. */
enum kp_fd_type {
	KP_FD_OTHER = 0,
	KP_FD_FILE = 1, /* regular file */
	KP_FD_PIPE = 2, /* pipe or FIFO */
	KP_FD_SOCKET = 3,
	KP_FD_CHAR = 4, /* character device */
	KP_FD_BLOCK = 5 /* block device */
};

/* Returns enum kp_fd_type or -errno. */
int kp_fd_type(int fd);

/* Returns 1 if O_NONBLOCK is set, 0 if not, or -errno. */
int kp_fd_nonblocking(int fd);

/* Polls src for input and dst for output without waiting. Returns a mask of
 * KP_SIDE_SRC (src readable) and KP_SIDE_DST (dst writable), or -errno. Hang-up
 * and error states count as ready: the next call reports them. */
int kp_fd_ready(int src, int dst);

/* Waits until fd is readable (for_write == 0) or writable, for at most
 * timeout_ms milliseconds (< 0: no limit). For blocking-mode descriptors
 * only. Returns 0, -ETIMEDOUT when the time ran out, or -errno. */
int kp_fd_wait(int fd, int for_write, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* KP_FD_H */
