/* test_copy.c: kp_copy_range, kp_sendfile and kp_read_write on real files,
 * sockets, pipes and devices. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "kpipe.h"

#define MIB (1024 * 1024)

/* Empties the file fd and rewinds it. */
static void reset(int fd)
{
	CHECK_SYS(ftruncate(fd, 0));
	CHECK_SYS(lseek(fd, 0, SEEK_SET));
}

/* A sparse file of size bytes on tmpfs, or -1 (with a note) without one. */
static int sparse_tmpfs(int64_t size)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		check_note("no tmpfs at /dev/shm: skipped");
		return -1;
	}
	if (!CHECK_SYS(ftruncate(fd, size))) {
		check_close_fd(fd);
		return -1;
	}
	return fd;
}

/* ---- kp_copy_range ---------------------------------------------------------- */

static void test_copy_range_all(void)
{
	const int64_t size = 5 * MIB + 321;
	int src = check_stream_file(size, 11), dst = check_tmpfile();

	if (src < 0 || dst < 0)
		goto out;
	kp_io io = kp_copy_range(src, dst, -1);
	CHECK_IO_OK(io, size, 1);
	CHECK_EQ(check_offset(src), size);
	CHECK_EQ(check_offset(dst), size);
	check_file_is_stream(dst, 11, size);
	/* At end of input: nothing, eof. */
	io = kp_copy_range(src, dst, -1);
	CHECK_IO_OK(io, 0, 1);
out:
	check_close_fd(src);
	check_close_fd(dst);
}

static void test_copy_range_limit(void)
{
	const int64_t size = 4 * MIB + 5;
	const int64_t limit = MIB + 3;
	int src = check_stream_file(size, 12), dst = check_tmpfile();
	kp_io io;

	if (src < 0 || dst < 0)
		goto out;
	io = kp_copy_range(src, dst, limit);
	CHECK_IO_OK(io, limit, 0);
	CHECK_EQ(check_offset(src), limit);
	CHECK_EQ(check_offset(dst), limit);
	io = kp_copy_range(src, dst, 0);
	CHECK_IO_OK(io, 0, 0);
	CHECK_EQ(check_offset(src), limit);
	io = kp_copy_range(src, dst, -1);
	CHECK_IO_OK(io, size - limit, 1);
	check_file_is_stream(dst, 12, size);
out:
	check_close_fd(src);
	check_close_fd(dst);
}

/* Limits past 32 bits are limits, not truncated request sizes. */
static void test_copy_range_huge_limit(void)
{
	static const int64_t limits[] = {
		((int64_t)1 << 31) + 1,
		(int64_t)1 << 32,
		((int64_t)1 << 32) + 5,
		KP_MAX_REQUEST + 1,
		INT64_MAX,
	};
	const int64_t size = 300000;
	int src = check_stream_file(size, 13), dst = check_tmpfile();

	if (src < 0 || dst < 0)
		goto out;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		CHECK_SYS(lseek(src, 0, SEEK_SET));
		reset(dst);
		kp_io io = kp_copy_range(src, dst, limits[i]);
		CHECK_IO_OK(io, size, 1);
		check_file_is_stream(dst, 13, size);
	}
out:
	check_close_fd(src);
	check_close_fd(dst);
}

static void test_copy_range_empty(void)
{
	int src = check_tmpfile(), dst = check_tmpfile();

	if (src < 0 || dst < 0)
		goto out;
	kp_io io = kp_copy_range(src, dst, -1);
	CHECK_IO_OK(io, 0, 1);
out:
	check_close_fd(src);
	check_close_fd(dst);
}

static void test_copy_range_errors(void)
{
	int src = check_stream_file(1000, 14), dst = check_tmpfile();
	int p[2] = { -1, -1 };

	if (src < 0 || dst < 0 || !CHECK_OK(kp_pipe_open(p, 1, 0, NULL)))
		goto out;
	kp_io io = kp_copy_range(src, p[1], -1);
	CHECK_IO_ERR(io, EINVAL, KP_SIDE_NONE, 0, 0);
	io = kp_copy_range(-1, dst, -1);
	CHECK_EQ(io.err, EBADF);
	/* The same file, overlapping ranges. */
	io = kp_copy_range(src, src, -1);
	CHECK_EQ(io.err, EINVAL);
	/* A destination not open for writing, or open for appending. */
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (CHECK_SYS(ro)) {
		io = kp_copy_range(src, ro, -1);
		CHECK(io.err == EBADF || io.err == EINVAL);
		check_close_fd(ro);
	}
	int fl = fcntl(dst, F_GETFL);
	if (CHECK_SYS(fl) && CHECK_SYS(fcntl(dst, F_SETFL, fl | O_APPEND))) {
		io = kp_copy_range(src, dst, -1);
		CHECK_EQ(io.err, EBADF);
		CHECK_EQ(io.moved, 0);
	}
	CHECK_EQ(check_offset(src), 0);
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(dst);
}

/* A partial copy then EFBIG (past RLIMIT_FSIZE): moved counts what landed. */
static void test_copy_range_efbig(void)
{
	const int64_t size = 300000, fsize = 100000;
	int src = check_stream_file(size, 15), dst = check_tmpfile();
	uint64_t old;

	if (src < 0 || dst < 0)
		goto out;
	if (check_fsize_limit((uint64_t)fsize, &old) < 0)
		goto out;
	kp_io io = kp_copy_range(src, dst, -1);
	check_fsize_restore(old);
	CHECK_IO_ERR(io, EFBIG, KP_SIDE_NONE, fsize, 0);
	CHECK_EQ(check_offset(dst), fsize);
	CHECK_EQ(check_offset(src), fsize);
out:
	check_close_fd(src);
	check_close_fd(dst);
}

/* ---- kp_sendfile ------------------------------------------------------------ */

struct reader {
	int fd;
	struct check_hash hs;
	int64_t n;
};

static void *read_to_eof(void *arg)
{
	struct reader *r = arg;

	check_hash_init(&r->hs);
	r->n = check_drain(r->fd, &r->hs);
	return NULL;
}

/* Blocking socket, a reader on the other end: everything, eof. */
static void test_sendfile_socket(void)
{
	const int64_t size = 3 * MIB + 99;
	int src = check_stream_file(size, 21);
	int sv[2] = { -1, -1 };
	pthread_t t;

	if (src < 0 ||
	    !CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)))
		goto out;
	struct reader r = { .fd = sv[1] };
	if (!CHECK_EQ(pthread_create(&t, NULL, read_to_eof, &r), 0))
		goto out;
	kp_io io = kp_sendfile(sv[0], src, -1);
	CHECK_SYS(shutdown(sv[0], SHUT_WR));
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_IO_OK(io, size, 1);
	CHECK_EQ(check_offset(src), size);
	struct check_hash want;
	check_hash_stream(21, size, &want);
	CHECK_EQ(r.n, size);
	CHECK(r.hs.h == want.h);
out:
	check_close_fd(sv[0]);
	check_close_fd(sv[1]);
	check_close_fd(src);
}

/* Non-blocking socket with a small buffer: EAGAIN on the DST side, and the
 * rest after the reader drains; with a limit, exactly the limit. */
static void sendfile_in_rounds(int64_t limit)
{
	const int64_t size = 2 * MIB + 7;
	const int64_t want_n = limit >= 0 && limit < size ? limit : size;
	int src = check_stream_file(size, 22);
	int sv[2] = { -1, -1 }, small = 16 * 1024;
	int64_t moved = 0, got_n = 0, left = limit;
	int rounds = 0, stops = 0;
	struct check_hash got, want;

	check_hash_init(&got);
	if (src < 0 ||
	    !CHECK_SYS(socketpair(AF_UNIX,
				  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				  sv)))
		goto out;
	CHECK_SYS(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
			     sizeof(small)));
	for (;;) {
		if (!CHECK_LT(rounds++, 100000))
			break;
		kp_io io = kp_sendfile(sv[0], src, left);
		CHECK_GE(io.moved, 0);
		moved += io.moved;
		if (left >= 0)
			left -= io.moved;
		if (io.err == 0) {
			CHECK_EQ(io.side, KP_SIDE_NONE);
			if (limit >= 0 && limit < size)
				CHECK_EQ(io.eof, 0);
			else
				CHECK_EQ(io.eof, 1);
			break;
		}
		if (!CHECK_EQ(io.err, EAGAIN))
			break;
		CHECK_EQ(io.side, KP_SIDE_DST);
		stops++;
		int64_t n = check_drain(sv[1], &got);
		if (!CHECK_GE(n, 0))
			break;
		got_n += n;
	}
	int64_t n = check_drain(sv[1], &got);
	if (CHECK_GE(n, 0))
		got_n += n;
	CHECK_EQ(moved, want_n);
	CHECK_EQ(got_n, want_n);
	CHECK_EQ(check_offset(src), want_n);
	CHECK_GT(stops, 0);
	check_hash_stream(22, want_n, &want);
	CHECK(got.h == want.h);
out:
	check_close_fd(sv[0]);
	check_close_fd(sv[1]);
	check_close_fd(src);
}

static void test_sendfile_socket_eagain(void)
{
	sendfile_in_rounds(-1);
}

static void test_sendfile_socket_limit(void)
{
	sendfile_in_rounds(MIB + 1);
	sendfile_in_rounds(((int64_t)1 << 32) + 5);
}

static void test_sendfile_epipe(void)
{
	int src = check_stream_file(MIB, 23);
	int sv[2] = { -1, -1 };

	if (src < 0 ||
	    !CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)))
		goto out;
	check_close_fd(sv[1]);
	sv[1] = -1;
	check_take_signal(SIGPIPE);
	kp_io io = kp_sendfile(sv[0], src, -1);
	CHECK_IO_ERR(io, EPIPE, KP_SIDE_NONE, 0, 0);
	CHECK_EQ(check_offset(src), 0);
	CHECK(check_take_signal(SIGPIPE));
out:
	check_close_fd(sv[0]);
	check_close_fd(sv[1]);
	check_close_fd(src);
}

static void test_sendfile_errors(void)
{
	int src = check_stream_file(1000, 24);
	int sv[2] = { -1, -1 };

	if (src < 0 ||
	    !CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)))
		goto out;
	kp_io io = kp_sendfile(sv[0], -1, -1);
	CHECK_EQ(io.err, EBADF);
	io = kp_sendfile(-1, src, -1);
	CHECK_EQ(io.err, EBADF);
	/* The source must be readable as a file: a socket is not. */
	io = kp_sendfile(sv[0], sv[1], -1);
	CHECK_EQ(io.err, EINVAL);
	CHECK_EQ(io.moved, 0);
	/* limit 0: nothing moves. */
	io = kp_sendfile(sv[0], src, 0);
	CHECK_IO_OK(io, 0, 0);
out:
	check_close_fd(sv[0]);
	check_close_fd(sv[1]);
	check_close_fd(src);
}

/* 64-bit counts through sendfile: a sparse 3 GiB tmpfs file to /dev/null. */
static void test_sendfile_beyond_2g(void)
{
	const int64_t size = (int64_t)3 << 30;
	const int64_t limit = ((int64_t)1 << 31) + 4097;
	int src = sparse_tmpfs(size);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (src < 0 || !CHECK_SYS(null))
		goto out;
	kp_io io = kp_sendfile(null, src, limit);
	CHECK_IO_OK(io, limit, 0);
	CHECK_EQ(check_offset(src), limit);
	io = kp_sendfile(null, src, -1);
	CHECK_IO_OK(io, size - limit, 1);
out:
	check_close_fd(src);
	check_close_fd(null);
}

/* ---- kp_read_write ---------------------------------------------------------- */

static void test_read_write_file(void)
{
	static const int64_t bufs[] = { 1, 4096, 65536, 4 * MIB };
	const int64_t size = 2 * MIB + 77;
	int src = check_stream_file(size, 31), dst = check_tmpfile();
	char *buf = malloc(4 * MIB);

	if (src < 0 || dst < 0 || !CHECK(buf != NULL))
		goto out;
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		int64_t first = bufs[i] == 1 ? 1000 : 100000;

		CHECK_SYS(lseek(src, 0, SEEK_SET));
		reset(dst);
		if (bufs[i] == 1) {
			/* A byte at a time: a small file only. */
			kp_io io = kp_read_write(src, dst, buf, 1, first);
			CHECK_IO_OK(io, first, 0);
			CHECK_EQ(check_offset(src), first);
			continue;
		}
		kp_io io = kp_read_write(src, dst, buf, bufs[i], first);
		CHECK_IO_OK(io, first, 0);
		/* The limit bounds the read: nothing past it is consumed. */
		CHECK_EQ(check_offset(src), first);
		io = kp_read_write(src, dst, buf, bufs[i], -1);
		CHECK_IO_OK(io, size - first, 1);
		check_file_is_stream(dst, 31, size);
	}
out:
	free(buf);
	check_close_fd(src);
	check_close_fd(dst);
}

static void test_read_write_pipe_src(void)
{
	int p[2] = { -1, -1 };
	int dst = check_tmpfile();
	static char data[300000];
	char buf[4096];

	if (dst < 0 || !CHECK_OK(kp_pipe_open(p, 0, MIB, NULL)))
		goto out;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	CHECK_EQ(check_write_all(p[1], data, sizeof(data)), 0);
	CHECK_SYS(close(p[1]));
	p[1] = -1;
	kp_io io = kp_read_write(p[0], dst, buf, sizeof(buf), -1);
	CHECK_IO_OK(io, (int64_t)sizeof(data), 1);
	static char back[sizeof(data)];
	CHECK_EQ(pread(dst, back, sizeof(back), 0), (ssize_t)sizeof(back));
	CHECK_EQ(memcmp(back, data, sizeof(data)), 0);
out:
	kp_pipe_close(p);
	check_close_fd(dst);
}

static void test_read_write_epipe(void)
{
	int src = check_stream_file(100000, 32);
	int p[2] = { -1, -1 };
	char buf[8192];

	if (src < 0 || check_pipe_no_reader(p) < 0)
		goto out;
	check_take_signal(SIGPIPE);
	kp_io io = kp_read_write(src, p[1], buf, sizeof(buf), -1);
	CHECK_IO_ERR(io, EPIPE, KP_SIDE_NONE, 0, 0);
	CHECK(check_take_signal(SIGPIPE));
out:
	kp_pipe_close(p);
	check_close_fd(src);
}

/* A partial write then EFBIG: moved counts the bytes that did land. */
static void test_read_write_efbig(void)
{
	const int64_t size = 300000, fsize = 100000;
	int src = check_stream_file(size, 33), dst = check_tmpfile();
	static char buf[65536];
	uint64_t old;

	if (src < 0 || dst < 0)
		goto out;
	if (check_fsize_limit((uint64_t)fsize, &old) < 0)
		goto out;
	kp_io io = kp_read_write(src, dst, buf, sizeof(buf), -1);
	check_fsize_restore(old);
	CHECK_IO_ERR(io, EFBIG, KP_SIDE_NONE, fsize, 0);
	CHECK_EQ(check_offset(dst), fsize);
out:
	check_close_fd(src);
	check_close_fd(dst);
}

/* EAGAIN from a non-blocking source names the side to wait for. */
static void test_read_write_eagain(void)
{
	int p[2] = { -1, -1 };
	int dst = check_tmpfile();
	char buf[4096];

	if (dst < 0 || !CHECK_OK(kp_pipe_open(p, 1, 0, NULL)))
		goto out;
	CHECK_EQ(write(p[1], "abc", 3), 3);
	kp_io io = kp_read_write(p[0], dst, buf, sizeof(buf), -1);
	CHECK_IO_ERR(io, EAGAIN, KP_SIDE_SRC, 3, 0);
out:
	kp_pipe_close(p);
	check_close_fd(dst);
}

/* A buffer that cannot hold a byte must not look like end of input. */
static void test_read_write_bad_len(void)
{
	int src = check_stream_file(1000, 34), dst = check_tmpfile();
	char buf[16];

	if (src < 0 || dst < 0)
		goto out;
	kp_io io = kp_read_write(src, dst, buf, 0, -1);
	CHECK_IO_ERR(io, EINVAL, KP_SIDE_NONE, 0, 0);
	io = kp_read_write(src, dst, buf, -1, -1);
	CHECK_IO_ERR(io, EINVAL, KP_SIDE_NONE, 0, 0);
	CHECK_EQ(check_offset(src), 0);
	/* limit 0 is not an error: nothing to do. */
	io = kp_read_write(src, dst, buf, sizeof(buf), 0);
	CHECK_IO_OK(io, 0, 0);
out:
	check_close_fd(src);
	check_close_fd(dst);
}

/* 64-bit counts through read/write: /dev/zero to /dev/null. */
static void test_read_write_beyond_2g(void)
{
	const int64_t limit = ((int64_t)1 << 31) + 4097;
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *buf = malloc(MIB);

	if (!CHECK_SYS(zero) || !CHECK_SYS(null) || !CHECK(buf != NULL))
		goto out;
	kp_io io = kp_read_write(zero, null, buf, MIB, limit);
	CHECK_IO_OK(io, limit, 0);
out:
	free(buf);
	check_close_fd(zero);
	check_close_fd(null);
}

CHECK_SUITE(
	CHECK_CASE(test_copy_range_all), CHECK_CASE(test_copy_range_limit),
	CHECK_CASE(test_copy_range_huge_limit),
	CHECK_CASE(test_copy_range_empty), CHECK_CASE(test_copy_range_errors),
	CHECK_CASE(test_copy_range_efbig), CHECK_CASE(test_sendfile_socket),
	CHECK_CASE(test_sendfile_socket_eagain),
	CHECK_CASE(test_sendfile_socket_limit), CHECK_CASE(test_sendfile_epipe),
	CHECK_CASE(test_sendfile_errors), CHECK_CASE(test_sendfile_beyond_2g),
	CHECK_CASE(test_read_write_file), CHECK_CASE(test_read_write_pipe_src),
	CHECK_CASE(test_read_write_epipe), CHECK_CASE(test_read_write_efbig),
	CHECK_CASE(test_read_write_eagain), CHECK_CASE(test_read_write_bad_len),
	CHECK_CASE(test_read_write_beyond_2g))
