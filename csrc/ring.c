/*
 * ring.c: the double-splice engine's event loop on io_uring.
 *
 * A transfer moves src -> private pipe -> dst. Each side is a POLL_ADD linked
 * to a SPLICE with SPLICE_F_NONBLOCK, so that no splice is ever handed to an
 * io-wq worker before its fd is ready: a splice that had to wait would hold
 * a kernel thread for the whole wait. (Regular files and block devices are
 * always ready: their splices go without a poll.) Both sides may be in
 * flight at once: the src side whenever the pipe has room, the dst side
 * whenever it holds bytes. EAGAIN means "poll again"; a src EAGAIN with
 * bytes in the pipe may mean the pipe ran out of slots, so the src side then
 * waits for the dst side to make progress instead of spinning.
 *
 * Threads: kp_ring_start, kp_ring_cancel and kp_ring_shutdown only append to
 * a mutex-protected request queue and wake the ring through an eventfd that
 * the ring polls. Everything else (the io_uring, the transfers, the pipe
 * pool) belongs to the one thread that calls kp_ring_run, which submits and
 * reaps: io-wq workers and a ring's requests belong to the submitting thread.
 *
 * user_data: a transfer's address with the kind of op in the low three bits
 * (struct ring_xfer is at least 8-byte aligned); the eventfd poll and the
 * cancel requests carry a kind with no address.
 *
 * A transfer is live until every op it has in flight has completed; only
 * then is it reported, and only then is its pipe pooled (when empty) or
 * closed. An error on one side, a cancel, an idle timeout or a shutdown sets
 * "ending", cancels the ops still in flight (by the user_data of the poll
 * head and of the splice), and the report waits for their completions.
 * CQE handlers only update a transfer's state and queue it; ring_sync then
 * brings its ops in line with that state, so that a full SQ merely delays
 * the queue.
 *
 * Idle deadlines live in a min-heap whose keys may be early: progress only
 * stamps the transfer, and an early key found at the top is moved to the
 * real deadline. The ring thread sleeps until a CQE or the nearest key.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_uring.h"
#include "kpipe.h"
#include "kpipe_compat.h"

/* What a CQE completes: the low bits of its user_data. */
enum ring_kind {
	RING_SRC_POLL = 1,
	RING_SRC_SPLICE = 2,
	RING_DST_POLL = 3,
	RING_DST_SPLICE = 4,
	RING_WAKE = 5, /* the eventfd poll */
	/* an ASYNC_CANCEL of ours; its result does not matter */
	RING_CANCEL = 6,
};
#define RING_KIND_MASK ((uint64_t)7)

/* The kernel's "restart the call" code, seen on a splice cancelled while it
 * ran in a worker; never translated for io_uring. */
#define RING_ERESTARTSYS 512

/* The pool keeps at most this many pipes, and past RING_POOL_MIN no more
 * than RING_POOL_BYTES of capacity: idle pipes count against the user's
 * pipe quota (fs.pipe-user-pages-soft). */
#define RING_POOL_MAX 32
#define RING_POOL_MIN 2
#define RING_POOL_BYTES (8 << 20)
#define RING_BUCKETS_MIN 64
#define RING_ENTRIES_DEFAULT 256
#define RING_ENTRIES_MIN 8
#define RING_ENTRIES_MAX 4096
/* How long the loop sleeps before retrying a submission the kernel refused
 * for lack of resources (EAGAIN, EBUSY). */
#define RING_BACKOFF_NS 1000000LL
/* The default cap on a ring's unbounded io-wq workers (sockets, pipes), or
 * twice the CPUs if more. */
#define RING_UNBOUND_WORKERS 64u
/* Idle timeouts beyond this (about 100 years) are no timeout. */
#define RING_IDLE_MAX_NS ((int64_t)1 << 62)

_Static_assert(_Alignof(max_align_t) >= 8, "user_data needs 3 free bits");
_Static_assert(sizeof(kp_ring_stats) % sizeof(uint64_t) == 0,
	       "kp_ring_stats is read as an array of uint64_t");

struct ring_pipe {
	int r, w; /* read and write ends, O_NONBLOCK */
	int cap;  /* capacity in bytes */
};

struct ring_xfer {
	uint64_t token;
	int src, dst;
	struct ring_pipe pipe;
	int64_t in_pipe; /* bytes spliced into the pipe and not yet out */
	int64_t moved;   /* bytes delivered to dst */
	int64_t idle_ns; /* 0: no idle timeout */
	int64_t last_ns; /* CLOCK_MONOTONIC time of the last progress */
	int err;         /* why the transfer ends (valid once ending) */
	/* ops in flight on the src side: poll + splice, or splice */
	int src_ops;
	int dst_ops;
	unsigned src_poll : 1; /* src can make a splice wait: poll it first */
	unsigned dst_poll : 1;
	unsigned src_eof : 1; /* src returned 0 */
	/* src splice found the pipe full: wait for dst */
	unsigned src_full : 1;
	unsigned ending : 1; /* no new ops; report when none is in flight */
	unsigned src_cancelled : 1;
	unsigned dst_cancelled : 1;
	unsigned queued : 1; /* on the to-sync list */
	unsigned live : 1;   /* in the hash, live list (and maybe heap) */
	size_t heap_idx;     /* SIZE_MAX: not in the idle heap */
	int64_t heap_key;    /* deadline the heap orders by (may be early) */
	struct ring_xfer *hnext;       /* token hash chain */
	struct ring_xfer *prev, *next; /* live list */
	struct ring_xfer *qnext;       /* to-sync list, then done list */
};

enum ring_req_kind { RING_REQ_START, RING_REQ_CANCEL, RING_REQ_WORKERS };

struct ring_req {
	int kind;
	uint64_t token;
	struct ring_xfer *x; /* RING_REQ_START */
	unsigned workers[2]; /* RING_REQ_WORKERS */
};

struct ring_list {
	struct ring_xfer *head, *tail;
};

struct kp_ring {
	/* ---- shared with other threads, under mu ---- */
	pthread_mutex_t mu;
	struct ring_req *reqs;
	size_t nreqs, capreqs;
	int wake_pending; /* the eventfd was written since the last drain */
	int shutdown_req;
	int efd;

	/* ---- counters, any thread (atomic) ---- */
	kp_ring_stats st;

	/* ---- the ring thread's own ---- */
	struct io_uring ring;
	int ring_ok;
	struct ring_req *work; /* the request array being processed */
	size_t capwork;
	int ran;        /* kp_ring_run was called */
	int wait_ppoll; /* kp_ring_set_wait_poll */
	int shutdown;   /* the ring thread saw the shutdown request */
	int wake_armed; /* the eventfd poll is in flight */
	int wake_fired; /* the eventfd poll completed: drain the queue */
	int64_t now;    /* CLOCK_MONOTONIC ns, refreshed each round */
	int pipe_size;  /* asked for when opening a pipe (0: default) */
	int best_cap;   /* the largest capacity granted: smaller ones (growth
			     refused) are not pooled */
	struct ring_pipe pool[RING_POOL_MAX];
	int npool;
	int64_t pool_bytes;
	struct ring_xfer *live_head;
	size_t nlive;
	struct ring_xfer **buckets;
	size_t nbuckets;
	struct ring_xfer **heap;
	size_t nheap, capheap;
	/* transfers whose ops must be brought in line */
	struct ring_list tosync;
	struct ring_list done; /* finished transfers not yet reported */
};

/* ---- small helpers ---------------------------------------------------- */

#define RING_STAT_ADD(r, field, n)                                             \
	__atomic_add_fetch(&(r)->st.field, (uint64_t)(n), __ATOMIC_RELAXED)
#define RING_STAT_SUB(r, field, n)                                             \
	__atomic_sub_fetch(&(r)->st.field, (uint64_t)(n), __ATOMIC_RELAXED)

static int64_t ring_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t ring_tag(struct ring_xfer *x, enum ring_kind kind)
{
	return (uint64_t)(uintptr_t)x | (uint64_t)kind;
}

static void ring_list_push(struct ring_list *l, struct ring_xfer *x)
{
	x->qnext = NULL;
	if (l->tail)
		l->tail->qnext = x;
	else
		l->head = x;
	l->tail = x;
}

static struct ring_xfer *ring_list_pop(struct ring_list *l)
{
	struct ring_xfer *x = l->head;

	if (x) {
		l->head = x->qnext;
		if (l->head == NULL)
			l->tail = NULL;
		x->qnext = NULL;
	}
	return x;
}

/* Puts x on the to-sync list once. */
static void ring_touch(kp_ring *r, struct ring_xfer *x)
{
	if (!x->queued) {
		x->queued = 1;
		ring_list_push(&r->tosync, x);
	}
}

/* Marks x as ending with err unless it already is (the first reason wins). */
static void ring_fail(kp_ring *r, struct ring_xfer *x, int err)
{
	if (!x->ending) {
		x->ending = 1;
		x->err = err;
	}
	ring_touch(r, x);
}

/* ---- token hash --------------------------------------------------------- */

static size_t ring_bucket(size_t nbuckets, uint64_t token)
{
	return (size_t)((token * 0x9E3779B97F4A7C15ULL) >> 40) & (nbuckets - 1);
}

static void ring_hash_grow(kp_ring *r)
{
	size_t n = r->nbuckets * 2;
	struct ring_xfer **b = calloc(n, sizeof(*b));

	/* Without memory the chains just get longer. */
	if (b == NULL)
		return;
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct ring_xfer *x = r->buckets[i], *next;
		for (; x; x = next) {
			next = x->hnext;
			size_t j = ring_bucket(n, x->token);
			x->hnext = b[j];
			b[j] = x;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

static void ring_hash_add(kp_ring *r, struct ring_xfer *x)
{
	if (r->nlive >= r->nbuckets)
		ring_hash_grow(r);
	size_t i = ring_bucket(r->nbuckets, x->token);
	x->hnext = r->buckets[i];
	r->buckets[i] = x;
}

static void ring_hash_del(kp_ring *r, struct ring_xfer *x)
{
	struct ring_xfer **p = &r->buckets[ring_bucket(r->nbuckets, x->token)];

	for (; *p; p = &(*p)->hnext) {
		if (*p == x) {
			*p = x->hnext;
			x->hnext = NULL;
			return;
		}
	}
}

/* ---- idle deadlines: a binary min-heap keyed by heap_key ---------------- */

static void ring_heap_set(kp_ring *r, size_t i, struct ring_xfer *x)
{
	r->heap[i] = x;
	x->heap_idx = i;
}

static void ring_heap_up(kp_ring *r, size_t i)
{
	struct ring_xfer *x = r->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (r->heap[parent]->heap_key <= x->heap_key)
			break;
		ring_heap_set(r, i, r->heap[parent]);
		i = parent;
	}
	ring_heap_set(r, i, x);
}

static void ring_heap_down(kp_ring *r, size_t i)
{
	struct ring_xfer *x = r->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= r->nheap)
			break;
		if (c + 1 < r->nheap &&
		    r->heap[c + 1]->heap_key < r->heap[c]->heap_key)
			c++;
		if (x->heap_key <= r->heap[c]->heap_key)
			break;
		ring_heap_set(r, i, r->heap[c]);
		i = c;
	}
	ring_heap_set(r, i, x);
}

static int ring_heap_add(kp_ring *r, struct ring_xfer *x)
{
	if (r->nheap == r->capheap) {
		size_t cap = r->capheap ? r->capheap * 2 : 64;
		struct ring_xfer **h = realloc(r->heap, cap * sizeof(*h));
		if (h == NULL)
			return -ENOMEM;
		r->heap = h;
		r->capheap = cap;
	}
	x->heap_key = x->last_ns + x->idle_ns;
	r->heap[r->nheap] = x;
	x->heap_idx = r->nheap++;
	ring_heap_up(r, x->heap_idx);
	return 0;
}

static void ring_heap_del(kp_ring *r, struct ring_xfer *x)
{
	size_t i = x->heap_idx;

	if (i == SIZE_MAX)
		return;
	x->heap_idx = SIZE_MAX;
	struct ring_xfer *last = r->heap[--r->nheap];
	if (i == r->nheap)
		return;
	ring_heap_set(r, i, last);
	ring_heap_up(r, i);
	ring_heap_down(r, last->heap_idx);
}

/* Ends the transfers whose idle deadline has passed. Progress does not touch
 * the heap: a key found early is pushed to the transfer's real deadline. */
static void ring_expire(kp_ring *r)
{
	while (r->nheap > 0) {
		struct ring_xfer *x = r->heap[0];
		int64_t due = x->last_ns + x->idle_ns;
		if (due > r->now) {
			if (x->heap_key == due)
				break;
			x->heap_key = due;
			ring_heap_down(r, 0);
			continue;
		}
		ring_heap_del(r, x);
		if (!x->ending)
			RING_STAT_ADD(r, timeouts, 1);
		ring_fail(r, x, ETIMEDOUT);
	}
}

/* ---- the pipe pool ------------------------------------------------------ */

static int ring_pipe_get(kp_ring *r, struct ring_pipe *p)
{
	int fds[2], cap = 0;

	if (r->npool > 0) {
		*p = r->pool[--r->npool];
		r->pool_bytes -= p->cap;
		RING_STAT_SUB(r, pipes_pooled, 1);
		RING_STAT_ADD(r, pipes_reused, 1);
		return 0;
	}
	int ret = kp_pipe_open(fds, 1, r->pipe_size, &cap);
	if (ret < 0)
		return ret;
	p->r = fds[0];
	p->w = fds[1];
	p->cap = cap;
	if (cap > r->best_cap)
		r->best_cap = cap;
	RING_STAT_ADD(r, pipes_opened, 1);
	return 0;
}

/* Pools the pipe of a transfer with nothing in flight when it is empty and
 * full-sized; closes it otherwise. */
static void ring_pipe_put(kp_ring *r, struct ring_xfer *x)
{
	struct ring_pipe *p = &x->pipe;

	if (p->r < 0)
		return;
	int room = r->npool < RING_POOL_MIN ||
		   (r->npool < RING_POOL_MAX &&
		    r->pool_bytes + p->cap <= RING_POOL_BYTES);
	if (x->in_pipe == 0 && room && p->cap >= r->best_cap &&
	    kp_pipe_buffered(p->r) == 0) {
		r->pool[r->npool++] = *p;
		r->pool_bytes += p->cap;
		RING_STAT_ADD(r, pipes_pooled, 1);
	} else {
		int fds[2] = { p->r, p->w };
		kp_pipe_close(fds);
	}
	p->r = p->w = -1;
}

/* ---- starting and finishing transfers ----------------------------------- */

/* Moves x, which has nothing in flight, to the done list. */
static void ring_finish(kp_ring *r, struct ring_xfer *x)
{
	if (x->live) {
		ring_hash_del(r, x);
		ring_heap_del(r, x);
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
		 * read end goes to the caller with them (ring_report). */
		close(x->pipe.w);
		x->pipe.w = -1;
	} else {
		ring_pipe_put(r, x);
	}
	ring_list_push(&r->done, x);
	RING_STAT_ADD(r, ended, 1);
	RING_STAT_SUB(r, live, 1);
}

/* Checks an endpoint on the ring thread. Returns 0 for a regular file or
 * block device (always ready: no poll), 1 for anything a splice could have
 * to wait for (poll first), or -errno: EBADF for an fd not open in the
 * direction it is used in (a poll for it would never fire), EINVAL for a
 * socket in blocking mode (its splice could wait in a worker). */
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
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
	case S_IFBLK:
		return 0;
	case S_IFSOCK:
		return (fl & O_NONBLOCK) ? 1 : -EINVAL;
	default:
		return 1;
	}
}

/* Takes a start request on the ring thread. */
static void ring_begin(kp_ring *r, struct ring_xfer *x)
{
	RING_STAT_ADD(r, started, 1);
	RING_STAT_ADD(r, live, 1);
	x->last_ns = r->now;
	if (r->shutdown) {
		x->err = ECANCELED;
		ring_finish(r, x);
		return;
	}
	int ret = ring_check_fd(x->src, 0);
	if (ret >= 0) {
		x->src_poll = ret;
		ret = ring_check_fd(x->dst, 1);
	}
	if (ret >= 0) {
		x->dst_poll = ret;
		ret = ring_pipe_get(r, &x->pipe);
	}
	if (ret == 0 && x->idle_ns > 0)
		ret = ring_heap_add(r, x);
	if (ret < 0) {
		x->err = -ret;
		ring_finish(r, x);
		return;
	}
	ring_hash_add(r, x);
	x->live = 1;
	x->next = r->live_head;
	if (x->next)
		x->next->prev = x;
	r->live_head = x;
	r->nlive++;
	ring_touch(r, x);
}

static void ring_cancel_token(kp_ring *r, uint64_t token)
{
	struct ring_xfer *x = r->buckets[ring_bucket(r->nbuckets, token)];

	for (; x; x = x->hnext) {
		if (x->token == token)
			ring_fail(r, x, ECANCELED);
	}
}

/* ---- submission --------------------------------------------------------- */

/* Submits everything queued. Returns 0, or -errno when the kernel took
 * nothing (EBUSY with completions to reap first, EAGAIN short of memory). */
static int ring_submit(kp_ring *r)
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
	int ret = ring_submit(r);
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

/* POLL_ADD(fd, events) linked to SPLICE(in -> out, len): the splice runs only
 * once fd is ready, and never waits. A regular file or block device is
 * always ready (poll would say so at once): its splice goes alone. */
static void ring_prep_side(kp_ring *r, struct ring_xfer *x, int src_side)
{
	const unsigned int flags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
	struct io_uring_sqe *sqe;
	int poll = src_side ? x->src_poll : x->dst_poll;
	int fd = src_side ? x->src : x->dst;
	int64_t len = src_side ? x->pipe.cap - x->in_pipe : x->in_pipe;

	if (len > KP_MAX_REQUEST)
		len = KP_MAX_REQUEST;
	if (poll) {
		sqe = ring_sqe(r);
		io_uring_prep_poll_add(sqe, fd, src_side ? POLLIN : POLLOUT);
		io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
		sqe->user_data =
			ring_tag(x, src_side ? RING_SRC_POLL : RING_DST_POLL);
	}
	sqe = ring_sqe(r);
	if (src_side) {
		io_uring_prep_splice(sqe, x->src, -1, x->pipe.w, -1,
				     (unsigned int)len, flags);
		sqe->user_data = ring_tag(x, RING_SRC_SPLICE);
		x->src_ops = 1 + poll;
	} else {
		io_uring_prep_splice(sqe, x->pipe.r, -1, x->dst, -1,
				     (unsigned int)len, flags);
		sqe->user_data = ring_tag(x, RING_DST_SPLICE);
		x->dst_ops = 1 + poll;
	}
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

/* Brings x's ops in line with its state: cancels what an ending transfer
 * has in flight and reports it once nothing is; otherwise submits each side
 * that can go on. Returns 0, or -errno when the SQ cannot take the SQEs now
 * (x stays as it is; the caller keeps it queued). */
static int ring_sync(kp_ring *r, struct ring_xfer *x)
{
	unsigned need = 0;
	int ret;

	if (x->ending) {
		int src = x->src_ops > 0 && !x->src_cancelled;
		int dst = x->dst_ops > 0 && !x->dst_cancelled;
		/* The poll head (while it is pending, cancelling it cancels
		 * the linked splice too) and the splice itself (in case the
		 * poll already fired). */
		if (src)
			need += (unsigned)x->src_ops;
		if (dst)
			need += (unsigned)x->dst_ops;
		if (need > 0) {
			ret = ring_reserve(r, need);
			if (ret < 0)
				return ret;
		}
		if (src) {
			if (x->src_ops == 2) /* the poll has not completed */
				ring_prep_cancel(r, ring_tag(x, RING_SRC_POLL));
			ring_prep_cancel(r, ring_tag(x, RING_SRC_SPLICE));
			x->src_cancelled = 1;
		}
		if (dst) {
			if (x->dst_ops == 2)
				ring_prep_cancel(r, ring_tag(x, RING_DST_POLL));
			ring_prep_cancel(r, ring_tag(x, RING_DST_SPLICE));
			x->dst_cancelled = 1;
		}
		if (x->src_ops == 0 && x->dst_ops == 0)
			ring_finish(r, x);
		return 0;
	}
	if (x->src_eof && x->in_pipe == 0 && x->src_ops == 0 &&
	    x->dst_ops == 0) {
		x->err = 0;
		ring_finish(r, x);
		return 0;
	}
	int src = !x->src_eof && x->src_ops == 0 && !x->src_full &&
		  x->in_pipe < x->pipe.cap;
	int dst = x->dst_ops == 0 && x->in_pipe > 0;
	need = (unsigned)(src * (1 + x->src_poll) + dst * (1 + x->dst_poll));
	if (need == 0)
		return 0;
	ret = ring_reserve(r, need);
	if (ret < 0)
		return ret;
	if (src)
		ring_prep_side(r, x, 1);
	if (dst)
		ring_prep_side(r, x, 0);
	return 0;
}

/* Syncs every queued transfer and re-arms the eventfd poll. Returns 0, or
 * -errno when the SQ is blocked (the rest stay queued). */
static int ring_flush(kp_ring *r)
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
	while ((x = ring_list_pop(&r->tosync)) != NULL) {
		x->queued = 0;
		int ret = ring_sync(r, x);
		if (ret < 0) {
			/* Unchanged: back to the head of the list. */
			x->queued = 1;
			x->qnext = r->tosync.head;
			r->tosync.head = x;
			if (r->tosync.tail == NULL)
				r->tosync.tail = x;
			return ret;
		}
	}
	return 0;
}

/* ---- completions -------------------------------------------------------- */

static int ring_retry_code(int res)
{
	return res == -EAGAIN || res == -EINTR || res == -RING_ERESTARTSYS;
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
		if (kind == RING_SRC_POLL)
			x->src_ops--;
		else
			x->dst_ops--;
		RING_STAT_ADD(r, polls, 1);
		/* A ready mask (POLLERR and POLLHUP included) lets the linked
		 * splice run and tell what happened. A failed poll fails the
		 * splice with ECANCELED; the poll's error is the one to report. */
		if (res < 0)
			ring_fail(r, x, -res);
		ring_touch(r, x);
		return;
	case RING_SRC_SPLICE:
		x->src_ops--;
		RING_STAT_ADD(r, splices, 1);
		if (res > 0) {
			x->in_pipe += res;
			x->last_ns = r->now;
		} else if (res == 0) {
			x->src_eof = 1;
		} else if (ring_retry_code(res)) {
			RING_STAT_ADD(r, eagain, 1);
			/* With data in the pipe, EAGAIN may mean the pipe is out
			 * of slots (a socket fills a slot per segment): wait for
			 * the dst side to free some rather than spin. */
			if (x->in_pipe > 0)
				x->src_full = 1;
		} else if (res != -ECANCELED || x->src_ops == 0) {
			/* ECANCELED with the poll head still to report: the
			 * head failed, and says why. */
			ring_fail(r, x, -res);
		}
		ring_touch(r, x);
		return;
	case RING_DST_SPLICE:
		x->dst_ops--;
		RING_STAT_ADD(r, splices, 1);
		if (res > 0) {
			x->in_pipe -= res;
			x->moved += res;
			x->last_ns = r->now;
			x->src_full = 0;
		} else if (res == 0) {
			/* The pipe held in_pipe > 0 bytes and has a writer: a
			 * zero result cannot be trusted as progress. */
			ring_fail(r, x, EIO);
		} else if (ring_retry_code(res)) {
			RING_STAT_ADD(r, eagain, 1);
		} else if (res != -ECANCELED || x->dst_ops == 0) {
			ring_fail(r, x, -res);
		}
		ring_touch(r, x);
		return;
	}
	/* LIBURING_UDATA_TIMEOUT (old kernels' wait timeouts) and anything
	 * else: not ours. */
}

/* Handles every CQE available now. */
static void ring_reap(kp_ring *r)
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

/* ---- requests from other threads --------------------------------------- */

static int ring_request(kp_ring *r, const struct ring_req *req)
{
	int wake = 0, ret = 0;

	pthread_mutex_lock(&r->mu);
	if (r->shutdown_req) {
		ret = req->kind == RING_REQ_START ? -ESHUTDOWN : 0;
		goto out;
	}
	if (r->nreqs == r->capreqs) {
		size_t cap = r->capreqs ? r->capreqs * 2 : 64;
		struct ring_req *q = realloc(r->reqs, cap * sizeof(*q));
		if (q == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		r->reqs = q;
		r->capreqs = cap;
	}
	r->reqs[r->nreqs++] = *req;
	if (!r->wake_pending)
		wake = r->wake_pending = 1;
out:
	pthread_mutex_unlock(&r->mu);
	if (wake) {
		uint64_t one = 1;
		/* Only EINTR can get in the way: the ring thread resets the
		 * counter on every drain, far from its limit. */
		while (write(r->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return ret;
}

static void ring_apply_workers(kp_ring *r, const unsigned workers[2])
{
	unsigned v[2] = { workers[0], workers[1] };

	/* Kernels before 5.15 lack the limit (EINVAL): nothing to do. */
	if (kp_uring_max_workers(&r->ring, v) == 0)
		RING_STAT_ADD(r, worker_limits, 1);
}

/* Takes the queued requests (in the order they were made) on the ring
 * thread. */
static void ring_drain(kp_ring *r)
{
	uint64_t counter;
	int shutdown;
	size_t n;

	r->wake_fired = 0;
	/* Reset the counter first: a request made after this wakes again. */
	while (read(r->efd, &counter, sizeof(counter)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&r->mu);
	struct ring_req *q = r->reqs;
	size_t cap = r->capreqs;
	n = r->nreqs;
	r->reqs = r->work;
	r->capreqs = r->capwork;
	r->nreqs = 0;
	r->work = q;
	r->capwork = cap;
	r->wake_pending = 0;
	shutdown = r->shutdown_req;
	pthread_mutex_unlock(&r->mu);

	for (size_t i = 0; i < n; i++) {
		struct ring_req *req = &r->work[i];
		switch (req->kind) {
		case RING_REQ_START:
			ring_begin(r, req->x);
			break;
		case RING_REQ_CANCEL:
			ring_cancel_token(r, req->token);
			break;
		case RING_REQ_WORKERS:
			ring_apply_workers(r, req->workers);
			break;
		}
	}
	if (shutdown && !r->shutdown) {
		r->shutdown = 1;
		for (struct ring_xfer *x = r->live_head; x; x = x->next)
			ring_fail(r, x, ECANCELED);
	}
}

/* ---- the API ------------------------------------------------------------ */

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

	/* A roomy CQ: each transfer can have four ops in flight. Kernels
	 * without IORING_SETUP_CQSIZE (before 5.5) get the default. */
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
	const unsigned int need = KP_URING_SPLICE | KP_URING_POLL_ADD |
				  KP_URING_ASYNC_CANCEL;
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

int kp_ring_start(kp_ring *r, uint64_t token, int src, int dst, int64_t idle_ns)
{
	struct ring_req req = { .kind = RING_REQ_START, .token = token };
	struct ring_xfer *x;

	if (r == NULL)
		return -EINVAL;
	if (src < 0 || dst < 0)
		return -EBADF;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->token = token;
	x->src = src;
	x->dst = dst;
	x->pipe.r = x->pipe.w = -1;
	x->idle_ns = idle_ns > 0 && idle_ns < RING_IDLE_MAX_NS ? idle_ns : 0;
	x->heap_idx = SIZE_MAX;
	req.x = x;
	int ret = ring_request(r, &req);
	if (ret < 0)
		free(x);
	return ret;
}

int kp_ring_cancel(kp_ring *r, uint64_t token)
{
	struct ring_req req = { .kind = RING_REQ_CANCEL, .token = token };

	if (r == NULL)
		return -EINVAL;
	return ring_request(r, &req);
}

int kp_ring_shutdown(kp_ring *r)
{
	int wake = 0;

	if (r == NULL)
		return -EINVAL;
	pthread_mutex_lock(&r->mu);
	r->shutdown_req = 1;
	if (!r->wake_pending)
		wake = r->wake_pending = 1;
	pthread_mutex_unlock(&r->mu);
	if (wake) {
		uint64_t one = 1;
		while (write(r->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return 0;
}

int kp_ring_set_max_workers(kp_ring *r, unsigned bounded, unsigned unbounded)
{
	struct ring_req req = { .kind = RING_REQ_WORKERS,
				.workers = { bounded, unbounded } };

	if (r == NULL)
		return -EINVAL;
	return ring_request(r, &req);
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

/* Copies up to max finished transfers to done and frees them. */
static int ring_report(kp_ring *r, kp_done *done, int max)
{
	int n = 0;

	while (n < max && r->done.head) {
		struct ring_xfer *x = ring_list_pop(&r->done);
		done[n].token = x->token;
		done[n].moved = x->moved;
		done[n].err = x->err;
		done[n].leftover = 0;
		done[n].leftover_fd = -1;
		if (x->pipe.r >= 0) { /* ring_finish kept it: it holds data */
			done[n].leftover = x->in_pipe;
			done[n].leftover_fd = x->pipe.r;
			x->pipe.r = -1;
		}
		n++;
		free(x);
	}
	return n;
}

int kp_ring_run(kp_ring *r, kp_done *done, int max)
{
	if (r == NULL || done == NULL || max <= 0)
		return -EINVAL;
	if (!r->ran) {
		r->ran = 1;
		/* Requests made before the first run are waiting. */
		r->wake_fired = 1;
		/* The io-wq belongs to this thread from its first submission
		 * on: submit (the eventfd poll), then cap the unbounded
		 * workers as a safety net. Splices that never wait need few
		 * of them; kp_ring_set_max_workers requests, taken later,
		 * override this. */
		if (ring_flush(r) == 0 && ring_submit(r) == 0) {
			long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
			unsigned v[2] = { 0, RING_UNBOUND_WORKERS };
			if (ncpu > 0 && (unsigned long)ncpu * 2 > v[1])
				v[1] = (unsigned)ncpu * 2;
			ring_apply_workers(r, v);
		}
	}
	for (;;) {
		int blocked = 0, ret;

		r->now = ring_clock();
		if (r->wake_fired)
			ring_drain(r);
		ring_expire(r);
		ret = ring_flush(r);
		if (ret == -EBUSY || ret == -EAGAIN || ret == -ENOMEM)
			blocked = 1;
		else if (ret < 0)
			return ret;
		ret = ring_submit(r);
		if (ret == -EBUSY || ret == -EAGAIN || ret == -ENOMEM)
			blocked = 1;
		else if (ret < 0)
			return ret;

		if (r->done.head)
			return ring_report(r, done, max);
		if (r->shutdown && r->nlive == 0)
			return -ESHUTDOWN;

		/* Wait for a completion, until the nearest idle deadline, or
		 * briefly when the kernel refused a submission. */
		int64_t wait = -1;
		if (r->nheap > 0)
			wait = r->heap[0]->heap_key - r->now;
		if (blocked && (wait < 0 || wait > RING_BACKOFF_NS))
			wait = RING_BACKOFF_NS;
		ret = ring_wait(r, wait);
		if (ret < 0)
			return ret;
		r->now = ring_clock();
		ring_reap(r);
	}
}

static void ring_free_xfer(struct ring_xfer *x)
{
	int fds[2] = { x->pipe.r, x->pipe.w };

	kp_pipe_close(fds);
	free(x);
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
		ring_free_xfer(x);
	}
	struct ring_xfer *x;
	while ((x = ring_list_pop(&r->done)) != NULL)
		ring_free_xfer(x);
	for (size_t i = 0; i < r->nreqs; i++) {
		if (r->reqs[i].kind == RING_REQ_START)
			ring_free_xfer(r->reqs[i].x);
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
