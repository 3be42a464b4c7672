/*
 * ring_internal.h: what the parts of the double-splice engine share: a
 * transfer (struct ring_xfer), the ring (struct kp_ring), the request queue,
 * and the functions each part gives the others. The loop itself is in
 * ring.c, whose opening comment tells how it works. Not part of kpipe's
 * public contract (kp_ring.h is): the functions here carry the prefix
 * kp_ri_, the public ones kp_ring_.
 *
 *	ring.c         the loop: open, run (wait, enter), close, stats
 *	ring_queue.c   requests from other threads (start, cancel, shutdown)
 *	ring_xfer.c    a transfer's life on the ring thread: begin, one turn
 *	               of splices, finish, report
 *	ring_poll.c    the polls: submission, syncing a transfer's polls with
 *	               its state, completions
 *	ring_pool.c    the pipe pool and pipe growth
 *	ring_heap.c    idle deadlines: a min-heap
 *	ring_tokens.c  the token hash, for cancels
 */
#ifndef KPIPE_RING_INTERNAL_H
#define KPIPE_RING_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kp_ring.h"

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

static inline int64_t kp_ri_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline uint64_t kp_ri_tag(struct ring_xfer *x, enum ring_kind kind)
{
	return (uint64_t)(uintptr_t)x | (uint64_t)kind;
}

static inline void kp_ri_list_push(struct ring_list *l, struct ring_xfer *x)
{
	x->qnext = NULL;
	if (l->tail)
		l->tail->qnext = x;
	else
		l->head = x;
	l->tail = x;
}

static inline struct ring_xfer *kp_ri_list_pop(struct ring_list *l)
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
static inline void kp_ri_list_move(struct ring_list *to, struct ring_list *from)
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
static inline void kp_ri_touch(kp_ring *r, struct ring_xfer *x)
{
	if (!x->queued) {
		x->queued = 1;
		kp_ri_list_push(&r->tosync, x);
	}
}

/* Marks x as ending with err unless it already is (the first reason wins). */
static inline void kp_ri_fail(kp_ring *r, struct ring_xfer *x, int err)
{
	if (!x->ending) {
		x->ending = 1;
		x->err = err;
	}
	kp_ri_touch(r, x);
}

/* ---- ring_tokens.c ------------------------------------------------------ */

void kp_ri_hash_add(kp_ring *r, struct ring_xfer *x);
void kp_ri_hash_del(kp_ring *r, struct ring_xfer *x);
/* Fails every live transfer that has token (ECANCELED). */
void kp_ri_cancel_token(kp_ring *r, uint64_t token);

/* ---- ring_heap.c --------------------------------------------------------- */

/* Adds x, which has an idle timeout, to the heap. Returns 0 or -ENOMEM. */
int kp_ri_heap_add(kp_ring *r, struct ring_xfer *x);
/* Takes x out of the heap, if it is in. */
void kp_ri_heap_del(kp_ring *r, struct ring_xfer *x);
void kp_ri_expire(kp_ring *r);

/* ---- ring_pool.c --------------------------------------------------------- */

int kp_ri_pipe_get(kp_ring *r, struct ring_pipe *p);
void kp_ri_pipe_put(kp_ring *r, struct ring_xfer *x, int check);
int kp_ri_pipe_may_grow(const kp_ring *r, const struct ring_xfer *x);
void kp_ri_pipe_fit(kp_ring *r, struct ring_xfer *x);

/* ---- ring_xfer.c --------------------------------------------------------- */

void kp_ri_begin(kp_ring *r, struct ring_xfer *x);
void kp_ri_finish(kp_ring *r, struct ring_xfer *x);
void kp_ri_run_xfer(kp_ring *r, struct ring_xfer *x);
int kp_ri_report(kp_ring *r, kp_done *done, int max);
/* Frees a transfer that was never reported, closing its pipe. */
void kp_ri_free_xfer(struct ring_xfer *x);

/* ---- ring_poll.c --------------------------------------------------------- */

int kp_ri_submit(kp_ring *r);
int kp_ri_flush(kp_ring *r);
void kp_ri_reap(kp_ring *r);

/* ---- ring_queue.c -------------------------------------------------------- */

void kp_ri_drain(kp_ring *r);

#endif /* KPIPE_RING_INTERNAL_H */
