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
	int err; /* 0, or the errno that stopped the call (EAGAIN: would block) */
	int eof;  /* 1 when the source reported end of input */
	int side; /* with EAGAIN: enum kp_side, the side to wait for */
} kp_io;

/* What fstat says an fd is. */
enum kp_fd_type {
	KP_FD_OTHER = 0,
	KP_FD_FILE = 1, /* regular file */
	KP_FD_PIPE = 2, /* pipe or FIFO */
	KP_FD_SOCKET = 3,
	KP_FD_CHAR = 4, /* character device */
	KP_FD_BLOCK = 5 /* block device */
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

/* Waits until fd is readable (for_write == 0) or writable, for at most
 * timeout_ms milliseconds (< 0: no limit). For blocking-mode descriptors
 * only. Returns 0, -ETIMEDOUT when the time ran out, or -errno. */
int kp_fd_wait(int fd, int for_write, int timeout_ms);

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

/* kp_splice_via, adding the splice(2) calls it made to *calls. */
kp_io kp_splice_via_count(int src, int dst, int pr, int pw, int pipe_cap,
			  int64_t limit, int64_t *in_pipe, uint64_t *calls);

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
/* What the double-splice engine (ring.c) submits: polls and their cancels.
 * It runs the splices itself, with splice(2). */
#define KP_URING_ALL_NEEDED (KP_URING_POLL_ADD | KP_URING_ASYNC_CANCEL)

/* Sets up a small ring, asks which operations it supports and tears it
 * down. Returns 0 and fills *ops, or -errno when io_uring cannot be set up
 * (EPERM under seccomp or io_uring_disabled, ENOSYS without the syscall). */
int kp_uring_probe(unsigned int *ops);

/* What kp_uring_compat_hide can hide, with the kernel that brought it. */
#define KP_COMPAT_NO_PROBE (1u << 0)   /* IORING_REGISTER_PROBE, 5.6 */
#define KP_COMPAT_NO_CQSIZE (1u << 1)  /* IORING_SETUP_CQSIZE, 5.5 */
#define KP_COMPAT_NO_NODROP (1u << 2)  /* IORING_FEAT_NODROP, 5.5 */
#define KP_COMPAT_NO_EXT_ARG (1u << 3) /* IORING_FEAT_EXT_ARG, 5.11 */

/* For tests: makes the rings and probes set up from now on see an older
 * kernel, one without the KP_URING_* operations in ops and without the
 * KP_COMPAT_* facilities in what; (0, 0) shows the real kernel again. */
void kp_uring_compat_hide(unsigned int ops, unsigned int what);

/* ---- ring.c: the double-splice engine on io_uring ----------------------- */

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
 * Unlike the rest of this file, a ring keeps state: everything lives in the
 * kp_ring.
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

/* ---- zlib_info.c: the linked zlib --------------------------------------- */

/* The version string of the zlib in use at run time. */
const char *kp_zlib_version(void);

/* Returns 1 when the run-time zlib is compatible with the headers kpipe was
 * built against (same major version), 0 otherwise. */
int kp_zlib_compatible(void);

/* ---- zisal.c: ISA-L, where it is --------------------------------------- */

/* Whether ISA-L runs this process's inflate and its deflate at levels 1 to
 * 3: compiled in (its headers were there at build time), its library
 * (libisal.so.2) loaded, and KPIPE_ZENGINE=zlib not set when first asked.
 * The answer does not change afterwards. */
int kp_isal_available(void);

/* ---- zwhole.c: libdeflate, where it is ---------------------------------- */

/* Whether libdeflate compresses at levels 4 to 9 the streams whose whole
 * input is known at the start (see kp_z_size_hint): compiled in (its
 * header was there at build time), libdeflate.so.0 loaded, and
 * KPIPE_ZENGINE=zlib not set when first asked. The answer does not change
 * afterwards. */
int kp_ld_available(void);

/* ---- zformat.c: zlib (RFC 1950) and gzip (RFC 1952) wrappers ------------ */

/* Bounds kpipe puts on gzip header fields it reads (longer: KP_ZE_HEADER). */
#define KP_GZ_NAME_MAX 4096   /* FNAME and FCOMMENT, NUL excluded */
#define KP_GZ_EXTRA_MAX 65535 /* FEXTRA (the format's own bound) */

/* A gzip member header. Writing: the pointers are the caller's, name and
 * comment without NUL bytes (a NUL in them, or more than KP_GZ_NAME_MAX
 * bytes, is KP_ZE_HEADER), extra may be NULL; mtime and os are written as
 * given, xfl is ignored (kpipe sets it from the level, as zlib does) and
 * hcrc != 0 adds an FHCRC. Reading: the pointers point into the kp_z that
 * parsed the header and stay valid until that kp_z is reset or freed. */
typedef struct kp_gz_header {
	const uint8_t *name; /* NULL: no FNAME */
	uint32_t name_len;
	const uint8_t *comment; /* NULL: no FCOMMENT */
	uint32_t comment_len;
	const uint8_t *extra; /* NULL: no FEXTRA */
	uint32_t extra_len;
	uint32_t mtime; /* 0: none */
	uint8_t os;     /* 255: unknown; kpipe writes 3 (Unix) by default */
	uint8_t xfl;
	uint8_t hcrc; /* reading: 1 when the header carried an FHCRC */
} kp_gz_header;

/* ---- zstream.c: deflate and inflate between fds and memory ------------- */

/*
 * A kp_z is one compression or decompression stream with its zlib state and
 * its own input and output buffers, reused call after call (kp_z_reset starts
 * a new stream without freeing anything when mode and level are unchanged).
 * kp_z_step moves the stream along until it ends, fails or would block; the
 * stream survives the return so that the caller can wait for an fd in its own
 * event loop and call kp_z_step again. One kp_z is used by one thread at a
 * time; different kp_z are independent.
 *
 * Formats: raw deflate inside kpipe's own wrapper code, so that every header
 * and trailer byte is checked here: KP_Z_ZLIB is RFC 1950 (2-byte header,
 * Adler-32 trailer; a preset dictionary is KP_ZE_HEADER), KP_Z_GZIP is RFC
 * 1952 (header with FEXTRA/FNAME/FCOMMENT/FHCRC, CRC-32 and ISIZE trailer;
 * decompression reads member after member until end of input, as gzip(1)
 * does, and anything after a member that is not another member is
 * KP_ZE_HEADER).
 */
typedef struct kp_z kp_z;

enum kp_z_mode { KP_Z_COMPRESS = 0, KP_Z_DECOMPRESS = 1 };
enum kp_z_format { KP_Z_ZLIB = 0, KP_Z_GZIP = 1 };

/* kp_z_step results >= 0 */
enum kp_z_status {
	/* the stream is complete and all its output delivered */
	KP_Z_DONE = 0,
	/* memory input used up: call again with more, or with in_eof */
	KP_Z_NEED_INPUT = 1,
	/* memory output ready: res->out, res->out_len (see kp_z_step) */
	KP_Z_HAVE_OUTPUT = 2,
	/* an fd would block: res->side says which; call again once ready */
	KP_Z_AGAIN = 3
};

/* kp_z_step errors: a negative errno (from read/write, or -ENOMEM), or one of
 * these, all below -4095 so that they never collide with an errno. */
/* bad magic, method, flags, header CRC, FDICT, field too long, trailing
 * garbage */
#define KP_ZE_HEADER (-5001)
#define KP_ZE_CHECKSUM (-5002) /* CRC-32, ISIZE or Adler-32 mismatch */
#define KP_ZE_CORRUPT (-5003)  /* invalid deflate data */
/* end of input inside a stream (or an empty input) */
#define KP_ZE_TRUNCATED (-5004)
#define KP_ZE_TOO_LARGE (-5005) /* decompressed output would pass max_out */
#define KP_ZE_STATE (-5006)     /* misuse: step after an error, bad arguments */

typedef struct kp_z_result {
	int64_t written; /* bytes delivered to dst by this call (fd or memory) */
	int64_t consumed; /* bytes of the memory input taken by this call */
	/* KP_Z_HAVE_OUTPUT: output to deliver (in the kp_z, or the caller's
	 * out) */
	const uint8_t *out;
	int64_t out_len;
	int side; /* KP_Z_AGAIN: enum kp_side to wait for; on a -errno
			     error: the side whose read or write failed */
} kp_z_result;

/* A new kp_z with input and output buffers of bufsize bytes each (0: 128 KiB;
 * smaller sizes are raised to 4 KiB, larger ones capped at 1 GiB). Returns
 * NULL when out of memory or bufsize < 0. Call kp_z_reset before the first
 * step. */
kp_z *kp_z_new(int64_t bufsize);

/* Frees the stream, its zlib state and buffers. NULL is fine. */
void kp_z_free(kp_z *z);

/* Starts a new stream. level: 1..9, -1 (zlib's default, 6) or -2 (Huffman
 * only), or 0 (stored, no compression); ignored when decompressing.
 * max_out: decompression stops with KP_ZE_TOO_LARGE having delivered
 * exactly max_out bytes, never byte max_out+1 (< 0: no limit). hdr: the
 * gzip header to write when compressing to KP_Z_GZIP (NULL: no name, no
 * comment, no extra, mtime 0, OS 3); the fields are copied. Returns 0 or a
 * negative kp_z_step error (-EINVAL for a bad mode, format or level). */
int kp_z_reset(kp_z *z, int mode, int format, int level, int64_t max_out,
	       const kp_gz_header *hdr);

/*
 * Moves the stream along.
 *
 * Input: from src_fd when src_fd >= 0 (read(2) into the kp_z's buffer; only a
 * 0-byte read is end of input; EINTR is retried; EAGAIN returns KP_Z_AGAIN
 * with side KP_SIDE_SRC), else from memory: in[0..in_len) (res->consumed says
 * how much was taken; the pointer is not kept after the call) and in_eof != 0
 * means no input follows it.
 *
 * Output: to dst_fd when dst_fd >= 0 (write(2), partial writes continued,
 * EINTR retried, EAGAIN returns KP_Z_AGAIN with side KP_SIDE_DST; before the
 * step waits for input it writes out what it holds), else to memory: when out
 * is non-NULL, into out[0..out_cap) (the pointer is not kept), else into the
 * kp_z's own buffer; the call returns KP_Z_HAVE_OUTPUT with res->out and
 * res->out_len once that space is full or the stream ends, and the caller
 * takes those bytes before the next call (they then count in
 * res->written of that HAVE_OUTPUT call). As with an fd, output is never
 * held back while waiting for input: a call that would return
 * KP_Z_NEED_INPUT (or KP_Z_AGAIN for the source) with output in hand, or
 * that has just checked a trailer, returns KP_Z_HAVE_OUTPUT
 * first, so out_len may be less than the space. Use one kind of source and
 * of destination for the whole stream.
 *
 * Returns enum kp_z_status or an error; after an error the stream is dead
 * until kp_z_reset. KP_Z_DONE is returned once: compression has written the
 * trailer; decompression has checked the last trailer and found end of input
 * (memory input: in_eof with nothing left). A step after DONE or after an
 * error, or before any kp_z_reset, is KP_ZE_STATE.
 */
int kp_z_step(kp_z *z, int src_fd, int dst_fd, const uint8_t *in,
	      int64_t in_len, int in_eof, uint8_t *out, int64_t out_cap,
	      kp_z_result *res);

/* After a gzip decompression has parsed its first member's header: that
 * header (pointers into z), and 1; 0 before. */
int kp_z_gzip_header(const kp_z *z, kp_gz_header *hdr);

/* Tells a compression stream, after kp_z_reset and before its first
 * kp_z_step, that its memory input will be exactly n bytes. At levels 4 to 9,
 * where libdeflate runs, a stream whose input is known to be at most
 * KP_Z_WHOLE_MAX bytes (memory input so announced, or a source fd that is a
 * regular file, which the first step examines) is compressed whole by
 * libdeflate: the step keeps all of the input (in a buffer of its size)
 * and then all of the output (at most about the input's size again) until
 * the stream ends. Other streams, and input that turns out longer than
 * KP_Z_WHOLE_MAX, go through zlib at the same level. Returns 0, or
 * KP_ZE_STATE when called out of place. */
#define KP_Z_WHOLE_MAX ((int64_t)256 << 20)
int kp_z_size_hint(kp_z *z, int64_t n);

/* Asks a compression stream for a sync flush (zlib's Z_SYNC_FLUSH): the
 * steps that follow, with no more memory input (in_len 0, in_eof 0), deliver
 * everything given so far as whole deflate blocks ending on a byte boundary
 * (after an empty stored block), so that a reader can decode all of it now;
 * the flush is complete when a step returns KP_Z_NEED_INPUT. A stream kept
 * whole (libdeflate) goes on through zlib from there. Only for memory input
 * on one thread (not after kp_z_threads). Returns 0, or KP_ZE_STATE when the
 * stream cannot flush. */
int kp_z_flush(kp_z *z);

/* Lets a compression stream, after kp_z_reset and before its first
 * kp_z_step, keep memory input of unknown size whole, up to max bytes (at
 * most KP_Z_WHOLE_MAX), at the levels where libdeflate runs: the input is
 * kept (in a buffer that doubles from 256 KiB) and compressed in one call
 * at its end, as for an announced size, unless it passes max or
 * kp_z_flush is called first, when zlib takes over at the same level.
 * Nothing comes out before that. Returns 0, or KP_ZE_STATE when called out
 * of place. */
int kp_z_whole_until(kp_z *z, int64_t max);

/* Ends z's stream wherever it is, keeping z for a later kp_z_reset: its
 * worker threads are joined and a whole stream's buffers freed, so that a
 * kp_z kept idle holds only its fixed state. */
void kp_z_idle(kp_z *z);

/* Lets a compression stream, after kp_z_reset and before its first
 * kp_z_step, use up to n threads: with n > 1, and at the levels zlib or
 * libdeflate run (all but 1 to 3 where ISA-L runs, whose one thread is
 * faster than zlib on several), the input is cut into 1 MiB blocks that
 * worker threads compress while the step reads and writes, and the output
 * stays one stream, the same bytes whatever n > 1 is. Threads start as
 * blocks come (one for a small input) and are joined when the stream ends,
 * fails, is reset or freed; memory is about 4.2 MiB per thread. Returns 0,
 * or KP_ZE_STATE when called out of place or with n < 1. */
int kp_z_threads(kp_z *z, int n);

/* For tests: the worker threads of kp_z_threads alive in the process. */
int64_t kp_z_test_workers(void);

/* For tests: lowers KP_Z_WHOLE_MAX for z (until it is freed). */
void kp_z_test_whole_max(kp_z *z, int64_t max);

/* Totals since kp_z_reset: bytes read from the source (memory input: bytes
 * consumed) and bytes delivered to the destination (written to dst_fd, or
 * handed over with KP_Z_HAVE_OUTPUT). */
void kp_z_totals(const kp_z *z, int64_t *in_total, int64_t *out_total);

#ifdef __cplusplus
}
#endif

#endif /* KPIPE_H */
