/* test_compat.c: the io_uring paths of older kernels (5.10 and up), reached
 * on this one through kp_uring_compat_hide: operations the probe must report
 * as missing, set-up flags to retry without, features to do without. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "kpipe.h"

#define DATA_LEN 60000 /* fits in a default pipe or socket buffer */

static int uring_usable = 1;

/* The facilities a 5.10 kernel lacks that kpipe can do without. */
#define OLD_KERNEL (KP_COMPAT_NO_CQSIZE | KP_COMPAT_NO_EXT_ARG)

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((i * 131 + seed) >> 3);
}

/* Runs r's loop until the transfer token ends; returns its kp_done. */
static int run_until(kp_ring *r, uint64_t token, kp_done *out)
{
	kp_done d[4];

	for (;;) {
		int n = kp_ring_run(r, d, 4);
		if (!CHECK_GE(n, 0))
			return -1;
		for (int i = 0; i < n; i++) {
			if (d[i].leftover_fd >= 0)
				CHECK_OK(close(d[i].leftover_fd));
			d[i].leftover_fd = -1;
			if (d[i].token == token) {
				*out = d[i];
				return 0;
			}
		}
	}
}

/* Shuts r down, reaps what is left and frees it. */
static void finish(kp_ring *r)
{
	kp_done d[4];
	int n;

	CHECK_OK(kp_ring_shutdown(r));
	while ((n = kp_ring_run(r, d, 4)) > 0) {
		for (int i = 0; i < n; i++) {
			if (d[i].leftover_fd >= 0)
				CHECK_OK(close(d[i].leftover_fd));
		}
	}
	CHECK_ERR(n, ESHUTDOWN);
	kp_ring_close(r);
}

/* Sends DATA_LEN bytes from a socket or a pipe, then its end of input,
 * through r to a regular file; checks what arrives. */
static void transfer(kp_ring *r, int use_pipe, uint64_t token)
{
	static unsigned char want[DATA_LEN], got[DATA_LEN];
	int fds[2] = { -1, -1 };
	int dst = check_tmpfile();
	kp_done done;

	if (dst < 0)
		return;
	if (use_pipe) {
		if (!CHECK_SYS(pipe2(fds, O_NONBLOCK | O_CLOEXEC)))
			goto out;
	} else if (!CHECK_SYS(socketpair(
			   AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0, fds))) {
		goto out;
	}
	fill(want, sizeof(want), (unsigned)token);
	if (!CHECK_OK(check_write_all(fds[1], want, sizeof(want))))
		goto out;
	close(fds[1]);
	fds[1] = -1;
	if (!CHECK_OK(kp_ring_start(r, token, fds[0], dst, 0)) ||
	    run_until(r, token, &done) < 0)
		goto out;
	CHECK_EQ(done.err, 0);
	CHECK_EQ(done.moved, DATA_LEN);
	if (CHECK_EQ(pread(dst, got, sizeof(got), 0), DATA_LEN))
		CHECK(memcmp(got, want, sizeof(got)) == 0);
out:
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	close(dst);
}

/* An idle transfer ends by its timeout: the ring's timed wait. */
static void idle(kp_ring *r, uint64_t token)
{
	int sv[2];
	kp_done done;

	if (!CHECK_SYS(socketpair(AF_UNIX,
				  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				  sv)))
		return;
	double t0 = check_now();
	if (CHECK_OK(kp_ring_start(r, token, sv[0], sv[1], 50 * 1000000LL)) &&
	    run_until(r, token, &done) == 0) {
		CHECK_EQ(done.err, ETIMEDOUT);
		CHECK_EQ(done.moved, 0);
		CHECK_GE(check_now() - t0, 0.045);
	}
	close(sv[0]);
	close(sv[1]);
}

/* A ring on a kernel that lacks what `what` hides: it must work. */
static void ring_works(unsigned what)
{
	kp_ring *r = NULL;
	kp_ring_stats st;

	/* Hidden until the end. */
	kp_uring_compat_hide(0, what);
	if (!CHECK_OK(kp_ring_open(&r, 8, 0))) {
		kp_uring_compat_hide(0, 0);
		return;
	}
	transfer(r, 0, 1);
	transfer(r, 1, 2);
	idle(r, 3);
	transfer(r, 0, 4);
	kp_ring_get_stats(r, &st);
	CHECK_EQ(st.ended, 4);
	CHECK_EQ(st.timeouts, 1);
	finish(r);
	kp_uring_compat_hide(0, 0);
}

static void test_compat_real_kernel(void)
{
	if (uring_usable)
		ring_works(0);
}

static void test_compat_old_kernel(void)
{
	if (!uring_usable)
		return;
	ring_works(OLD_KERNEL);
	/* Each alone, too. */
	ring_works(KP_COMPAT_NO_CQSIZE);
	ring_works(KP_COMPAT_NO_EXT_ARG);
}

/* Operations the kernel lacks: the probe says so and the ring refuses to
 * open (ENOSYS, the caller's cue to fall back to poll). */
static void test_compat_missing_ops(void)
{
	static const unsigned ops[] = { KP_URING_SPLICE, KP_URING_POLL_ADD,
					KP_URING_ASYNC_CANCEL,
					KP_URING_LINK_TIMEOUT, KP_URING_TEE };
	unsigned all = 0;

	if (!uring_usable || !CHECK_OK(kp_uring_probe(&all)))
		return;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		unsigned got = 0;
		kp_ring *r = NULL;

		kp_uring_compat_hide(ops[i], OLD_KERNEL);
		CHECK_OK(kp_uring_probe(&got));
		int ret = kp_ring_open(&r, 8, 0);
		kp_uring_compat_hide(0, 0);
		CHECK_EQ(got, all & ~ops[i]);
		if (!(ops[i] & KP_URING_ALL_NEEDED)) {
			/* Not used by the ring: it runs its splices itself. */
			if (CHECK_OK(ret))
				finish(r);
			continue;
		}
		CHECK_ERR(ret, ENOSYS);
		CHECK(r == NULL);
	}
}

/* A kernel without IORING_REGISTER_PROBE (before 5.6) supports nothing
 * kpipe needs; one without IORING_FEAT_NODROP (before 5.5) could lose
 * completions. */
static void test_compat_no_probe_no_nodrop(void)
{
	static const unsigned what[] = { KP_COMPAT_NO_PROBE,
					 KP_COMPAT_NO_NODROP };

	if (!uring_usable)
		return;
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		unsigned got = 0xdead;
		kp_ring *r = NULL;

		kp_uring_compat_hide(0, what[i] | OLD_KERNEL);
		int pr = kp_uring_probe(&got);
		int ret = kp_ring_open(&r, 8, 0);
		kp_uring_compat_hide(0, 0);
		CHECK_OK(pr);
		if (what[i] == KP_COMPAT_NO_PROBE)
			CHECK_EQ(got, 0);
		else
			CHECK_EQ(got & KP_URING_ALL_NEEDED,
				 KP_URING_ALL_NEEDED);
		CHECK_ERR(ret, ENOSYS);
		CHECK(r == NULL);
	}
}

static const struct check_case cases[] = {
	CHECK_CASE(test_compat_real_kernel),
	CHECK_CASE(test_compat_old_kernel),
	CHECK_CASE(test_compat_missing_ops),
	CHECK_CASE(test_compat_no_probe_no_nodrop),
};

int main(int argc, char **argv)
{
	unsigned ops;

	check_block_sigpipe();
	int ret = kp_uring_probe(&ops);
	if (ret == -EPERM || ret == -ENOSYS || ret == -EOPNOTSUPP ||
	    (ret == 0 && (ops & KP_URING_ALL_NEEDED) != KP_URING_ALL_NEEDED)) {
		printf("io_uring unavailable (%s): compat cases skipped\n",
		       ret < 0 ? strerror(-ret) : "missing operations");
		uring_usable = 0;
	}
	return CHECK_MAIN(argc, argv, cases);
}
