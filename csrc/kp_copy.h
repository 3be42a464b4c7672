/*
 * kp_copy.h: copy_file_range(2), sendfile(2) and read/write (copy.c).
 */
#ifndef KP_COPY_H
#define KP_COPY_H

#include <stdint.h>

#include "kp_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* copy_file_range from in to out at their file offsets until end of input,
 * limit bytes (limit < 0: no limit) or an error. */
kp_io kp_copy_range(int in, int out, int64_t limit);

/* sendfile from in (a file) to out at in's offset until end of input, limit
 * bytes (limit < 0: no limit), an error or EAGAIN from out. */
kp_io kp_sendfile(int out, int in, int64_t limit);

/* read/write through buf of size len until end of input, limit or an error;
 * for blocking descriptors. */
kp_io kp_read_write(int in, int out, char *buf, int64_t len, int64_t limit);

#ifdef __cplusplus
}
#endif

#endif /* KP_COPY_H */
