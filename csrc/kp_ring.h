/*
 * kp_ring.h: the double-splice engine on io_uring (ring.c and its
 * ring_*.c parts).
 */
#ifndef KP_RING_H
#define KP_RING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A ring runs many transfers src -> private pipe -> dst at once on one
 * thread. That thread runs the splices itself (splice(2), non-blocking)
 * until a side would block, and waits for that side with a POLL_ADD on the
 * ring: the polls of all transfers go in and come out together, and no
 * splice is ever handed to a kernel worker thread. Regular files and block
 * devices never make a splice wait and are never polled. A transfer with
 * nothing to move holds no pipe: its empty pipe goes back to the ring's
 * pool until its source is readable again.
 *
 * kp_ring_start, kp_ring_cancel and kp_ring_shutdown may be called from any
 * thread; kp_ring_run from the ring's own thread only.
 * A ring keeps state: everything lives in the kp_ring.
 */
typedef struct kp_ring kp_ring;

/* The end of one transfer, as kp_ring_run reports it. */
typedef struct kp_done {
	uint64_t token; /* the caller's token from kp_ring_start */
	/* bytes delivered to dst (64-bit; never includes a negative result) */
	int64_t moved;
	int err; /* 0: src reached end of input and everything was delivered;
			   ECANCELED: kp_ring_cancel; ETIMEDOUT: idle timeout; else the errno */
	/* A transfer that ended early (err != 0) holding bytes it took from
	 * src and did not deliver hands them over: leftover > 0 bytes wait, in
	 * order, in a pipe whose read end (O_NONBLOCK, its write end closed)
	 * is leftover_fd. The caller reads them and closes leftover_fd. */
	int64_t leftover;
	int leftover_fd; /* -1 when leftover is 0 */
} kp_done;

/* Creates a ring with `entries` SQ entries (0: 256; kept within 8..4096) and
 * a pool for private pipes. Pipes open at pipe_size bytes (0: the kernel's
 * default) and grow to KP_PIPE_SIZE_DEFAULT (or pipe_size, if more) once
 * their transfer has moved a pipe's worth; growth refused by the kernel is
 * fine (transfers keep smaller pipes). Submits nothing: the ring's thread
 * does that. Returns 0 or -errno (EPERM/ENOSYS/ENOMEM when io_uring is
 * unavailable; ENOSYS too when it lacks POLL_ADD or ASYNC_CANCEL). */
int kp_ring_open(kp_ring **ring, unsigned entries, int pipe_size);

/* Any thread: queue a transfer src -> private pipe -> dst until src's end of
 * input. src and dst are O_NONBLOCK sockets or character devices, pipes (in
 * either mode) or files owned by the caller, which keeps them open until
 * the transfer's kp_done is reported.
 * idle_ns > 0: end with ETIMEDOUT when no byte moves for that long.
 * Use each token once (a cancel for a token cancels every transfer not yet
 * reported that has it).
 * Returns 0 or -errno (e.g. -ESHUTDOWN after kp_ring_shutdown, -EBADF for a
 * negative fd). The ring thread checks the fds and reports in kp_done:
 * EBADF for an fd that is closed or not open for reading (src) or writing
 * (dst), EINVAL for a socket, terminal or other character device in
 * blocking mode (its splices could block the ring's thread), before
 * anything moves. */
int kp_ring_start(kp_ring *r, uint64_t token, int src, int dst,
		  int64_t idle_ns);

/* Any thread: cancel a queued or running transfer. Its kp_done (ECANCELED,
 * or its natural end if that came first) is reported only once the kernel is
 * done with it (its poll, if one was in flight, has completed). Unknown
 * tokens are ignored. Returns 0 or -errno. */
int kp_ring_cancel(kp_ring *r, uint64_t token);

/* Any thread: cancel everything; kp_ring_run then reports the remaining
 * transfers and returns -ESHUTDOWN once none is left. */
int kp_ring_shutdown(kp_ring *r);

/* The ring's own thread only (one long-lived thread per ring: it splices,
 * submits and reaps). Waits until at least one transfer ends, fills up to
 * max kp_done entries and returns their count; returns -ESHUTDOWN after
 * shutdown once all transfers are reported; other -errno on failure. The
 * first call blocks SIGPIPE in the calling thread, for good: a splice to a
 * vanished peer reports EPIPE instead. */
int kp_ring_run(kp_ring *r, kp_done *done, int max);

/* After kp_ring_run returned -ESHUTDOWN (or if it never ran): frees the ring,
 * closes its eventfd and pooled pipes. */
void kp_ring_close(kp_ring *r);

/* Before the first kp_ring_run, on == 1: the ring thread sleeps in ppoll(2)
 * on the ring's fd instead of in io_uring_enter(2). Slower (a syscall
 * restart per batch of completions), but tools that serialise threads and
 * hold their lock across io_uring_enter (valgrind 3.19 does) keep running
 * the other threads. Returns 0, -EBUSY once the ring ran, or -EINVAL. */
int kp_ring_set_wait_poll(kp_ring *r, int on);

/* A ring's counters since kp_ring_open. */
typedef struct kp_ring_stats {
	uint64_t started;      /* transfers taken by the ring thread */
	uint64_t ended;        /* transfers finished (reported or to be) */
	uint64_t live;         /* started and not yet finished */
	uint64_t polls;        /* POLL_ADDs submitted for transfers */
	uint64_t splices;      /* splice(2) calls */
	uint64_t eagain;       /* splice(2) calls that returned EAGAIN */
	uint64_t cancels;      /* ASYNC_CANCEL requests submitted */
	uint64_t timeouts;     /* transfers ended by their idle timeout */
	uint64_t sqes;         /* SQEs submitted */
	uint64_t pipes_opened; /* private pipes created */
	uint64_t pipes_reused; /* transfers served from the pool */
	uint64_t pipes_pooled; /* pipes in the pool now */
	uint64_t pipes_grown;  /* pipe growths the kernel granted */
	uint64_t grow_refused; /* pipe growths the kernel refused */
} kp_ring_stats;

/* Any thread, while the ring is open: a snapshot of its counters (each read
 * atomically, not all at one instant). */
void kp_ring_get_stats(kp_ring *r, kp_ring_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* KP_RING_H */
