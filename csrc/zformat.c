/* zformat.c: the zlib (RFC 1950) and gzip (RFC 1952) wrappers around raw
 * deflate data: writing headers and trailers, and parsing them from input
 * that arrives in pieces. */
#include <string.h>
#include <zlib.h>

#include "zinternal.h"

/* gzip FLG bits. */
#define GZ_FTEXT 0x01
#define GZ_FHCRC 0x02
#define GZ_FEXTRA 0x04
#define GZ_FNAME 0x08
#define GZ_FCOMMENT 0x10
#define GZ_FRESERVED 0xe0

#define GZ_ID1 0x1f
#define GZ_ID2 0x8b
#define Z_METHOD_DEFLATE 8
#define GZ_OS_UNIX 3

/* zlib FLG bit: a preset dictionary id follows (kpipe has none to offer). */
#define ZL_FDICT 0x20

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- writers ------------------------------------------------------------- */

/* A name or comment must fit the reader's bound and hold no NUL, since NUL
 * ends the field on the wire. */
static int check_text_field(const uint8_t *s, uint32_t len)
{
	if (s == NULL)
		return len == 0 ? 0 : KP_ZE_STATE;
	if (len > KP_GZ_NAME_MAX || memchr(s, 0, len) != NULL)
		return KP_ZE_HEADER;
	return 0;
}

int64_t kp_zf_gzip_header_len(const kp_gz_header *h)
{
	int64_t n = KP_GZ_FIXED_LEN;
	int r;

	if (h == NULL)
		return n;
	if ((r = check_text_field(h->name, h->name_len)) < 0 ||
	    (r = check_text_field(h->comment, h->comment_len)) < 0)
		return r;
	if (h->extra == NULL && h->extra_len != 0)
		return KP_ZE_STATE;
	if (h->extra_len > KP_GZ_EXTRA_MAX)
		return KP_ZE_HEADER;
	if (h->extra != NULL)
		n += 2 + (int64_t)h->extra_len;
	if (h->name != NULL)
		n += (int64_t)h->name_len + 1;
	if (h->comment != NULL)
		n += (int64_t)h->comment_len + 1;
	if (h->hcrc)
		n += 2;
	return n;
}

/* XFL as zlib writes it: 2 for the slowest level, 4 for the fastest ones. */
static uint8_t gzip_xfl(int level)
{
	if (level == 9)
		return 2;
	if (level == -2 || (level >= 0 && level < 2))
		return 4;
	return 0;
}

static size_t put_field(uint8_t *p, const uint8_t *s, uint32_t len)
{
	memcpy(p, s, len);
	p[len] = 0;
	return (size_t)len + 1;
}

int64_t kp_zf_gzip_header(const kp_gz_header *h, int level, uint8_t *out,
			  size_t cap)
{
	int64_t need = kp_zf_gzip_header_len(h);
	uint8_t flg = 0;
	size_t n = KP_GZ_FIXED_LEN;

	if (need < 0)
		return need;
	if ((uint64_t)need > cap)
		return KP_ZE_STATE;
	if (h != NULL) {
		flg |= h->extra != NULL ? GZ_FEXTRA : 0;
		flg |= h->name != NULL ? GZ_FNAME : 0;
		flg |= h->comment != NULL ? GZ_FCOMMENT : 0;
		flg |= h->hcrc ? GZ_FHCRC : 0;
	}
	out[0] = GZ_ID1;
	out[1] = GZ_ID2;
	out[2] = Z_METHOD_DEFLATE;
	out[3] = flg;
	put_le32(out + 4, h != NULL ? h->mtime : 0);
	out[8] = gzip_xfl(level);
	out[9] = h != NULL ? h->os : GZ_OS_UNIX;
	if (flg & GZ_FEXTRA) {
		out[n++] = (uint8_t)h->extra_len;
		out[n++] = (uint8_t)(h->extra_len >> 8);
		if (h->extra_len > 0)
			memcpy(out + n, h->extra, h->extra_len);
		n += h->extra_len;
	}
	if (flg & GZ_FNAME)
		n += put_field(out + n, h->name, h->name_len);
	if (flg & GZ_FCOMMENT)
		n += put_field(out + n, h->comment, h->comment_len);
	if (flg & GZ_FHCRC) {
		uint32_t c = (uint32_t)crc32(0L, out, (uInt)n);
		out[n++] = (uint8_t)c;
		out[n++] = (uint8_t)(c >> 8);
	}
	return (int64_t)n;
}

void kp_zf_zlib_header(int level, uint8_t out[KP_ZL_HEADER_LEN])
{
	/* CM 8 with the largest window (CINFO 7): raw deflate at windowBits
	 * 15. FLEVEL is advisory; zlib's deflate sets it this way. */
	unsigned cmf = 0x78, flevel;

	if (level == -2 || (level >= 0 && level < 2))
		flevel = 0;
	else if (level >= 2 && level < 6)
		flevel = 1;
	else if (level == 6 || level == -1)
		flevel = 2;
	else
		flevel = 3;
	unsigned flg = flevel << 6;
	flg += 31 - (cmf * 256 + flg) % 31;
	out[0] = (uint8_t)cmf;
	out[1] = (uint8_t)flg;
}

void kp_zf_gzip_trailer(uint32_t crc, uint32_t isize,
			uint8_t out[KP_GZ_TRAILER_LEN])
{
	put_le32(out, crc);
	put_le32(out + 4, isize);
}

void kp_zf_zlib_trailer(uint32_t adler, uint8_t out[KP_ZL_TRAILER_LEN])
{
	out[0] = (uint8_t)(adler >> 24);
	out[1] = (uint8_t)(adler >> 16);
	out[2] = (uint8_t)(adler >> 8);
	out[3] = (uint8_t)adler;
}

/* ---- header parser -------------------------------------------------------- */

enum head_stage {
	ST_FIXED,   /* the fixed part (10 bytes gzip, 2 bytes zlib) */
	ST_XLEN,    /* gzip FEXTRA length, 2 bytes */
	ST_EXTRA,   /* gzip FEXTRA data, xlen bytes */
	ST_NAME,    /* gzip FNAME up to its NUL */
	ST_COMMENT, /* gzip FCOMMENT up to its NUL */
	ST_HCRC,    /* gzip FHCRC, 2 bytes */
	ST_DONE
};

void kp_zhead_init(struct kp_zhead *p, int format, int keep)
{
	/* The field buffers need no clearing: lengths say what is valid. */
	p->format = format;
	p->keep = keep;
	p->stage = ST_FIXED;
	p->pos = 0;
	p->crc = 0;
	p->xlen = 0;
	p->name_len = 0;
	p->comment_len = 0;
}

/* The first optional gzip part after stage `after` that FLG asks for. */
static int next_gzip_stage(const struct kp_zhead *p, int after)
{
	uint8_t flg = p->fixed[3];

	if (after < ST_XLEN && (flg & GZ_FEXTRA))
		return ST_XLEN;
	if (after < ST_NAME && (flg & GZ_FNAME))
		return ST_NAME;
	if (after < ST_COMMENT && (flg & GZ_FCOMMENT))
		return ST_COMMENT;
	if (after < ST_HCRC && (flg & GZ_FHCRC))
		return ST_HCRC;
	return ST_DONE;
}

static void enter(struct kp_zhead *p, int stage)
{
	p->stage = stage;
	p->pos = 0;
}

/* Each fixed byte is checked as it arrives, so that garbage fails at once. */
static int gzip_fixed_byte(struct kp_zhead *p, uint8_t b)
{
	p->fixed[p->pos] = b;
	switch (p->pos++) {
	case 0:
		if (b != GZ_ID1)
			return KP_ZE_HEADER;
		break;
	case 1:
		if (b != GZ_ID2)
			return KP_ZE_HEADER;
		break;
	case 2:
		if (b != Z_METHOD_DEFLATE)
			return KP_ZE_HEADER;
		break;
	case 3:
		if (b & GZ_FRESERVED)
			return KP_ZE_HEADER;
		break;
	default:
		break;
	}
	if (p->pos == KP_GZ_FIXED_LEN)
		enter(p, next_gzip_stage(p, ST_FIXED));
	return 0;
}

static int zlib_fixed_byte(struct kp_zhead *p, uint8_t b)
{
	p->fixed[p->pos] = b;
	if (p->pos++ == 0) {
		/* CM 8, window at most 32 KiB (CINFO <= 7). */
		if ((b & 0x0f) != Z_METHOD_DEFLATE || (b >> 4) > 7)
			return KP_ZE_HEADER;
		return 0;
	}
	if (((unsigned)p->fixed[0] * 256 + b) % 31 != 0 || (b & ZL_FDICT))
		return KP_ZE_HEADER;
	enter(p, ST_DONE);
	return 0;
}

/* FNAME or FCOMMENT: bytes up to the NUL, bounded so that a stream without
 * a NUL cannot make kpipe buffer without end. */
static int text_byte(struct kp_zhead *p, uint8_t *buf, uint32_t *len, uint8_t b,
		     int this_stage)
{
	if (b == 0) {
		if (p->keep)
			buf[*len] = 0;
		enter(p, next_gzip_stage(p, this_stage));
		return 0;
	}
	if (*len >= KP_GZ_NAME_MAX)
		return KP_ZE_HEADER;
	if (p->keep)
		buf[*len] = b;
	(*len)++;
	return 0;
}

static int gzip_byte(struct kp_zhead *p, uint8_t b)
{
	switch (p->stage) {
	case ST_FIXED:
		return gzip_fixed_byte(p, b);
	case ST_XLEN:
		p->xlen |= (uint32_t)b << (8 * p->pos);
		if (++p->pos == 2)
			enter(p, p->xlen > 0 ? ST_EXTRA
					     : next_gzip_stage(p, ST_EXTRA));
		return 0;
	case ST_EXTRA:
		if (p->keep)
			p->extra[p->pos] = b;
		if (++p->pos == p->xlen)
			enter(p, next_gzip_stage(p, ST_EXTRA));
		return 0;
	case ST_NAME:
		return text_byte(p, p->name, &p->name_len, b, ST_NAME);
	case ST_COMMENT:
		return text_byte(p, p->comment, &p->comment_len, b, ST_COMMENT);
	case ST_HCRC:
		p->hcrc[p->pos++] = b;
		if (p->pos < 2)
			return 0;
		if ((uint32_t)p->hcrc[0] + ((uint32_t)p->hcrc[1] << 8) !=
		    (p->crc & 0xffff))
			return KP_ZE_HEADER;
		enter(p, ST_DONE);
		return 0;
	default:
		return KP_ZE_STATE;
	}
}

int kp_zhead_feed(struct kp_zhead *p, const uint8_t *buf, size_t len,
		  size_t *used)
{
	/* FHCRC covers every gzip header byte before it: the bytes of this
	 * call go into the CRC up to the one that ends the last part before
	 * FHCRC. */
	int counting = p->format == KP_Z_GZIP && p->stage < ST_HCRC;
	size_t i = 0;
	int r = 0;

	while (i < len && p->stage != ST_DONE) {
		r = p->format == KP_Z_GZIP ? gzip_byte(p, buf[i])
					   : zlib_fixed_byte(p, buf[i]);
		i++;
		if (r < 0)
			break;
		if (counting && p->stage >= ST_HCRC) {
			p->crc = (uint32_t)crc32(p->crc, buf, (uInt)i);
			counting = 0;
		}
	}
	if (counting && r == 0)
		p->crc = (uint32_t)crc32(p->crc, buf, (uInt)i);
	*used = i;
	if (r < 0)
		return r;
	return p->stage == ST_DONE ? KP_ZP_DONE : KP_ZP_MORE;
}

void kp_zhead_get(const struct kp_zhead *p, kp_gz_header *h)
{
	uint8_t flg = p->fixed[3];

	memset(h, 0, sizeof(*h));
	if (p->format != KP_Z_GZIP || p->stage != ST_DONE)
		return;
	if (flg & GZ_FNAME) {
		h->name = p->name;
		h->name_len = p->name_len;
	}
	if (flg & GZ_FCOMMENT) {
		h->comment = p->comment;
		h->comment_len = p->comment_len;
	}
	if (flg & GZ_FEXTRA) {
		h->extra = p->extra;
		h->extra_len = p->xlen;
	}
	h->mtime = get_le32(p->fixed + 4);
	h->xfl = p->fixed[8];
	h->os = p->fixed[9];
	h->hcrc = (flg & GZ_FHCRC) != 0;
}

/* ---- trailer parser --------------------------------------------------------- */

void kp_ztrail_init(struct kp_ztrail *t, int format)
{
	t->format = format;
	t->have = 0;
	t->need = format == KP_Z_GZIP ? KP_GZ_TRAILER_LEN : KP_ZL_TRAILER_LEN;
}

int kp_ztrail_feed(struct kp_ztrail *t, const uint8_t *buf, size_t len,
		   size_t *used)
{
	size_t n = t->need - t->have;

	if (n > len)
		n = len;
	memcpy(t->b + t->have, buf, n);
	t->have += (uint32_t)n;
	*used = n;
	return t->have == t->need ? KP_ZP_DONE : KP_ZP_MORE;
}

int kp_ztrail_check(const struct kp_ztrail *t, uint32_t check, uint32_t isize)
{
	if (t->have != t->need)
		return KP_ZE_STATE;
	if (t->format == KP_Z_GZIP)
		return get_le32(t->b) == check && get_le32(t->b + 4) == isize
			       ? 0
			       : KP_ZE_CHECKSUM;
	return get_be32(t->b) == check ? 0 : KP_ZE_CHECKSUM;
}

/* ---- checks and zlib settings ---------------------------------------------- */

uint32_t kp_zcheck_init(int format)
{
	return format == KP_Z_GZIP ? (uint32_t)crc32(0L, Z_NULL, 0)
				   : (uint32_t)adler32(0L, Z_NULL, 0);
}

uint32_t kp_zcheck_add(int format, uint32_t c, const uint8_t *p, size_t n)
{
	if (n == 0)
		return c;
	if (format == KP_Z_GZIP)
		return kp_isal_available() ? kp_isal_crc32(c, p, n)
					   : (uint32_t)crc32(c, p, (uInt)n);
	return (uint32_t)adler32(c, p, (uInt)n);
}

uint32_t kp_zcheck_join(int format, uint32_t a, uint32_t b, size_t n)
{
	return format == KP_Z_GZIP
		       ? (uint32_t)crc32_combine(a, b, (z_off_t)n)
		       : (uint32_t)adler32_combine(a, b, (z_off_t)n);
}

int kp_zlib_level(int level)
{
	return level == -2 ? Z_DEFAULT_COMPRESSION : level;
}

int kp_zlib_strategy(int level)
{
	return level == -2 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
}
