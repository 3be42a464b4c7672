/* ring_queue.c: requests from other threads (kp_ring_start, kp_ring_cancel,
 * kp_ring_shutdown), queued under the ring's mutex with an eventfd to wake
 * its thread, and taken on the ring thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "ring_internal.h"

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
void kp_ri_drain(kp_ring *r)
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
			kp_ri_begin(r, req->x);
			break;
		case RING_REQ_CANCEL:
			kp_ri_cancel_token(r, req->token);
			break;
		}
	}
	if (shutdown && !r->shutdown) {
		r->shutdown = 1;
		for (struct ring_xfer *x = r->live_head; x; x = x->next)
			kp_ri_fail(r, x, ECANCELED);
	}
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
