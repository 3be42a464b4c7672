/* test_splice.c: kp_splice and kp_splice_via on real pipes, files
 * and sockets. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "kpipe.h"
#include "kpipe_compat.h"

#define MIB (1024 * 1024)
#define NB SPLICE_F_NONBLOCK

/* ---- kp_splice -------------------------------------------------------------- */

static void test_splice_pipe_to_pipe(void)
{
	int a[2], b[2];
	char buf[32] = { 0 };

	if (check_open_pipes(a, 0, b, 0) < 0)
		return;
	CHECK_EQ(write(a[1], "hello world", 11), 11);
	CHECK_EQ(kp_splice(a[0], b[1], 100, 0), 11);
	CHECK_EQ(kp_pipe_buffered(a[0]), 0);
	CHECK_EQ(kp_pipe_buffered(b[0]), 11);
	CHECK_EQ(read(b[0], buf, sizeof(buf)), 11);
	CHECK_EQ(memcmp(buf, "hello world", 11), 0);
	/* len bounds the move. */
	CHECK_EQ(write(a[1], "abcdef", 6), 6);
	CHECK_EQ(kp_splice(a[0], b[1], 4, NB), 4);
	CHECK_EQ(kp_pipe_buffered(a[0]), 2);
	CHECK_EQ(kp_pipe_buffered(b[0]), 4);
	check_close_pipes(a, b);
}

/* file -> pipe -> file, with both file offsets moving as with read/write. */
static void test_splice_file_pipe_file(void)
{
	const int64_t size = 3 * MIB + 4321;
	int p[2] = { -1, -1 }, granted = 0;
	int src = check_stream_file(size, 1), dst = check_tmpfile();

	if (src < 0 || dst < 0 || !CHECK_OK(kp_pipe_open(p, 0, MIB, &granted)))
		goto out;
	int64_t done = 0;
	while (done < size) {
		int64_t n = kp_splice(src, p[1], granted, 0);
		if (!CHECK_GT(n, 0))
			break;
		CHECK_EQ(check_offset(src), done + n);
		int64_t m = kp_splice(p[0], dst, n, 0);
		if (!CHECK_EQ(m, n))
			break;
		done += n;
		CHECK_EQ(check_offset(dst), done);
	}
	CHECK_EQ(done, size);
	/* At end of input: 0, and the pipe is left alone. */
	CHECK_EQ(kp_splice(src, p[1], granted, 0), 0);
	CHECK_EQ(kp_pipe_buffered(p[0]), 0);
	check_file_is_stream(dst, 1, size);
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(dst);
}

static void test_splice_eof(void)
{
	int a[2], b[2];

	if (check_open_pipes(a, 1, b, 1) < 0)
		return;
	CHECK_EQ(write(a[1], "xy", 2), 2);
	CHECK_SYS(close(a[1]));
	a[1] = -1;
	/* The data first, then end of input, also with NONBLOCK. */
	CHECK_EQ(kp_splice(a[0], b[1], 100, NB), 2);
	CHECK_EQ(kp_splice(a[0], b[1], 100, NB), 0);
	CHECK_EQ(kp_splice(a[0], b[1], 100, 0), 0);
	check_close_pipes(a, b);
}

/* len <= 0 moves nothing and touches nothing. */
static void test_splice_nonpositive_len(void)
{
	int a[2], b[2];

	if (check_open_pipes(a, 1, b, 1) < 0)
		return;
	CHECK_EQ(write(a[1], "abc", 3), 3);
	CHECK_EQ(kp_splice(a[0], b[1], 0, NB), 0);
	CHECK_EQ(kp_splice(a[0], b[1], -5, NB), 0);
	CHECK_EQ(kp_splice(a[0], b[1], INT64_MIN, NB), 0);
	CHECK_EQ(kp_pipe_buffered(a[0]), 3);
	CHECK_EQ(kp_pipe_buffered(b[0]), 0);
	check_close_pipes(a, b);
}

static void test_splice_eagain(void)
{
	int a[2], b[2];

	if (check_open_pipes(a, 1, b, 0) < 0)
		return;
	/* Empty non-blocking source pipe, writer still open. */
	CHECK_ERR(kp_splice(a[0], b[1], 100, NB), EAGAIN);
	CHECK_ERR(kp_splice(a[0], b[1], 100, 0), EAGAIN);
	/* Blocking pipes with SPLICE_F_NONBLOCK do not wait either. */
	CHECK_ERR(kp_splice(b[0], a[1], 100, NB), EAGAIN);
	/* A full destination pipe. */
	CHECK_EQ(check_set_nonblock(b[1], 1), 0);
	CHECK_GT(check_fill_full(b[1]), 0);
	CHECK_EQ(write(a[1], "x", 1), 1);
	CHECK_ERR(kp_splice(a[0], b[1], 1, NB), EAGAIN);
	CHECK_EQ(kp_pipe_buffered(a[0]), 1);
	check_close_pipes(a, b);
}

static void test_splice_errors(void)
{
	int a[2] = { -1, -1 }, b[2] = { -1, -1 };
	int f = check_tmpfile(), g = check_tmpfile();

	if (f < 0 || g < 0 || !CHECK_OK(kp_pipe_open(a, 1, 0, NULL)))
		goto out;
	if (!CHECK_OK(kp_pipe_open(b, 1, 0, NULL)))
		goto out;
	CHECK_ERR(kp_splice(-1, a[1], 10, NB), EBADF);
	CHECK_ERR(kp_splice(a[0], -1, 10, NB), EBADF);
	/* Neither end a pipe. */
	CHECK_ERR(kp_splice(f, g, 10, NB), EINVAL);
	/* Into a pipe's read end. */
	CHECK_ERR(kp_splice(f, a[0], 10, NB), EBADF);
	/* The same pipe on both sides. */
	CHECK_ERR(kp_splice(a[0], a[1], 10, NB), EINVAL);
	/* Into a pipe whose reader has gone: EPIPE, and no death by SIGPIPE. */
	CHECK_EQ(write(a[1], "data", 4), 4);
	CHECK_SYS(close(b[0]));
	b[0] = -1;
	check_take_signal(SIGPIPE);
	CHECK_ERR(kp_splice(a[0], b[1], 10, NB), EPIPE);
	CHECK(check_take_signal(SIGPIPE));
	CHECK_EQ(kp_pipe_buffered(a[0]), 4);
out:
	kp_pipe_close(a);
	kp_pipe_close(b);
	check_close_fd(f);
	check_close_fd(g);
}

/* Lengths past 32 bits are capped, never truncated: 2^32 + 5 must not turn
 * into 5, nor 2^32 into 0. */
static void test_splice_huge_len(void)
{
	static const int64_t lens[] = {
		((int64_t)1 << 31) - 1, (int64_t)1 << 31,   (int64_t)1 << 32,
		((int64_t)1 << 32) + 5, KP_MAX_REQUEST + 1, INT64_MAX,
	};
	int a[2], b[2];
	static char buf[1000];

	if (check_open_pipes(a, 1, b, 1) < 0)
		return;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		CHECK_EQ(write(a[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
		CHECK_EQ(kp_splice(a[0], b[1], lens[i], NB),
			 (int64_t)sizeof(buf));
		CHECK_EQ(read(b[0], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	}
	check_close_pipes(a, b);
}

/* ---- kp_splice_via ---------------------------------------------------------- */

static void via_file_to_file(int64_t size, int pipe_size, int cap_arg)
{
	int p[2] = { -1, -1 }, granted = 0;
	int src = check_stream_file(size, 2), dst = check_tmpfile();
	int64_t in_pipe = 0;

	if (src < 0 || dst < 0 ||
	    !CHECK_OK(kp_pipe_open(p, 1, pipe_size, &granted)))
		goto out;
	kp_io io = kp_splice_via(src, dst, p[0], p[1],
				 cap_arg > 0 ? cap_arg : granted, -1, &in_pipe);
	CHECK_IO_OK(io, size, 1);
	CHECK_EQ(in_pipe, 0);
	CHECK_EQ(kp_pipe_buffered(p[0]), 0);
	CHECK_EQ(check_offset(src), size);
	CHECK_EQ(check_offset(dst), size);
	check_file_is_stream(dst, 2, size);
	/* Again at end of input: nothing, eof. */
	io = kp_splice_via(src, dst, p[0], p[1], granted, -1, &in_pipe);
	CHECK_IO_OK(io, 0, 1);
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(dst);
}

static void test_via_file_to_file(void)
{
	via_file_to_file(8 * MIB + 12345, KP_PIPE_SIZE_DEFAULT, 0);
	/* The kernel's default pipe, and a pipe_cap below the pipe's size. */
	via_file_to_file(3 * MIB + 1, 0, 0);
	via_file_to_file(MIB + 17, KP_PIPE_SIZE_DEFAULT, 4096);
	via_file_to_file(1, 0, 0);
	via_file_to_file(0, 0, 0);
}

static void test_via_limit(void)
{
	const int64_t size = 6 * MIB + 999;
	const int64_t limit = 3 * MIB + 7;
	int p[2] = { -1, -1 }, cap = 0;
	int src = check_stream_file(size, 3), dst = check_tmpfile();
	int64_t in_pipe = 0;
	kp_io io;

	if (src < 0 || dst < 0 || !CHECK_OK(kp_pipe_open(p, 1, MIB, &cap)))
		goto out;
	io = kp_splice_via(src, dst, p[0], p[1], cap, limit, &in_pipe);
	CHECK_IO_OK(io, limit, 0);
	CHECK_EQ(in_pipe, 0);
	CHECK_EQ(check_offset(src), limit);
	CHECK_EQ(check_offset(dst), limit);
	/* limit 0: nothing moves. */
	io = kp_splice_via(src, dst, p[0], p[1], cap, 0, &in_pipe);
	CHECK_IO_OK(io, 0, 0);
	CHECK_EQ(check_offset(src), limit);
	/* A limit past the end: the rest, then eof. */
	io = kp_splice_via(src, dst, p[0], p[1], cap, ((int64_t)1 << 32) + 5,
			   &in_pipe);
	CHECK_IO_OK(io, size - limit, 1);
	CHECK_EQ(in_pipe, 0);
	check_file_is_stream(dst, 3, size);
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(dst);
}

/* What the private pipe holds on entry goes out first, outside the limit. */
static void test_via_drains_pipe_first(void)
{
	int p[2] = { -1, -1 }, cap = 0;
	int src = check_tmpfile(), dst = check_tmpfile();
	int64_t in_pipe = 0;
	char buf[16] = { 0 };

	if (src < 0 || dst < 0 || !CHECK_OK(kp_pipe_open(p, 1, 0, &cap)))
		goto out;
	CHECK_EQ(check_write_all(src, "0123456789", 10), 0);
	CHECK_SYS(lseek(src, 0, SEEK_SET));
	CHECK_EQ(write(p[1], "left:", 5), 5);
	in_pipe = 5;
	kp_io io = kp_splice_via(src, dst, p[0], p[1], cap, 4, &in_pipe);
	CHECK_IO_OK(io, 9, 0);
	CHECK_EQ(in_pipe, 0);
	CHECK_EQ(pread(dst, buf, sizeof(buf), 0), 9);
	CHECK_EQ(memcmp(buf, "left:0123", 9), 0);
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(dst);
}

/* A pipe_cap that cannot move a byte must not look like end of input. */
static void test_via_bad_cap(void)
{
	int p[2] = { -1, -1 };
	int src = check_stream_file(1000, 4), dst = check_tmpfile();
	int64_t in_pipe = 0;

	if (src < 0 || dst < 0 || !CHECK_OK(kp_pipe_open(p, 1, 0, NULL)))
		goto out;
	kp_io io = kp_splice_via(src, dst, p[0], p[1], 0, -1, &in_pipe);
	CHECK_IO_ERR(io, EINVAL, KP_SIDE_NONE, 0, 0);
	io = kp_splice_via(src, dst, p[0], p[1], -4096, -1, &in_pipe);
	CHECK_IO_ERR(io, EINVAL, KP_SIDE_NONE, 0, 0);
	CHECK_EQ(check_offset(src), 0);
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(dst);
}

/* The destination fills up: EAGAIN on the DST side, with what the private
 * pipe still holds in *in_pipe; draining the reader and calling again goes
 * on where it stopped, and nothing is lost or doubled. */
static void via_until_dst_full(int dst, int reader, const char *what)
{
	const int64_t size = 4 * MIB + 333;
	int p[2] = { -1, -1 }, cap = 0;
	int src = check_stream_file(size, 5);
	int64_t in_pipe = 0, moved = 0, read_back = 0;
	int full = 0, rounds = 0;
	struct check_hash got, want;

	check_hash_init(&got);
	if (src < 0 || !CHECK_OK(kp_pipe_open(p, 1, MIB, &cap)))
		goto out;
	for (;;) {
		if (!CHECK_LT(rounds++, 100000))
			break;
		kp_io io =
			kp_splice_via(src, dst, p[0], p[1], cap, -1, &in_pipe);
		CHECK_GE(io.moved, 0);
		moved += io.moved;
		CHECK_EQ(in_pipe, kp_pipe_buffered(p[0]));
		if (io.eof) {
			CHECK_EQ(io.err, 0);
			CHECK_EQ(in_pipe, 0);
			break;
		}
		if (!CHECK_EQ(io.err, EAGAIN)) {
			check_note("%s: err %s", what, strerrorname_np(io.err));
			break;
		}
		CHECK_EQ(io.side, KP_SIDE_DST);
		CHECK_EQ(check_poll_now(dst, POLLOUT), 0);
		if (in_pipe > 0)
			full++;
		int64_t n = check_drain(reader, &got);
		if (!CHECK_GE(n, 0))
			break;
		read_back += n;
	}
	int64_t n = check_drain(reader, &got);
	if (CHECK_GE(n, 0))
		read_back += n;
	CHECK_EQ(moved, size);
	CHECK_EQ(read_back, size);
	CHECK_GT(full, 0);
	check_hash_stream(5, size, &want);
	CHECK(got.h == want.h);
	check_note("%s: %d rounds, %d stops with data in the pipe", what,
		   rounds, full);
out:
	kp_pipe_close(p);
	check_close_fd(src);
}

static void test_via_socket_dst_full(void)
{
	int sv[2] = { -1, -1 };
	int small = 16 * 1024;

	if (!CHECK_SYS(socketpair(AF_UNIX,
				  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				  sv)))
		return;
	CHECK_SYS(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
			     sizeof(small)));
	via_until_dst_full(sv[0], sv[1], "socketpair");
	check_close_fd(sv[0]);
	check_close_fd(sv[1]);
}

static void test_via_pipe_dst_full(void)
{
	int d[2] = { -1, -1 };

	if (!CHECK_OK(kp_pipe_open(d, 1, 0, NULL)))
		return;
	via_until_dst_full(d[1], d[0], "pipe");
	CHECK_EQ(kp_pipe_close(d), 0);
}

/* The source has nothing yet: EAGAIN on the SRC side, nothing moved, the
 * private pipe empty; data is moved once it comes; eof once the writer
 * leaves. */
static void test_via_src_eagain(void)
{
	int s[2] = { -1, -1 }, p[2] = { -1, -1 }, cap = 0;
	int dst = check_tmpfile();
	int64_t in_pipe = 0;
	static char buf[5000];
	kp_io io;

	if (dst < 0 || !CHECK_OK(kp_pipe_open(s, 1, 0, NULL)))
		goto out;
	if (!CHECK_OK(kp_pipe_open(p, 1, 0, &cap)))
		goto out;
	io = kp_splice_via(s[0], dst, p[0], p[1], cap, -1, &in_pipe);
	CHECK_IO_ERR(io, EAGAIN, KP_SIDE_SRC, 0, 0);
	CHECK_EQ(in_pipe, 0);
	CHECK_EQ(check_poll_now(s[0], POLLIN), 0);

	memset(buf, 'k', sizeof(buf));
	CHECK_EQ(write(s[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	io = kp_splice_via(s[0], dst, p[0], p[1], cap, -1, &in_pipe);
	CHECK_IO_ERR(io, EAGAIN, KP_SIDE_SRC, (int64_t)sizeof(buf), 0);
	CHECK_EQ(in_pipe, 0);

	CHECK_SYS(close(s[1]));
	s[1] = -1;
	io = kp_splice_via(s[0], dst, p[0], p[1], cap, -1, &in_pipe);
	CHECK_IO_OK(io, 0, 1);
	CHECK_EQ(check_offset(dst), (int64_t)sizeof(buf));
out:
	kp_pipe_close(s);
	kp_pipe_close(p);
	check_close_fd(dst);
}

static void test_via_socket_src(void)
{
	int sv[2] = { -1, -1 }, p[2] = { -1, -1 }, cap = 0;
	int dst = check_tmpfile();
	int64_t in_pipe = 0;
	kp_io io;

	if (dst < 0 ||
	    !CHECK_SYS(socketpair(AF_UNIX,
				  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				  sv)))
		goto out;
	if (!CHECK_OK(kp_pipe_open(p, 1, 0, &cap)))
		goto out;
	io = kp_splice_via(sv[0], dst, p[0], p[1], cap, -1, &in_pipe);
	CHECK_IO_ERR(io, EAGAIN, KP_SIDE_SRC, 0, 0);
	CHECK_EQ(write(sv[1], "over the socket", 15), 15);
	CHECK_SYS(shutdown(sv[1], SHUT_WR));
	io = kp_splice_via(sv[0], dst, p[0], p[1], cap, -1, &in_pipe);
	CHECK_IO_OK(io, 15, 1);
	char buf[16] = { 0 };
	CHECK_EQ(pread(dst, buf, sizeof(buf), 0), 15);
	CHECK_EQ(memcmp(buf, "over the socket", 15), 0);
out:
	kp_pipe_close(p);
	check_close_fd(sv[0]);
	check_close_fd(sv[1]);
	check_close_fd(dst);
}

/* Into a destination whose reader has gone: EPIPE (not EAGAIN, no side), no
 * death by SIGPIPE, the data kept in the private pipe, and a second call
 * stops the same way instead of looping. */
static void via_into_closed(int dst, const char *what)
{
	const int64_t size = MIB;
	int p[2] = { -1, -1 }, cap = 0;
	int src = check_stream_file(size, 6);
	int64_t in_pipe = 0;

	if (src < 0 || !CHECK_OK(kp_pipe_open(p, 1, 0, &cap)))
		goto out;
	check_take_signal(SIGPIPE);
	for (int i = 0; i < 2; i++) {
		kp_io io =
			kp_splice_via(src, dst, p[0], p[1], cap, -1, &in_pipe);
		if (!CHECK_IO_ERR(io, EPIPE, KP_SIDE_NONE, 0, 0))
			check_note("%s", what);
		CHECK_GT(in_pipe, 0);
		CHECK_EQ(in_pipe, kp_pipe_buffered(p[0]));
		CHECK_EQ(check_offset(src), in_pipe);
	}
	CHECK(check_take_signal(SIGPIPE));
out:
	kp_pipe_close(p);
	check_close_fd(src);
}

static void test_via_epipe_socket(void)
{
	int sv[2] = { -1, -1 };

	if (!CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)))
		return;
	check_close_fd(sv[1]);
	via_into_closed(sv[0], "socketpair");
	check_close_fd(sv[0]);
}

static void test_via_epipe_pipe(void)
{
	int d[2];

	if (check_pipe_no_reader(d) < 0)
		return;
	via_into_closed(d[1], "pipe");
	CHECK_EQ(kp_pipe_close(d), 0);
}

/* A partial write then an error (EFBIG past RLIMIT_FSIZE): moved counts the
 * bytes that did land, in_pipe the rest. */
static void test_via_efbig(void)
{
	const int64_t size = 300000, fsize = 100000;
	int p[2] = { -1, -1 }, cap = 0;
	int src = check_stream_file(size, 7), dst = check_tmpfile();
	int64_t in_pipe = 0;
	uint64_t old;

	if (src < 0 || dst < 0 || !CHECK_OK(kp_pipe_open(p, 1, MIB, &cap)))
		goto out;
	if (check_fsize_limit((uint64_t)fsize, &old) < 0)
		goto out;
	kp_io io = kp_splice_via(src, dst, p[0], p[1], cap, -1, &in_pipe);
	check_fsize_restore(old);
	CHECK_IO_ERR(io, EFBIG, KP_SIDE_NONE, fsize, 0);
	CHECK_EQ(check_offset(dst), fsize);
	CHECK_EQ(in_pipe, size - fsize);
	CHECK_EQ(in_pipe, kp_pipe_buffered(p[0]));
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(dst);
}

/* 64-bit counts: more than 2^31 bytes through one call, limit kept to the
 * byte. A sparse tmpfs file reads its holes as the zero page, fast; without
 * tmpfs, /dev/zero stands in. */
static void test_via_beyond_2g(void)
{
	const int64_t size = (int64_t)3 << 30;
	const int64_t limit = ((int64_t)1 << 31) + 4097;
	int p[2] = { -1, -1 }, cap = 0;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int src = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int sparse = src >= 0;
	int64_t in_pipe = 0;
	kp_io io;

	if (sparse) {
		if (!CHECK_SYS(ftruncate(src, size)))
			goto out;
	} else {
		check_note("no tmpfs at /dev/shm: /dev/zero instead");
		src = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (!CHECK_SYS(src))
			goto out;
	}
	if (!CHECK_SYS(null) || !CHECK_OK(kp_pipe_open(p, 1, MIB, &cap)))
		goto out;
	double t0 = check_now();
	io = kp_splice_via(src, null, p[0], p[1], cap, limit, &in_pipe);
	CHECK_IO_OK(io, limit, 0);
	CHECK_EQ(in_pipe, 0);
	if (sparse) {
		CHECK_EQ(check_offset(src), limit);
		io = kp_splice_via(src, null, p[0], p[1], cap, -1, &in_pipe);
		CHECK_IO_OK(io, size - limit, 1);
		CHECK_EQ(check_offset(src), size);
	}
	check_note("%.3f s", check_now() - t0);
out:
	kp_pipe_close(p);
	check_close_fd(src);
	check_close_fd(null);
}

CHECK_SUITE(CHECK_CASE(test_splice_pipe_to_pipe),
	    CHECK_CASE(test_splice_file_pipe_file), CHECK_CASE(test_splice_eof),
	    CHECK_CASE(test_splice_nonpositive_len),
	    CHECK_CASE(test_splice_eagain), CHECK_CASE(test_splice_errors),
	    CHECK_CASE(test_splice_huge_len), CHECK_CASE(test_via_file_to_file),
	    CHECK_CASE(test_via_limit), CHECK_CASE(test_via_drains_pipe_first),
	    CHECK_CASE(test_via_bad_cap), CHECK_CASE(test_via_socket_dst_full),
	    CHECK_CASE(test_via_pipe_dst_full), CHECK_CASE(test_via_src_eagain),
	    CHECK_CASE(test_via_socket_src), CHECK_CASE(test_via_epipe_socket),
	    CHECK_CASE(test_via_epipe_pipe), CHECK_CASE(test_via_efbig),
	    CHECK_CASE(test_via_beyond_2g))
