/* test_fd.c: kp_fd_type, kp_fd_nonblocking, kp_fd_ready and kp_fd_wait on
 * real files, pipes, FIFOs, sockets and devices. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kpipe.h"

/* A closed fd number: open a pipe, remember an end, close it. */
static int closed_fd(void)
{
	int fds[2] = { -1, -1 };

	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
		return 1000000;
	int fd = fds[1];
	CHECK_EQ(kp_pipe_close(fds), 0);
	return fd;
}

/* ---- kp_fd_type ----------------------------------------------------------- */

static void test_type_file(void)
{
	int f = check_tmpfile();

	if (!CHECK_GE(f, 0))
		return;
	CHECK_EQ(kp_fd_type(f), KP_FD_FILE);
	check_close_fd(f);
}

static void test_type_pipe_and_fifo(void)
{
	int fds[2] = { -1, -1 };
	char dir[] = "/tmp/kpipe-fifo-XXXXXX";
	char path[sizeof(dir) + 8];

	if (CHECK_OK(kp_pipe_open(fds, 1, 0, NULL))) {
		CHECK_EQ(kp_fd_type(fds[0]), KP_FD_PIPE);
		CHECK_EQ(kp_fd_type(fds[1]), KP_FD_PIPE);
		CHECK_EQ(kp_pipe_close(fds), 0);
	}
	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (CHECK_SYS(mkfifo(path, 0600))) {
		int f = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (CHECK_SYS(f)) {
			CHECK_EQ(kp_fd_type(f), KP_FD_PIPE);
			/* A FIFO is a pipe for the pipe calls too. */
			CHECK_GT(kp_pipe_size(f), 0);
			check_close_fd(f);
		}
		CHECK_SYS(unlink(path));
	}
	CHECK_SYS(rmdir(dir));
}

static void test_type_socket(void)
{
	int sv[2] = { -1, -1 };

	if (CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))) {
		CHECK_EQ(kp_fd_type(sv[0]), KP_FD_SOCKET);
		CHECK_EQ(kp_fd_type(sv[1]), KP_FD_SOCKET);
		check_close_fd(sv[0]);
		check_close_fd(sv[1]);
	}
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (CHECK_SYS(s)) {
		CHECK_EQ(kp_fd_type(s), KP_FD_SOCKET);
		check_close_fd(s);
	}
}

static void test_type_char_and_other(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (CHECK_SYS(null)) {
		CHECK_EQ(kp_fd_type(null), KP_FD_CHAR);
		check_close_fd(null);
	}
	int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (CHECK_SYS(dir)) {
		CHECK_EQ(kp_fd_type(dir), KP_FD_OTHER);
		check_close_fd(dir);
	}
	/* Anonymous inodes have no file type bits. */
	int ev = eventfd(0, EFD_CLOEXEC);
	if (CHECK_SYS(ev)) {
		CHECK_EQ(kp_fd_type(ev), KP_FD_OTHER);
		check_close_fd(ev);
	}
}

/* A block device, opened with O_PATH (fstat works, nothing is read). */
static void test_type_block(void)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	char path[300];
	int found = 0;

	if (!CHECK(d != NULL))
		return;
	while (!found && (e = readdir(d)) != NULL) {
		struct stat st;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (lstat(path, &st) == 0 && S_ISBLK(st.st_mode))
			found = 1;
	}
	CHECK_SYS(closedir(d));
	if (!found) {
		check_note("no block device under /dev: skipped");
		return;
	}
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (CHECK_SYS(fd)) {
		CHECK_EQ(kp_fd_type(fd), KP_FD_BLOCK);
		check_close_fd(fd);
	}
}

static void test_type_errors(void)
{
	CHECK_ERR(kp_fd_type(-1), EBADF);
	CHECK_ERR(kp_fd_type(closed_fd()), EBADF);
}

/* ---- kp_fd_nonblocking ---------------------------------------------------- */

static void test_nonblocking(void)
{
	int fds[2] = { -1, -1 };

	if (CHECK_OK(kp_pipe_open(fds, 0, 0, NULL))) {
		CHECK_EQ(kp_fd_nonblocking(fds[0]), 0);
		CHECK_EQ(check_set_nonblock(fds[0], 1), 0);
		CHECK_EQ(kp_fd_nonblocking(fds[0]), 1);
		/* O_NONBLOCK lives in each open file description. */
		CHECK_EQ(kp_fd_nonblocking(fds[1]), 0);
		CHECK_EQ(check_set_nonblock(fds[0], 0), 0);
		CHECK_EQ(kp_fd_nonblocking(fds[0]), 0);
		CHECK_EQ(kp_pipe_close(fds), 0);
	}
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (CHECK_SYS(s)) {
		CHECK_EQ(kp_fd_nonblocking(s), 1);
		check_close_fd(s);
	}
	CHECK_ERR(kp_fd_nonblocking(-1), EBADF);
	CHECK_ERR(kp_fd_nonblocking(closed_fd()), EBADF);
}

/* ---- kp_fd_ready ---------------------------------------------------------- */

static void test_ready_pipe(void)
{
	int a[2] = { -1, -1 };

	if (!CHECK_OK(kp_pipe_open(a, 1, 0, NULL)))
		return;
	/* Empty: nothing to read, room to write. */
	CHECK_EQ(kp_fd_ready(a[0], a[1]), KP_SIDE_DST);
	CHECK_EQ(write(a[1], "x", 1), 1);
	CHECK_EQ(kp_fd_ready(a[0], a[1]), KP_SIDE_SRC | KP_SIDE_DST);
	/* Full: data to read, no room. */
	CHECK_GT(check_fill_full(a[1]), 0);
	CHECK_EQ(kp_fd_ready(a[0], a[1]), KP_SIDE_SRC);
	CHECK_EQ(kp_pipe_close(a), 0);
}

static void test_ready_hangup(void)
{
	int a[2], b[2];

	if (check_open_pipes(a, 1, b, 1) < 0)
		return;
	/* Writer gone, pipe empty: the reader sees hang-up, which counts as
	 * readable (the next read reports EOF). */
	CHECK_EQ(kp_fd_ready(a[0], b[1]), KP_SIDE_DST);
	CHECK_SYS(close(a[1]));
	a[1] = -1;
	CHECK_EQ(kp_fd_ready(a[0], b[1]) & KP_SIDE_SRC, KP_SIDE_SRC);
	/* Reader gone: the writer sees an error, which counts as writable (the
	 * next write reports EPIPE). */
	CHECK_GT(check_fill_full(b[1]), 0);
	CHECK_EQ(kp_fd_ready(a[0], b[1]) & KP_SIDE_DST, 0);
	CHECK_SYS(close(b[0]));
	b[0] = -1;
	CHECK_EQ(kp_fd_ready(a[0], b[1]), KP_SIDE_SRC | KP_SIDE_DST);
	CHECK_EQ(write(b[1], "x", 1), -1);
	CHECK_EQ(errno, EPIPE);
	CHECK(check_take_signal(SIGPIPE));
	check_close_pipes(a, b);
}

static void test_ready_socket_and_file(void)
{
	int sv[2] = { -1, -1 };

	if (CHECK_SYS(socketpair(AF_UNIX,
				 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				 sv))) {
		CHECK_EQ(kp_fd_ready(sv[0], sv[0]), KP_SIDE_DST);
		CHECK_EQ(write(sv[1], "hi", 2), 2);
		CHECK_EQ(kp_fd_ready(sv[0], sv[0]), KP_SIDE_SRC | KP_SIDE_DST);
		CHECK_GT(check_fill_full(sv[0]), 0);
		CHECK_EQ(kp_fd_ready(sv[0], sv[0]), KP_SIDE_SRC);
		check_close_fd(sv[0]);
		check_close_fd(sv[1]);
	}
	/* Regular files are always ready. */
	int f = check_tmpfile();
	if (CHECK_GE(f, 0)) {
		CHECK_EQ(kp_fd_ready(f, f), KP_SIDE_SRC | KP_SIDE_DST);
		check_close_fd(f);
	}
}

static void test_ready_bad_fds(void)
{
	int fds[2] = { -1, -1 };

	if (!CHECK_OK(kp_pipe_open(fds, 1, 0, NULL)))
		return;
	/* A closed fd number polls as POLLNVAL: ready, and the next call
	 * reports EBADF. */
	int bad = closed_fd();
	CHECK_EQ(kp_fd_ready(bad, fds[1]), KP_SIDE_SRC | KP_SIDE_DST);
	CHECK_EQ(kp_fd_ready(fds[0], bad), KP_SIDE_DST);
	/* poll(2) skips negative fds: never ready. */
	CHECK_EQ(kp_fd_ready(-1, -1), 0);
	CHECK_EQ(kp_fd_ready(-1, fds[1]), KP_SIDE_DST);
	CHECK_EQ(kp_pipe_close(fds), 0);
}

/* ---- kp_fd_wait ----------------------------------------------------------- */

static void test_wait_ready_now(void)
{
	int fds[2] = { -1, -1 };

	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
		return;
	CHECK_EQ(kp_fd_wait(fds[1], 1, -1), 0);
	/* Nothing to read: a bounded wait ends with ETIMEDOUT. */
	CHECK_ERR(kp_fd_wait(fds[0], 0, 1), ETIMEDOUT);
	CHECK_EQ(write(fds[1], "x", 1), 1);
	CHECK_EQ(kp_fd_wait(fds[0], 0, -1), 0);
	CHECK_EQ(kp_fd_wait(fds[0], 0, 0), 0);
	/* Hang-up wakes a reader. */
	CHECK_SYS(close(fds[1]));
	fds[1] = -1;
	char c;
	CHECK_EQ(read(fds[0], &c, 1), 1);
	CHECK_EQ(kp_fd_wait(fds[0], 0, -1), 0);
	CHECK_EQ(read(fds[0], &c, 1), 0);
	CHECK_EQ(kp_pipe_close(fds), 0);
}

struct later {
	int fd;
	int write; /* 1: write a byte; 0: read everything there is */
};

static void *act_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	static char buf[1 << 16];

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (l->write) {
		if (write(l->fd, "x", 1) != 1)
			CHECK_FAIL("late write: %s", strerror(errno));
	} else {
		while (read(l->fd, buf, sizeof(buf)) > 0)
			;
	}
	return NULL;
}

static void test_wait_blocks_until_ready(void)
{
	int fds[2] = { -1, -1 };
	pthread_t t;
	double t0;

	if (!CHECK_OK(kp_pipe_open(fds, 0, 0, NULL)))
		return;
	/* Readable once another thread writes. */
	struct later w = { fds[1], 1 };
	t0 = check_now();
	if (CHECK_EQ(pthread_create(&t, NULL, act_later, &w), 0)) {
		CHECK_EQ(kp_fd_wait(fds[0], 0, -1), 0);
		CHECK_GE(check_now() - t0, 0.05);
		CHECK_EQ(kp_pipe_buffered(fds[0]), 1);
		CHECK_EQ(pthread_join(t, NULL), 0);
	}
	/* Writable once another thread drains the full pipe. */
	CHECK_EQ(check_set_nonblock(fds[1], 1), 0);
	CHECK_EQ(check_set_nonblock(fds[0], 1), 0);
	CHECK_GT(check_fill_full(fds[1]), 0);
	CHECK_EQ(check_set_nonblock(fds[1], 0), 0);
	struct later r = { fds[0], 0 };
	t0 = check_now();
	if (CHECK_EQ(pthread_create(&t, NULL, act_later, &r), 0)) {
		CHECK_EQ(kp_fd_wait(fds[1], 1, -1), 0);
		CHECK_GE(check_now() - t0, 0.05);
		CHECK_EQ(pthread_join(t, NULL), 0);
	}
	CHECK_EQ(kp_pipe_close(fds), 0);
}

/* Runs kp_fd_wait(fd, for_write, -1) in a child with a 5 s alarm, so that a wait
 * that never ends fails the test instead of hanging it. Returns the result,
 * or 1 if the child did not report one. */
static int wait_in_child(int fd, int for_write)
{
	pid_t pid = fork();

	if (!CHECK_SYS(pid))
		return 1;
	if (pid == 0) {
		alarm(5);
		int r = kp_fd_wait(fd, for_write, -1);
		_exit(r == -EBADF ? 0 : r == 0 ? 1 : 2);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (!CHECK_EQ(errno, EINTR))
			return 1;
	}
	if (WIFSIGNALED(st)) {
		CHECK_FAIL("kp_fd_wait(%d, %d, -1) did not return (signal %d)",
			   fd, for_write, WTERMSIG(st));
		return 1;
	}
	return WEXITSTATUS(st) == 0 ? -EBADF : WEXITSTATUS(st) == 1 ? 0 : 1;
}

static void test_wait_bad_fds(void)
{
	CHECK_ERR(kp_fd_wait(closed_fd(), 0, -1), EBADF);
	CHECK_ERR(kp_fd_wait(closed_fd(), 1, -1), EBADF);
	/* poll(2) ignores a negative fd: a plain poll would wait forever. */
	CHECK_ERR(wait_in_child(-1, 0), EBADF);
	CHECK_ERR(wait_in_child(-1, 1), EBADF);
}

CHECK_SUITE(CHECK_CASE(test_type_file), CHECK_CASE(test_type_pipe_and_fifo),
	    CHECK_CASE(test_type_socket), CHECK_CASE(test_type_char_and_other),
	    CHECK_CASE(test_type_block), CHECK_CASE(test_type_errors),
	    CHECK_CASE(test_nonblocking), CHECK_CASE(test_ready_pipe),
	    CHECK_CASE(test_ready_hangup),
	    CHECK_CASE(test_ready_socket_and_file),
	    CHECK_CASE(test_ready_bad_fds), CHECK_CASE(test_wait_ready_now),
	    CHECK_CASE(test_wait_blocks_until_ready),
	    CHECK_CASE(test_wait_bad_fds))
