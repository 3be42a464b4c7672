/* ring_poll.c: the ring's polls: the SQEs it submits (POLL_ADD for the side
 * a transfer waits for, the watch on its source, ASYNC_CANCEL, the eventfd
 * poll), a transfer's polls brought in line with its state, and their
 * completions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ring_internal.h"

/* Submits everything queued. Returns 0, or -errno when the kernel took
 * nothing (EBUSY with completions to reap first, EAGAIN short of memory). */
int kp_ri_submit(kp_ring *r)
{
	while (io_uring_sq_ready(&r->ring) > 0) {
		int ret = io_uring_submit(&r->ring);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EBUSY;
		RING_STAT_ADD(r, sqes, ret);
	}
	return 0;
}

/* Makes room for n SQEs. Returns 0 or -errno (the caller retries later). */
static int ring_reserve(kp_ring *r, unsigned n)
{
	if (io_uring_sq_space_left(&r->ring) >= n)
		return 0;
	int ret = kp_ri_submit(r);
	if (ret < 0)
		return ret;
	return io_uring_sq_space_left(&r->ring) >= n ? 0 : -EBUSY;
}

/* An SQE from the room ring_reserve made. The io_uring_prep_* helpers of
 * liburing 2.1 clear user_data: set it after them. */
static struct io_uring_sqe *ring_sqe(kp_ring *r)
{
	return io_uring_get_sqe(&r->ring);
}

/* The user_data of x's poll. */
static uint64_t ring_poll_tag(struct ring_xfer *x)
{
	return kp_ri_tag(x, x->wait == RING_WAIT_SRC ? RING_SRC_POLL
						     : RING_DST_POLL);
}

/* A one-shot POLL_ADD for the side x waits for. */
static void ring_prep_poll(kp_ring *r, struct ring_xfer *x)
{
	struct io_uring_sqe *sqe = ring_sqe(r);

	if (x->wait == RING_WAIT_SRC)
		io_uring_prep_poll_add(sqe, x->src, POLLIN);
	else
		io_uring_prep_poll_add(sqe, x->dst, POLLOUT);
	sqe->user_data = ring_poll_tag(x);
	x->polling = 1;
	RING_STAT_ADD(r, polls, 1);
}

/* A one-shot POLL_ADD that fires when src's peer hangs up or resets (the
 * kernel adds POLLERR and POLLHUP to any mask), not for data. */
static void ring_prep_watch(kp_ring *r, struct ring_xfer *x)
{
	struct io_uring_sqe *sqe = ring_sqe(r);

	io_uring_prep_poll_add(sqe, x->src, POLLRDHUP);
	sqe->user_data = kp_ri_tag(x, RING_SRC_WATCH);
	x->watching = 1;
	RING_STAT_ADD(r, polls, 1);
}

/* ASYNC_CANCEL by user_data, as io_uring_prep_cancel64 (liburing >= 2.2)
 * does; liburing 2.1 only has a pointer-typed io_uring_prep_cancel. */
static void ring_prep_cancel(kp_ring *r, uint64_t target)
{
	struct io_uring_sqe *sqe = ring_sqe(r);

	io_uring_prep_rw(IORING_OP_ASYNC_CANCEL, sqe, -1, NULL, 0, 0);
	sqe->addr = target;
	sqe->user_data = RING_CANCEL;
	RING_STAT_ADD(r, cancels, 1);
}

/* Whether x should watch src: it waits for dst with bytes in the pipe, and
 * src is a socket whose reset would otherwise go unseen until dst drains. */
static int ring_want_watch(const struct ring_xfer *x)
{
	return x->wait == RING_WAIT_DST && x->src_sock && !x->watching &&
	       !x->watch_over;
}

/* Brings x in line with its state: runs it when it waits for nothing, arms
 * the polls it waits on, or, once it is ending, cancels its polls and
 * reports it when none is in flight. x stays marked queued meanwhile, so
 * that what it does to itself does not queue it again. Returns 0, 1 when
 * its turn ended with more to move (it runs again next round), or -errno
 * when the SQ cannot take an SQE now (x keeps its state and stays queued). */
static int ring_sync(kp_ring *r, struct ring_xfer *x)
{
	unsigned need;
	int ret;

	if (!x->ending && !x->polling && x->wait == RING_WAIT_NONE) {
		kp_ri_run_xfer(r, x);
		if (!x->ending && x->src_eof)
			kp_ri_fail(r, x, 0); /* everything was delivered */
		else if (!x->ending && x->wait == RING_WAIT_NONE)
			return 1;
	}
	if (x->ending) {
		int poll = x->polling && !x->cancelled;
		int watch = x->watching && !x->watch_cancelled;
		need = (unsigned)(poll + watch);
		if (need > 0) {
			ret = ring_reserve(r, need);
			if (ret < 0)
				return ret;
		}
		if (poll) {
			ring_prep_cancel(r, ring_poll_tag(x));
			x->cancelled = 1;
		}
		if (watch) {
			ring_prep_cancel(r, kp_ri_tag(x, RING_SRC_WATCH));
			x->watch_cancelled = 1;
		}
		if (!x->polling && !x->watching)
			kp_ri_finish(r, x);
		return 0;
	}
	need = (unsigned)(!x->polling + ring_want_watch(x));
	if (need > 0) {
		ret = ring_reserve(r, need);
		if (ret < 0)
			return ret;
	}
	if (!x->polling)
		ring_prep_poll(r, x);
	if (ring_want_watch(x))
		ring_prep_watch(r, x);
	return 0;
}

/* Syncs every queued transfer and re-arms the eventfd poll. Returns 0, or
 * -errno when the SQ is blocked (the rest stay queued). */
int kp_ri_flush(kp_ring *r)
{
	if (!r->wake_armed) {
		int ret = ring_reserve(r, 1);
		if (ret < 0)
			return ret;
		struct io_uring_sqe *sqe = ring_sqe(r);
		io_uring_prep_poll_add(sqe, r->efd, POLLIN);
		sqe->user_data = RING_WAKE;
		r->wake_armed = 1;
	}
	struct ring_xfer *x;
	while ((x = kp_ri_list_pop(&r->tosync)) != NULL) {
		int ret = ring_sync(r, x);
		if (ret < 0) {
			/* Unchanged: back to the head of the list. */
			x->qnext = r->tosync.head;
			r->tosync.head = x;
			if (r->tosync.tail == NULL)
				r->tosync.tail = x;
			return ret;
		}
		if (ret == 1)
			kp_ri_list_push(&r->again, x); /* still queued */
		else
			x->queued = 0;
	}
	return 0;
}

/* The error pending on socket fd (SO_ERROR, which clears it), or 0. */
static int ring_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void ring_cqe(kp_ring *r, uint64_t user_data, int res)
{
	enum ring_kind kind = (enum ring_kind)(user_data & RING_KIND_MASK);
	struct ring_xfer *x =
		(struct ring_xfer *)(uintptr_t)(user_data & ~RING_KIND_MASK);

	switch (kind) {
	case RING_WAKE:
		r->wake_armed = 0;
		r->wake_fired = 1;
		return;
	case RING_CANCEL:
		return;
	case RING_SRC_POLL:
	case RING_DST_POLL:
		x->polling = 0;
		if (res < 0) {
			/* ECANCELED after our cancel: the transfer is ending
			 * already, and the first reason stands. */
			kp_ri_fail(r, x, -res);
			return;
		}
		/* A ready mask, POLLERR and POLLHUP included: the splice
		 * tells what happened. */
		x->wait = RING_WAIT_NONE;
		kp_ri_touch(r, x);
		return;
	case RING_SRC_WATCH:
		x->watching = 0;
		if (res < 0) {
			kp_ri_fail(r, x, -res);
			return;
		}
		if (res & POLLERR) {
			int err = ring_sock_error(x->src);
			if (err != 0) {
				kp_ri_fail(r, x, err);
				return;
			}
		}
		/* A hang-up (the end of input, which the splices will
		 * reach) or no error after all: watching again would only
		 * fire again. */
		x->watch_over = 1;
		kp_ri_touch(r, x);
		return;
	}
	/* LIBURING_UDATA_TIMEOUT (old kernels' wait timeouts) and anything
	 * else: not ours. */
}

/* Handles every CQE available now. */
void kp_ri_reap(kp_ring *r)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&r->ring, &cqe) == 0 && cqe != NULL) {
		uint64_t user_data = cqe->user_data;
		int res = cqe->res;
		io_uring_cqe_seen(&r->ring, cqe);
		if (user_data == LIBURING_UDATA_TIMEOUT)
			continue;
		ring_cqe(r, user_data, res);
	}
}
