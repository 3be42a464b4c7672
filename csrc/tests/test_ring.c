/* test_ring.c: the io_uring double-splice engine (ring.c), driven the way
 * the Go side drives it: one thread runs kp_ring_run in a loop, the others
 * start and cancel transfers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kpipe.h"

#define KIB 1024
#define MIB (1024 * 1024)
#define MS 1000000LL

/* 0 when this machine refuses io_uring: every case is then skipped. */
static int ring_usable = 1;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the test stream: byte o of stream seed, computable at any offset --- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void gen(uint64_t seed, int64_t off, unsigned char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		int64_t o = off + (int64_t)i;
		uint64_t word = mix64(seed * 0x9E3779B97F4A7C15ULL +
				      (uint64_t)(o >> 3));
		for (int b = (int)(o & 7); b < 8 && i < len; b++)
			buf[i++] = (unsigned char)(word >> (8 * b));
	}
}

static void gen_hash(uint64_t seed, int64_t size, struct check_hash *hs)
{
	unsigned char buf[16 * KIB];

	check_hash_init(hs);
	for (int64_t off = 0; off < size;) {
		size_t n = size - off < (int64_t)sizeof(buf)
				   ? (size_t)(size - off)
				   : sizeof(buf);
		gen(seed, off, buf, n);
		check_hash_add(hs, buf, n);
		off += (int64_t)n;
	}
}

/* Writes bytes [off, off + size) of stream seed to a blocking fd. Returns 0
 * or -errno. */
static int gen_write_at(int fd, uint64_t seed, int64_t off, int64_t size)
{
	unsigned char buf[64 * KIB];

	for (int64_t end = off + size; off < end;) {
		size_t n = end - off < (int64_t)sizeof(buf)
				   ? (size_t)(end - off)
				   : sizeof(buf);
		gen(seed, off, buf, n);
		int r = check_write_all(fd, buf, n);
		if (r < 0)
			return r;
		off += (int64_t)n;
	}
	return 0;
}

/* Writes size bytes of stream seed to a blocking fd. Returns 0 or -errno. */
static int gen_write(int fd, uint64_t seed, int64_t size)
{
	return gen_write_at(fd, seed, 0, size);
}

/* A regular file holding size bytes of stream seed, at offset 0. */
static int gen_file(uint64_t seed, int64_t size)
{
	int fd = check_tmpfile();

	if (fd < 0)
		return -1;
	if (!CHECK_OK(gen_write(fd, seed, size)) ||
	    !CHECK_SYS(lseek(fd, 0, SEEK_SET))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- process facts ------------------------------------------------------ */

/* Threads of this process, and how many of them are io-wq workers. */
static int task_count(int *iou_workers)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0, w = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[64] = { 0 };
		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, comm, sizeof(comm) - 1) > 0 &&
			    strncmp(comm, "iou-wrk", 7) == 0)
				w++;
			close(fd);
		}
	}
	closedir(d);
	if (iou_workers)
		*iou_workers = w;
	return n;
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---- the ring thread ---------------------------------------------------- */

struct runner {
	kp_ring *r;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	kp_done *done;
	size_t n, cap;
	int result; /* kp_ring_run's negative result that ended the loop */
	int exited;
};

static void *runner_main(void *arg)
{
	struct runner *run = arg;
	kp_done d[16];

	for (;;) {
		int n = kp_ring_run(run->r, d, 16);
		pthread_mutex_lock(&run->mu);
		if (n < 0) {
			run->result = n;
			run->exited = 1;
			pthread_cond_broadcast(&run->cv);
			pthread_mutex_unlock(&run->mu);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (run->n == run->cap) {
				size_t cap = run->cap ? run->cap * 2 : 64;
				kp_done *p =
					realloc(run->done, cap * sizeof(*p));
				if (p == NULL)
					abort();
				run->done = p;
				run->cap = cap;
			}
			/* The tests check leftover; the bytes are the Go
			 * side's business (TestCancelHandsBack). */
			if (d[i].leftover_fd >= 0)
				CHECK_OK(close(d[i].leftover_fd));
			d[i].leftover_fd = -1;
			run->done[run->n++] = d[i];
		}
		pthread_cond_broadcast(&run->cv);
		pthread_mutex_unlock(&run->mu);
	}
}

/* valgrind (3.19 at least) keeps its big lock while a thread waits in
 * io_uring_enter, freezing every other thread: rings then wait in ppoll. */
static int under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

/* Sizes and counts, cut down under valgrind (about 50 times slower). */
static int64_t scaled(int64_t n)
{
	return under_valgrind() ? (n + 7) / 8 : n;
}

/* Set by cases that run their ring with kp_ring_set_wait_poll(1). */
static int force_wait_poll;

/* Opens a ring; returns 0, or -1 after a failed check. */
static int runner_open(struct runner *run, unsigned entries, int pipe_size)
{
	pthread_condattr_t ca;

	memset(run, 0, sizeof(*run));
	if (!CHECK_OK(kp_ring_open(&run->r, entries, pipe_size)))
		return -1;
	if (force_wait_poll || under_valgrind())
		CHECK_OK(kp_ring_set_wait_poll(run->r, 1));
	pthread_mutex_init(&run->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&run->cv, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static int runner_go(struct runner *run)
{
	int e = pthread_create(&run->th, NULL, runner_main, run);

	if (!CHECK_EQ(e, 0))
		return -1;
	return 0;
}

static int runner_start(struct runner *run, unsigned entries, int pipe_size)
{
	if (runner_open(run, entries, pipe_size) < 0)
		return -1;
	if (runner_go(run) < 0) {
		kp_ring_close(run->r);
		return -1;
	}
	return 0;
}

static void deadline_after(struct timespec *ts, double seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	int64_t ns = ts->tv_nsec + (int64_t)(seconds * 1e9);
	ts->tv_sec += ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

static int find_locked(struct runner *run, uint64_t token, kp_done *out)
{
	for (size_t i = 0; i < run->n; i++) {
		if (run->done[i].token == token) {
			if (out)
				*out = run->done[i];
			return 1;
		}
	}
	return 0;
}

/* Waits up to seconds for token's report. Returns 1 and fills *out, or 0. */
static int runner_wait(struct runner *run, uint64_t token, double seconds,
		       kp_done *out)
{
	struct timespec dl;
	int found;

	deadline_after(&dl, seconds);
	pthread_mutex_lock(&run->mu);
	while (!(found = find_locked(run, token, out)) && !run->exited) {
		if (pthread_cond_timedwait(&run->cv, &run->mu, &dl) ==
		    ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&run->mu);
	return found;
}

/* Non-blocking: is token reported? */
static int runner_has(struct runner *run, uint64_t token, kp_done *out)
{
	pthread_mutex_lock(&run->mu);
	int found = find_locked(run, token, out);
	pthread_mutex_unlock(&run->mu);
	return found;
}

/* Closes the ring of a runner whose thread has ended (or never started). */
static void runner_free(struct runner *run)
{
	kp_ring_stats st;

	kp_ring_get_stats(run->r, &st);
	CHECK_EQ(st.live, 0);
	CHECK_EQ(st.started, st.ended);
	CHECK_EQ(st.ended, run->n);
	for (size_t i = 0; i < run->n; i++) {
		for (size_t j = i + 1; j < run->n; j++) {
			if (run->done[i].token == run->done[j].token)
				CHECK_FAIL(
					"token %llu reported twice",
					(unsigned long long)run->done[i].token);
		}
	}
	kp_ring_close(run->r);
	pthread_cond_destroy(&run->cv);
	pthread_mutex_destroy(&run->mu);
	free(run->done);
	memset(run, 0, sizeof(*run));
}

/* Shuts the ring down, joins its thread (which must see -ESHUTDOWN), checks
 * that no token was reported twice and frees everything. */
static void runner_stop(struct runner *run)
{
	CHECK_OK(kp_ring_shutdown(run->r));
	CHECK_EQ(pthread_join(run->th, NULL), 0);
	CHECK_ERR(run->result, ESHUTDOWN);
	/* After shutdown: no more starts, and run keeps saying so. */
	CHECK_ERR(kp_ring_start(run->r, 999999, 0, 1, 0), ESHUTDOWN);
	kp_done d;
	CHECK_ERR(kp_ring_run(run->r, &d, 1), ESHUTDOWN);
	CHECK_ERR(kp_ring_set_wait_poll(run->r, 1), EBUSY);
	runner_free(run);
}

/* Waits up to 10 s until the counter at offset off of the ring's stats is
 * at least want; returns its last value. */
static uint64_t stat_wait(kp_ring *r, size_t off, uint64_t want)
{
	kp_ring_stats st;
	uint64_t v = 0;

	for (int i = 0; i < 10000; i++) {
		kp_ring_get_stats(r, &st);
		memcpy(&v, (const char *)&st + off, sizeof(v));
		if (v >= want)
			break;
		sleep_ms(1);
	}
	return v;
}

#define STAT_WAIT(r, field, want)                                              \
	stat_wait((r), offsetof(kp_ring_stats, field), (want))

/* ---- endpoints ---------------------------------------------------------- */

enum ep_kind { EP_SOCK, EP_PIPE, EP_FILE };

static const char *const ep_names[] = { "socket", "pipe", "file" };

/* The ring's end (non-blocking) and the test's end (blocking; -1 for a
 * file). */
struct ep {
	int ring;
	int peer;
};

static int ep_open(struct ep *e, enum ep_kind kind, int is_src)
{
	int fds[2];

	e->ring = e->peer = -1;
	switch (kind) {
	case EP_SOCK:
		if (!CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
					  0, fds)))
			return -1;
		e->ring = fds[0];
		e->peer = fds[1];
		break;
	case EP_PIPE:
		if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
			return -1;
		e->ring = is_src ? fds[0] : fds[1];
		e->peer = is_src ? fds[1] : fds[0];
		break;
	case EP_FILE:
		e->ring = check_tmpfile();
		return e->ring < 0 ? -1 : 0;
	}
	return CHECK_OK(check_set_nonblock(e->ring, 1)) ? 0 : -1;
}

/* Opens s, a source of kind sk, and d, a destination of kind dk. Returns 0
 * or -1 after a failed check. */
static int ep_open_pair(struct ep *s, enum ep_kind sk, struct ep *d,
			enum ep_kind dk)
{
	if (ep_open(s, sk, 1) < 0 || ep_open(d, dk, 0) < 0)
		return -1;
	return 0;
}

static void ep_close(struct ep *e)
{
	check_close_fd(e->ring);
	check_close_fd(e->peer);
	e->ring = e->peer = -1;
}

/* A thread writing a stream into a blocking fd, then closing it. */
struct writer {
	pthread_t th;
	int fd;
	uint64_t seed;
	int64_t size; /* < 0: until stop is set or the reader leaves */
	int64_t written;
	int err;
	int stop; /* atomic */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned char buf[16 * KIB];

	while ((w->size < 0 || w->written < w->size) &&
	       !__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		size_t n = sizeof(buf);
		if (w->size >= 0 && w->size - w->written < (int64_t)n)
			n = (size_t)(w->size - w->written);
		gen(w->seed, w->written, buf, n);
		ssize_t k = write(w->fd, buf, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			break;
		}
		w->written += k;
	}
	close(w->fd);
	w->fd = -1;
	return NULL;
}

static int writer_go(struct writer *w, int fd, uint64_t seed, int64_t size)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->seed = seed;
	w->size = size;
	return CHECK_EQ(pthread_create(&w->th, NULL, writer_main, w), 0) ? 0
									 : -1;
}

/* A thread reading a blocking fd to its end, hashing, optionally slowly or
 * only up to a limit before closing it. */
struct reader {
	pthread_t th;
	int fd;
	struct check_hash hs;
	int64_t limit; /* >= 0: close the fd after this many bytes */
	int delay_us;  /* pause between reads */
	int err;
	int64_t progress; /* bytes read so far, for other threads (atomic) */
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	unsigned char buf[64 * KIB];

	for (;;) {
		size_t n = sizeof(buf);
		if (rd->limit >= 0) {
			if (rd->hs.n >= rd->limit)
				break;
			if (rd->limit - rd->hs.n < (int64_t)n)
				n = (size_t)(rd->limit - rd->hs.n);
		}
		ssize_t k = read(rd->fd, buf, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rd->err = errno;
			break;
		}
		if (k == 0)
			break;
		check_hash_add(&rd->hs, buf, (size_t)k);
		__atomic_store_n(&rd->progress, rd->hs.n, __ATOMIC_RELAXED);
		if (rd->delay_us > 0)
			usleep((useconds_t)rd->delay_us);
	}
	if (rd->limit >= 0) {
		close(rd->fd);
		rd->fd = -1;
	}
	return NULL;
}

static int reader_go(struct reader *rd, int fd, int64_t limit, int delay_us)
{
	memset(rd, 0, sizeof(*rd));
	check_hash_init(&rd->hs);
	rd->fd = fd;
	rd->limit = limit;
	rd->delay_us = delay_us;
	return CHECK_EQ(pthread_create(&rd->th, NULL, reader_main, rd), 0) ? 0
									   : -1;
}

/* ---- one transfer from end to end ---------------------------------------- */

static uint64_t next_token = 1;

/* src kind -> dst kind, size bytes, checked byte for byte. */
static void transfer(struct runner *run, enum ep_kind sk, enum ep_kind dk,
		     int64_t size, int reader_delay_us)
{
	struct ep s = { -1, -1 }, d = { -1, -1 };
	struct writer w;
	struct reader rd;
	int have_w = 0, have_rd = 0;
	uint64_t seed = (uint64_t)size * 31 + sk * 7 + dk;
	uint64_t token = next_token++;
	kp_done done = { .moved = -1, .err = -1, .leftover_fd = -1 };
	struct check_hash want, got;

	if (ep_open_pair(&s, sk, &d, dk) < 0)
		goto out;
	if (sk == EP_FILE) {
		if (!CHECK_OK(gen_write(s.ring, seed, size)) ||
		    !CHECK_SYS(lseek(s.ring, 0, SEEK_SET)))
			goto out;
	} else {
		if (writer_go(&w, s.peer, seed, size) < 0)
			goto out;
		s.peer = -1; /* the writer closes it */
		have_w = 1;
	}
	if (dk != EP_FILE) {
		if (reader_go(&rd, d.peer, -1, reader_delay_us) < 0)
			goto out;
		have_rd = 1;
	}
	if (!CHECK_OK(kp_ring_start(run->r, token, s.ring, d.ring, 0)))
		goto out;
	if (!CHECK(runner_wait(run, token, 60, &done))) {
		check_note("%s -> %s, %lld bytes: no report", ep_names[sk],
			   ep_names[dk], (long long)size);
		kp_ring_cancel(run->r, token);
		runner_wait(run, token, 10, &done);
		goto out;
	}
	if (!CHECK_EQ(done.err, 0) || !CHECK_EQ(done.moved, size))
		check_note("%s -> %s, %lld bytes: err %d (%s), moved %lld",
			   ep_names[sk], ep_names[dk], (long long)size,
			   done.err, strerror(done.err), (long long)done.moved);
	gen_hash(seed, size, &want);
	if (dk == EP_FILE) {
		if (check_hash_file(d.ring, &got) == 0) {
			CHECK_EQ(got.n, size);
			CHECK(got.h == want.h);
		}
		CHECK_EQ(lseek(d.ring, 0, SEEK_CUR), size);
	}
	if (sk == EP_FILE)
		CHECK_EQ(lseek(s.ring, 0, SEEK_CUR), size);
out:
	/* The reader sees the end once the ring's end of dst is closed. */
	check_close_fd(d.ring);
	d.ring = -1;
	if (have_rd) {
		pthread_join(rd.th, NULL);
		CHECK_EQ(rd.err, 0);
		if (done.err == 0) {
			CHECK_EQ(rd.hs.n, size);
			CHECK(rd.hs.h == want.h);
		}
	}
	check_close_fd(s.ring);
	s.ring = -1;
	if (have_w) {
		pthread_join(w.th, NULL);
		CHECK_EQ(w.err, 0);
	}
	ep_close(&s);
	ep_close(&d);
}

#define RING_OR_SKIP()                                                         \
	do {                                                                   \
		if (!ring_usable) {                                            \
			check_note("io_uring unavailable: skipped");           \
			return;                                                \
		}                                                              \
	} while (0)

/* ---- cases --------------------------------------------------------------- */

static void test_ring_open_close(void)
{
	kp_ring *r = NULL;
	int p[2] = { -1, -1 };

	RING_OR_SKIP();
	/* Never ran. */
	if (!CHECK_OK(kp_ring_open(&r, 0, 0)))
		return;
	kp_ring_close(r);
	/* Odd sizes are kept in range. */
	if (CHECK_OK(kp_ring_open(&r, 1, -5)))
		kp_ring_close(r);
	if (CHECK_OK(kp_ring_open(&r, 100000, KP_PIPE_SIZE_DEFAULT)))
		kp_ring_close(r);
	CHECK_ERR(kp_ring_open(NULL, 8, 0), EINVAL);
	/* Queued, never run: the requests are freed, nothing is reported. */
	if (!CHECK_OK(kp_pipe_open(p, 1, 0, NULL)))
		return;
	if (CHECK_OK(kp_ring_open(&r, 8, 0))) {
		CHECK_OK(kp_ring_start(r, 1, p[0], p[1], 0));
		CHECK_OK(kp_ring_start(r, 2, p[0], p[1], MS));
		CHECK_OK(kp_ring_cancel(r, 1));
		CHECK_OK(kp_ring_set_wait_poll(r, 1));
		CHECK_OK(kp_ring_set_wait_poll(r, 0));
		CHECK_ERR(kp_ring_start(r, 3, -1, p[1], 0), EBADF);
		CHECK_ERR(kp_ring_start(r, 3, p[0], -1, 0), EBADF);
		CHECK_OK(kp_ring_shutdown(r));
		CHECK_OK(kp_ring_shutdown(r));
		CHECK_ERR(kp_ring_start(r, 4, p[0], p[1], 0), ESHUTDOWN);
		CHECK_OK(kp_ring_cancel(r, 4));
		kp_ring_close(r);
	}
	kp_ring_close(NULL);
	kp_pipe_close(p);
}

static void test_ring_sizes(void)
{
	const int64_t sizes[] = { 0, 1, 64 * KIB, scaled(8 * MIB) };
	struct runner run;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	double t0 = check_now();
	for (int sk = EP_SOCK; sk <= EP_FILE; sk++) {
		for (int dk = EP_SOCK; dk <= EP_FILE; dk++) {
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]);
			     i++)
				transfer(&run, sk, dk, sizes[i], 0);
		}
	}
	kp_ring_stats st;
	kp_ring_get_stats(run.r, &st);
	check_note("%.3f s; %llu splices, %llu polls, %llu EAGAIN, %llu pipes "
		   "opened, %llu reused",
		   check_now() - t0, (unsigned long long)st.splices,
		   (unsigned long long)st.polls, (unsigned long long)st.eagain,
		   (unsigned long long)st.pipes_opened,
		   (unsigned long long)st.pipes_reused);
	/* One transfer at a time: the pool serves all but the first, and
	 * has the pipe back at the end. */
	CHECK_EQ(st.pipes_opened, 1);
	CHECK_EQ(st.pipes_pooled, 1);
	/* The 8 MiB transfers grew it to 1 MiB. */
	CHECK_GE(st.pipes_grown, 1);
	CHECK_EQ(st.grow_refused, 0);
	runner_stop(&run);
}

/* A file to a socket whose reader is slow: the dst side keeps finding the
 * socket full (POLLOUT waits) with the file's bytes in the pipe. */
static void test_ring_file_to_slow_socket(void)
{
	struct runner run;

	RING_OR_SKIP();
	if (runner_start(&run, 0, KP_PIPE_SIZE_DEFAULT) < 0)
		return;
	transfer(&run, EP_FILE, EP_SOCK, scaled(4 * MIB) + 7, 200);
	transfer(&run, EP_SOCK, EP_PIPE, scaled(2 * MIB) + 3, 100);
	runner_stop(&run);
}

/* Many transfers at once on run's ring, with one thread feeding and
 * draining all of them with poll(2). */
static void many(struct runner *run, int n, int64_t max_size, const char *what)
{
	struct slot {
		struct ep s, d;
		int64_t size, written;
		struct check_hash got;
		int dst_kind;
		int reported, eof;
	} *sl = calloc((size_t)n, sizeof(*sl));
	struct pollfd *pf = calloc((size_t)(2 * n), sizeof(*pf));
	int *idx = calloc((size_t)(2 * n), sizeof(*idx));
	unsigned char buf[16 * KIB];
	uint64_t base = next_token;
	int running = 0, started = 0, max_iou = 0;

	next_token += (uint64_t)n;
	if (!CHECK(sl && pf && idx))
		goto free;
	int max_tasks = task_count(&max_iou);
	for (int i = 0; i < n; i++)
		sl[i].s.ring = sl[i].s.peer = sl[i].d.ring = sl[i].d.peer = -1;
	for (int i = 0; i < n; i++) {
		sl[i].size = i % 17 == 0 ? 0
					 : (int64_t)(mix64((uint64_t)i) %
						     (uint64_t)max_size);
		sl[i].dst_kind = i % 3 == 0 ? EP_PIPE : EP_SOCK;
		check_hash_init(&sl[i].got);
		if (ep_open(&sl[i].s, EP_SOCK, 1) < 0 ||
		    ep_open(&sl[i].d, sl[i].dst_kind, 0) < 0 ||
		    !CHECK_OK(check_set_nonblock(sl[i].s.peer, 1)) ||
		    !CHECK_OK(check_set_nonblock(sl[i].d.peer, 1)))
			goto out;
		if (!CHECK_OK(kp_ring_start(run->r, base + (uint64_t)i,
					    sl[i].s.ring, sl[i].d.ring, 0)))
			goto out;
		started++;
	}
	running = n;
	double t0 = check_now();
	while (running > 0 && check_now() - t0 < 60) {
		int np = 0;
		for (int i = 0; i < n; i++) {
			if (sl[i].s.peer >= 0) {
				pf[np] = (struct pollfd){ sl[i].s.peer, POLLOUT,
							  0 };
				idx[np++] = i;
			}
			if (!sl[i].eof) {
				pf[np] = (struct pollfd){ sl[i].d.peer, POLLIN,
							  0 };
				idx[np++] = i;
			}
		}
		if (!CHECK_SYS(poll(pf, (nfds_t)np, 10)))
			break;
		for (int k = 0; k < np; k++) {
			struct slot *s = &sl[idx[k]];
			if (pf[k].revents == 0)
				continue;
			if (pf[k].fd == s->s.peer) {
				size_t len = sizeof(buf);
				if (s->size - s->written < (int64_t)len)
					len = (size_t)(s->size - s->written);
				gen((uint64_t)idx[k], s->written, buf, len);
				ssize_t w = len ? write(s->s.peer, buf, len)
						: 0;
				if (w > 0)
					s->written += w;
				else if (w < 0 && !CHECK_EQ(errno, EAGAIN))
					goto out;
				if (s->written == s->size) {
					check_close_fd(s->s.peer);
					s->s.peer = -1;
				}
			} else {
				int64_t r = check_drain(s->d.peer, &s->got);
				if (!CHECK_GE(r, 0))
					goto out;
				/* Once the ring's end is closed a read never
				 * says EAGAIN: nothing read is the end. */
				if (r == 0 && s->d.ring < 0) {
					s->eof = 1;
					running--;
				}
			}
		}
		for (int i = 0; i < n; i++) {
			kp_done d;
			if (sl[i].reported ||
			    !runner_has(run, base + (uint64_t)i, &d))
				continue;
			sl[i].reported = 1;
			if (!CHECK_EQ(d.err, 0) ||
			    !CHECK_EQ(d.moved, sl[i].size))
				check_note("transfer %d: err %d, moved %lld of "
					   "%lld",
					   i, d.err, (long long)d.moved,
					   (long long)sl[i].size);
			/* The reader's end sees EOF once the ring's end is closed. */
			check_close_fd(sl[i].d.ring);
			sl[i].d.ring = -1;
		}
		int iou, tasks = task_count(&iou);
		if (tasks > max_tasks)
			max_tasks = tasks;
		if (iou > max_iou)
			max_iou = iou;
	}
	CHECK_EQ(running, 0);
	for (int i = 0; i < n; i++) {
		struct check_hash want;
		gen_hash((uint64_t)i, sl[i].size, &want);
		if (!CHECK_EQ(sl[i].got.n, sl[i].size) ||
		    !CHECK(sl[i].got.h == want.h))
			check_note("transfer %d (%s dst)", i,
				   ep_names[sl[i].dst_kind]);
	}
	kp_ring_stats st;
	kp_ring_get_stats(run->r, &st);
	/* The ring thread runs the splices: no kernel worker thread. */
	CHECK_GT(st.splices, 0);
	CHECK_EQ(max_iou, 0);
	check_note(
		"%s: %d transfers in %.3f s, at most %d threads (%d iou-wrk); "
		"ring totals: %llu splices, %llu EAGAIN, %llu pipes opened",
		what, n, check_now() - t0, max_tasks, max_iou,
		(unsigned long long)st.splices, (unsigned long long)st.eagain,
		(unsigned long long)st.pipes_opened);
out:
	for (int i = 0; i < started; i++) {
		if (!sl[i].reported)
			kp_ring_cancel(run->r, base + (uint64_t)i);
	}
	for (int i = 0; i < n; i++) {
		if (i < started && !sl[i].reported)
			CHECK(runner_wait(run, base + (uint64_t)i, 10, NULL));
		ep_close(&sl[i].s);
		ep_close(&sl[i].d);
	}
free:
	free(sl);
	free(pf);
	free(idx);
}

static void test_ring_many(void)
{
	struct runner run;

	RING_OR_SKIP();
	raise_nofile(8192);
	/* A small SQ: the SQ-full path. */
	if (runner_start(&run, 8, 0) == 0) {
		many(&run, (int)scaled(200), scaled(256 * KIB),
		     "SQ 8, default pipes");
		runner_stop(&run);
	}
	/* One-page pipes to begin with (grown once a transfer has moved a
	 * page): many short splices; the ring waits in ppoll. */
	force_wait_poll = 1;
	if (runner_start(&run, 256, 4096) == 0) {
		many(&run, 50, 64 * KIB, "SQ 256, 4 KiB pipes, ppoll waits");
		runner_stop(&run);
	}
	force_wait_poll = 0;
	/* 1 MiB pipes. */
	if (runner_start(&run, 256, KP_PIPE_SIZE_DEFAULT) == 0) {
		many(&run, 50, scaled(MIB), "SQ 256, 1 MiB pipes");
		runner_stop(&run);
	}
}

/* A transfer waiting for input is cancelled promptly, reports ECANCELED and
 * nothing moved, and leaves both fds as they were. */
static void test_ring_cancel_idle(void)
{
	struct runner run;
	struct ep s = { -1, -1 }, d = { -1, -1 };
	kp_done done;
	char c = 0;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	if (ep_open_pair(&s, EP_SOCK, &d, EP_PIPE) < 0)
		goto out;
	uint64_t token = next_token++;
	if (!CHECK_OK(kp_ring_start(run.r, token, s.ring, d.ring, 0)))
		goto out;
	sleep_ms(20);
	CHECK(!runner_has(&run, token, NULL));
	/* Idle: its pipe is back in the pool, src is polled. */
	kp_ring_stats st;
	STAT_WAIT(run.r, polls, 1);
	kp_ring_get_stats(run.r, &st);
	CHECK_EQ(st.pipes_opened, 1);
	CHECK_EQ(st.pipes_pooled, 1);
	CHECK_EQ(st.live, 1);
	double t0 = check_now();
	CHECK_OK(kp_ring_cancel(run.r, token));
	if (CHECK(runner_wait(&run, token, 5, &done))) {
		CHECK_EQ(done.err, ECANCELED);
		CHECK_EQ(done.moved, 0);
		double took = check_now() - t0;
		/* Generous: the machine may be busy; without the cancel it
		 * would never end. */
		CHECK(took < 2.0);
		check_note("reported %.1f ms after the cancel", took * 1e3);
	}
	/* A second cancel, and one for a token never seen: ignored. */
	CHECK_OK(kp_ring_cancel(run.r, token));
	CHECK_OK(kp_ring_cancel(run.r, 0xdeadbeef));
	/* Nothing of ours is left reading src or writing dst. */
	CHECK_EQ(write(s.peer, "x", 1), 1);
	sleep_ms(10);
	CHECK_EQ(read(s.ring, &c, 1), 1);
	CHECK_EQ(c, 'x');
	CHECK_EQ(write(d.ring, "y", 1), 1);
	CHECK_EQ(read(d.peer, &c, 1), 1);
	CHECK_EQ(c, 'y');
	kp_ring_get_stats(run.r, &st);
	/* One splice found nothing, one poll waited and was cancelled. */
	CHECK_EQ(st.splices, 1);
	CHECK_EQ(st.eagain, 1);
	CHECK_EQ(st.polls, 1);
	CHECK_EQ(st.cancels, 1);
	CHECK_EQ(st.pipes_pooled, 1);
out:
	ep_close(&s);
	ep_close(&d);
	runner_stop(&run);
}

/* Cancelled in full flow: ECANCELED, and moved is exactly what reached the
 * reader, a correct prefix of the stream. */
static void test_ring_cancel_busy(void)
{
	struct runner run;
	struct ep s = { -1, -1 }, d = { -1, -1 };
	struct writer w;
	struct reader rd;
	int have_w = 0, have_rd = 0;
	kp_done done = { .moved = -1, .err = -1, .leftover_fd = -1 };
	uint64_t seed = 77;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	if (ep_open_pair(&s, EP_SOCK, &d, EP_SOCK) < 0)
		goto out;
	if (writer_go(&w, s.peer, seed, -1) < 0)
		goto out;
	s.peer = -1;
	have_w = 1;
	if (reader_go(&rd, d.peer, -1, 0) < 0)
		goto out;
	have_rd = 1;
	uint64_t token = next_token++;
	if (!CHECK_OK(kp_ring_start(run.r, token, s.ring, d.ring, 0)))
		goto out;
	/* In full flow: bytes have reached the reader. */
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(&rd.progress, __ATOMIC_RELAXED) > 0)
			break;
		sleep_ms(1);
	}
	sleep_ms(50);
	CHECK_OK(kp_ring_cancel(run.r, token));
	if (CHECK(runner_wait(&run, token, 5, &done))) {
		CHECK_EQ(done.err, ECANCELED);
		CHECK_GT(done.moved, 0);
	}
out:
	check_close_fd(d.ring);
	d.ring = -1;
	if (have_rd) {
		pthread_join(rd.th, NULL);
		struct check_hash want;
		gen_hash(seed, rd.hs.n, &want);
		CHECK_EQ(rd.hs.n, done.moved);
		CHECK(rd.hs.h == want.h);
		check_note("moved %.1f MiB before the cancel",
			   (double)done.moved / MIB);
	}
	if (have_w) {
		__atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
		/* A writer blocked on a full socket: its peer's close wakes it. */
		check_close_fd(s.ring);
		s.ring = -1;
		pthread_join(w.th, NULL);
	}
	ep_close(&s);
	ep_close(&d);
	/* Whatever the cancelled transfer left in its pipe does not reach
	 * the next transfer. */
	transfer(&run, EP_FILE, EP_SOCK, 3 * MIB, 0);
	runner_stop(&run);
}

static void idle_timeout(void)
{
	struct runner run;
	struct ep s = { -1, -1 }, d = { -1, -1 };
	struct ep s2 = { -1, -1 }, d2 = { -1, -1 };
	kp_done done;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	if (ep_open_pair(&s, EP_SOCK, &d, EP_SOCK) < 0 ||
	    ep_open_pair(&s2, EP_PIPE, &d2, EP_FILE) < 0)
		goto out;
	uint64_t idle = next_token++, trickle = next_token++;
	uint64_t never = next_token++;
	double t0 = check_now();
	/* Nothing ever comes: ETIMEDOUT after 100 ms. */
	if (!CHECK_OK(kp_ring_start(run.r, idle, s.ring, d.ring, 100 * MS)))
		goto out;
	/* A byte every 20 ms with a 2 s limit: never idle for long. */
	if (!CHECK_OK(
		    kp_ring_start(run.r, trickle, s2.ring, d2.ring, 2000 * MS)))
		goto out;
	/* An hour: does not fire here, ends by cancel. */
	if (!CHECK_OK(
		    kp_ring_start(run.r, never, s.ring, d2.ring, 3600000 * MS)))
		goto out;
	double last = check_now(), max_gap = 0;
	for (int i = 0; i < 20; i++) {
		sleep_ms(20);
		/* Too early for the 100 ms limit (if this thread was not held
		 * up for long). */
		if (i == 0 && check_now() - t0 < 0.08)
			CHECK(!runner_has(&run, idle, NULL));
		CHECK_EQ(write(s2.peer, "t", 1), 1);
		double now = check_now();
		if (now - last > max_gap)
			max_gap = now - last;
		last = now;
	}
	if (CHECK(runner_wait(&run, idle, 5, &done))) {
		CHECK_EQ(done.err, ETIMEDOUT);
		CHECK_EQ(done.moved, 0);
	}
	check_close_fd(s2.peer);
	s2.peer = -1;
	if (CHECK(runner_wait(&run, trickle, 5, &done))) {
		/* A machine so loaded that this thread stalled near the limit
		 * proves nothing either way. */
		if (max_gap < 1.0) {
			CHECK_EQ(done.err, 0);
			CHECK_EQ(done.moved, 20);
		} else {
			check_note("writes up to %.0f ms apart: trickle not "
				   "judged",
				   max_gap * 1e3);
		}
	}
	CHECK(!runner_has(&run, never, NULL));
	CHECK_OK(kp_ring_cancel(run.r, never));
	if (CHECK(runner_wait(&run, never, 5, &done)))
		CHECK_EQ(done.err, ECANCELED);
	kp_ring_stats st;
	kp_ring_get_stats(run.r, &st);
	CHECK_GE(st.timeouts, 1);
	check_note("trickle: writes at most %.0f ms apart", max_gap * 1e3);
out:
	ep_close(&s);
	ep_close(&d);
	ep_close(&s2);
	ep_close(&d2);
	runner_stop(&run);
}

static void test_ring_idle_timeout(void)
{
	idle_timeout();
	force_wait_poll = 1;
	idle_timeout();
	force_wait_poll = 0;
}

/* The reader of dst goes away mid-transfer: EPIPE or ECONNRESET, the
 * process stays, moved covers at least what was read. */
static void peer_gone(struct runner *run, enum ep_kind dk)
{
	struct ep s = { -1, -1 }, d = { -1, -1 };
	struct reader rd;
	int have_rd = 0;
	kp_done done;
	const int64_t size = 8 * MIB, limit = 100 * KIB;

	if (ep_open(&d, dk, 0) < 0)
		goto out;
	s.ring = gen_file(5, size);
	if (s.ring < 0)
		goto out;
	if (reader_go(&rd, d.peer, limit, 0) < 0)
		goto out;
	d.peer = -1; /* the reader closes it */
	have_rd = 1;
	uint64_t token = next_token++;
	if (!CHECK_OK(kp_ring_start(run->r, token, s.ring, d.ring, 0)))
		goto out;
	if (CHECK(runner_wait(run, token, 10, &done))) {
		if (!CHECK(done.err == EPIPE || done.err == ECONNRESET))
			check_note("%s: err %d (%s)", ep_names[dk], done.err,
				   strerror(done.err));
		CHECK_GE(done.moved, limit);
		CHECK_LT(done.moved, size);
	}
out:
	if (have_rd) {
		pthread_join(rd.th, NULL);
		CHECK_EQ(rd.hs.n, limit);
	}
	ep_close(&s);
	ep_close(&d);
}

static void test_ring_peer_closes_dst(void)
{
	struct runner run;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	peer_gone(&run, EP_SOCK);
	peer_gone(&run, EP_PIPE);
	runner_stop(&run);
}

/* The same with SIGPIPE neither blocked nor ignored anywhere, in a child:
 * the ring's thread, which runs the splices, blocks it (kp_ring_run), so
 * the transfer reports EPIPE and the process lives. */
static void test_ring_epipe_no_signal(void)
{
	RING_OR_SKIP();
	for (int dk = EP_SOCK; dk <= EP_PIPE; dk++) {
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (!CHECK_SYS(pid))
			return;
		if (pid == 0) {
			sigset_t set;
			kp_ring *r;
			kp_done done = { .leftover_fd = -1 };
			int fds[2], src = check_tmpfile();
			sigemptyset(&set);
			sigaddset(&set, SIGPIPE);
			pthread_sigmask(SIG_UNBLOCK, &set, NULL);
			signal(SIGPIPE, SIG_DFL);
			if (src < 0 || gen_write(src, 1, MIB) < 0 ||
			    lseek(src, 0, SEEK_SET) < 0)
				_exit(3);
			if (dk == EP_SOCK) {
				if (socketpair(AF_UNIX,
					       SOCK_STREAM | SOCK_NONBLOCK, 0,
					       fds) < 0)
					_exit(3);
			} else if (pipe2(fds, O_NONBLOCK) < 0) {
				_exit(3);
			} else {
				int t = fds[0];
				fds[0] = fds[1];
				fds[1] = t;
			}
			close(fds[1]); /* the reader */
			if (kp_ring_open(&r, 8, 0) < 0 ||
			    kp_ring_start(r, 1, src, fds[0], 0) < 0)
				_exit(3);
			/* This thread is the ring thread. */
			if (kp_ring_run(r, &done, 1) != 1)
				_exit(4);
			kp_ring_shutdown(r);
			if (kp_ring_run(r, &done, 1) != -ESHUTDOWN)
				_exit(5);
			kp_ring_close(r);
			_exit(done.err == EPIPE ? 0 : 6);
		}
		int status = 0;
		CHECK_SYS(waitpid(pid, &status, 0));
		if (WIFSIGNALED(status))
			check_note("%s: child killed by signal %d",
				   ep_names[dk], WTERMSIG(status));
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 0);
	}
}

/* Opens the sockets s and d, fills d (nobody reads it), puts 1000 bytes in s
 * and starts a transfer from s to d, which splices them into its pipe, then
 * polls dst and watches src. Returns the transfer's token once both polls
 * are in, or 0 after a failed check. */
static uint64_t start_into_full(struct runner *run, struct ep *s, struct ep *d)
{
	static const char data[1000];
	kp_ring_stats st;

	if (ep_open_pair(s, EP_SOCK, d, EP_SOCK) < 0)
		return 0;
	int64_t filled = check_fill_full(d->ring);
	if (!CHECK_GT(filled, 0) ||
	    !CHECK_EQ(write(s->peer, data, sizeof(data)), sizeof(data)))
		return 0;
	check_note("dst held %lld bytes", (long long)filled);
	kp_ring_get_stats(run->r, &st);
	uint64_t token = next_token++;
	if (!CHECK_OK(kp_ring_start(run->r, token, s->ring, d->ring, 0)))
		return 0;
	CHECK_GE(STAT_WAIT(run->r, polls, st.polls + 2), st.polls + 2);
	return token;
}

/* An error on one side ends the transfer at once, cancelling its polls: dst
 * gone while src idles, src reset while dst waits. */
static void test_ring_error_cancels_other_side(void)
{
	struct runner run;
	struct ep s = { -1, -1 }, d = { -1, -1 };
	kp_done done;
	kp_ring_stats st;
	char buf[4096];

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	/* 1. Some data, then src stays open and quiet; dst's reader is gone:
	 * EPIPE from the first splice to dst, nothing left in flight. */
	if (ep_open_pair(&s, EP_SOCK, &d, EP_SOCK) < 0)
		goto out;
	check_close_fd(d.peer);
	d.peer = -1;
	memset(buf, 'e', sizeof(buf));
	CHECK_EQ(write(s.peer, buf, 1000), 1000);
	uint64_t token = next_token++;
	if (!CHECK_OK(kp_ring_start(run.r, token, s.ring, d.ring, 0)))
		goto out;
	if (CHECK(runner_wait(&run, token, 5, &done))) {
		CHECK(done.err == EPIPE || done.err == ECONNRESET);
		CHECK_EQ(done.moved, 0);
	}
	ep_close(&s);
	ep_close(&d);

	/* 2. dst full (filled before the start, nobody reads) with a little
	 * data in the pipe, dst polled, src watched for errors; then src
	 * fails with ECONNRESET (its peer leaves with data unread): the watch
	 * says so and the dst poll must be cancelled. */
	if ((token = start_into_full(&run, &s, &d)) == 0)
		goto out;
	sleep_ms(20);
	CHECK(!runner_has(&run, token, NULL));
	kp_ring_get_stats(run.r, &st);
	CHECK_EQ(st.live, 1);
	/* The pipe holds the 1000 bytes: it stays with the transfer. */
	CHECK_EQ(st.pipes_pooled, 0);
	/* Data the peer never reads: its close resets the connection. */
	CHECK_EQ(write(s.ring, "unread", 6), 6);
	check_close_fd(s.peer);
	s.peer = -1;
	if (CHECK(runner_wait(&run, token, 5, &done))) {
		if (!CHECK_EQ(done.err, ECONNRESET))
			check_note("err %d (%s)", done.err, strerror(done.err));
		CHECK_EQ(done.moved, 0);
	}
out:
	ep_close(&s);
	ep_close(&d);
	runner_stop(&run);
}

static void test_ring_bad_fds(void)
{
	struct runner run;
	int p[2] = { -1, -1 }, dir = -1, file = -1;
	kp_done done;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	if (!CHECK_OK(kp_pipe_open(p, 1, 0, NULL)))
		goto out;
	/* Not open: EBADF. */
	uint64_t t1 = next_token++;
	if (CHECK_OK(kp_ring_start(run.r, t1, 1000000, p[1], 0)) &&
	    CHECK(runner_wait(&run, t1, 5, &done)))
		CHECK_EQ(done.err, EBADF);
	uint64_t t2 = next_token++;
	CHECK_EQ(write(p[1], "abc", 3), 3);
	if (CHECK_OK(kp_ring_start(run.r, t2, p[0], 1000000, 0)) &&
	    CHECK(runner_wait(&run, t2, 5, &done))) {
		CHECK_EQ(done.err, EBADF);
		CHECK_EQ(done.moved, 0);
	}
	/* A directory cannot be spliced: EINVAL from the splice (after a
	 * poll that says it is ready). */
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	file = check_tmpfile();
	uint64_t t3 = next_token++;
	if (CHECK_SYS(dir) && file >= 0 &&
	    CHECK_OK(kp_ring_start(run.r, t3, dir, file, 0)) &&
	    CHECK(runner_wait(&run, t3, 5, &done)))
		CHECK_EQ(done.err, EINVAL);
	/* An empty file: end of input before any dst op. */
	uint64_t t4 = next_token++;
	if (file >= 0 && CHECK_OK(kp_ring_start(run.r, t4, file, p[1], 0)) &&
	    CHECK(runner_wait(&run, t4, 5, &done))) {
		CHECK_EQ(done.err, 0);
		CHECK_EQ(done.moved, 0);
	}
	/* Open in the wrong direction: refused at once (a pipe's read end
	 * would never poll writable). */
	uint64_t t5 = next_token++;
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (CHECK_SYS(ro) && file >= 0 &&
	    CHECK_OK(kp_ring_start(run.r, t5, file, ro, 0)) &&
	    CHECK(runner_wait(&run, t5, 5, &done))) {
		CHECK_EQ(done.err, EBADF);
		CHECK_EQ(done.moved, 0);
	}
	check_close_fd(ro);
	uint64_t t6 = next_token++;
	CHECK_EQ(write(p[1], "abc", 3), 3);
	if (CHECK_OK(kp_ring_start(run.r, t6, p[0], p[0], 0)) &&
	    CHECK(runner_wait(&run, t6, 5, &done)))
		CHECK_EQ(done.err, EBADF);
	uint64_t t7 = next_token++;
	if (CHECK_OK(kp_ring_start(run.r, t7, p[1], p[1], 0)) &&
	    CHECK(runner_wait(&run, t7, 5, &done)))
		CHECK_EQ(done.err, EBADF);
	/* A socket in blocking mode: EINVAL, whichever side. */
	int sv[2] = { -1, -1 };
	if (CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))) {
		uint64_t t8 = next_token++, t9 = next_token++;
		if (CHECK_OK(kp_ring_start(run.r, t8, sv[0], p[1], 0)) &&
		    CHECK(runner_wait(&run, t8, 5, &done)))
			CHECK_EQ(done.err, EINVAL);
		if (CHECK_OK(kp_ring_start(run.r, t9, p[0], sv[0], 0)) &&
		    CHECK(runner_wait(&run, t9, 5, &done)))
			CHECK_EQ(done.err, EINVAL);
		check_close_fd(sv[0]);
		check_close_fd(sv[1]);
	}
	/* A character device in blocking mode (a terminal's splice would
	 * wait): EINVAL before anything moves. */
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	uint64_t t10 = next_token++;
	if (CHECK_SYS(zero) &&
	    CHECK_OK(kp_ring_start(run.r, t10, zero, p[1], 0)) &&
	    CHECK(runner_wait(&run, t10, 5, &done))) {
		CHECK_EQ(done.err, EINVAL);
		CHECK_EQ(done.moved, 0);
	}
	check_close_fd(zero);
	/* A pipe in blocking mode is fine: SPLICE_F_NONBLOCK. */
	int bp[2] = { -1, -1 };
	uint64_t t11 = next_token++;
	if (file >= 0 && CHECK_OK(kp_pipe_open(bp, 0, 0, NULL)) &&
	    CHECK_EQ(write(bp[1], "xyz", 3), 3) &&
	    CHECK_OK(kp_ring_start(run.r, t11, bp[0], file, 0))) {
		sleep_ms(10);
		check_close_fd(bp[1]);
		bp[1] = -1;
		if (CHECK(runner_wait(&run, t11, 5, &done))) {
			CHECK_EQ(done.err, 0);
			CHECK_EQ(done.moved, 3);
		}
	}
	kp_pipe_close(bp);
	/* The pipe's data was left alone. */
	char buf[8];
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 6);
out:
	check_close_fd(dir);
	check_close_fd(file);
	kp_pipe_close(p);
	runner_stop(&run);
}

/* Requests made before the ring thread first runs are taken by it. */
static void test_ring_queued_before_run(void)
{
	struct runner run;
	int src = -1, dst = -1;
	kp_done done;

	RING_OR_SKIP();
	if (runner_open(&run, 0, 0) < 0)
		return;
	src = gen_file(9, MIB + 1);
	dst = check_tmpfile();
	uint64_t token = next_token++;
	if (src >= 0 && dst >= 0)
		CHECK_OK(kp_ring_start(run.r, token, src, dst, 0));
	if (runner_go(&run) < 0) {
		kp_ring_close(run.r);
		goto out;
	}
	if (src >= 0 && dst >= 0 && CHECK(runner_wait(&run, token, 5, &done))) {
		CHECK_EQ(done.err, 0);
		CHECK_EQ(done.moved, MIB + 1);
	}
	runner_stop(&run);
out:
	check_close_fd(src);
	check_close_fd(dst);
}

/* Shutdown with transfers idle, busy and just queued: every one is reported
 * once, then -ESHUTDOWN. */
static void test_ring_shutdown(void)
{
	enum { N = 50 };
	struct runner run;
	struct ep s[N], d = { -1, -1 };
	int file = -1, n = 0;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	if (ep_open(&d, EP_SOCK, 0) < 0)
		goto out;
	file = gen_file(3, 16 * MIB);
	uint64_t base = next_token;
	next_token += N + 1;
	/* One transfer stuck on a full dst, once it has moved something. */
	if (file < 0 ||
	    !CHECK_OK(kp_ring_start(run.r, base + N, file, d.ring, 0)))
		goto out;
	struct pollfd pf = { d.peer, POLLIN, 0 };
	CHECK_EQ(poll(&pf, 1, 5000), 1);
	for (; n < N; n++) {
		if (ep_open(&s[n], EP_SOCK, 1) < 0)
			goto out;
		if (!CHECK_OK(kp_ring_start(run.r, base + (uint64_t)n,
					    s[n].ring, d.ring, 0))) {
			ep_close(&s[n]);
			goto out;
		}
		if (n == N / 2)
			sleep_ms(20);
	}
	/* The last ones are likely still queued when the shutdown comes. */
	double t0 = check_now();
	CHECK_OK(kp_ring_shutdown(run.r));
	CHECK_EQ(pthread_join(run.th, NULL), 0);
	CHECK(check_now() - t0 < 5.0);
	CHECK_ERR(run.result, ESHUTDOWN);
	CHECK_EQ(run.n, N + 1);
	for (size_t i = 0; i < run.n; i++) {
		CHECK_EQ(run.done[i].err, ECANCELED);
		if (run.done[i].token == base + N)
			CHECK_GT(run.done[i].moved, 0);
		else
			CHECK_EQ(run.done[i].moved, 0);
	}
	CHECK_ERR(kp_ring_start(run.r, base, file, d.ring, 0), ESHUTDOWN);
	runner_free(&run);
	goto close;
out:
	runner_stop(&run);
close:
	for (int i = 0; i < n; i++)
		ep_close(&s[i]);
	ep_close(&d);
	check_close_fd(file);
}

/* 400 transfers waiting for input hold no io-wq workers and no pipe. */
static void test_ring_idle_threads(void)
{
	enum { N = 400 };
	struct runner run;
	struct ep s[N];
	int p[2] = { -1, -1 }, n = 0;

	RING_OR_SKIP();
	raise_nofile(8192);
	if (runner_start(&run, 0, 0) < 0)
		return;
	if (!CHECK_OK(kp_pipe_open(p, 1, 0, NULL)))
		goto out;
	sleep_ms(10);
	int iou0, tasks0 = task_count(&iou0);
	uint64_t base = next_token;
	next_token += N;
	for (; n < N; n++) {
		if (ep_open(&s[n], EP_SOCK, 1) < 0)
			goto out;
		if (!CHECK_OK(kp_ring_start(run.r, base + (uint64_t)n,
					    s[n].ring, p[1], 0))) {
			ep_close(&s[n]);
			goto out;
		}
	}
	kp_ring_stats st;
	STAT_WAIT(run.r, started, N);
	kp_ring_get_stats(run.r, &st);
	CHECK_EQ(st.started, N);
	/* Each tried one splice, found nothing, gave its pipe back and
	 * waits in a poll: one pipe served them all, and is in the pool. */
	STAT_WAIT(run.r, polls, N);
	sleep_ms(100);
	int iou1, tasks1 = task_count(&iou1);
	kp_ring_get_stats(run.r, &st);
	CHECK_EQ(st.splices, N);
	CHECK_EQ(st.eagain, N);
	CHECK_EQ(st.polls, N);
	CHECK_EQ(st.pipes_opened, 1);
	CHECK_EQ(st.pipes_pooled, 1);
	CHECK_LE(tasks1 - tasks0, 0);
	CHECK_EQ(iou1, 0);
	check_note(
		"%d idle transfers: %d threads before, %d after (%d iou-wrk); "
		"%llu SQEs",
		N, tasks0, tasks1, iou1, (unsigned long long)st.sqes);
	/* Wake one of them: it moves its data while the rest stay idle. */
	CHECK_EQ(write(s[7].peer, "wake", 4), 4);
	check_close_fd(s[7].peer);
	s[7].peer = -1;
	kp_done done;
	if (CHECK(runner_wait(&run, base + 7, 5, &done))) {
		CHECK_EQ(done.err, 0);
		CHECK_EQ(done.moved, 4);
	}
	char buf[8];
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 4);
out:
	/* Shutdown cancels the rest. */
	runner_stop(&run);
	for (int i = 0; i < n; i++)
		ep_close(&s[i]);
	kp_pipe_close(p);
}

/* Busy transfers of every kind run on the ring's own thread: splice(2)
 * calls counted, and no io-wq worker thread ever appears. */
static void test_ring_no_workers(void)
{
	struct runner run;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	many(&run, 40, scaled(256 * KIB), "no io-wq workers");
	transfer(&run, EP_FILE, EP_SOCK, scaled(4 * MIB), 0);
	transfer(&run, EP_SOCK, EP_FILE, scaled(4 * MIB), 0);
	transfer(&run, EP_PIPE, EP_PIPE, scaled(4 * MIB), 0);
	int iou;
	task_count(&iou);
	CHECK_EQ(iou, 0);
	kp_ring_stats st;
	kp_ring_get_stats(run.r, &st);
	CHECK_GT(st.splices, 0);
	runner_stop(&run);
}

/* Waits up to 10 s until the reader has seen want bytes. */
static int reader_reached(struct reader *rd, int64_t want)
{
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(&rd->progress, __ATOMIC_RELAXED) >= want)
			return 1;
		sleep_ms(1);
	}
	return 0;
}

/* Between bursts a transfer holds no pipe: its pipe is back in the pool
 * while it waits for src, and a burst takes it again (grown to 1 MiB once
 * a pipe's worth has moved). A pipe that holds bytes dst cannot take stays
 * with its transfer, never goes back to the pool, and goes to the caller
 * when the transfer is cancelled. */
static void test_ring_idle_pipe(void)
{
	const int64_t burst = scaled(3 * MIB) + 5;
	struct runner run;
	struct ep s = { -1, -1 }, d = { -1, -1 };
	struct reader rd;
	int have_rd = 0;
	kp_done done = { .moved = -1, .err = -1, .leftover_fd = -1 };
	kp_ring_stats st;
	uint64_t seed = 4242;
	int64_t total = 0;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	if (ep_open_pair(&s, EP_SOCK, &d, EP_SOCK) < 0)
		goto out;
	if (reader_go(&rd, d.peer, -1, 0) < 0)
		goto out;
	have_rd = 1;
	uint64_t token = next_token++;
	if (!CHECK_OK(kp_ring_start(run.r, token, s.ring, d.ring, 0)))
		goto out;
	for (int b = 0; b < 3; b++) {
		if (!CHECK_OK(gen_write_at(s.peer, seed, total, burst)))
			goto out;
		total += burst;
		if (!CHECK(reader_reached(&rd, total)))
			goto out;
		/* Delivered, src quiet: the pipe goes back to the pool. */
		CHECK_EQ(STAT_WAIT(run.r, pipes_pooled, 1), 1);
		kp_ring_get_stats(run.r, &st);
		CHECK_EQ(st.live, 1);
		CHECK_EQ(st.pipes_opened, 1);
	}
	/* Each burst took the pipe again (more often if it caught up with
	 * the writer), and the first grew it. */
	kp_ring_get_stats(run.r, &st);
	CHECK_GE(st.pipes_reused, 2);
	CHECK_GE(st.pipes_grown, 1);
	check_note("3 bursts: %llu splices, %llu polls, %llu EAGAIN, %llu "
		   "pipe growths",
		   (unsigned long long)st.splices, (unsigned long long)st.polls,
		   (unsigned long long)st.eagain,
		   (unsigned long long)st.pipes_grown);
	check_close_fd(s.peer);
	s.peer = -1;
	if (CHECK(runner_wait(&run, token, 10, &done))) {
		CHECK_EQ(done.err, 0);
		CHECK_EQ(done.moved, total);
	}
	check_close_fd(d.ring);
	d.ring = -1;
	pthread_join(rd.th, NULL);
	have_rd = 0;
	struct check_hash want;
	gen_hash(seed, total, &want);
	CHECK_EQ(rd.hs.n, total);
	CHECK(rd.hs.h == want.h);
	ep_close(&s);
	ep_close(&d);

	/* dst full, nobody reads: the 1000 bytes stay in the transfer's pipe. */
	if ((token = start_into_full(&run, &s, &d)) == 0)
		goto out;
	kp_ring_get_stats(run.r, &st);
	CHECK_EQ(st.pipes_pooled, 0);
	CHECK_EQ(st.pipes_opened, 1);
	CHECK_OK(kp_ring_cancel(run.r, token));
	if (CHECK(runner_wait(&run, token, 5, &done))) {
		CHECK_EQ(done.err, ECANCELED);
		CHECK_EQ(done.moved, 0);
		CHECK_EQ(done.leftover, 1000);
	}
	/* The pipe went to the caller with the bytes, not to the pool. */
	kp_ring_get_stats(run.r, &st);
	CHECK_EQ(st.pipes_pooled, 0);
	ep_close(&s);
	ep_close(&d);
	transfer(&run, EP_FILE, EP_FILE, 100 * KIB, 0);
	kp_ring_get_stats(run.r, &st);
	CHECK_EQ(st.pipes_opened, 2);
	CHECK_EQ(st.pipes_pooled, 1);
out:
	if (have_rd) {
		check_close_fd(d.ring);
		d.ring = -1;
		pthread_join(rd.th, NULL);
	}
	ep_close(&s);
	ep_close(&d);
	runner_stop(&run);
}

/* A transfer that could run for ever (a 1 TiB sparse file to /dev/null,
 * never waiting) takes turns: another transfer runs meanwhile, and a
 * cancel ends it promptly. */
static void test_ring_turns(void)
{
	struct runner run;
	int big = -1, null = -1;
	kp_done done;

	RING_OR_SKIP();
	if (runner_start(&run, 0, 0) < 0)
		return;
	big = check_tmpfile();
	null = open("/dev/null", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (big < 0 || !CHECK_SYS(null) ||
	    !CHECK_SYS(ftruncate(big, (off_t)1 << 40)))
		goto out;
	uint64_t token = next_token++;
	if (!CHECK_OK(kp_ring_start(run.r, token, big, null, 0)))
		goto out;
	STAT_WAIT(run.r, splices, 100);
	transfer(&run, EP_SOCK, EP_PIPE, 2 * MIB, 0);
	transfer(&run, EP_FILE, EP_SOCK, 2 * MIB, 0);
	CHECK(!runner_has(&run, token, NULL));
	double t0 = check_now();
	CHECK_OK(kp_ring_cancel(run.r, token));
	if (CHECK(runner_wait(&run, token, 5, &done))) {
		CHECK_EQ(done.err, ECANCELED);
		CHECK_GT(done.moved, 0);
		CHECK(check_now() - t0 < 2.0);
		check_note("moved %.0f MiB; cancelled in %.1f ms",
			   (double)done.moved / MIB, (check_now() - t0) * 1e3);
	}
out:
	check_close_fd(big);
	check_close_fd(null);
	runner_stop(&run);
}

static const struct check_case cases[] = {
	CHECK_CASE(test_ring_open_close),
	CHECK_CASE(test_ring_sizes),
	CHECK_CASE(test_ring_file_to_slow_socket),
	CHECK_CASE(test_ring_many),
	CHECK_CASE(test_ring_cancel_idle),
	CHECK_CASE(test_ring_cancel_busy),
	CHECK_CASE(test_ring_idle_timeout),
	CHECK_CASE(test_ring_peer_closes_dst),
	CHECK_CASE(test_ring_epipe_no_signal),
	CHECK_CASE(test_ring_error_cancels_other_side),
	CHECK_CASE(test_ring_bad_fds),
	CHECK_CASE(test_ring_queued_before_run),
	CHECK_CASE(test_ring_shutdown),
	CHECK_CASE(test_ring_idle_threads),
	CHECK_CASE(test_ring_no_workers),
	CHECK_CASE(test_ring_idle_pipe),
	CHECK_CASE(test_ring_turns),
};

int main(int argc, char **argv)
{
	kp_ring *r;

	check_block_sigpipe();
	int ret = kp_ring_open(&r, 8, 0);
	if (ret == -EPERM || ret == -ENOSYS || ret == -EOPNOTSUPP) {
		printf("io_uring unavailable (%s): ring cases skipped\n",
		       strerror(-ret));
		ring_usable = 0;
	} else if (ret == 0) {
		kp_ring_close(r);
	}
	return CHECK_MAIN(argc, argv, cases);
}
