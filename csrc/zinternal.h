/*
 * zinternal.h: what kp_z's parts (zstream_internal.h lists them) run, and
 * the C tests use: the writers of zlib and gzip headers and trailers and
 * incremental parsers for them (zformat.c), the checks, and the deflate
 * engines besides zlib: ISA-L (zisal.c), libdeflate (zwhole.c) and worker
 * threads (zpar.c). Not part of kpipe's public contract (kpipe.h is).
 */
#ifndef KPIPE_ZINTERNAL_H
#define KPIPE_ZINTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kp_zengine.h"
#include "kp_zstream.h"

/* Fixed sizes of the wrappers. */
#define KP_GZ_FIXED_LEN 10  /* ID1 ID2 CM FLG MTIME(4) XFL OS */
#define KP_GZ_TRAILER_LEN 8 /* CRC-32, ISIZE, both little-endian */
#define KP_ZL_HEADER_LEN 2  /* CMF FLG */
#define KP_ZL_TRAILER_LEN 4 /* Adler-32, big-endian */

/* Results of the parsers' feed functions besides the KP_ZE_* errors. */
#define KP_ZP_MORE 0 /* every byte given was taken; the part is not complete */
#define KP_ZP_DONE 1 /* the part is complete; *used says where it ended */

/* ---- writers ------------------------------------------------------------ */

/* The bytes kp_zf_gzip_header will write for h (NULL: the default header),
 * or KP_ZE_HEADER when a field is too long or holds a NUL, KP_ZE_STATE when a
 * length comes without its pointer. */
int64_t kp_zf_gzip_header_len(const kp_gz_header *h);

/* Writes the gzip header for h (NULL: no fields, mtime 0, OS 3) at level
 * (which sets XFL as zlib does) into out, which has room for
 * kp_zf_gzip_header_len(h) bytes. h->xfl is not used; h->hcrc != 0 adds an
 * FHCRC. Returns the bytes written or an error as kp_zf_gzip_header_len. */
int64_t kp_zf_gzip_header(const kp_gz_header *h, int level, uint8_t *out,
			  size_t cap);

/* Writes the 2-byte zlib header for level (FLEVEL as zlib's deflate sets it). */
void kp_zf_zlib_header(int level, uint8_t out[KP_ZL_HEADER_LEN]);

void kp_zf_gzip_trailer(uint32_t crc, uint32_t isize,
			uint8_t out[KP_GZ_TRAILER_LEN]);
void kp_zf_zlib_trailer(uint32_t adler, uint8_t out[KP_ZL_TRAILER_LEN]);

/* ---- checks and zlib settings ------------------------------------------- */

/* The check of no data for format (CRC-32 for gzip, Adler-32 for zlib),
 * that check continued over p[0..n), and the check of data a followed by
 * data b of n bytes, from the checks of each. */
uint32_t kp_zcheck_init(int format);
uint32_t kp_zcheck_add(int format, uint32_t c, const uint8_t *p, size_t n);
uint32_t kp_zcheck_join(int format, uint32_t a, uint32_t b, size_t n);

/* zlib's level and strategy for a kpipe level (-2: Huffman coding only). */
int kp_zlib_level(int level);
int kp_zlib_strategy(int level);

/* ---- header parser ------------------------------------------------------ */

/*
 * Parses one zlib or gzip header from input that may arrive in pieces of any
 * size, down to one byte. Errors come as soon as the byte that makes the
 * header wrong arrives (a bad magic byte is reported on that byte, so that
 * trailing garbage never waits for more input).
 */
struct kp_zhead {
	int format;   /* enum kp_z_format */
	int keep;     /* store name, comment and extra (else only check them) */
	int stage;    /* where in the header the next byte goes */
	uint32_t pos; /* bytes taken in the current stage */
	uint32_t crc; /* CRC-32 of the header bytes before FHCRC */
	uint8_t fixed[KP_GZ_FIXED_LEN];
	uint8_t hcrc[2];
	uint32_t xlen;
	uint32_t name_len, comment_len;
	uint8_t extra[KP_GZ_EXTRA_MAX];
	uint8_t name[KP_GZ_NAME_MAX + 1];
	uint8_t comment[KP_GZ_NAME_MAX + 1];
};

void kp_zhead_init(struct kp_zhead *p, int format, int keep);

/* Takes bytes of buf[0..len) until the header is complete. Returns
 * KP_ZP_DONE (with *used the bytes that belonged to the header),
 * KP_ZP_MORE (all len bytes taken) or KP_ZE_HEADER. */
int kp_zhead_feed(struct kp_zhead *p, const uint8_t *buf, size_t len,
		  size_t *used);

/* The parsed gzip header (pointers into p), for a parser that kept fields. */
void kp_zhead_get(const struct kp_zhead *p, kp_gz_header *h);

/* ---- trailer parser ----------------------------------------------------- */

struct kp_ztrail {
	int format;
	uint32_t have, need;
	uint8_t b[KP_GZ_TRAILER_LEN];
};

void kp_ztrail_init(struct kp_ztrail *t, int format);

/* Takes up to the bytes the trailer still lacks; returns KP_ZP_DONE or
 * KP_ZP_MORE with *used as kp_zhead_feed. */
int kp_ztrail_feed(struct kp_ztrail *t, const uint8_t *buf, size_t len,
		   size_t *used);

/* A complete trailer against the check value the stream computed (CRC-32 or
 * Adler-32) and, for gzip, the uncompressed length mod 2^32. Returns 0 or
 * KP_ZE_CHECKSUM. */
int kp_ztrail_check(const struct kp_ztrail *t, uint32_t check, uint32_t isize);

/* ---- ISA-L engine (zisal.c) ---------------------------------------------- */

/* Whether ISA-L compresses at kpipe's level (1 to 3, its own levels). */
int kp_isal_deflates(int level);

/* A stream's ISA-L state: NULL when out of memory (or without ISA-L). Its
 * buffers are allocated by the resets, once, and freed by kp_isal_free. */
struct kp_isal *kp_isal_new(void);
void kp_isal_free(struct kp_isal *e);

/* Raw deflate decoding. kp_isal_inflate decodes from in[0..n) into
 * out[0..room); *used and *got say how much of each it took, *done that the
 * final block ended. Input it read past the final block is either not
 * counted in *used or, when it came in an earlier call, handed back in
 * back[0..*back_len): the bytes that follow the deflate data, in order,
 * before in[*used]. Returns 0, KP_ZE_CORRUPT or KP_ZE_STATE. */
int kp_isal_inflate_reset(struct kp_isal *e);
int kp_isal_inflate(struct kp_isal *e, const uint8_t *in, size_t n,
		    uint8_t *out, size_t room, size_t *used, size_t *got,
		    int *done, uint8_t back[8], size_t *back_len);

/* Raw deflate encoding at level 1 to 3. end: KP_ISAL_MORE, KP_ISAL_FINISH
 * (in holds the rest of the input; *done once the final block is out) or
 * KP_ISAL_SYNC (a sync flush: everything so far out, byte-aligned by an
 * empty stored block; *done once it is). Returns 0, -EINVAL or
 * KP_ZE_STATE. */
enum { KP_ISAL_MORE, KP_ISAL_FINISH, KP_ISAL_SYNC };
int kp_isal_deflate_reset(struct kp_isal *e, int level);
int kp_isal_deflate(struct kp_isal *e, const uint8_t *in, size_t n, int end,
		    uint8_t *out, size_t room, size_t *used, size_t *got,
		    int *done);

/* CRC-32 (gzip's) of p[0..n) continued from crc, as zlib's crc32(). */
uint32_t kp_isal_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* ---- libdeflate engine (zwhole.c) ---------------------------------------- */

/* Whether libdeflate compresses at kpipe's level (4 to 9, where loaded). */
int kp_ld_deflates(int level);

/* A stream's libdeflate compressor: NULL when out of memory. kp_ld_reset
 * makes it ready for level (-EINVAL where libdeflate does not run it,
 * -ENOMEM); kp_ld_bound is the most kp_ld_compress can write for n input
 * bytes, and kp_ld_compress writes raw deflate data for all of in[0..n)
 * into out[0..room) and returns its length (for no input, one empty fixed
 * block, as zlib writes it), or 0 when room is too small. */
struct kp_ld *kp_ld_new(void);
void kp_ld_free(struct kp_ld *e);
int kp_ld_reset(struct kp_ld *e, int level);
size_t kp_ld_bound(struct kp_ld *e, size_t n);
size_t kp_ld_compress(struct kp_ld *e, const uint8_t *in, size_t n,
		      uint8_t *out, size_t room);

/* ---- many threads for one stream (zpar.c) -------------------------------- */

#define KP_PAR_BLOCK ((size_t)1 << 20) /* input per block */
#define KP_PAR_MAX_THREADS 64

/* A stream's workers for format at kpipe's level (zlib, or libdeflate at
 * the levels kp_ld_deflates) on up to threads threads, started as blocks
 * come: NULL when threads < 2 or out of memory. kp_par_free stops and joins
 * them (a block being compressed is finished first) and frees all. */
struct kp_par *kp_par_new(int format, int level, int threads);
void kp_par_free(struct kp_par *p);

/* The input: kp_par_room is the room left in the block being filled, or -1
 * while every block is in flight; kp_par_take copies what fits and returns
 * it; kp_par_submit hands the block to the workers (last: it ends the
 * input; it may be empty). Returns 0 or -EAGAIN when no thread starts. */
int64_t kp_par_room(const struct kp_par *p);
size_t kp_par_take(struct kp_par *p, const uint8_t *in, size_t n);
int kp_par_submit(struct kp_par *p, int last);

/* The output, block by block in order: kp_par_next returns 1 with the
 * oldest block's deflate data, its input's length and check (CRC-32 or
 * Adler-32 of that block alone) and whether it was the last, once it is
 * compressed (with wait, waiting for that); 0 when it is not (or none is in
 * flight); or the block's error. kp_par_release frees the block after its
 * output has been copied. */
int kp_par_next(struct kp_par *p, int wait, const uint8_t **out,
		size_t *out_len, uint32_t *check, size_t *in_len, int *last);
void kp_par_release(struct kp_par *p);

#endif /* KPIPE_ZINTERNAL_H */
