/*
 * check.h: the C tests' tiny harness.
 *
 * Every CHECK macro evaluates to 1 when the check holds and 0 (after printing
 * file:line, the expressions and their values) when it does not, so a case
 * can stop early: if (!CHECK(fd >= 0)) return;
 *
 * Each test file ends with its list of cases, which CHECK_SUITE makes the
 * program's main (SIGPIPE blocked, so that writes to a closed pipe fail
 * with EPIPE as they do in a Go program):
 *
 *	CHECK_SUITE(CHECK_CASE(test_something), CHECK_CASE(test_other))
 *
 * A test file that must run something first has its own main and calls
 * CHECK_MAIN.
 *
 * check_main runs every case (or only those named on the command line),
 * fails a case that leaves the number of open fds changed, and returns
 * non-zero when any check failed.
 */
#ifndef KPIPE_CHECK_H
#define KPIPE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "kp_io.h"

struct check_case {
	const char *name;
	void (*fn)(void);
};

/* clang-format off */
#define CHECK_CASE(fn) { #fn, fn }
/* clang-format on */
#define CHECK_MAIN(argc, argv, cases)                                          \
	check_main(__FILE__, (argc), (argv), (cases),                          \
		   sizeof(cases) / sizeof((cases)[0]))

int check_main(const char *suite, int argc, char **argv,
	       const struct check_case *cases, size_t n);

#define CHECK_SUITE(...)                                                       \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		static const struct check_case cases[] = { __VA_ARGS__ };      \
		check_block_sigpipe();                                         \
		return CHECK_MAIN(argc, argv, cases);                          \
	}

/* The number of checks that failed so far. */
extern int check_failures;

enum check_op {
	CHECK_OP_EQ,
	CHECK_OP_NE,
	CHECK_OP_LT,
	CHECK_OP_LE,
	CHECK_OP_GT,
	CHECK_OP_GE
};

int check_true(int ok, const char *expr, const char *file, int line);
int check_i64(int64_t a, int64_t b, enum check_op op, const char *ea,
	      const char *eb, const char *file, int line);
int check_str(const char *a, const char *b, const char *ea, const char *eb,
	      const char *file, int line);
int check_errno_result(int64_t r, int want, const char *expr, const char *file,
		       int line);
int check_sys(int64_t r, const char *expr, const char *file, int line);
void check_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_failf(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define CHECK(c) check_true(!!(c), #c, __FILE__, __LINE__)
#define CHECK_OP_(a, b, op)                                                    \
	check_i64((int64_t)(a), (int64_t)(b), op, #a, #b, __FILE__, __LINE__)
#define CHECK_EQ(a, b) CHECK_OP_(a, b, CHECK_OP_EQ)
#define CHECK_NE(a, b) CHECK_OP_(a, b, CHECK_OP_NE)
#define CHECK_LT(a, b) CHECK_OP_(a, b, CHECK_OP_LT)
#define CHECK_LE(a, b) CHECK_OP_(a, b, CHECK_OP_LE)
#define CHECK_GT(a, b) CHECK_OP_(a, b, CHECK_OP_GT)
#define CHECK_GE(a, b) CHECK_OP_(a, b, CHECK_OP_GE)
#define CHECK_STREQ(a, b) check_str((a), (b), #a, #b, __FILE__, __LINE__)
/* r is a kpipe result: >= 0, or -errno. */
#define CHECK_OK(r) check_errno_result((int64_t)(r), 0, #r, __FILE__, __LINE__)
/* r is a kpipe result that must be exactly -e. */
#define CHECK_ERR(r, e)                                                        \
	check_errno_result((int64_t)(r), (e), #r, __FILE__, __LINE__)
/* r is a libc result: -1 with errno on failure. */
#define CHECK_SYS(r) check_sys((int64_t)(r), #r, __FILE__, __LINE__)
#define CHECK_FAIL(...) check_failf(__FILE__, __LINE__, __VA_ARGS__)

/* ---- helpers ------------------------------------------------------------ */

/* Blocks SIGPIPE in the calling thread (and threads it creates later), as
 * kpipe's C threads must: a write to a closed peer then fails with EPIPE. */
void check_block_sigpipe(void);

/* Blocks SIGXFSZ and sets the soft RLIMIT_FSIZE to limit, so that writes
 * past it fail with EFBIG; returns the old limit in *old. Returns 0 or -1
 * after a failed check. */
int check_fsize_limit(uint64_t limit, uint64_t *old);

/* Sets the soft RLIMIT_FSIZE back to old (from check_fsize_limit) and takes
 * the SIGXFSZ the writes past the limit left pending. */
void check_fsize_restore(uint64_t old);

/* Takes a pending, blocked signal sig; returns 1 if one was pending. */
int check_take_signal(int sig);

/* The number of open fds of this process. */
int check_fd_count(void);

/* An unlinked regular file, opened read-write (in $TMPDIR or /tmp); -1 after
 * a failed check. */
int check_tmpfile(void);

/* Writes size bytes of the pseudo-random stream seed to fd (from its current
 * offset), then rewinds fd to offset 0. Returns 0 or -1 after a failed check. */
int check_fill(int fd, int64_t size, uint64_t seed);

/* A running 64-bit FNV-1a hash and a byte count. */
struct check_hash {
	uint64_t h;
	int64_t n;
};
void check_hash_init(struct check_hash *hs);
void check_hash_add(struct check_hash *hs, const void *buf, size_t len);

/* Reads the file fd from offset 0 to its end with pread, handing each block
 * to each, which returns 0, or -1 to stop. Returns 0, or -1 when each
 * stopped or after a failed check. */
int check_read_file(int fd, int (*each)(void *arg, const void *p, size_t n),
		    void *arg);

/* Hashes the file fd from offset 0 to its end with pread. Returns 0 or -1. */
int check_hash_file(int fd, struct check_hash *hs);

/* The hash of size bytes of the pseudo-random stream seed. */
void check_hash_stream(uint64_t seed, int64_t size, struct check_hash *hs);

/* Reads what fd has now (non-blocking fd: until EAGAIN; else until EOF) into
 * hs. Returns the bytes read or -errno. */
int64_t check_drain(int fd, struct check_hash *hs);

/* Writes all of buf; returns 0 or -errno. */
int check_write_all(int fd, const void *buf, size_t len);

/* Writes to the non-blocking pipe or socket fd until the kernel says EAGAIN.
 * Returns the bytes written, or -1 after a failed check. */
int64_t check_fill_full(int fd);

/* Polls fd for events without waiting. Returns the revents, or -errno. */
int check_poll_now(int fd, short events);

/* Sets or clears O_NONBLOCK; returns 0 or -errno. */
int check_set_nonblock(int fd, int on);

/* Monotonic time in seconds. */
double check_now(void);

/* ---- fixtures of the tests of kpipe's calls -------------------------------- */

/* Closes fd (a failed close fails the check) unless fd < 0. */
void check_close_fd(int fd);

/* fd's file offset (lseek SEEK_CUR), or -1. */
int64_t check_offset(int fd);

/* A check_tmpfile holding size bytes of the stream seed, at offset 0; -1
 * after a failed check. */
int check_stream_file(int64_t size, uint64_t seed);

/* Checks that the file fd holds exactly size bytes of stream seed. */
void check_file_is_stream(int fd, uint64_t seed, int64_t size);

/* Opens the pipes a and b, each non-blocking or not as asked; when either
 * fails, neither is left open. Returns 0 or -1 after a failed check. */
int check_open_pipes(int a[2], int a_nonblock, int b[2], int b_nonblock);

/* Closes the pipes a and b, each close checked. */
void check_close_pipes(int a[2], int b[2]);

/* A blocking pipe whose reader has gone: fds[1] open, fds[0] closed and -1.
 * Returns 0 or -1 after a failed check. */
int check_pipe_no_reader(int fds[2]);

/* Checks every field of io: err, side, moved and eof. */
int check_io(kp_io io, int err, int side, int64_t moved, int eof,
	     const char *expr, const char *file, int line);
/* io is a clean stop (no error, no side) that moved moved bytes, with eof. */
#define CHECK_IO_OK(io, moved, eof)                                            \
	check_io((io), 0, KP_SIDE_NONE, (moved), (eof), #io, __FILE__, __LINE__)
/* io stopped with the errno err, waiting for side, having moved moved bytes,
 * with eof. */
#define CHECK_IO_ERR(io, err, side, moved, eof)                                \
	check_io((io), (err), (side), (moved), (eof), #io, __FILE__, __LINE__)

#endif /* KPIPE_CHECK_H */
