/* pipe.c: opening, sizing and closing kernel pipes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kp_pipe.h"
#include "kpipe_compat.h"

int kp_pipe_set_size(int fd, int size)
{
	int r = fcntl(fd, F_SETPIPE_SZ, size);
	return r < 0 ? -errno : r;
}

int kp_pipe_size(int fd)
{
	int r = fcntl(fd, F_GETPIPE_SZ);
	return r < 0 ? -errno : r;
}

int kp_pipe_buffered(int fd)
{
	int n = 0;
	if (ioctl(fd, FIONREAD, &n) < 0)
		return -errno;
	return n;
}

int kp_pipe_close(int fds[2])
{
	int first = 0;
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		/* close(2) frees the fd even when it reports EINTR: never retry. */
		if (close(fds[i]) < 0 && first == 0 && errno != EINTR)
			first = -errno;
		fds[i] = -1;
	}
	return first;
}

int kp_pipe_open(int fds[2], int nonblock, int size, int *granted)
{
	int flags = O_CLOEXEC | (nonblock ? O_NONBLOCK : 0);
	fds[0] = fds[1] = -1;
	if (pipe2(fds, flags) < 0) {
		/* Linux leaves fds alone on failure, emulators (valgrind) may
		 * not: never hand back fd numbers we do not own. */
		int err = -errno;
		fds[0] = fds[1] = -1;
		return err;
	}
	int cap = -1;
	if (size > 0)
		cap = kp_pipe_set_size(fds[1], size);
	/* Growth refused (EPERM past pipe-user-pages-soft, EBUSY): keep the
	 * capacity the kernel gave. */
	if (cap < 0)
		cap = kp_pipe_size(fds[1]);
	if (cap < 0) {
		int err = cap;
		kp_pipe_close(fds);
		return err;
	}
	if (granted)
		*granted = cap;
	return 0;
}
