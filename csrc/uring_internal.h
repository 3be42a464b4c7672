/*
 * uring_internal.h: io_uring set-up shared by uring_probe.c and ring.c, with
 * the test hook (kp_uring_compat_hide, kp_testhooks.h) that makes a new
 * kernel look like an old one. Not part of kpipe's public contract (kpipe.h
 * is).
 */
#ifndef KPIPE_URING_INTERNAL_H
#define KPIPE_URING_INTERNAL_H

#include <liburing.h>

/* The KP_COMPAT_* facilities kp_uring_compat_hide hides now. */
unsigned int kp_uring_hidden(void);

/* io_uring_queue_init_params, except that a setup flag hidden by the test
 * hook fails with -EINVAL as an old kernel does, and hidden features are
 * cleared from p->features and ring->features. Returns 0 or -errno. */
int kp_uring_init(unsigned entries, struct io_uring *ring,
		  struct io_uring_params *p);

/* The KP_URING_* operations the ring's kernel supports: 0 and *ops, or
 * -errno. A kernel without IORING_REGISTER_PROBE (before 5.6) supports none
 * of them as far as kpipe is concerned. */
int kp_uring_ops(struct io_uring *ring, unsigned int *ops);

#endif /* KPIPE_URING_INTERNAL_H */
