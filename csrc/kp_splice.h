/*
 * kp_splice.h: splice(2) (splice.c).
 */
#ifndef KP_SPLICE_H
#define KP_SPLICE_H

#include <stdint.h>

#include "kp_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One splice(2) of up to len bytes with the file offsets of both fds (as with
 * read/write), retrying on EINTR. Returns the bytes moved (0 at end of input)
 * or -errno. */
int64_t kp_splice(int in, int out, int64_t len, unsigned int flags);

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

#ifdef __cplusplus
}
#endif

#endif /* KP_SPLICE_H */
