/* zstream.c: kp_z, deflate and inflate between fds and memory, with the zlib
 * and gzip wrappers of zformat.c around raw deflate data: the step API and
 * the step loop. zstream_internal.h lists the other parts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>

#include "kp_testhooks.h"
#include "zstream_internal.h"

int kp_z_flush(kp_z *z)
{
	if (z == NULL || z->mode != KP_Z_COMPRESS || z->threads > 1 ||
	    z->phase == PH_NONE || z->phase == PH_DONE || z->phase == PH_DEAD)
		return KP_ZE_STATE;
	if (z->phase == PH_TRAILER || z->phase == PH_END)
		return 0; /* the end flushes everything anyway */
	z->flush_req = 1;
	return 0;
}

/* Whether z is reset and has not yet taken or given a byte: the settings
 * below apply only then. */
static int unstarted(const kp_z *z)
{
	return z != NULL && z->phase == PH_HEADER && z->in_total == 0 &&
	       z->out_total == 0;
}

int kp_z_threads(kp_z *z, int n)
{
	if (!unstarted(z) || n < 1)
		return KP_ZE_STATE;
	z->threads = n;
	return 0;
}

int kp_z_whole_until(kp_z *z, int64_t max)
{
	if (!unstarted(z) || z->mode != KP_Z_COMPRESS || max < 0)
		return KP_ZE_STATE;
	z->whole_open = max < KP_Z_WHOLE_MAX ? max : KP_Z_WHOLE_MAX;
	return 0;
}

int kp_z_size_hint(kp_z *z, int64_t n)
{
	if (!unstarted(z) || n < 0)
		return KP_ZE_STATE;
	z->size_hint = n;
	return 0;
}

void kp_z_test_whole_max(kp_z *z, int64_t max)
{
	if (z != NULL && max >= 0 && max <= KP_Z_WHOLE_MAX)
		z->whole_max = max;
}

/* Whether the phase has to have input (or know that none follows) before
 * it can do anything. */
static int wants_input(const kp_z *z)
{
	if (z->back_pos < z->back_len)
		return 0; /* the trailer's first bytes are here already */
	if (z->mode == KP_Z_COMPRESS)
		return z->phase == PH_BODY && !z->more_out && !z->flush_req;
	return z->phase != PH_BODY || !z->more_out;
}

static int run(struct step *s)
{
	kp_z *z = s->z;
	int r;

	for (;;) {
		if (z->phase == PH_END) {
			if ((r = kp_zs_deliver(s)) != 0)
				return r;
			z->phase = PH_DONE;
			kp_zs_release_stream(z);
			return KP_Z_DONE;
		}
		if (z->phase == PH_LIMIT) {
			if ((r = kp_zs_deliver(s)) != 0)
				return r;
			return KP_ZE_TOO_LARGE;
		}
		/* Full, or a member just checked: what is held is final, and
		 * whatever follows (trailing garbage) must not hold it back. */
		if (kp_zs_win_space(s) == 0 ||
		    (z->phase == PH_NEXT && z->out_end > z->out_pos)) {
			if ((r = kp_zs_deliver(s)) != 0)
				return r;
			continue;
		}
		if (wants_input(z) && kp_zs_in_avail(s) == 0 &&
		    !kp_zs_in_ended(s)) {
			/* Never wait for input while holding output: the
			 * peer may be waiting for it. */
			if ((r = kp_zs_deliver(s)) != 0 ||
			    (r = kp_zs_fill_input(s)) != 0)
				return r;
			continue;
		}
		r = z->mode == KP_Z_COMPRESS ? kp_zs_compress_once(s)
					     : kp_zs_decompress_once(s);
		if (r < 0)
			return r;
	}
}

static int valid_step_args(const kp_z *z, int src_fd, const uint8_t *in,
			   int64_t in_len, const uint8_t *out, int64_t out_cap)
{
	if (z->phase == PH_NONE || z->phase == PH_DONE || z->phase == PH_DEAD)
		return 0;
	if (src_fd < 0 && (in_len < 0 || (in == NULL && in_len > 0)))
		return 0;
	if (out != NULL && out_cap <= 0)
		return 0;
	return 1;
}

int kp_z_step(kp_z *z, int src_fd, int dst_fd, const uint8_t *in,
	      int64_t in_len, int in_eof, uint8_t *out, int64_t out_cap,
	      kp_z_result *res)
{
	struct step s;
	int r;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (z == NULL || res == NULL ||
	    !valid_step_args(z, src_fd, in, in_len, out, out_cap)) {
		if (z != NULL && z->phase != PH_NONE)
			z->phase = PH_DEAD;
		return KP_ZE_STATE;
	}
	memset(&s, 0, sizeof(s));
	s.z = z;
	s.src = src_fd;
	s.dst = dst_fd;
	s.in = in;
	s.in_len = src_fd >= 0 ? 0 : in_len;
	s.in_eof = in_eof != 0;
	s.res = res;
	if (dst_fd >= 0 || out == NULL) {
		s.win = z->outbuf;
		s.wcap = z->bufsize;
	} else {
		s.win = out;
		s.wcap = (size_t)out_cap;
	}
	if (z->whole_state == W_UNDECIDED &&
	    (r = kp_zs_choose_engine(z, src_fd)) < 0) {
		z->phase = PH_DEAD;
		return r;
	}
	/* Memory output handed over by the last call is the caller's now. */
	if (dst_fd < 0)
		z->out_pos = z->out_end = 0;

	r = run(&s);

	res->consumed = s.in_off;
	if (r < 0) {
		/* No thread outlives a failed stream. */
		kp_zs_release_stream(z);
	}
	if (dst_fd < 0 && out != NULL)
		z->out_pos = z->out_end = 0; /* the caller's out is not kept */
	if (r < 0)
		z->phase = PH_DEAD;
	else if (r != KP_Z_AGAIN)
		res->side = KP_SIDE_NONE;
	return r;
}

int kp_z_gzip_header(const kp_z *z, kp_gz_header *hdr)
{
	if (z == NULL || !z->have_first) {
		if (hdr != NULL)
			memset(hdr, 0, sizeof(*hdr));
		return 0;
	}
	if (hdr != NULL)
		*hdr = z->first;
	return 1;
}

void kp_z_totals(const kp_z *z, int64_t *in_total, int64_t *out_total)
{
	if (in_total != NULL)
		*in_total = z != NULL ? z->in_total : 0;
	if (out_total != NULL)
		*out_total = z != NULL ? z->out_total : 0;
}
