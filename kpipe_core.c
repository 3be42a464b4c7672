//go:build linux && cgo

// The C core, compiled by cgo as one unit. The sources live in csrc/, where
// CMake builds them as a library of their own.
#include "csrc/pipe.c"
#include "csrc/fd.c"
#include "csrc/splice.c"
#include "csrc/copy.c"
#include "csrc/uring_probe.c"
#include "csrc/ring.c"
#include "csrc/ring_queue.c"
#include "csrc/ring_xfer.c"
#include "csrc/ring_poll.c"
#include "csrc/ring_pool.c"
#include "csrc/ring_heap.c"
#include "csrc/ring_tokens.c"
#include "csrc/zlib_info.c"
#include "csrc/zformat.c"
#include "csrc/zisal.c"
#include "csrc/zwhole.c"
#include "csrc/zpar.c"
#include "csrc/zstream.c"
