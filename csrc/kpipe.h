/*
 * kpipe.h: the C core of kpipe.
 *
 * Every function here works on file descriptors the caller owns and never
 * closes them unless its name says so. Byte counts are 64-bit. Functions that
 * return int64_t return a count >= 0 or a negative errno; functions that
 * return kp_io report how far they got and why they stopped.
 *
 * Nothing here keeps global state: every function is safe to call from any
 * thread at any time, except where the ring.c section says otherwise.
 */
#ifndef KPIPE_H
#define KPIPE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest single request handed to the kernel (splice, sendfile and
 * copy_file_range all cap a request near 2 GiB). */
#define KP_MAX_REQUEST ((int64_t)1 << 30)

/* The size kpipe asks for when it grows a pipe. */
#define KP_PIPE_SIZE_DEFAULT (1 << 20)

/* Which side a transfer is waiting for after it stopped with EAGAIN. */
enum kp_side {
	KP_SIDE_NONE = 0,
	KP_SIDE_SRC = 1, /* the source has nothing to read */
	KP_SIDE_DST = 2  /* the destination cannot take more */
};

/* The outcome of a call that moves data until it cannot go on. */
typedef struct kp_io {
	int64_t moved; /* bytes written to the destination by this call */
	int err;       /* 0, or the errno that stopped the call (EAGAIN: would block) */
	int eof;       /* 1 when the source reported end of input */
	int side;      /* with EAGAIN: enum kp_side, the side to wait for */
} kp_io;

/* What fstat says an fd is. */
enum kp_fd_type {
	KP_FD_OTHER = 0,
	KP_FD_FILE = 1,   /* regular file */
	KP_FD_PIPE = 2,   /* pipe or FIFO */
	KP_FD_SOCKET = 3,
	KP_FD_CHAR = 4,   /* character device */
	KP_FD_BLOCK = 5   /* block device */
};

/* ---- pipe.c: kernel pipes ---------------------------------------------- */

/* Opens a pipe with O_CLOEXEC (and O_NONBLOCK when nonblock is non-zero) and,
 * when size > 0, asks for that capacity. The pipe stays usable when the
 * kernel refuses to grow it. On success fds[0] is the read end, fds[1] the
 * write end, *granted the capacity in force. Returns 0 or -errno; on error no
 * fd is left open. */
int kp_pipe_open(int fds[2], int nonblock, int size, int *granted);

/* F_SETPIPE_SZ: returns the capacity granted (>= size) or -errno. */
int kp_pipe_set_size(int fd, int size);

/* F_GETPIPE_SZ: returns the capacity or -errno. */
int kp_pipe_size(int fd);

/* FIONREAD: returns the bytes waiting in the pipe or -errno. */
int kp_pipe_buffered(int fd);

/* Closes both ends, ignoring -1 entries. Returns 0 or the first -errno. */
int kp_pipe_close(int fds[2]);

/* ---- fd.c: descriptor facts and readiness ------------------------------- */

/* Returns enum kp_fd_type or -errno. */
int kp_fd_type(int fd);

/* Returns 1 if O_NONBLOCK is set, 0 if not, or -errno. */
int kp_fd_nonblocking(int fd);

/* Polls src for input and dst for output without waiting. Returns a mask of
 * KP_SIDE_SRC (src readable) and KP_SIDE_DST (dst writable), or -errno. Hang-up
 * and error states count as ready: the next call reports them. */
int kp_fd_ready(int src, int dst);

/* Waits, without a time limit, until fd is readable (for_write == 0) or
 * writable. For blocking-mode descriptors only. Returns 0 or -errno. */
int kp_fd_wait(int fd, int for_write);

/* ---- splice.c: splice(2) and tee(2) ------------------------------------- */

/* One splice(2) of up to len bytes with the file offsets of both fds (as with
 * read/write), retrying on EINTR. Returns the bytes moved (0 at end of input)
 * or -errno. */
int64_t kp_splice(int in, int out, int64_t len, unsigned int flags);

/* One tee(2) of up to len bytes, retrying on EINTR. */
int64_t kp_tee(int in, int out, int64_t len, unsigned int flags);

/* Moves data src -> pipe -> dst through a private non-blocking pipe (pr, pw)
 * of capacity pipe_cap, taking at most limit bytes from src (limit < 0: no
 * limit). *in_pipe holds the bytes already in the pipe on entry and on return.
 * Runs until the source ends (eof = 1 once the pipe is empty), the limit is
 * reached and delivered, an error, or EAGAIN (side says which fd to wait
 * for). */
kp_io kp_splice_via(int src, int dst, int pr, int pw, int pipe_cap,
		    int64_t limit, int64_t *in_pipe);

/* ---- copy.c: copy_file_range(2) and sendfile(2) ------------------------- */

/* copy_file_range from in to out at their file offsets until end of input,
 * limit bytes (limit < 0: no limit) or an error. */
kp_io kp_copy_range(int in, int out, int64_t limit);

/* sendfile from in (a file) to out at in's offset until end of input, limit
 * bytes (limit < 0: no limit), an error or EAGAIN from out. */
kp_io kp_sendfile(int out, int in, int64_t limit);

/* read/write through buf of size len until end of input, limit or an error;
 * for blocking descriptors. */
kp_io kp_read_write(int in, int out, char *buf, int64_t len, int64_t limit);

/* ---- uring_probe.c: io_uring support ------------------------------------ */

/* Bits of kp_uring_probe's result: the operations the kernel supports. */
#define KP_URING_SPLICE (1u << 0)
#define KP_URING_TEE (1u << 1)
#define KP_URING_POLL_ADD (1u << 2)
#define KP_URING_ASYNC_CANCEL (1u << 3)
#define KP_URING_LINK_TIMEOUT (1u << 4)
#define KP_URING_ALL_NEEDED                                                    \
	(KP_URING_SPLICE | KP_URING_POLL_ADD | KP_URING_ASYNC_CANCEL |          \
	 KP_URING_LINK_TIMEOUT)

/* Sets up a small ring, asks which operations it supports and tears it
 * down. Returns 0 and fills *ops, or -errno when io_uring cannot be set up
 * (EPERM under seccomp or io_uring_disabled, ENOSYS without the syscall). */
int kp_uring_probe(unsigned int *ops);

/* ---- ring.c: the double-splice engine on io_uring ----------------------- */

/*
 * A ring runs many transfers src -> private pipe -> dst at once, each with
 * its two splices in flight together, on one io_uring driven by one thread.
 * No splice is ever submitted before its fd is ready (a POLL_ADD linked to
 * it goes first; regular files and block devices, always ready, go without),
 * so idle transfers hold no kernel worker threads.
 *
 * kp_ring_start, kp_ring_cancel, kp_ring_shutdown and kp_ring_set_max_workers
 * may be called from any thread; kp_ring_run from the ring's own thread only.
 * Unlike the rest of this file, a ring keeps state: everything lives in the
 * kp_ring.
 */
typedef struct kp_ring kp_ring;

/* The end of one transfer, as kp_ring_run reports it. */
typedef struct kp_done {
	uint64_t token; /* the caller's token from kp_ring_start */
	int64_t moved;  /* bytes delivered to dst (64-bit; never includes a negative result) */
	int err;        /* 0: src reached end of input and everything was delivered;
			   ECANCELED: kp_ring_cancel; ETIMEDOUT: idle timeout; else the errno */
} kp_done;

/* Creates a ring with `entries` SQ entries (0: 256; kept within 8..4096) and
 * a pool for private pipes of pipe_size bytes (0: kernel default; growth
 * refused by the kernel is fine). Submits nothing: the ring's thread does
 * that. Returns 0 or -errno (EPERM/ENOSYS/ENOMEM when io_uring is
 * unavailable; ENOSYS too when it lacks SPLICE, POLL_ADD or ASYNC_CANCEL). */
int kp_ring_open(kp_ring **ring, unsigned entries, int pipe_size);

/* Any thread: queue a transfer src -> private pipe -> dst until src's end of
 * input. src and dst are O_NONBLOCK sockets, pipes or files owned by the caller,
 * which keeps them open until the transfer's kp_done is reported.
 * idle_ns > 0: end with ETIMEDOUT when no byte moves for that long.
 * Use each token once (a cancel for a token cancels every transfer not yet
 * reported that has it).
 * Returns 0 or -errno (e.g. -ESHUTDOWN after kp_ring_shutdown, -EBADF for a
 * negative fd). The ring thread checks the fds and reports in kp_done:
 * EBADF for an fd that is closed or not open for reading (src) or writing
 * (dst), EINVAL for a socket in blocking mode (its splices could wait in a
 * kernel worker). */
int kp_ring_start(kp_ring *r, uint64_t token, int src, int dst, int64_t idle_ns);

/* Any thread: cancel a queued or running transfer. Its kp_done (ECANCELED,
 * or its natural end if that came first) is reported only once the kernel is
 * done with its buffers and pipe. Unknown tokens are ignored. Returns 0 or -errno. */
int kp_ring_cancel(kp_ring *r, uint64_t token);

/* Any thread: cancel everything; kp_ring_run then reports the remaining
 * transfers and returns -ESHUTDOWN once none is left. */
int kp_ring_shutdown(kp_ring *r);

/* The ring's own thread only (one long-lived thread per ring: it submits and
 * reaps; io-wq workers belong to it). Waits until at least one transfer ends,
 * fills up to max kp_done entries and returns their count; returns -ESHUTDOWN
 * after shutdown once all transfers are reported; other -errno on failure. */
int kp_ring_run(kp_ring *r, kp_done *done, int max);

/* After kp_ring_run returned -ESHUTDOWN (or if it never ran): frees the ring,
 * closes its eventfd and pooled pipes. */
void kp_ring_close(kp_ring *r);

/* Any thread: caps the ring thread's io-wq workers (bounded: regular file
 * I/O; unbounded: sockets and pipes; 0 leaves a value as it is), applied by
 * the ring thread on its next round. By default a ring caps unbounded
 * workers at 64 or twice the CPUs, whichever is more, and leaves the
 * kernel's bounded limit. Kernels before 5.15 ignore it. Returns 0 or
 * -errno. */
int kp_ring_set_max_workers(kp_ring *r, unsigned bounded, unsigned unbounded);

/* Before the first kp_ring_run, on == 1: the ring thread sleeps in ppoll(2)
 * on the ring's fd instead of in io_uring_enter(2). Slower (a syscall
 * restart per batch of completions), but tools that serialise threads and
 * hold their lock across io_uring_enter (valgrind 3.19 does) keep running
 * the other threads. Returns 0, -EBUSY once the ring ran, or -EINVAL. */
int kp_ring_set_wait_poll(kp_ring *r, int on);

/* A ring's counters since kp_ring_open. */
typedef struct kp_ring_stats {
	uint64_t started;       /* transfers taken by the ring thread */
	uint64_t ended;         /* transfers finished (reported or to be) */
	uint64_t live;          /* started and not yet finished */
	uint64_t polls;         /* POLL_ADD completions */
	uint64_t splices;       /* SPLICE completions */
	uint64_t eagain;        /* splices that found nothing to do */
	uint64_t cancels;       /* ASYNC_CANCEL requests submitted */
	uint64_t timeouts;      /* transfers ended by their idle timeout */
	uint64_t sqes;          /* SQEs submitted */
	uint64_t pipes_opened;  /* private pipes created */
	uint64_t pipes_reused;  /* transfers served from the pool */
	uint64_t pipes_pooled;  /* pipes in the pool now */
	uint64_t worker_limits; /* io-wq limits the kernel accepted */
} kp_ring_stats;

/* Any thread, while the ring is open: a snapshot of its counters (each read
 * atomically, not all at one instant). */
void kp_ring_get_stats(kp_ring *r, kp_ring_stats *st);

/* ---- zlib_info.c: the linked zlib --------------------------------------- */

/* The version string of the zlib in use at run time. */
const char *kp_zlib_version(void);

/* Returns 1 when the run-time zlib is compatible with the headers kpipe was
 * built against (same major version), 0 otherwise. */
int kp_zlib_compatible(void);

#ifdef __cplusplus
}
#endif

#endif /* KPIPE_H */
