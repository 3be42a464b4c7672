/* test_pipe.c: kp_pipe_open, kp_pipe_set_size, kp_pipe_size,
 * kp_pipe_buffered and kp_pipe_close on real kernel pipes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "kpipe.h"

static int page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (int)p : 4096;
}

/* Both ends open, distinct, close-on-exec, with O_NONBLOCK as asked. */
static void check_ends(int fds[2], int nonblock)
{
	CHECK_GE(fds[0], 0);
	CHECK_GE(fds[1], 0);
	CHECK_NE(fds[0], fds[1]);
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(fds[i], F_GETFD);
		if (CHECK_SYS(fl))
			CHECK(fl & FD_CLOEXEC);
		int st = fcntl(fds[i], F_GETFL);
		if (CHECK_SYS(st))
			CHECK_EQ((st & O_NONBLOCK) != 0, nonblock);
		struct stat sb;
		if (CHECK_SYS(fstat(fds[i], &sb)))
			CHECK(S_ISFIFO(sb.st_mode));
	}
	int fl0 = fcntl(fds[0], F_GETFL), fl1 = fcntl(fds[1], F_GETFL);
	if (CHECK_SYS(fl0) && CHECK_SYS(fl1)) {
		CHECK_EQ(fl0 & O_ACCMODE, O_RDONLY);
		CHECK_EQ(fl1 & O_ACCMODE, O_WRONLY);
	}
}

/* The pipe carries data from fds[1] to fds[0]. */
static void check_carries(int fds[2])
{
	char buf[16] = { 0 };

	if (!CHECK_EQ(write(fds[1], "kpipe", 5), 5))
		return;
	CHECK_EQ(read(fds[0], buf, sizeof(buf)), 5);
	CHECK_EQ(memcmp(buf, "kpipe", 5), 0);
}

static void test_open_blocking(void)
{
	int fds[2] = { -1, -1 }, granted = -1;

	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, &granted)))
		return;
	check_ends(fds, 0);
	/* No size asked: the kernel's default, 16 pages. */
	CHECK_EQ(granted, 16 * page_size());
	CHECK_EQ(kp_pipe_size(fds[0]), granted);
	CHECK_EQ(kp_pipe_size(fds[1]), granted);
	check_carries(fds);
	CHECK_EQ(kp_pipe_close(fds), 0);
	CHECK_EQ(fds[0], -1);
	CHECK_EQ(fds[1], -1);
}

static void test_open_nonblock(void)
{
	int fds[2] = { -1, -1 }, granted = -1;
	char c;

	if (!CHECK_OK(kp_pipe_open(fds, 1, 0, &granted)))
		return;
	check_ends(fds, 1);
	CHECK_GT(granted, 0);
	/* Empty and non-blocking: a read says EAGAIN instead of waiting. */
	CHECK_EQ(read(fds[0], &c, 1), -1);
	CHECK_EQ(errno, EAGAIN);
	check_carries(fds);
	CHECK_EQ(kp_pipe_close(fds), 0);
}

static void test_open_null_granted(void)
{
	int fds[2] = { -1, -1 };

	if (!CHECK_OK(kp_pipe_open(fds, 1, KP_PIPE_SIZE_DEFAULT, NULL)))
		return;
	CHECK_GE(kp_pipe_size(fds[0]), KP_PIPE_SIZE_DEFAULT);
	CHECK_EQ(kp_pipe_close(fds), 0);
}

static void test_size_growth(void)
{
	static const int sizes[] = { 1, 4096, 65536, 100000, 1 << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int fds[2] = { -1, -1 }, granted = -1;

		if (!CHECK_OK(kp_pipe_open(fds, (int)(i & 1), sizes[i],
					   &granted)))
			continue;
		CHECK_GE(granted, sizes[i]);
		CHECK_EQ(kp_pipe_size(fds[0]), granted);
		CHECK_EQ(kp_pipe_size(fds[1]), granted);
		/* The capacity is a power-of-two number of pages. */
		CHECK_EQ(granted % page_size(), 0);
		CHECK_EQ(granted & (granted - 1), 0);
		check_carries(fds);
		CHECK_EQ(kp_pipe_close(fds), 0);
	}
}

static void test_set_size(void)
{
	int fds[2] = { -1, -1 };
	int pg = page_size();

	if (!CHECK_OK(kp_pipe_open(fds, 1, 0, NULL)))
		return;
	CHECK_EQ(kp_pipe_set_size(fds[1], 256 * 1024), 256 * 1024);
	CHECK_EQ(kp_pipe_size(fds[0]), 256 * 1024);
	/* Rounded up to a power-of-two number of pages. */
	CHECK_EQ(kp_pipe_set_size(fds[0], 3 * pg), 4 * pg);
	/* Shrinking is allowed while the data fits ... */
	CHECK_EQ(kp_pipe_set_size(fds[0], pg), pg);
	CHECK_EQ(kp_pipe_set_size(fds[0], 16 * pg), 16 * pg);
	/* ... and refused with EBUSY when it does not. */
	static char buf[8 * 4096];
	ssize_t n = write(fds[1], buf, sizeof(buf));
	CHECK_EQ(n, (ssize_t)sizeof(buf));
	CHECK_ERR(kp_pipe_set_size(fds[1], pg), EBUSY);
	CHECK_EQ(kp_pipe_size(fds[1]), 16 * pg);
	/* A negative size is a huge unsigned one: EINVAL. */
	CHECK_ERR(kp_pipe_set_size(fds[1], -1), EINVAL);
	CHECK_EQ(kp_pipe_close(fds), 0);
}

/* When the kernel refuses to grow the pipe (EPERM past pipe-max-size without
 * CAP_SYS_RESOURCE; ENOMEM for the ring of a 2 GiB pipe even with it), the
 * pipe stays open at its default size. */
static void test_open_growth_refused(void)
{
	int fds[2] = { -1, -1 }, granted = -1;

	CHECK_ERR(kp_pipe_set_size(-1, INT_MAX), EBADF);
	if (!CHECK_OK(kp_pipe_open(fds, 0, INT_MAX, &granted)))
		return;
	CHECK_EQ(granted, 16 * page_size());
	CHECK_EQ(kp_pipe_size(fds[1]), granted);
	int r = kp_pipe_set_size(fds[1], INT_MAX);
	if (CHECK_LT(r, 0))
		check_note("F_SETPIPE_SZ(INT_MAX): %s", strerrorname_np(-r));
	check_carries(fds);
	CHECK_EQ(kp_pipe_close(fds), 0);
}

static void test_buffered(void)
{
	int fds[2] = { -1, -1 };
	static char buf[100000];

	if (!CHECK_OK(kp_pipe_open(fds, 1, 1 << 20, NULL)))
		return;
	CHECK_EQ(kp_pipe_buffered(fds[0]), 0);
	CHECK_EQ(write(fds[1], buf, 1000), 1000);
	CHECK_EQ(kp_pipe_buffered(fds[0]), 1000);
	/* FIONREAD answers on either end. */
	CHECK_EQ(kp_pipe_buffered(fds[1]), 1000);
	CHECK_EQ(write(fds[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	CHECK_EQ(kp_pipe_buffered(fds[0]), 1000 + (int)sizeof(buf));
	CHECK_EQ(read(fds[0], buf, 600), 600);
	CHECK_EQ(kp_pipe_buffered(fds[0]), 400 + (int)sizeof(buf));
	CHECK_EQ(kp_pipe_close(fds), 0);
}

static void test_errors(void)
{
	int fds[2] = { -1, -1 };
	int closed;

	/* An fd number that is certainly not open. */
	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
		return;
	closed = fds[0];
	CHECK_EQ(kp_pipe_close(fds), 0);
	CHECK_ERR(kp_pipe_size(closed), EBADF);
	CHECK_ERR(kp_pipe_set_size(closed, 65536), EBADF);
	CHECK_ERR(kp_pipe_buffered(closed), EBADF);
	CHECK_ERR(kp_pipe_size(-1), EBADF);
	CHECK_ERR(kp_pipe_buffered(-1), EBADF);

	/* F_GETPIPE_SZ on something that is not a pipe. */
	int f = check_tmpfile();
	if (CHECK_GE(f, 0)) {
		CHECK_ERR(kp_pipe_size(f), EBADF);
		CHECK_ERR(kp_pipe_set_size(f, 65536), EBADF);
		CHECK_SYS(close(f));
	}
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (CHECK_SYS(null)) {
		CHECK_ERR(kp_pipe_size(null), EBADF);
		CHECK_ERR(kp_pipe_buffered(null), ENOTTY);
		CHECK_SYS(close(null));
	}
}

static void test_close(void)
{
	int fds[2] = { -1, -1 };
	int none[2] = { -1, -1 };

	CHECK_EQ(kp_pipe_close(none), 0);
	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
		return;
	/* One end already closed behind kpipe's back: the other is still
	 * closed, the error is reported, both entries become -1. */
	int stale = fds[0];
	CHECK_SYS(close(fds[0]));
	CHECK_ERR(kp_pipe_close(fds), EBADF);
	CHECK_EQ(fds[0], -1);
	CHECK_EQ(fds[1], -1);
	CHECK_EQ(fcntl(stale, F_GETFD), -1);
	/* Idempotent on the -1 entries. */
	CHECK_EQ(kp_pipe_close(fds), 0);

	/* Only the read end left. */
	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
		return;
	CHECK_SYS(close(fds[1]));
	fds[1] = -1;
	CHECK_EQ(kp_pipe_close(fds), 0);
	CHECK_EQ(fds[0], -1);
}

/* pipe2 itself fails (EMFILE): nothing is left open, both entries are -1. */
static void test_open_emfile(void)
{
	struct rlimit old, tight;
	int fds[2] = { 7, 7 };
	int lowest = 0;

	if (!CHECK_SYS(getrlimit(RLIMIT_NOFILE, &old)))
		return;
	int open_now = check_fd_count();
	/* RLIMIT_NOFILE bounds fd numbers: below the lowest free number every
	 * fd is taken, so a limit one above it leaves room for one fd only. */
	while (fcntl(lowest, F_GETFD) >= 0)
		lowest++;
	tight = old;
	tight.rlim_cur = (rlim_t)lowest + 1;
	if (!CHECK_SYS(setrlimit(RLIMIT_NOFILE, &tight)))
		return;
	int r = kp_pipe_open(fds, 1, 1 << 20, NULL);
	CHECK_SYS(setrlimit(RLIMIT_NOFILE, &old));
	CHECK_ERR(r, EMFILE);
	CHECK_EQ(fds[0], -1);
	CHECK_EQ(fds[1], -1);
	CHECK_EQ(check_fd_count(), open_now);
}

/* Many open/close rounds leave no fd behind. */
static void test_no_fd_leak(void)
{
	int before = check_fd_count();

	for (int i = 0; i < 2000; i++) {
		int fds[2] = { -1, -1 };
		int r = kp_pipe_open(fds, i & 1, (i & 2) ? 1 << 20 : 0, NULL);
		if (!CHECK_OK(r))
			break;
		if (!CHECK_EQ(kp_pipe_close(fds), 0))
			break;
	}
	CHECK_EQ(check_fd_count(), before);
}

/* With SIGPIPE blocked, a write into a pipe whose reader has gone fails with
 * EPIPE and the process lives on; the signal is left pending. */
static void test_epipe(void)
{
	int fds[2];

	if (check_pipe_no_reader(fds) < 0)
		return;
	check_take_signal(SIGPIPE);
	CHECK_EQ(write(fds[1], "x", 1), -1);
	CHECK_EQ(errno, EPIPE);
	CHECK(check_take_signal(SIGPIPE));
	CHECK_EQ(kp_pipe_close(fds), 0);

	/* The same for a stream socket whose peer has closed. */
	int sv[2] = { -1, -1 };
	if (!CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)))
		return;
	CHECK_SYS(close(sv[1]));
	CHECK_EQ(write(sv[0], "x", 1), -1);
	CHECK_EQ(errno, EPIPE);
	CHECK(check_take_signal(SIGPIPE));
	CHECK_SYS(close(sv[0]));
}

CHECK_SUITE(CHECK_CASE(test_open_blocking), CHECK_CASE(test_open_nonblock),
	    CHECK_CASE(test_open_null_granted), CHECK_CASE(test_size_growth),
	    CHECK_CASE(test_set_size), CHECK_CASE(test_open_growth_refused),
	    CHECK_CASE(test_buffered), CHECK_CASE(test_errors),
	    CHECK_CASE(test_close), CHECK_CASE(test_open_emfile),
	    CHECK_CASE(test_no_fd_leak), CHECK_CASE(test_epipe))
