/*
 * ring.c: the double-splice engine's event loop on io_uring.
 *
 * A transfer moves src -> private pipe -> dst. The ring's own thread runs
 * the splices itself, with splice(2) and SPLICE_F_MOVE | SPLICE_F_NONBLOCK
 * (kp_splice_via_count: drain the pipe into dst, refill it from src, until
 * a side would block); io_uring is only the loop's readiness and batching
 * mechanism. When a side would block (EAGAIN), the transfer submits a
 * one-shot POLL_ADD for it (POLLIN on src, POLLOUT on dst) and runs again
 * when the poll completes. The polls of all transfers go in and come out
 * together, one io_uring_enter per round of the loop. No IORING_OP_SPLICE
 * is ever submitted: the kernel runs those in io-wq worker threads, a
 * thread hand-off per chunk. Regular files and block devices never make a
 * splice wait: they are spliced and never polled.
 *
 * A transfer waits for one side at a time: for src when its pipe is empty
 * and src has nothing to read, for dst when dst cannot take what the pipe
 * holds (src is not read meanwhile). While it waits for dst, a socket src
 * is watched by a second poll that fires only on a hang-up or an error
 * (POLLRDHUP, POLLERR, POLLHUP), so that a reset peer ends the transfer at
 * once. A direction with nothing to move holds no pipe: its empty pipe
 * goes back to the ring's pool before src is polled, and a pipe is taken
 * again when the poll says src is readable. A pipe that holds bytes stays
 * with its transfer and, when the transfer ends early, goes to the caller
 * with them (kp_done.leftover).
 *
 * Pipes open at the ring's pipe_size (0: the kernel's default) and grow to
 * KP_PIPE_SIZE_DEFAULT once their transfer has moved a pipe's worth: while
 * a pipe can still grow, each call of the splice loop takes at most one
 * pipe's worth, so that the growth happens as soon as it is due. A growth
 * the kernel refused (EPERM past fs.pipe-user-pages-soft) is not asked for
 * again for RING_GROW_RETRY_NS; transfers keep their smaller pipes.
 *
 * One turn of a transfer takes at most RING_TURN_BYTES from src: a
 * transfer that could go on runs again in the next round, after the
 * completions, requests and deadlines that came meanwhile.
 *
 * Threads: kp_ring_start, kp_ring_cancel and kp_ring_shutdown only append to
 * a mutex-protected request queue and wake the ring through an eventfd that
 * the ring polls. Everything else (the io_uring, the transfers, the pipe
 * pool) belongs to the one thread that calls kp_ring_run, which splices,
 * submits and reaps. kp_ring_run blocks SIGPIPE in that thread: a splice
 * to a vanished peer reports EPIPE instead of raising the signal.
 *
 * user_data: a transfer's address with the kind of op in the low three bits
 * (struct ring_xfer is at least 8-byte aligned); the eventfd poll and the
 * cancel requests carry a kind with no address.
 *
 * A transfer is live until every poll it has in flight has completed; only
 * then is it reported, and only then is its pipe pooled (when empty) or
 * handed over. Its end of input, an error, a cancel, an idle timeout or a
 * shutdown sets "ending" and cancels the polls in flight (ASYNC_CANCEL by
 * user_data); the report waits for their completions, after which the
 * kernel holds nothing of the transfer. A splice never outlives the call
 * that runs it. CQE handlers and requests only update a transfer's
 * state and queue it; ring_sync then runs it or brings its poll in line
 * with that state, so that a full SQ merely delays the queue.
 *
 * Idle deadlines live in a min-heap whose keys may be early: progress only
 * stamps the transfer, and an early key found at the top is moved to the
 * real deadline. The ring thread sleeps until a CQE or the nearest key.
 *
 * This file holds the loop; ring_internal.h lists the other parts (the
 * request queue, a transfer's life, the polls, the pipe pool, the heap,
 * the token hash) and what they share.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kp_pipe.h"
#include "kp_uring.h"
#include "ring_internal.h"
#include "uring_internal.h"

int kp_ring_open(kp_ring **ringp, unsigned entries, int pipe_size)
{
	struct io_uring_params p;
	kp_ring *r;
	int ret;

	if (ringp == NULL)
		return -EINVAL;
	*ringp = NULL;
	if (entries == 0)
		entries = RING_ENTRIES_DEFAULT;
	if (entries < RING_ENTRIES_MIN)
		entries = RING_ENTRIES_MIN;
	if (entries > RING_ENTRIES_MAX)
		entries = RING_ENTRIES_MAX;
	if (pipe_size < 0)
		pipe_size = 0;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->efd = -1;
	ret = -pthread_mutex_init(&r->mu, NULL);
	if (ret < 0) {
		free(r);
		return ret;
	}
	r->pipe_size = pipe_size;
	r->nbuckets = RING_BUCKETS_MIN;
	r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	if (r->buckets == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		ret = -errno;
		goto fail;
	}

	/* A roomy CQ: each transfer can have a poll and its cancel in
	 * flight. Kernels without IORING_SETUP_CQSIZE (before 5.5) get the
	 * default. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = entries * 4 < 1024 ? 1024 : entries * 4;
	ret = kp_uring_init(entries, &r->ring, &p);
	if (ret == -EINVAL) {
		memset(&p, 0, sizeof(p));
		ret = kp_uring_init(entries, &r->ring, &p);
	}
	if (ret < 0)
		goto fail;
	r->ring_ok = 1;

	/* The number of ops in flight is not bounded by the CQ's size: a
	 * kernel that drops CQEs on overflow (before 5.5) would lose
	 * transfers. */
	if (!(p.features & IORING_FEAT_NODROP)) {
		ret = -ENOSYS;
		goto fail;
	}
	/* What the loop submits: polls, and cancels for them. */
	const unsigned int need = KP_URING_ALL_NEEDED;
	unsigned int ops;
	ret = kp_uring_ops(&r->ring, &ops);
	if (ret < 0)
		goto fail;
	if ((ops & need) != need) {
		ret = -ENOSYS;
		goto fail;
	}
	*ringp = r;
	return 0;
fail:
	kp_ring_close(r);
	return ret;
}

int kp_ring_set_wait_poll(kp_ring *r, int on)
{
	if (r == NULL)
		return -EINVAL;
	if (r->ran)
		return -EBUSY;
	r->wait_ppoll = on != 0;
	return 0;
}

void kp_ring_get_stats(kp_ring *r, kp_ring_stats *st)
{
	const uint64_t *from = (const uint64_t *)&r->st;
	uint64_t *to = (uint64_t *)st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

/* Waits until a CQE is ready, at most wait_ns (< 0: no limit). Returns 0 or
 * -errno. */
static int ring_wait(kp_ring *r, int64_t wait_ns)
{
	if (r->wait_ppoll) {
		/* Task work interrupts ppoll as it does io_uring_enter's
		 * wait: completions still come in, at the price of a syscall
		 * restart for each batch of them. */
		struct pollfd pfd = { .fd = r->ring.ring_fd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;

		if (io_uring_cq_ready(&r->ring) > 0)
			return 0;
		if (wait_ns >= 0) {
			ts.tv_sec = (time_t)(wait_ns / 1000000000);
			ts.tv_nsec = (long)(wait_ns % 1000000000);
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, NULL) < 0 && errno != EINTR)
			return -errno;
		return 0;
	}

	struct io_uring_cqe *cqe;
	int ret;
	if (wait_ns >= 0) {
		struct __kernel_timespec ts = {
			.tv_sec = wait_ns / 1000000000,
			.tv_nsec = wait_ns % 1000000000,
		};
		ret = io_uring_wait_cqe_timeout(&r->ring, &cqe, &ts);
	} else {
		ret = io_uring_wait_cqe(&r->ring, &cqe);
	}
	/* ETIME: the deadline; EINTR: a signal; EAGAIN, EBUSY: short of
	 * resources, retried by the caller's loop. */
	if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN &&
	    ret != -EBUSY)
		return ret;
	return 0;
}

/* Submits what is queued and waits until a CQE is ready, at most wait_ns
 * (< 0: no limit; 0: no wait). Without a time limit one io_uring_enter
 * does both. blocked: the kernel refused a submission this round, so the
 * wait is short. Returns 0 or -errno. */
static int ring_enter(kp_ring *r, int64_t wait_ns, int blocked)
{
	int ret;

	if (io_uring_cq_ready(&r->ring) > 0)
		wait_ns = 0;
	if (wait_ns < 0 && !blocked && !r->wait_ppoll) {
		/* Counted before the call, which returns only once something
		 * completes: the SQEs are the kernel's as soon as it is in. */
		unsigned queued = io_uring_sq_ready(&r->ring);
		RING_STAT_ADD(r, sqes, queued);
		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret >= 0 && (unsigned)ret < queued)
			RING_STAT_SUB(r, sqes, queued - (unsigned)ret);
		else if (ret < 0)
			RING_STAT_SUB(r, sqes, queued);
		if (ret >= 0)
			return 0;
		if (ret == -EINTR) /* a signal: the next round goes on */
			return 0;
		if (ret != -EBUSY && ret != -EAGAIN && ret != -ENOMEM)
			return ret;
		blocked = 1;
	} else {
		ret = kp_ri_submit(r);
		if (ret == -EBUSY || ret == -EAGAIN || ret == -ENOMEM)
			blocked = 1;
		else if (ret < 0)
			return ret;
	}
	if (blocked && (wait_ns < 0 || wait_ns > RING_BACKOFF_NS))
		wait_ns = RING_BACKOFF_NS;
	return wait_ns == 0 ? 0 : ring_wait(r, wait_ns);
}

int kp_ring_run(kp_ring *r, kp_done *done, int max)
{
	if (r == NULL || done == NULL || max <= 0)
		return -EINVAL;
	if (!r->ran) {
		/* This thread runs every splice: one to a vanished peer
		 * raises SIGPIPE in it, and must report EPIPE instead. */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		int e = pthread_sigmask(SIG_BLOCK, &set, NULL);
		if (e != 0)
			return -e;
		r->ran = 1;
		/* Requests made before the first run are waiting. */
		r->wake_fired = 1;
	}
	for (;;) {
		int blocked = 0, ret;

		r->now = kp_ri_clock();
		if (r->wake_fired)
			kp_ri_drain(r);
		kp_ri_expire(r);
		kp_ri_list_move(&r->tosync, &r->again);
		ret = kp_ri_flush(r);
		if (ret == -EBUSY || ret == -EAGAIN || ret == -ENOMEM)
			blocked = 1;
		else if (ret < 0)
			return ret;

		if (r->done.head || (r->shutdown && r->nlive == 0)) {
			/* The polls armed this round go in first. */
			ret = kp_ri_submit(r);
			if (ret < 0 && ret != -EBUSY && ret != -EAGAIN &&
			    ret != -ENOMEM)
				return ret;
			if (r->done.head)
				return kp_ri_report(r, done, max);
			return -ESHUTDOWN;
		}

		/* Wait for a completion, until the nearest idle deadline, or
		 * not at all when a transfer's turn ended with more to move. */
		int64_t wait = -1;
		if (r->again.head) {
			wait = 0;
		} else if (r->nheap > 0) {
			/* The splices may have taken the clock past it. */
			wait = r->heap[0]->heap_key - kp_ri_clock();
			if (wait < 0)
				wait = 0;
		}
		ret = ring_enter(r, wait, blocked);
		if (ret < 0)
			return ret;
		kp_ri_reap(r);
	}
}

void kp_ring_close(kp_ring *r)
{
	if (r == NULL)
		return;
	/* Tearing the ring down first: the kernel keeps its own references
	 * to the files of ops still in flight, and no op reads or writes our
	 * memory. */
	if (r->ring_ok)
		io_uring_queue_exit(&r->ring);
	while (r->live_head) {
		struct ring_xfer *x = r->live_head;
		r->live_head = x->next;
		kp_ri_free_xfer(x);
	}
	struct ring_xfer *x;
	while ((x = kp_ri_list_pop(&r->done)) != NULL)
		kp_ri_free_xfer(x);
	for (size_t i = 0; i < r->nreqs; i++) {
		if (r->reqs[i].kind == RING_REQ_START)
			kp_ri_free_xfer(r->reqs[i].x);
	}
	for (int i = 0; i < r->npool; i++) {
		int fds[2] = { r->pool[i].r, r->pool[i].w };
		kp_pipe_close(fds);
	}
	if (r->efd >= 0)
		close(r->efd);
	free(r->reqs);
	free(r->work);
	free(r->buckets);
	free(r->heap);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
