/* fd.c: what a descriptor is, and whether it is ready. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include "kp_fd.h"

int kp_fd_type(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return KP_FD_FILE;
	case S_IFIFO:
		return KP_FD_PIPE;
	case S_IFSOCK:
		return KP_FD_SOCKET;
	case S_IFCHR:
		return KP_FD_CHAR;
	case S_IFBLK:
		return KP_FD_BLOCK;
	default:
		return KP_FD_OTHER;
	}
}

int kp_fd_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	return (fl & O_NONBLOCK) ? 1 : 0;
}

int kp_fd_ready(int src, int dst)
{
	struct pollfd p[2] = {
		{ .fd = src, .events = POLLIN },
		{ .fd = dst, .events = POLLOUT },
	};
	for (;;) {
		int r = poll(p, 2, 0);
		if (r >= 0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	int mask = 0;
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
		mask |= KP_SIDE_SRC;
	if (p[1].revents & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
		mask |= KP_SIDE_DST;
	return mask;
}

int kp_fd_wait(int fd, int for_write, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = for_write ? POLLOUT : POLLIN };
	/* poll(2) skips a negative fd: it would wait forever. */
	if (fd < 0)
		return -EBADF;
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r > 0)
			return (p.revents & POLLNVAL) ? -EBADF : 0;
		if (r == 0)
			return -ETIMEDOUT;
		/* EINTR: wait again (for the whole timeout: a slice, which the
		 * caller repeats anyway). */
		if (errno != EINTR)
			return -errno;
	}
}
