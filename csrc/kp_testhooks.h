/*
 * kp_testhooks.h: hooks for kpipe's tests (C and Go), not for other
 * callers: they make a new kernel look like an old one, count the
 * compression worker threads and lower a stream's limits.
 */
#ifndef KP_TESTHOOKS_H
#define KP_TESTHOOKS_H

#include <stdint.h>

#include "kp_uring.h"
#include "kp_zstream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What kp_uring_compat_hide can hide, with the kernel that brought it. */
#define KP_COMPAT_NO_PROBE (1u << 0)   /* IORING_REGISTER_PROBE, 5.6 */
#define KP_COMPAT_NO_CQSIZE (1u << 1)  /* IORING_SETUP_CQSIZE, 5.5 */
#define KP_COMPAT_NO_NODROP (1u << 2)  /* IORING_FEAT_NODROP, 5.5 */
#define KP_COMPAT_NO_EXT_ARG (1u << 3) /* IORING_FEAT_EXT_ARG, 5.11 */

/* For tests: makes the rings and probes set up from now on see an older
 * kernel, one without the KP_URING_* operations in ops and without the
 * KP_COMPAT_* facilities in what; (0, 0) shows the real kernel again. */
void kp_uring_compat_hide(unsigned int ops, unsigned int what);

/* For tests: the worker threads of kp_z_threads alive in the process. */
int64_t kp_z_test_workers(void);

/* For tests: lowers KP_Z_WHOLE_MAX for z (until it is freed). */
void kp_z_test_whole_max(kp_z *z, int64_t max);

#ifdef __cplusplus
}
#endif

#endif /* KP_TESTHOOKS_H */
