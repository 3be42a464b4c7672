/* zdeflate.c: compression, on the engine kp_z_reset and the first step
 * chose: zlib, ISA-L (levels 1 to 3), libdeflate on a whole input (levels 4
 * to 9) or worker threads; and the wrapper's trailer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "zstream_internal.h"

/* Deflate data an engine wrote into pend goes out before anything else:
 * 1 while some is held (more_out says whether the window took it all). */
static int emit_held(struct step *s)
{
	kp_z *z = s->z;

	if (z->pend_pos >= z->pend_end)
		return 0;
	kp_zs_emit_pending(s);
	z->more_out = z->pend_pos < z->pend_end;
	return 1;
}

/* run_deflate on ISA-L. ISA-L's output depends on where each call's input
 * ends, so it never sees the reads: input goes into a stage, and ISA-L
 * compresses each full stage (and the last, partial one) in one call into
 * pend, with room for all it can write. The same input then gives the same
 * bytes whatever the sources, reads and output buffers. */
static int run_isal_deflate(struct step *s, const uint8_t *ip, size_t n,
			    int all_in)
{
	kp_z *z = s->z;
	size_t take, used, got;
	int done, r;

	take = KP_ISAL_STAGE - z->stage_len;
	if (take > n)
		take = n;
	if (take > 0) /* ip may be NULL then: a flush with no input */
		memcpy(z->stage + z->stage_len, ip, take);
	z->stage_len += take;
	z->check = kp_zcheck_add(z->format, z->check, ip, take);
	z->isize += (uint32_t)take;
	kp_zs_in_take(s, take);
	int last = all_in && take == n;
	/* A flush asked for goes once the input given before it is staged. */
	int sync = !last && z->flush_req && take == n;
	if (z->stage_len < KP_ISAL_STAGE && !last && !sync)
		return 0; /* wants_input: the next read fills it further */
	if (sync && z->in_total == 0) {
		/* Nothing to flush yet. (ISA-L, asked to flush before its
		 * first input, leaves its hash tables unset for the input
		 * that follows at levels 2 and 3.) */
		z->flush_req = 0;
		return 0;
	}
	int end = last ? KP_ISAL_FINISH : sync ? KP_ISAL_SYNC : KP_ISAL_MORE;
	/* ISA-L may stop before the end of the stage (its token buffer is
	 * full): call again on the rest, a sequence the data alone sets. */
	size_t off = 0, out = 0;
	do {
		r = kp_isal_deflate(z->isal, z->stage + off, z->stage_len - off,
				    end, z->pend + out, KP_ISAL_OUT_MAX - out,
				    &used, &got, &done);
		if (r < 0)
			return r;
		off += used;
		out += got;
	} while ((off < z->stage_len || (end != KP_ISAL_MORE && !done)) &&
		 (used > 0 || got > 0) && out < KP_ISAL_OUT_MAX);
	if (off < z->stage_len || (end != KP_ISAL_MORE && !done))
		return KP_ZE_STATE; /* pend has room for ISA-L's worst case */
	got = out;
	z->stage_len = 0;
	z->pend_pos = 0;
	z->pend_end = got;
	z->body_done = last && done;
	if (sync)
		z->flush_req = 0;
	z->more_out = got > 0; /* ISA-L may keep a stage's output for later */
	return 0;
}

/* Input longer than a whole stream may keep: zlib takes over at the same
 * level, compressing what was kept into pend first. */
int kp_zs_whole_to_zlib(kp_z *z)
{
	int zr;

	z->whole_state = W_OFF;
	if (z->whole_len == 0) {
		kp_zs_free_whole(z);
		return 0;
	}
	z->check = kp_zcheck_add(z->format, z->check, z->whole, z->whole_len);
	z->isize = (uint32_t)z->whole_len;
	int r = kp_zs_reserve_pend(z,
				   deflateBound(&z->zs, (uLong)z->whole_len));
	if (r < 0)
		return r;
	z->zs.next_in = z->whole;
	z->zs.avail_in = (uInt)z->whole_len;
	z->zs.next_out = z->pend;
	z->zs.avail_out = (uInt)z->pend_cap;
	zr = deflate(&z->zs, Z_NO_FLUSH);
	size_t left = z->zs.avail_in, got = z->pend_cap - z->zs.avail_out;
	z->zs.next_in = NULL;
	z->zs.next_out = NULL;
	if (zr != Z_OK || left != 0)
		return zr == Z_MEM_ERROR ? -ENOMEM : KP_ZE_STATE;
	z->pend_pos = 0;
	z->pend_end = got;
	z->more_out = got > 0;
	kp_zs_free_whole(z);
	return 0;
}

/* The most input a whole stream may keep. */
static int64_t whole_limit(const kp_z *z)
{
	if (z->whole_open >= 0 && z->whole_open < z->whole_max)
		return z->whole_open;
	return z->whole_max;
}

/* Makes room for n more bytes of whole input: 0, 1 when that would pass
 * whole_limit, or -ENOMEM. */
int kp_zs_grow_whole(kp_z *z, size_t n)
{
	size_t want = z->whole_len + n, cap = z->whole_cap;
	int64_t max = whole_limit(z);

	if (want <= cap)
		return 0;
	if ((int64_t)want > max)
		return 1;
	if (cap == 0) /* the first: the size announced */
		cap = want;
	while (cap < want)
		cap *= 2;
	if ((int64_t)cap > max)
		cap = (size_t)max;
	return kp_zs_resize(&z->whole, &z->whole_cap, cap);
}

/* run_deflate on libdeflate: the input is kept until it has all come, then
 * compressed in one call into pend, which is emitted as the wrappers are. */
static int run_whole(struct step *s, const uint8_t *ip, size_t n, int all_in)
{
	kp_z *z = s->z;
	int r;

	if ((r = kp_zs_grow_whole(z, n)) != 0)
		return r < 0 ? r : kp_zs_whole_to_zlib(z);
	if (n > 0)
		memcpy(z->whole + z->whole_len, ip, n);
	z->whole_len += n;
	kp_zs_in_take(s, n);
	if (!all_in)
		return 0;
	z->check = kp_zcheck_add(z->format, z->check, z->whole, z->whole_len);
	z->isize = (uint32_t)z->whole_len;
	if ((r = kp_zs_reserve_pend(z, kp_ld_bound(z->ld, z->whole_len))) < 0)
		return r;
	size_t got = kp_ld_compress(z->ld, z->whole, z->whole_len, z->pend,
				    z->pend_cap);
	if (got == 0)
		return KP_ZE_STATE; /* pend has room for libdeflate's bound */
	kp_zs_free_whole(z);
	z->pend_pos = 0;
	z->pend_end = got;
	z->body_done = 1;
	z->more_out = 1;
	return 0;
}

/* At a compression's first step: its threads (kp_z_threads), or whether
 * its input is known to be at most whole_max bytes, and if so the
 * libdeflate compressor and a buffer for all of it. */
int kp_zs_choose_engine(kp_z *z, int src_fd)
{
	int64_t n = z->size_hint;
	struct stat st;
	int r;

	z->whole_state = W_OFF;
	if (z->threads > 1 && !z->use_isal) {
		z->par = kp_par_new(z->format, z->level, z->threads);
		return z->par != NULL ? 0 : -ENOMEM;
	}
	/* A flush asked for before any input hands the stream to zlib at
	 * once: keeping it whole would only be undone. */
	if (!kp_ld_deflates(z->level) || z->flush_req)
		return 0;
	if (src_fd >= 0) {
		off_t off;
		n = -1;
		if (fstat(src_fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (off = lseek(src_fd, 0, SEEK_CUR)) >= 0 &&
		    st.st_size >= off)
			n = (int64_t)(st.st_size - off);
	}
	if (n < 0 && z->whole_open >= 0) {
		/* Size unknown, kept whole while it fits: a first buffer,
		 * doubled as input comes. */
		n = whole_limit(z) < KP_Z_WHOLE_FIRST ? whole_limit(z)
						      : KP_Z_WHOLE_FIRST;
		if (n == 0)
			return 0;
		n--; /* grow_whole below adds one */
	} else if (n < 0 || n > whole_limit(z)) {
		return 0;
	}
	if (z->ld == NULL && (z->ld = kp_ld_new()) == NULL)
		return -ENOMEM;
	if ((r = kp_ld_reset(z->ld, z->level)) < 0)
		return r;
	/* One byte more than the size: the read that finds the end of a
	 * file has room, so a file that grew since is noticed too. */
	if ((r = kp_zs_grow_whole(z, (size_t)n + 1)) != 0)
		return r < 0 ? r : KP_ZE_STATE;
	z->whole_state = W_ON;
	return 0;
}

/* run_deflate on many threads: the input goes into blocks for the workers,
 * and each block's output, in order, into pend. */
static int run_par(struct step *s, const uint8_t *ip, size_t n, int all_in)
{
	kp_z *z = s->z;
	struct kp_par *p = z->par;
	int r, wait = 1;

	if (!z->par_sent_last) {
		int64_t room = kp_par_room(p);
		/* A full block goes once what follows it is known, so that
		 * the blocks, and the output, depend on the data alone: the
		 * last when the input ends right there. */
		if (room == 0 && (n > 0 || all_in)) {
			if ((r = kp_par_submit(p, all_in && n == 0)) < 0)
				return r;
			z->par_sent_last = all_in && n == 0;
			room = kp_par_room(p);
		}
		if (!z->par_sent_last && room > 0) {
			size_t took = kp_par_take(p, ip, n);
			kp_zs_in_take(s, took);
			if (all_in && took == n && kp_par_room(p) > 0) {
				if ((r = kp_par_submit(p, 1)) < 0)
					return r;
				z->par_sent_last = 1;
			}
			if (took > 0)
				return 0;
		}
		/* Wait for a block only when no input can be taken. */
		wait = z->par_sent_last || kp_par_room(p) < 0;
	}
	const uint8_t *out;
	size_t out_len, in_len;
	uint32_t check;
	int last;
	r = kp_par_next(p, wait, &out, &out_len, &check, &in_len, &last);
	if (r <= 0)
		return r; /* 0: nothing ready, and input is wanted */
	if ((r = kp_zs_reserve_pend(z, out_len)) < 0)
		return r;
	memcpy(z->pend, out, out_len);
	z->check = kp_zcheck_join(z->format, z->check, check, in_len);
	z->isize += (uint32_t)in_len;
	kp_par_release(p);
	z->pend_pos = 0;
	z->pend_end = out_len;
	z->body_done = last;
	z->more_out = 1;
	return 0;
}

static void stage_trailer(kp_z *z)
{
	if (z->format == KP_Z_GZIP) {
		kp_zf_gzip_trailer(z->check, z->isize, z->pend);
		z->pend_end = KP_GZ_TRAILER_LEN;
	} else {
		kp_zf_zlib_trailer(z->check, z->pend);
		z->pend_end = KP_ZL_TRAILER_LEN;
	}
	z->pend_pos = 0;
}

static int run_deflate(struct step *s)
{
	kp_z *z = s->z;
	size_t n = kp_zs_in_avail(s), room = kp_zs_win_space(s);
	const uint8_t *ip = kp_zs_in_ptr(s);
	/* Z_FINISH only once every remaining byte is in this call. */
	int all_in = kp_zs_in_ended(s) &&
		     (s->src >= 0 || (int64_t)n == s->in_len - s->in_off);
	int zr;

	/* What an engine wrote into pend goes first; zlib writes into the
	 * window, and into pend only when it takes over from libdeflate. */
	if (emit_held(s))
		return 0;
	z->more_out = 0;
	if (z->body_done) {
		stage_trailer(z);
		z->phase = PH_TRAILER;
		return 0;
	}
	if (z->use_isal)
		return run_isal_deflate(s, ip, n, all_in);
	if (z->par != NULL)
		return run_par(s, ip, n, all_in);
	if (z->whole_state == W_ON && z->flush_req)
		return kp_zs_whole_to_zlib(
			z); /* a flush ends keeping it whole */
	if (z->whole_state == W_ON)
		return run_whole(s, ip, n, all_in);
	/* A flush asked for runs once the input given before it is in. */
	int sync = !all_in && z->flush_req && n == 0;
	z->zs.next_in = (Bytef *)(uintptr_t)ip;
	z->zs.avail_in = (uInt)n;
	z->zs.next_out = s->win + z->out_end;
	z->zs.avail_out = (uInt)room;
	zr = deflate(&z->zs, all_in ? Z_FINISH
			     : sync ? Z_SYNC_FLUSH
				    : Z_NO_FLUSH);
	size_t used = n - z->zs.avail_in, got = room - z->zs.avail_out;
	z->more_out = z->zs.avail_out == 0;
	/* zlib's flush is complete when it left room in the output. */
	if (sync && !z->more_out)
		z->flush_req = 0;
	z->zs.next_in = NULL;
	z->zs.next_out = NULL;
	z->check = kp_zcheck_add(z->format, z->check, ip, used);
	z->isize += (uint32_t)used;
	kp_zs_in_take(s, used);
	z->out_end += got;

	switch (zr) {
	case Z_STREAM_END:
		z->more_out = 0;
		stage_trailer(z);
		z->phase = PH_TRAILER;
		return 0;
	case Z_OK:
	case Z_BUF_ERROR: /* nothing could move: not an error by itself */
		if (used == 0 && got == 0)
			z->more_out = 0;
		return kp_zs_stalled(s, used, got) ? KP_ZE_STATE : 0;
	case Z_MEM_ERROR:
		return -ENOMEM;
	default: /* Z_STREAM_ERROR: a broken state */
		return KP_ZE_STATE;
	}
}

int kp_zs_compress_once(struct step *s)
{
	kp_z *z = s->z;

	switch (z->phase) {
	case PH_HEADER:
	case PH_TRAILER:
		kp_zs_emit_pending(s);
		if (z->pend_pos == z->pend_end)
			z->phase = z->phase == PH_HEADER ? PH_BODY : PH_END;
		return 0;
	case PH_BODY:
		return run_deflate(s);
	default:
		return KP_ZE_STATE;
	}
}
