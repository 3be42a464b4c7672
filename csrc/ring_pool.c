/* ring_pool.c: the ring's pool of empty pipes, and the growth of a
 * transfer's pipe. */
#include "kp_pipe.h"
#include "ring_internal.h"

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
int kp_ri_pipe_get(kp_ring *r, struct ring_pipe *p)
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
void kp_ri_pipe_put(kp_ring *r, struct ring_xfer *x, int check)
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

/* Whether x's pipe may still grow (kp_ri_pipe_fit). */
int kp_ri_pipe_may_grow(const kp_ring *r, const struct ring_xfer *x)
{
	return x->pipe.cap < ring_pipe_top(r) && !ring_grow_refused(r);
}

/* Grows x's pipe to the ring's pipe_size, and to ring_pipe_top once x has
 * moved a pipe's worth, unless the kernel refused a growth lately. A
 * refusal leaves the pipe as it was. */
void kp_ri_pipe_fit(kp_ring *r, struct ring_xfer *x)
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
