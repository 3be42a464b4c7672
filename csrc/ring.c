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
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_pipe.h"
#include "kp_ring.h"
#include "kp_splice.h"
#include "kp_uring.h"
#include "kpipe_compat.h"
#include "uring_internal.h"

/* What a CQE completes: the low bits of its user_data. */
enum ring_kind {
	RING_SRC_POLL = 1,
	RING_DST_POLL = 2,
	RING_SRC_WATCH = 3, /* src's errors and hang-up while dst waits */
	RING_WAKE = 4,      /* the eventfd poll */
	/* an ASYNC_CANCEL of ours; its result does not matter */
	RING_CANCEL = 5,
};
#define RING_KIND_MASK ((uint64_t)7)

/* What a transfer waits for before it can run again. */
enum ring_wait {
	RING_WAIT_NONE = 0, /* nothing: run it */
	RING_WAIT_SRC = 1,  /* src to be readable, its pipe empty */
	RING_WAIT_DST = 2,  /* dst to be writable, its pipe holding bytes */
};

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
/* The most one turn of a transfer takes from src. */
#define RING_TURN_BYTES ((int64_t)4 << 20)
/* How long a refused pipe growth is remembered. */
#define RING_GROW_RETRY_NS (10 * 1000000000LL)
/* Idle timeouts beyond this (about 100 years) are no timeout. */
#define RING_IDLE_MAX_NS ((int64_t)1 << 62)

_Static_assert(_Alignof(max_align_t) >= 8, "user_data needs 3 free bits");
_Static_assert(sizeof(kp_ring_stats) % sizeof(uint64_t) == 0,
	       "kp_ring_stats is read as an array of uint64_t");

struct ring_pipe {
	int r, w; /* read and write ends, O_NONBLOCK; -1: none */
	int cap;  /* capacity in bytes */
};

struct ring_xfer {
	uint64_t token;
	int src, dst;
	/* held only while the transfer has bytes to move (r < 0 otherwise) */
	struct ring_pipe pipe;
	int64_t in_pipe;      /* bytes spliced into the pipe and not yet out */
	int64_t moved;        /* bytes delivered to dst */
	int64_t idle_ns;      /* 0: no idle timeout */
	int64_t last_ns;      /* CLOCK_MONOTONIC time of the last progress */
	int err;              /* why the transfer ends (valid once ending) */
	unsigned wait : 2;    /* enum ring_wait */
	unsigned polling : 1; /* the POLL_ADD for wait is in flight */
	unsigned cancelled : 1; /* and an ASYNC_CANCEL for it was submitted */
	unsigned src_sock : 1;  /* src is a socket: watch it while dst waits */
	unsigned watching : 1;  /* the watch (RING_SRC_WATCH) is in flight */
	unsigned watch_cancelled : 1;
	unsigned watch_over : 1; /* src hung up: no more watch */
	unsigned src_eof : 1;    /* src returned 0 (the pipe was empty) */
	unsigned ending : 1;     /* no new ops; report when none is in flight */
	unsigned queued : 1;     /* on the to-sync or the next-round list */
	unsigned live : 1;       /* in the hash, live list (and maybe heap) */
	size_t heap_idx;         /* SIZE_MAX: not in the idle heap */
	int64_t heap_key; /* deadline the heap orders by (may be early) */
	struct ring_xfer *hnext;       /* token hash chain */
	struct ring_xfer *prev, *next; /* live list */
	struct ring_xfer *qnext; /* to-sync or next-round list, then done */
};

enum ring_req_kind { RING_REQ_START, RING_REQ_CANCEL };

struct ring_req {
	int kind;
	uint64_t token;
	struct ring_xfer *x; /* RING_REQ_START */
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
	/* when the kernel last refused a pipe growth (0: never) */
	int64_t grow_refused_ns;
	struct ring_pipe pool[RING_POOL_MAX];
	int npool;
	int64_t pool_bytes;
	struct ring_xfer *live_head;
	size_t nlive;
	struct ring_xfer **buckets;
	size_t nbuckets;
	struct ring_xfer **heap;
	size_t nheap, capheap;
	/* transfers to run or whose poll must be brought in line */
	struct ring_list tosync;
	/* transfers whose turn ended with more to move: the next round's */
	struct ring_list again;
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

/* Appends everything on from to to. */
static void ring_list_move(struct ring_list *to, struct ring_list *from)
{
	if (from->head == NULL)
		return;
	if (to->tail)
		to->tail->qnext = from->head;
	else
		to->head = from->head;
	to->tail = from->tail;
	from->head = from->tail = NULL;
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

/* Whether the kernel refused a pipe growth lately. */
static int ring_grow_refused(const kp_ring *r)
{
	return r->grow_refused_ns != 0 &&
	       r->now - r->grow_refused_ns < RING_GROW_RETRY_NS;
}

static void ring_refuse_growth(kp_ring *r)
{
	r->grow_refused_ns = r->now;
	RING_STAT_ADD(r, grow_refused, 1);
}

/* An empty pipe from the pool, or a new one of the ring's pipe_size. */
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
	int size = ring_grow_refused(r) ? 0 : r->pipe_size;
	int ret = kp_pipe_open(fds, 1, size, &cap);
	if (ret < 0)
		return ret;
	/* kp_pipe_open keeps the pipe when the kernel refuses the size. */
	if (size > 0 && cap < size)
		ring_refuse_growth(r);
	p->r = fds[0];
	p->w = fds[1];
	p->cap = cap;
	RING_STAT_ADD(r, pipes_opened, 1);
	return 0;
}

/* Gives x's pipe back: to the pool when it is empty and the pool has room,
 * closed otherwise. check: ask the kernel too that it is empty (x ended). */
static void ring_pipe_put(kp_ring *r, struct ring_xfer *x, int check)
{
	struct ring_pipe *p = &x->pipe;

	if (p->r < 0)
		return;
	int room = r->npool < RING_POOL_MIN ||
		   (r->npool < RING_POOL_MAX &&
		    r->pool_bytes + p->cap <= RING_POOL_BYTES);
	if (x->in_pipe == 0 && room &&
	    (!check || kp_pipe_buffered(p->r) == 0)) {
		r->pool[r->npool++] = *p;
		r->pool_bytes += p->cap;
		RING_STAT_ADD(r, pipes_pooled, 1);
	} else {
		int fds[2] = { p->r, p->w };
		kp_pipe_close(fds);
	}
	p->r = p->w = -1;
}

/* The largest capacity a pipe grows to. */
static int ring_pipe_top(const kp_ring *r)
{
	return r->pipe_size > KP_PIPE_SIZE_DEFAULT ? r->pipe_size
						   : KP_PIPE_SIZE_DEFAULT;
}

/* Whether x's pipe may still grow (ring_pipe_fit). */
static int ring_pipe_may_grow(const kp_ring *r, const struct ring_xfer *x)
{
	return x->pipe.cap < ring_pipe_top(r) && !ring_grow_refused(r);
}

/* Grows x's pipe to the ring's pipe_size, and to ring_pipe_top once x has
 * moved a pipe's worth, unless the kernel refused a growth lately. A
 * refusal leaves the pipe as it was. */
static void ring_pipe_fit(kp_ring *r, struct ring_xfer *x)
{
	int want = r->pipe_size;

	if (x->moved >= x->pipe.cap)
		want = ring_pipe_top(r);
	if (want <= x->pipe.cap || ring_grow_refused(r))
		return;
	int cap = kp_pipe_set_size(x->pipe.w, want);
	if (cap < 0) {
		ring_refuse_growth(r);
		return;
	}
	x->pipe.cap = cap;
	RING_STAT_ADD(r, pipes_grown, 1);
}

/* ---- starting and finishing transfers ----------------------------------- */

/* Moves x, which has no poll in flight, to the done list. */
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
		ring_pipe_put(r, x, 1);
	}
	ring_list_push(&r->done, x);
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
	/* The pipe comes when there is something to move (ring_run_xfer). */
	int ret = ring_check_fd(x->src, 0);
	if (ret >= 0) {
		x->src_sock = ret;
		ret = ring_check_fd(x->dst, 1);
	}
	if (ret >= 0 && x->idle_ns > 0)
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

/* The user_data of x's poll. */
static uint64_t ring_poll_tag(struct ring_xfer *x)
{
	return ring_tag(x, x->wait == RING_WAIT_SRC ? RING_SRC_POLL
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
	sqe->user_data = ring_tag(x, RING_SRC_WATCH);
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

/* ---- running a transfer ------------------------------------------------- */

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
static void ring_run_xfer(kp_ring *r, struct ring_xfer *x)
{
	int64_t budget = RING_TURN_BYTES;

	for (;;) {
		if (x->pipe.r < 0) {
			int ret = ring_pipe_get(r, &x->pipe);
			if (ret < 0) {
				ring_fail(r, x, -ret);
				return;
			}
		}
		ring_pipe_fit(r, x);
		/* While the pipe can grow, a pipe's worth at a time: the
		 * growth comes as soon as it is due. */
		int64_t limit = budget;
		if (ring_pipe_may_grow(r, x) && limit > x->pipe.cap)
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
			r->now = ring_clock();
			x->last_ns = r->now;
		}
		budget -= taken;
		if (io.eof) {
			/* kp_splice_via_count emptied the pipe first. */
			x->src_eof = 1;
			ring_pipe_put(r, x, 0);
			return;
		}
		if (io.err == EAGAIN) {
			RING_STAT_ADD(r, eagain, 1);
			if (io.side == KP_SIDE_SRC) {
				/* The pipe is empty: nothing to hold it for. */
				x->wait = RING_WAIT_SRC;
				ring_pipe_put(r, x, 0);
			} else {
				x->wait = RING_WAIT_DST;
			}
			return;
		}
		if (io.err != 0) {
			if (io.err == EPIPE)
				ring_take_sigpipe();
			ring_fail(r, x, io.err);
			return;
		}
		if (budget <= 0)
			return;
	}
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
		ring_run_xfer(r, x);
		if (!x->ending && x->src_eof)
			ring_fail(r, x, 0); /* everything was delivered */
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
			ring_prep_cancel(r, ring_tag(x, RING_SRC_WATCH));
			x->watch_cancelled = 1;
		}
		if (!x->polling && !x->watching)
			ring_finish(r, x);
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
			ring_list_push(&r->again, x); /* still queued */
		else
			x->queued = 0;
	}
	return 0;
}

/* ---- completions -------------------------------------------------------- */

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
			ring_fail(r, x, -res);
			return;
		}
		/* A ready mask, POLLERR and POLLHUP included: the splice
		 * tells what happened. */
		x->wait = RING_WAIT_NONE;
		ring_touch(r, x);
		return;
	case RING_SRC_WATCH:
		x->watching = 0;
		if (res < 0) {
			ring_fail(r, x, -res);
			return;
		}
		if (res & POLLERR) {
			int err = ring_sock_error(x->src);
			if (err != 0) {
				ring_fail(r, x, err);
				return;
			}
		}
		/* A hang-up (the end of input, which the splices will
		 * reach) or no error after all: watching again would only
		 * fire again. */
		x->watch_over = 1;
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
	const unsigned int need = KP_URING_POLL_ADD | KP_URING_ASYNC_CANCEL;
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
		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret >= 0) {
			RING_STAT_ADD(r, sqes, ret);
			return 0;
		}
		if (ret == -EINTR) /* a signal: the next round goes on */
			return 0;
		if (ret != -EBUSY && ret != -EAGAIN && ret != -ENOMEM)
			return ret;
		blocked = 1;
	} else {
		ret = ring_submit(r);
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

		r->now = ring_clock();
		if (r->wake_fired)
			ring_drain(r);
		ring_expire(r);
		ring_list_move(&r->tosync, &r->again);
		ret = ring_flush(r);
		if (ret == -EBUSY || ret == -EAGAIN || ret == -ENOMEM)
			blocked = 1;
		else if (ret < 0)
			return ret;

		if (r->done.head || (r->shutdown && r->nlive == 0)) {
			/* The polls armed this round go in first. */
			ret = ring_submit(r);
			if (ret < 0 && ret != -EBUSY && ret != -EAGAIN &&
			    ret != -ENOMEM)
				return ret;
			if (r->done.head)
				return ring_report(r, done, max);
			return -ESHUTDOWN;
		}

		/* Wait for a completion, until the nearest idle deadline, or
		 * not at all when a transfer's turn ended with more to move. */
		int64_t wait = -1;
		if (r->again.head) {
			wait = 0;
		} else if (r->nheap > 0) {
			/* The splices may have taken the clock past it. */
			wait = r->heap[0]->heap_key - ring_clock();
			if (wait < 0)
				wait = 0;
		}
		ret = ring_enter(r, wait, blocked);
		if (ret < 0)
			return ret;
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
