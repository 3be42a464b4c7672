/*
 * kpipe.h: the C core of kpipe, all of it: this header includes the header
 * of each module.
 *
 *	kp_io.h        what the transfer calls share (kp_io, enum kp_side)
 *	kp_pipe.h      kernel pipes (pipe.c)
 *	kp_splice.h    splice(2) (splice.c)
 *	kp_copy.h      copy_file_range(2), sendfile(2), read/write (copy.c)
 *	kp_uring.h     io_uring support (uring_probe.c)
 *	kp_ring.h      the double-splice engine on io_uring (ring*.c)
 *	kp_zengine.h   the compression engines in use (zlib, ISA-L, libdeflate)
 *	kp_zstream.h   deflate and inflate between fds and memory (z*.c)
 *	kp_testhooks.h hooks for the tests, not for other callers
 *
 * Every function here works on file descriptors the caller owns and never
 * closes them unless its name says so. Byte counts are 64-bit. Functions that
 * return int64_t return a count >= 0 or a negative errno; functions that
 * return kp_io report how far they got and why they stopped.
 *
 * State lives in the objects the caller holds (a kp_ring, a kp_z), with
 * these process-wide exceptions, each safe to use from any thread:
 *  - the tables of ISA-L's and libdeflate's functions (zisal.c, zwhole.c),
 *    written once, under pthread_once, by the first kp_isal_available or
 *    kp_ld_available, before any caller reads them, and constant after;
 *  - the count of compression worker threads alive (zpar.c, an _Atomic
 *    counter, read by kp_z_test_workers);
 *  - the test hook's settings of kp_uring_compat_hide (uring_probe.c), two
 *    words each read and written atomically (not together: set them before
 *    the probes and rings that should see them).
 * Every function is safe to call from any thread at any time, except where
 * kp_ring.h (a ring's own thread) and kp_zstream.h (one thread per kp_z at
 * a time) say otherwise.
 */
#ifndef KPIPE_H
#define KPIPE_H

#include "kp_io.h"
#include "kp_pipe.h"
#include "kp_splice.h"
#include "kp_copy.h"
#include "kp_uring.h"
#include "kp_ring.h"
#include "kp_zengine.h"
#include "kp_zstream.h"
#include "kp_testhooks.h"

#endif /* KPIPE_H */
