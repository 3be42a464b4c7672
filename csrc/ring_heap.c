/* ring_heap.c: the ring's idle deadlines, a binary min-heap keyed by
 * heap_key. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ring_internal.h"

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

int kp_ri_heap_add(kp_ring *r, struct ring_xfer *x)
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

void kp_ri_heap_del(kp_ring *r, struct ring_xfer *x)
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
void kp_ri_expire(kp_ring *r)
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
		kp_ri_heap_del(r, x);
		if (!x->ending)
			RING_STAT_ADD(r, timeouts, 1);
		kp_ri_fail(r, x, ETIMEDOUT);
	}
}
