/* ring_xfer.c: a transfer's life on the ring thread: its start, its turns
 * of splices, its end and its report. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_pipe.h"
#include "kp_splice.h"
#include "ring_internal.h"

/* Moves x, which has no poll in flight, to the done list. */
void kp_ri_finish(kp_ring *r, struct ring_xfer *x)
{
	if (x->live) {
		kp_ri_hash_del(r, x);
		kp_ri_heap_del(r, x);
		if (x->prev)
			x->prev->next = x->next;
		else
			r->live_head = x->next;
		if (x->next)
			x->next->prev = x->prev;
		x->prev = x->next = NULL;
		x->live = 0;
		r->nlive--;
	}
	if (x->in_pipe > 0 && x->pipe.r >= 0) {
		/* Bytes taken from src that never reached dst: the pipe's
		 * read end goes to the caller with them (kp_ri_report). */
		close(x->pipe.w);
		x->pipe.w = -1;
	} else {
		kp_ri_pipe_put(r, x, 1);
	}
	kp_ri_list_push(&r->done, x);
	RING_STAT_ADD(r, ended, 1);
	RING_STAT_SUB(r, live, 1);
}

/* Checks an endpoint on the ring thread, before anything moves. Returns 1
 * for a socket, 0 for anything else, or -errno: EBADF for an fd not open in
 * the direction it is used in (a poll for it would never fire), EINVAL for
 * one in blocking mode whose splices could wait and block the ring's
 * thread: a socket, a terminal or another character device. (Pipes never
 * wait with SPLICE_F_NONBLOCK; regular files and block devices never do.) */
static int ring_check_fd(int fd, int for_write)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if ((fl & O_ACCMODE) == (for_write ? O_RDONLY : O_WRONLY))
		return -EBADF;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))
		return 0;
	if (!(fl & O_NONBLOCK))
		return -EINVAL;
	return S_ISSOCK(st.st_mode) ? 1 : 0;
}

/* Takes a start request on the ring thread. */
void kp_ri_begin(kp_ring *r, struct ring_xfer *x)
{
	RING_STAT_ADD(r, started, 1);
	RING_STAT_ADD(r, live, 1);
	x->last_ns = r->now;
	if (r->shutdown) {
		x->err = ECANCELED;
		kp_ri_finish(r, x);
		return;
	}
	/* The pipe comes when there is something to move (kp_ri_run_xfer). */
	int ret = ring_check_fd(x->src, 0);
	if (ret >= 0) {
		x->src_sock = ret;
		ret = ring_check_fd(x->dst, 1);
	}
	if (ret >= 0 && x->idle_ns > 0)
		ret = kp_ri_heap_add(r, x);
	if (ret < 0) {
		x->err = -ret;
		kp_ri_finish(r, x);
		return;
	}
	kp_ri_hash_add(r, x);
	x->live = 1;
	x->next = r->live_head;
	if (x->next)
		x->next->prev = x;
	r->live_head = x;
	r->nlive++;
	kp_ri_touch(r, x);
}

/* Takes the SIGPIPE that a splice to a vanished peer raised (blocked in the
 * ring thread), so that none stays pending. */
static void ring_take_sigpipe(void)
{
	const struct timespec now = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	/* EAGAIN: none was pending. */
	while (sigtimedwait(&set, NULL, &now) < 0 && errno == EINTR)
		;
}

/* One turn of x on the ring thread: splices src -> pipe -> dst until a side
 * would block, src ends, an error, or RING_TURN_BYTES. Leaves x waiting for
 * the side that would block (its pipe back in the pool when that is src),
 * at the end of its input, ending, or (turn over) ready to run again. */
void kp_ri_run_xfer(kp_ring *r, struct ring_xfer *x)
{
	int64_t budget = RING_TURN_BYTES;

	for (;;) {
		if (x->pipe.r < 0) {
			int ret = kp_ri_pipe_get(r, &x->pipe);
			if (ret < 0) {
				kp_ri_fail(r, x, -ret);
				return;
			}
		}
		kp_ri_pipe_fit(r, x);
		/* While the pipe can grow, a pipe's worth at a time: the
		 * growth comes as soon as it is due. */
		int64_t limit = budget;
		if (kp_ri_pipe_may_grow(r, x) && limit > x->pipe.cap)
			limit = x->pipe.cap;
		int64_t before = x->in_pipe;
		uint64_t calls = 0;
		kp_io io = kp_splice_via_count(x->src, x->dst, x->pipe.r,
					       x->pipe.w, x->pipe.cap, limit,
					       &x->in_pipe, &calls);
		RING_STAT_ADD(r, splices, calls);
		int64_t taken = io.moved + x->in_pipe - before;
		x->moved += io.moved;
		if (taken > 0 || io.moved > 0) {
			r->now = kp_ri_clock();
			x->last_ns = r->now;
		}
		budget -= taken;
		if (io.eof) {
			/* kp_splice_via_count emptied the pipe first. */
			x->src_eof = 1;
			kp_ri_pipe_put(r, x, 0);
			return;
		}
		if (io.err == EAGAIN) {
			RING_STAT_ADD(r, eagain, 1);
			if (io.side == KP_SIDE_SRC) {
				/* The pipe is empty: nothing to hold it for. */
				x->wait = RING_WAIT_SRC;
				kp_ri_pipe_put(r, x, 0);
			} else {
				x->wait = RING_WAIT_DST;
			}
			return;
		}
		if (io.err != 0) {
			if (io.err == EPIPE)
				ring_take_sigpipe();
			kp_ri_fail(r, x, io.err);
			return;
		}
		if (budget <= 0)
			return;
	}
}

/* Copies up to max finished transfers to done and frees them. */
int kp_ri_report(kp_ring *r, kp_done *done, int max)
{
	int n = 0;

	while (n < max && r->done.head) {
		struct ring_xfer *x = kp_ri_list_pop(&r->done);
		done[n].token = x->token;
		done[n].moved = x->moved;
		done[n].err = x->err;
		done[n].leftover = 0;
		done[n].leftover_fd = -1;
		if (x->pipe.r >= 0) { /* kp_ri_finish kept it: it holds data */
			done[n].leftover = x->in_pipe;
			done[n].leftover_fd = x->pipe.r;
			x->pipe.r = -1;
		}
		n++;
		free(x);
	}
	return n;
}

void kp_ri_free_xfer(struct ring_xfer *x)
{
	int fds[2] = { x->pipe.r, x->pipe.w };

	kp_pipe_close(fds);
	free(x);
}
