/* zinflate.c: decompression: the wrapper's header parsed, raw deflate data
 * inflated by zlib or ISA-L (with max_out), the trailer checked, and what
 * follows a member. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <zlib.h>

#include "zstream_internal.h"

static int parse_header(struct step *s)
{
	kp_z *z = s->z;
	size_t n = kp_zs_in_avail(s), used = 0;
	int r;

	if (n == 0)
		return KP_ZE_TRUNCATED; /* only called so at end of input */
	r = kp_zhead_feed(&z->head, kp_zs_in_ptr(s), n, &used);
	kp_zs_in_take(s, used);
	if (r != KP_ZP_DONE)
		return r < 0 ? r : 0;
	if (z->format == KP_Z_GZIP && !z->have_first) {
		kp_zhead_get(&z->head, &z->first);
		z->have_first = 1;
	}
	/* Each member is a raw deflate stream of its own; for the first one
	 * this repeats kp_z_reset's, which costs next to nothing. */
	if (z->use_isal ? kp_isal_inflate_reset(z->isal) != 0
			: inflateReset(&z->zs) != Z_OK)
		return KP_ZE_STATE;
	z->more_out = 0;
	z->phase = PH_BODY;
	return 0;
}

static int inflate_result(struct step *s, int zr, size_t n)
{
	kp_z *z = s->z;

	switch (zr) {
	case Z_STREAM_END:
		z->more_out = 0;
		kp_ztrail_init(&z->trail, z->format);
		z->phase = PH_TRAILER;
		return 0;
	case Z_OK:
		return 0;
	case Z_BUF_ERROR: /* no progress possible: it needs input */
		z->more_out = 0;
		if (n == 0 && kp_zs_in_ended(s))
			return KP_ZE_TRUNCATED;
		return 0;
	case Z_DATA_ERROR:
	case Z_NEED_DICT: /* cannot happen in raw mode; corrupt if it does */
		return KP_ZE_CORRUPT;
	case Z_MEM_ERROR:
		return -ENOMEM;
	default:
		return KP_ZE_STATE;
	}
}

/* Counts got bytes of output at op: 1 when they pass max_out (the bytes up
 * to it are kept, and the stream goes to PH_LIMIT), else 0. */
static int count_output(kp_z *z, const uint8_t *op, size_t got)
{
	z->produced += (int64_t)got;
	if (z->max_out >= 0 && z->produced > z->max_out) {
		/* Keep the bytes up to the limit: they are delivered before
		 * the error, so that every build writes exactly max_out. */
		z->out_end += got - (size_t)(z->produced - z->max_out);
		z->phase = PH_LIMIT;
		return 1;
	}
	z->check = kp_zcheck_add(z->format, z->check, op, got);
	z->isize += (uint32_t)got;
	z->out_end += got;
	return 0;
}

/* run_inflate on ISA-L. */
static int run_isal_inflate(struct step *s, const uint8_t *ip, size_t n,
			    uint8_t *op, size_t room)
{
	kp_z *z = s->z;
	size_t used, got;
	int done, r;

	r = kp_isal_inflate(z->isal, ip, n, op, room, &used, &got, &done,
			    z->back, &z->back_len);
	z->back_pos = 0;
	kp_zs_in_take(s, used);
	if (count_output(z, op, got))
		return 0;
	/* ISA-L may hold decoded bytes back until it has room: ask again
	 * while a call produces some. */
	z->more_out = got > 0;
	if (r < 0)
		return r;
	if (done) {
		z->more_out = 0;
		kp_ztrail_init(&z->trail, z->format);
		z->phase = PH_TRAILER;
		return 0;
	}
	if (used == 0 && got == 0 && kp_zs_in_ended(s))
		return KP_ZE_TRUNCATED; /* it has all there is and wants more */
	return kp_zs_stalled(s, used, got) ? KP_ZE_CORRUPT : 0;
}

static int run_inflate(struct step *s)
{
	kp_z *z = s->z;
	size_t n = kp_zs_in_avail(s), room = kp_zs_win_space(s);
	const uint8_t *ip = kp_zs_in_ptr(s);
	uint8_t *op = s->win + z->out_end;
	int zr, r;

	if (n == 0 && kp_zs_in_ended(s) && !z->more_out)
		return KP_ZE_TRUNCATED;
	/* Room for one byte past the limit, so that passing it shows. */
	if (z->max_out >= 0 && (uint64_t)(z->max_out - z->produced) < room)
		room = (size_t)(z->max_out - z->produced) + 1;
	if (z->use_isal)
		return run_isal_inflate(s, ip, n, op, room);
	z->zs.next_in = (Bytef *)(uintptr_t)ip;
	z->zs.avail_in = (uInt)n;
	z->zs.next_out = op;
	z->zs.avail_out = (uInt)room;
	zr = inflate(&z->zs, Z_NO_FLUSH);
	size_t used = n - z->zs.avail_in, got = room - z->zs.avail_out;
	z->more_out = z->zs.avail_out == 0;
	z->zs.next_in = NULL;
	z->zs.next_out = NULL;
	kp_zs_in_take(s, used);
	if (count_output(z, op, got))
		return 0;
	r = inflate_result(s, zr, n);
	if (r == 0 && zr != Z_STREAM_END && kp_zs_stalled(s, used, got))
		return KP_ZE_CORRUPT;
	return r;
}

static int parse_trailer(struct step *s)
{
	kp_z *z = s->z;
	size_t used = 0;
	int r;

	if (z->back_pos < z->back_len) {
		r = kp_ztrail_feed(&z->trail, z->back + z->back_pos,
				   z->back_len - z->back_pos, &used);
		z->back_pos += used;
	} else {
		size_t n = kp_zs_in_avail(s);
		if (n == 0)
			return KP_ZE_TRUNCATED;
		r = kp_ztrail_feed(&z->trail, kp_zs_in_ptr(s), n, &used);
		kp_zs_in_take(s, used);
	}
	if (r != KP_ZP_DONE)
		return r < 0 ? r : 0;
	if ((r = kp_ztrail_check(&z->trail, z->check, z->isize)) < 0)
		return r;
	z->phase = PH_NEXT;
	return 0;
}

/* After a complete member (gzip) or stream (zlib): end of input ends the
 * whole stream; gzip may go on with another member, zlib has nothing to
 * follow it. */
static int after_member(struct step *s)
{
	kp_z *z = s->z;

	/* More than a trailer in back is a zlib stream followed by something
	 * (gzip's 8-byte trailer takes all ISA-L can read past the data). */
	if (z->back_pos < z->back_len)
		return KP_ZE_HEADER;
	if (kp_zs_in_avail(s) == 0) {
		z->phase = PH_END;
		return 0;
	}
	if (z->format != KP_Z_GZIP)
		return KP_ZE_HEADER;
	kp_zs_start_member(z, 0);
	return 0;
}

int kp_zs_decompress_once(struct step *s)
{
	switch (s->z->phase) {
	case PH_HEADER:
		return parse_header(s);
	case PH_BODY:
		return run_inflate(s);
	case PH_TRAILER:
		return parse_trailer(s);
	case PH_NEXT:
		return after_member(s);
	default:
		return KP_ZE_STATE;
	}
}
