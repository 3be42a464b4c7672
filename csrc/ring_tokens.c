/* ring_tokens.c: the ring's token hash: live transfers by token, for
 * cancels. */
#include <stdint.h>
#include <stdlib.h>

#include "ring_internal.h"

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

void kp_ri_hash_add(kp_ring *r, struct ring_xfer *x)
{
	if (r->nlive >= r->nbuckets)
		ring_hash_grow(r);
	size_t i = ring_bucket(r->nbuckets, x->token);
	x->hnext = r->buckets[i];
	r->buckets[i] = x;
}

void kp_ri_hash_del(kp_ring *r, struct ring_xfer *x)
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

void kp_ri_cancel_token(kp_ring *r, uint64_t token)
{
	struct ring_xfer *x = r->buckets[ring_bucket(r->nbuckets, token)];

	for (; x; x = x->hnext) {
		if (x->token == token)
			kp_ri_fail(r, x, ECANCELED);
	}
}
