/* check.c: the C tests' tiny harness (see check.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kp_pipe.h"

int check_failures;

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "?";
}

static void fail_header(const char *file, int line)
{
	check_failures++;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
}

void check_failf(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fail_header(file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void check_note(const char *fmt, ...)
{
	va_list ap;

	fputs("    note: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

int check_true(int ok, const char *expr, const char *file, int line)
{
	if (!ok)
		check_failf(file, line, "CHECK(%s)", expr);
	return ok;
}

int check_i64(int64_t a, int64_t b, enum check_op op, const char *ea,
	      const char *eb, const char *file, int line)
{
	static const char *const names[] = { "==", "!=", "<", "<=", ">", ">=" };
	int ok = 0;

	switch (op) {
	case CHECK_OP_EQ:
		ok = a == b;
		break;
	case CHECK_OP_NE:
		ok = a != b;
		break;
	case CHECK_OP_LT:
		ok = a < b;
		break;
	case CHECK_OP_LE:
		ok = a <= b;
		break;
	case CHECK_OP_GT:
		ok = a > b;
		break;
	case CHECK_OP_GE:
		ok = a >= b;
		break;
	}
	if (!ok)
		check_failf(file, line, "%s %s %s: %" PRId64 " vs %" PRId64, ea,
			    names[op], eb, a, b);
	return ok;
}

int check_str(const char *a, const char *b, const char *ea, const char *eb,
	      const char *file, int line)
{
	if (a != NULL && b != NULL && strcmp(a, b) == 0)
		return 1;
	check_failf(file, line, "%s == %s: \"%s\" vs \"%s\"", ea, eb,
		    a ? a : "(null)", b ? b : "(null)");
	return 0;
}

int check_errno_result(int64_t r, int want, const char *expr, const char *file,
		       int line)
{
	if (want == 0 && r >= 0)
		return 1;
	if (want != 0 && r == -(int64_t)want)
		return 1;
	if (want == 0)
		check_failf(file, line, "%s: %" PRId64 " (%s: %s), want >= 0",
			    expr, r, errname((int)-r), strerror((int)-r));
	else if (r < 0)
		check_failf(file, line, "%s: %" PRId64 " (%s), want -%s", expr,
			    r, errname((int)-r), errname(want));
	else
		check_failf(file, line, "%s: %" PRId64 ", want -%s", expr, r,
			    errname(want));
	return 0;
}

int check_sys(int64_t r, const char *expr, const char *file, int line)
{
	if (r >= 0)
		return 1;
	int e = errno;
	check_failf(file, line, "%s: %" PRId64 ", errno %s: %s", expr, r,
		    errname(e), strerror(e));
	return 0;
}

/* ---- running cases ------------------------------------------------------- */

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], name) == 0)
			return 1;
	}
	return 0;
}

int check_main(const char *suite, int argc, char **argv,
	       const struct check_case *cases, size_t n)
{
	const char *base = strrchr(suite, '/');
	int bad_cases = 0, ran = 0;

	base = base ? base + 1 : suite;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		if (!wanted(cases[i].name, argc, argv))
			continue;
		int before = check_failures;
		int fds = check_fd_count();
		double t0 = check_now();

		printf("RUN  %s\n", cases[i].name);
		cases[i].fn();
		int fds_after = check_fd_count();
		if (fds_after != fds)
			check_failf(base, 0, "%s: %d fds open before, %d after",
				    cases[i].name, fds, fds_after);
		ran++;
		if (check_failures != before) {
			bad_cases++;
			printf("FAIL %s (%d failed checks)\n", cases[i].name,
			       check_failures - before);
		} else {
			printf("ok   %s (%.3f s)\n", cases[i].name,
			       check_now() - t0);
		}
	}
	if (ran == 0) {
		fprintf(stderr, "%s: no case matched\n", base);
		return 2;
	}
	printf("%s: %d cases, %d failed, %d failed checks\n", base, ran,
	       bad_cases, check_failures);
	return check_failures == 0 ? 0 : 1;
}

/* ---- helpers ------------------------------------------------------------- */

/* Blocks signal sig in the calling thread. */
static void check_block_signal(int sig)
{
	sigset_t set;
	int r;

	if (sigemptyset(&set) < 0 || sigaddset(&set, sig) < 0) {
		perror("sigset");
		exit(2);
	}
	r = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (r != 0) {
		fprintf(stderr, "pthread_sigmask: %s\n", strerror(r));
		exit(2);
	}
}

void check_block_sigpipe(void)
{
	check_block_signal(SIGPIPE);
}

/* Sets the soft RLIMIT_FSIZE to limit, the old one to *old if old. */
static int set_fsize(uint64_t limit, uint64_t *old)
{
	struct rlimit rl;

	if (!CHECK_SYS(getrlimit(RLIMIT_FSIZE, &rl)))
		return -1;
	if (old != NULL)
		*old = (uint64_t)rl.rlim_cur;
	rl.rlim_cur = (rlim_t)limit;
	if (!CHECK_SYS(setrlimit(RLIMIT_FSIZE, &rl)))
		return -1;
	return 0;
}

int check_fsize_limit(uint64_t limit, uint64_t *old)
{
	check_block_signal(SIGXFSZ);
	return set_fsize(limit, old);
}

void check_fsize_restore(uint64_t old)
{
	set_fsize(old, NULL);
	check_take_signal(SIGXFSZ);
}

int check_take_signal(int sig)
{
	sigset_t set;
	struct timespec zero = { 0, 0 };

	if (sigemptyset(&set) < 0 || sigaddset(&set, sig) < 0)
		return 0;
	for (;;) {
		int r = sigtimedwait(&set, NULL, &zero);
		if (r == sig)
			return 1;
		if (r < 0 && errno == EINTR)
			continue;
		return 0;
	}
}

int check_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		perror("opendir /proc/self/fd");
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	if (closedir(d) < 0)
		perror("closedir");
	return n - 1; /* the directory's own fd */
}

int check_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* No O_TMPFILE on this file system: make one and unlink it. */
	if (snprintf(path, sizeof(path), "%s/kpipe-test-XXXXXX", dir) >=
	    (int)sizeof(path)) {
		CHECK_FAIL("TMPDIR too long");
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (!CHECK_SYS(fd))
		return -1;
	if (!CHECK_SYS(unlink(path))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* xorshift64*: the pseudo-random stream, as little-endian 64-bit words. */
static void stream_block(uint64_t *state, unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = *state;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*state = x;
		x *= 0x2545F4914F6CDD1DULL;
		for (size_t j = 0; j < 8 && i + j < len; j++)
			buf[i + j] = (unsigned char)(x >> (8 * j));
	}
}

static uint64_t stream_seed(uint64_t seed)
{
	return seed * 0x9E3779B97F4A7C15ULL + 1;
}

#define CHECK_BLOCK (64 * 1024)

int check_fill(int fd, int64_t size, uint64_t seed)
{
	static unsigned char buf[CHECK_BLOCK];
	uint64_t state = stream_seed(seed);

	while (size > 0) {
		size_t len = size < CHECK_BLOCK ? (size_t)size : CHECK_BLOCK;
		stream_block(&state, buf, len);
		int r = check_write_all(fd, buf, len);
		if (!CHECK_OK(r))
			return -1;
		size -= (int64_t)len;
	}
	if (!CHECK_SYS(lseek(fd, 0, SEEK_SET)))
		return -1;
	return 0;
}

void check_hash_init(struct check_hash *hs)
{
	hs->h = 0xcbf29ce484222325ULL;
	hs->n = 0;
}

void check_hash_add(struct check_hash *hs, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = hs->h;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	hs->h = h;
	hs->n += (int64_t)len;
}

int check_read_file(int fd, int (*each)(void *arg, const void *p, size_t n),
		    void *arg)
{
	unsigned char buf[CHECK_BLOCK]; /* on the stack: threads read too */
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (!CHECK_SYS(n))
			return -1;
		if (n == 0)
			return 0;
		if (each(arg, buf, (size_t)n) < 0)
			return -1;
		off += n;
	}
}

static int hash_block(void *hs, const void *p, size_t n)
{
	check_hash_add(hs, p, n);
	return 0;
}

int check_hash_file(int fd, struct check_hash *hs)
{
	check_hash_init(hs);
	return check_read_file(fd, hash_block, hs);
}

void check_hash_stream(uint64_t seed, int64_t size, struct check_hash *hs)
{
	static unsigned char buf[CHECK_BLOCK];
	uint64_t state = stream_seed(seed);

	check_hash_init(hs);
	while (size > 0) {
		size_t len = size < CHECK_BLOCK ? (size_t)size : CHECK_BLOCK;
		stream_block(&state, buf, len);
		check_hash_add(hs, buf, len);
		size -= (int64_t)len;
	}
}

int64_t check_drain(int fd, struct check_hash *hs)
{
	unsigned char buf[CHECK_BLOCK]; /* on the stack: threads drain too */
	int64_t total = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return total;
			return -errno;
		}
		if (n == 0)
			return total;
		check_hash_add(hs, buf, (size_t)n);
		total += n;
	}
}

int check_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int64_t check_fill_full(int fd)
{
	static const char buf[4096];
	int64_t total = 0;

	for (;;) {
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!CHECK_EQ(errno, EAGAIN))
				return -1;
			return total;
		}
		total += n;
	}
}

int check_poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, 0);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : p.revents;
}

int check_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (fcntl(fd, F_SETFL, fl) < 0)
		return -errno;
	return 0;
}

double check_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void check_close_fd(int fd)
{
	if (fd >= 0)
		CHECK_SYS(close(fd));
}

int64_t check_offset(int fd)
{
	return (int64_t)lseek(fd, 0, SEEK_CUR);
}

int check_stream_file(int64_t size, uint64_t seed)
{
	int fd = check_tmpfile();

	if (fd < 0)
		return -1;
	if (check_fill(fd, size, seed) < 0) {
		check_close_fd(fd);
		return -1;
	}
	return fd;
}

void check_file_is_stream(int fd, uint64_t seed, int64_t size)
{
	struct check_hash got, want;

	if (check_hash_file(fd, &got) < 0)
		return;
	check_hash_stream(seed, size, &want);
	CHECK_EQ(got.n, want.n);
	CHECK(got.h == want.h);
}

int check_open_pipes(int a[2], int a_nonblock, int b[2], int b_nonblock)
{
	if (!CHECK_OK(kp_pipe_open(a, a_nonblock, 0, NULL)))
		return -1;
	if (!CHECK_OK(kp_pipe_open(b, b_nonblock, 0, NULL))) {
		CHECK_EQ(kp_pipe_close(a), 0);
		return -1;
	}
	return 0;
}

void check_close_pipes(int a[2], int b[2])
{
	CHECK_EQ(kp_pipe_close(a), 0);
	CHECK_EQ(kp_pipe_close(b), 0);
}

int check_pipe_no_reader(int fds[2])
{
	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
		return -1;
	CHECK_SYS(close(fds[0]));
	fds[0] = -1;
	return 0;
}

static const char *io_errname(int e)
{
	return e == 0 ? "0" : errname(e);
}

int check_io(kp_io io, int err, int side, int64_t moved, int eof,
	     const char *expr, const char *file, int line)
{
	if (io.err == err && io.side == side && io.moved == moved &&
	    io.eof == eof)
		return 1;
	check_failf(file, line,
		    "%s: err %s, side %d, moved %" PRId64 ", eof %d; "
		    "want err %s, side %d, moved %" PRId64 ", eof %d",
		    expr, io_errname(io.err), io.side, io.moved, io.eof,
		    io_errname(err), side, moved, eof);
	return 0;
}
