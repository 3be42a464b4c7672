/*
 * kp_uring.h: can this process use io_uring, and with which operations
 * (uring_probe.c).
 */
#ifndef KP_URING_H
#define KP_URING_H

#ifdef __cplusplus
extern "C" {
#endif

/* Bits of kp_uring_probe's result: the operations the kernel supports. */
#define KP_URING_SPLICE (1u << 0)
#define KP_URING_TEE (1u << 1)
#define KP_URING_POLL_ADD (1u << 2)
#define KP_URING_ASYNC_CANCEL (1u << 3)
#define KP_URING_LINK_TIMEOUT (1u << 4)
/* What the double-splice engine (ring.c) submits: polls and their cancels.
 * It runs the splices itself, with splice(2). */
#define KP_URING_ALL_NEEDED (KP_URING_POLL_ADD | KP_URING_ASYNC_CANCEL)

/* Sets up a small ring, asks which operations it supports and tears it
 * down. Returns 0 and fills *ops, or -errno when io_uring cannot be set up
 * (EPERM under seccomp or io_uring_disabled, ENOSYS without the syscall). */
int kp_uring_probe(unsigned int *ops);

#ifdef __cplusplus
}
#endif

#endif /* KP_URING_H */
