/*
 * kp_zstream.h: kp_z, deflate and inflate between fds and memory, with the
 * zlib (RFC 1950) and gzip (RFC 1952) wrappers (zstream.c and its z*.c
 * parts, zformat.c).
 */
#ifndef KP_ZSTREAM_H
#define KP_ZSTREAM_H

#include <stdint.h>

#include "kp_io.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* Lets a compression stream, after kp_z_reset and before its first
 * kp_z_step, keep memory input of unknown size whole, up to max bytes (at
 * most KP_Z_WHOLE_MAX), at the levels where libdeflate runs: the input is
 * kept (in a buffer that doubles from 256 KiB) and compressed in one call
 * at its end, as for an announced size, unless it passes max or
 * kp_z_flush is called first, when zlib takes over at the same level.
 * Nothing comes out before that. Returns 0, or KP_ZE_STATE when called out
 * of place. */
int kp_z_whole_until(kp_z *z, int64_t max);

/* Asks a compression stream for a sync flush (zlib's Z_SYNC_FLUSH): the
 * steps that follow, with no more memory input (in_len 0, in_eof 0), deliver
 * everything given so far as whole deflate blocks ending on a byte boundary
 * (after an empty stored block), so that a reader can decode all of it now;
 * the flush is complete when a step returns KP_Z_NEED_INPUT. A stream kept
 * whole (libdeflate) goes on through zlib from there. Only for memory input
 * on one thread (not after kp_z_threads). Returns 0, or KP_ZE_STATE when the
 * stream cannot flush. */
int kp_z_flush(kp_z *z);

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

/* Totals since kp_z_reset: bytes read from the source (memory input: bytes
 * consumed) and bytes delivered to the destination (written to dst_fd, or
 * handed over with KP_Z_HAVE_OUTPUT). */
void kp_z_totals(const kp_z *z, int64_t *in_total, int64_t *out_total);

#ifdef __cplusplus
}
#endif

#endif /* KP_ZSTREAM_H */
