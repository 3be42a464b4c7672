/*
 * kp_pipe.h: kernel pipes (pipe.c).
 */
#ifndef KP_PIPE_H
#define KP_PIPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* The size kpipe asks for when it grows a pipe. */
#define KP_PIPE_SIZE_DEFAULT (1 << 20)

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

#ifdef __cplusplus
}
#endif

#endif /* KP_PIPE_H */
