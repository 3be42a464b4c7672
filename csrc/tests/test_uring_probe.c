/* test_uring_probe.c: kp_uring_probe on this machine, where io_uring works
 * (kpipe's test machines): a failure here is a failure, not a skip. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "kpipe.h"

/* Why io_uring might be unavailable, for the failure message. */
static void explain(int r)
{
	char line[64] = "";
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");

	if (f != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	CHECK_FAIL(
		"kp_uring_probe: %s (%s); kernel.io_uring_disabled = %s; "
		"EPERM: seccomp profile or io_uring_disabled, ENOSYS: no "
		"io_uring in this kernel. io_uring must work on this machine.",
		strerrorname_np(-r) ? strerrorname_np(-r) : "?", strerror(-r),
		line[0] ? line : "(unreadable)");
}

static void test_probe(void)
{
	unsigned int ops = 0xdeadbeef;
	int r = kp_uring_probe(&ops);

	if (r < 0) {
		explain(r);
		return;
	}
	CHECK_EQ(r, 0);
	check_note("ops 0x%x", ops);
	/* Only the bits kpipe defines. */
	CHECK_EQ(ops & ~(KP_URING_SPLICE | KP_URING_TEE | KP_URING_POLL_ADD |
			 KP_URING_ASYNC_CANCEL | KP_URING_LINK_TIMEOUT),
		 0);
	CHECK(ops & KP_URING_SPLICE);
	CHECK(ops & KP_URING_POLL_ADD);
	CHECK(ops & KP_URING_ASYNC_CANCEL);
	CHECK(ops & KP_URING_LINK_TIMEOUT);
	CHECK(ops & KP_URING_TEE);
	CHECK_EQ(ops & KP_URING_ALL_NEEDED, KP_URING_ALL_NEEDED);
}

/* Each call sets up and tears down its own ring: no fd, no memory kept. */
static void test_probe_repeated(void)
{
	unsigned int first = 0;
	int before = check_fd_count();

	if (!CHECK_EQ(kp_uring_probe(&first), 0))
		return;
	for (int i = 0; i < 200; i++) {
		unsigned int ops = 0;
		if (!CHECK_EQ(kp_uring_probe(&ops), 0))
			break;
		CHECK_EQ(ops, first);
	}
	CHECK_EQ(check_fd_count(), before);
}

struct prober {
	unsigned int ops;
	int bad;
};

static void *probe_many(void *arg)
{
	struct prober *p = arg;

	for (int i = 0; i < 50; i++) {
		unsigned int ops = 0;
		if (kp_uring_probe(&ops) != 0 || (i > 0 && ops != p->ops))
			p->bad++;
		p->ops = ops;
	}
	return NULL;
}

/* No global state: threads may probe at once. */
static void test_probe_threads(void)
{
	pthread_t t[4];
	struct prober p[4];
	int started = 0;

	memset(p, 0, sizeof(p));
	for (int i = 0; i < 4; i++) {
		if (!CHECK_EQ(pthread_create(&t[i], NULL, probe_many, &p[i]),
			      0))
			break;
		started++;
	}
	for (int i = 0; i < started; i++) {
		CHECK_EQ(pthread_join(t[i], NULL), 0);
		CHECK_EQ(p[i].bad, 0);
		CHECK_EQ(p[i].ops, p[0].ops);
	}
}

CHECK_SUITE(CHECK_CASE(test_probe), CHECK_CASE(test_probe_repeated),
	    CHECK_CASE(test_probe_threads))
