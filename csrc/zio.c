/* zio.c: a kp_z's input (read(2) from the source fd into its buffer, or
 * the caller's memory) and its output window (write(2) to the destination
 * fd, or handed over to the caller as KP_Z_HAVE_OUTPUT). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "zstream_internal.h"

/* One read from the source into buf[0..cap): 0 with *got (0 at end of
 * input, which sets src_eof), KP_Z_AGAIN or -errno. */
static int read_src(struct step *s, uint8_t *buf, size_t cap, size_t *got)
{
	ssize_t n;

	do {
		n = read(s->src, buf, cap);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->res->side = KP_SIDE_SRC;
		return errno == EAGAIN || errno == EWOULDBLOCK ? KP_Z_AGAIN
							       : -errno;
	}
	if (n == 0)
		s->z->src_eof = 1;
	s->z->in_total += n;
	*got = (size_t)n;
	return 0;
}

/* Called with no input left: one read from the fd, or NEED_INPUT. A stream
 * running whole reads straight into its whole buffer, which grows up to
 * whole_max (then zlib takes over). */
int kp_zs_fill_input(struct step *s)
{
	kp_z *z = s->z;
	size_t got = 0;
	int r;

	if (s->src < 0)
		return KP_Z_NEED_INPUT;
	z->in_pos = z->in_end = 0;
	if (z->whole_state != W_ON)
		return read_src(s, z->inbuf, z->bufsize, &z->in_end);
	if ((r = kp_zs_grow_whole(z, 1)) != 0)
		return r < 0 ? r : kp_zs_whole_to_zlib(z);
	r = read_src(s, z->whole + z->whole_len, z->whole_cap - z->whole_len,
		     &got);
	if (r == 0)
		z->whole_len += got;
	return r;
}

static int write_out(struct step *s)
{
	kp_z *z = s->z;

	while (z->out_pos < z->out_end) {
		ssize_t n = write(s->dst, z->outbuf + z->out_pos,
				  z->out_end - z->out_pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			s->res->side = KP_SIDE_DST;
			return errno == EAGAIN || errno == EWOULDBLOCK
				       ? KP_Z_AGAIN
				       : -errno;
		}
		z->out_pos += (size_t)n;
		z->out_total += n;
		s->res->written += n;
	}
	z->out_pos = z->out_end = 0;
	return 0;
}

/* Hands over everything the window holds: written to the fd, or reported
 * as KP_Z_HAVE_OUTPUT (the caller takes it before its next call). Returns
 * 0 once nothing is held. */
int kp_zs_deliver(struct step *s)
{
	kp_z *z = s->z;
	size_t n = z->out_end - z->out_pos;

	if (n == 0)
		return 0;
	if (s->dst >= 0)
		return write_out(s);
	s->res->out = s->win + z->out_pos;
	s->res->out_len = (int64_t)n;
	s->res->written += (int64_t)n;
	z->out_total += (int64_t)n;
	z->out_pos = z->out_end = 0;
	return KP_Z_HAVE_OUTPUT;
}

void kp_zs_emit_pending(struct step *s)
{
	kp_z *z = s->z;
	size_t n = z->pend_end - z->pend_pos, room = kp_zs_win_space(s);

	if (n > room)
		n = room;
	memcpy(s->win + z->out_end, z->pend + z->pend_pos, n);
	z->pend_pos += n;
	z->out_end += n;
}
