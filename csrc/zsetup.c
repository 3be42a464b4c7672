/* zsetup.c: a kp_z's life (new, reset, idle, free): the engines a stream
 * runs set up, its buffers, and the wrapper's header staged. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#include "zstream_internal.h"

kp_z *kp_z_new(int64_t bufsize)
{
	kp_z *z;

	if (bufsize < 0)
		return NULL;
	if (bufsize == 0)
		bufsize = KP_Z_BUF_DEFAULT;
	if (bufsize < KP_Z_BUF_MIN)
		bufsize = KP_Z_BUF_MIN;
	if (bufsize > KP_Z_BUF_MAX)
		bufsize = KP_Z_BUF_MAX;
	z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->bufsize = (size_t)bufsize;
	z->whole_max = KP_Z_WHOLE_MAX;
	z->inbuf = malloc(z->bufsize);
	z->outbuf = malloc(z->bufsize);
	if (z->inbuf == NULL || z->outbuf == NULL) {
		kp_z_free(z);
		return NULL;
	}
	return z;
}

static void end_zlib(kp_z *z)
{
	/* The end functions only report a stream freed mid-way, which is
	 * what a reset or free means to do. */
	if (z->zkind == ZK_DEFLATE)
		(void)deflateEnd(&z->zs);
	else if (z->zkind == ZK_INFLATE)
		(void)inflateEnd(&z->zs);
	z->zkind = ZK_NONE;
}

void kp_z_free(kp_z *z)
{
	if (z == NULL)
		return;
	end_zlib(z);
	kp_isal_free(z->isal);
	kp_zs_release_stream(z);
	kp_ld_free(z->ld);
	free(z->stage);
	free(z->inbuf);
	free(z->outbuf);
	free(z->pend);
	free(z);
}

static int zlib_init_error(int zr)
{
	return zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
}

static int init_deflate(kp_z *z, int level)
{
	int zr;

	end_zlib(z);
	memset(&z->zs, 0, sizeof(z->zs));
	zr = deflateInit2(&z->zs, kp_zlib_level(level), Z_DEFLATED,
			  RAW_WINDOW_BITS, MEM_LEVEL, kp_zlib_strategy(level));
	if (zr != Z_OK)
		return zlib_init_error(zr);
	z->zkind = ZK_DEFLATE;
	z->zlevel = level;
	return 0;
}

/* Reuses the deflate state when there is one: a reset keeps its memory,
 * and a new level on a freshly reset stream needs no flush. Anything zlib
 * refuses falls back to a new state. */
static int ready_deflate(kp_z *z, int level)
{
	if (z->zkind != ZK_DEFLATE || deflateReset(&z->zs) != Z_OK)
		return init_deflate(z, level);
	if (z->zlevel != level) {
		if (deflateParams(&z->zs, kp_zlib_level(level),
				  kp_zlib_strategy(level)) != Z_OK)
			return init_deflate(z, level);
		z->zlevel = level;
	}
	return 0;
}

static int ready_inflate(kp_z *z)
{
	int zr;

	if (z->zkind == ZK_INFLATE && inflateReset(&z->zs) == Z_OK)
		return 0;
	end_zlib(z);
	memset(&z->zs, 0, sizeof(z->zs));
	zr = inflateInit2(&z->zs, RAW_WINDOW_BITS);
	if (zr != Z_OK)
		return zlib_init_error(zr);
	z->zkind = ZK_INFLATE;
	return 0;
}

/* Sets up the engine of a new stream: ISA-L where it is loaded (inflate,
 * and deflate at the levels it has), zlib otherwise. */
static int ready_engine(kp_z *z, int mode, int level)
{
	z->use_isal = mode == KP_Z_COMPRESS ? kp_isal_deflates(level)
					    : kp_isal_available();
	if (!z->use_isal)
		return mode == KP_Z_COMPRESS ? ready_deflate(z, level)
					     : ready_inflate(z);
	end_zlib(z); /* its memory is not needed while ISA-L runs */
	if (z->isal == NULL && (z->isal = kp_isal_new()) == NULL)
		return -ENOMEM;
	if (mode == KP_Z_COMPRESS) {
		int r;
		if (z->stage == NULL &&
		    (z->stage = calloc(1, KP_ISAL_STAGE)) == NULL)
			return -ENOMEM;
		if ((r = kp_zs_reserve_pend(z, KP_ISAL_OUT_MAX)) < 0)
			return r;
		z->stage_len = 0;
	}
	return mode == KP_Z_COMPRESS ? kp_isal_deflate_reset(z->isal, level)
				     : kp_isal_inflate_reset(z->isal);
}

/* Asks for huge pages under a large buffer: a whole stream's buffers are
 * written once from end to end, and on 4 KiB pages their faults cost more
 * than the copies. Only advice: refused, the buffer works as it is. */
static void advise_huge(void *p, size_t n)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t hi = ((uintptr_t)p + n) & ~(huge - 1);

	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

int kp_zs_resize(uint8_t **buf, size_t *cap, size_t n)
{
	uint8_t *p = realloc(*buf, n);
	if (p == NULL)
		return -ENOMEM;
	advise_huge(p, n);
	*buf = p;
	*cap = n;
	return 0;
}

int kp_zs_reserve_pend(kp_z *z, size_t n)
{
	if (z->pend_cap >= n)
		return 0;
	return kp_zs_resize(&z->pend, &z->pend_cap, n);
}

void kp_zs_free_whole(kp_z *z)
{
	free(z->whole);
	z->whole = NULL;
	z->whole_len = z->whole_cap = 0;
}

/* Gives back what one stream holds beyond the fixed state: its threads
 * (joined), a whole stream's buffers. */
void kp_zs_release_stream(kp_z *z)
{
	kp_par_free(z->par);
	z->par = NULL;
	kp_zs_free_whole(z);
	if (z->pend_cap > KP_PEND_KEEP) {
		free(z->pend);
		z->pend = NULL;
		z->pend_cap = z->pend_pos = z->pend_end = 0;
	}
}

/* The wrapper's header, written into pend at reset: that copies the
 * caller's header fields, which need not outlive kp_z_reset. */
static int stage_header(kp_z *z, const kp_gz_header *hdr)
{
	int64_t n;
	int r;

	if (z->format == KP_Z_ZLIB) {
		if ((r = kp_zs_reserve_pend(z, KP_GZ_TRAILER_LEN)) < 0)
			return r;
		kp_zf_zlib_header(z->level, z->pend);
		n = KP_ZL_HEADER_LEN;
	} else {
		n = kp_zf_gzip_header_len(hdr);
		if (n < 0)
			return (int)n;
		if ((r = kp_zs_reserve_pend(z, (size_t)n < KP_GZ_TRAILER_LEN
						       ? KP_GZ_TRAILER_LEN
						       : (size_t)n)) < 0)
			return r;
		n = kp_zf_gzip_header(hdr, z->level, z->pend, z->pend_cap);
		if (n < 0)
			return (int)n;
	}
	z->pend_pos = 0;
	z->pend_end = (size_t)n;
	return 0;
}

void kp_zs_start_member(kp_z *z, int keep_fields)
{
	kp_zhead_init(&z->head, z->format, keep_fields);
	z->check = kp_zcheck_init(z->format);
	z->isize = 0;
	z->back_pos = z->back_len = 0;
	z->phase = PH_HEADER;
}

static int valid_level(int level)
{
	/* 0 (stored) is accepted too: zlib and Go's NoCompression have it. */
	return level >= -2 && level <= 9;
}

int kp_z_reset(kp_z *z, int mode, int format, int level, int64_t max_out,
	       const kp_gz_header *hdr)
{
	int r;

	if (z == NULL)
		return KP_ZE_STATE;
	z->phase = PH_NONE;
	if ((mode != KP_Z_COMPRESS && mode != KP_Z_DECOMPRESS) ||
	    (format != KP_Z_ZLIB && format != KP_Z_GZIP) ||
	    (mode == KP_Z_COMPRESS && !valid_level(level)))
		return -EINVAL;
	if (level == -1)
		level = 6; /* zlib's default, and every engine's */
	z->mode = mode;
	z->format = format;
	z->level = mode == KP_Z_COMPRESS ? level : 0;
	z->max_out = max_out < 0 ? -1 : max_out;
	z->in_pos = z->in_end = 0;
	z->out_pos = z->out_end = 0;
	z->src_eof = 0;
	z->more_out = 0;
	z->flush_req = 0;
	z->whole_open = -1;
	z->in_total = z->out_total = z->produced = 0;
	z->have_first = 0;
	memset(&z->first, 0, sizeof(z->first));
	kp_zs_release_stream(z);
	z->body_done = 0;
	z->size_hint = -1;
	z->threads = 1;
	z->par_sent_last = 0;
	z->whole_state = mode == KP_Z_COMPRESS ? W_UNDECIDED : W_OFF;
	if (mode == KP_Z_COMPRESS && (r = stage_header(z, hdr)) < 0)
		return r;
	if ((r = ready_engine(z, mode, level)) < 0)
		return r;
	kp_zs_start_member(z, 1);
	return 0;
}

void kp_z_idle(kp_z *z)
{
	if (z == NULL)
		return;
	kp_zs_release_stream(z);
	z->phase = PH_NONE;
}
