/* zstream.c: kp_z, deflate and inflate between fds and memory, with the zlib
 * and gzip wrappers of zformat.c around raw deflate data. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kp_testhooks.h"
#include "zinternal.h"

#define KP_Z_BUF_DEFAULT ((int64_t)128 * 1024)
#define KP_Z_BUF_MIN ((int64_t)4 * 1024)
#define KP_Z_BUF_MAX ((int64_t)1 << 30)
/* The most handed to zlib at once: avail_in and avail_out are 32-bit. */
#define KP_Z_CHUNK_MAX ((size_t)1 << 30)

/* ISA-L deflate's input stage, and the room it gets for the output of
 * one: it may hold a stage's tokens back and write them with the next, so
 * two stages of incompressible data and block overhead, with a wide margin.
 * The room is a constant, so that the calls, and the output, depend on the
 * data alone. */
#define KP_ISAL_STAGE (64 * 1024)
#define KP_ISAL_OUT_MAX (4 * KP_ISAL_STAGE + 4096)

/* Raw deflate data with the largest window; kpipe writes the wrappers. */
#define RAW_WINDOW_BITS (-15)
#define MEM_LEVEL 8

enum zkind { ZK_NONE, ZK_DEFLATE, ZK_INFLATE };

/* Whether a compression stream runs whole on libdeflate (zwhole.c). */
enum zwhole {
	W_OFF,       /* no: zlib, ISA-L or threads */
	W_UNDECIDED, /* maybe: the first step chooses (choose_engine) */
	W_ON         /* yes: the input goes into whole, then libdeflate */
};

enum zphase {
	PH_NONE,   /* never reset, or the last reset failed */
	PH_HEADER, /* compress: emit the header; decompress: parse one */
	PH_BODY,   /* deflate or inflate */
	PH_TRAILER, /* compress: emit the trailer; decompress: parse and check it */
	PH_NEXT, /* decompress: a member or stream is complete; what follows? */
	PH_END,  /* all produced: deliver what is held, then report DONE */
	PH_LIMIT, /* decompress: max_out reached: deliver what is held (up to
		     max_out bytes in all), then report KP_ZE_TOO_LARGE */
	PH_DONE,  /* DONE reported */
	PH_DEAD   /* an error reported */
};

struct kp_z {
	z_stream zs; /* next_in and next_out are NULL between calls */
	int zkind;   /* enum zkind: which zlib state zs holds */
	/* ISA-L's state (zisal.c), on first use; use_isal: the current
	 * stream's deflate data goes through it rather than through zs. */
	struct kp_isal *isal;
	int use_isal;
	uint8_t *stage; /* ISA-L deflate: input waiting for a whole stage */
	size_t stage_len;
	/* Compress on ISA-L, libdeflate or threads: the engine has written
	 * all of its deflate data (into pend); the trailer follows. */
	int body_done;
	/* Bytes ISA-L read past a member's deflate data: the first of its
	 * trailer, which parse_trailer takes before any other input. */
	uint8_t back[8];
	size_t back_pos, back_len;
	/* libdeflate (zwhole.c): the input kept until it is all there, and
	 * then compressed at once into pend. */
	struct kp_ld *ld;
	int whole_state; /* enum zwhole */
	uint8_t *whole;
	size_t whole_len, whole_cap;
	int64_t whole_max; /* KP_Z_WHOLE_MAX, or less in tests */
	int64_t size_hint; /* memory input's announced size, or -1 */
	/* Many threads (zpar.c): the workers, while the stream runs. */
	int threads;
	struct kp_par *par;
	int par_sent_last;
	int zlevel; /* the level the deflate state is set up for */
	int mode, format, level, phase;
	int64_t max_out;
	size_t bufsize;

	uint8_t *inbuf; /* fd input: inbuf[in_pos..in_end) not yet used */
	size_t in_pos, in_end;
	int src_eof; /* the source fd returned a 0-byte read */

	uint8_t *outbuf; /* the output window when it is the kp_z's own */
	size_t out_pos,
		out_end; /* window[out_pos..out_end) not yet delivered */

	uint8_t *pend; /* compress: header or trailer bytes still to emit */
	size_t pend_cap, pend_pos, pend_end;

	int more_out; /* the last zlib call filled the output: it may hold more */
	int flush_req;  /* kp_z_flush asked for a sync flush not yet complete */
	uint32_t check; /* CRC-32 (gzip) or Adler-32 (zlib) of the data */
	uint32_t isize; /* uncompressed bytes mod 2^32 (gzip) */
	int64_t in_total, out_total;
	int64_t produced; /* decompressed bytes, for max_out */

	int have_first;     /* decompress gzip: first member's header parsed */
	kp_gz_header first; /* that header; pointers into head */
	struct kp_ztrail trail;
	struct kp_zhead head; /* large (the field buffers): last */
};

/* One kp_z_step call: where input comes from and output goes. The memory
 * pointers live only as long as the call. */
struct step {
	kp_z *z;
	int src, dst;
	const uint8_t *in;
	int64_t in_len, in_off;
	int in_eof;
	uint8_t *win; /* the output window: z->outbuf or the caller's out */
	size_t wcap;
	int stalls; /* zlib calls in a row that moved nothing */
	kp_z_result *res;
};

/* ---- set-up -------------------------------------------------------------- */

static void release_stream(kp_z *z);

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
	release_stream(z);
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

static int reserve_pend(kp_z *z, size_t n);

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
		if ((r = reserve_pend(z, KP_ISAL_OUT_MAX)) < 0)
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

static int reserve_pend(kp_z *z, size_t n)
{
	if (z->pend_cap >= n)
		return 0;
	uint8_t *p = realloc(z->pend, n);
	if (p == NULL)
		return -ENOMEM;
	advise_huge(p, n);
	z->pend = p;
	z->pend_cap = n;
	return 0;
}

/* pend grows to hold libdeflate's whole output; a stream that ends, or a
 * new one, gives that memory back, keeping what ISA-L's stages need. */
#define KP_PEND_KEEP ((size_t)KP_ISAL_OUT_MAX)

static void free_whole(kp_z *z)
{
	free(z->whole);
	z->whole = NULL;
	z->whole_len = z->whole_cap = 0;
}

/* Gives back what one stream holds beyond the fixed state: its threads
 * (joined), a whole stream's buffers. */
static void release_stream(kp_z *z)
{
	kp_par_free(z->par);
	z->par = NULL;
	free_whole(z);
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
		if ((r = reserve_pend(z, KP_GZ_TRAILER_LEN)) < 0)
			return r;
		kp_zf_zlib_header(z->level, z->pend);
		n = KP_ZL_HEADER_LEN;
	} else {
		n = kp_zf_gzip_header_len(hdr);
		if (n < 0)
			return (int)n;
		if ((r = reserve_pend(z, (size_t)n < KP_GZ_TRAILER_LEN
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

static void start_member(kp_z *z, int keep_fields)
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
	z->in_total = z->out_total = z->produced = 0;
	z->have_first = 0;
	memset(&z->first, 0, sizeof(z->first));
	release_stream(z);
	z->body_done = 0;
	z->size_hint = -1;
	z->threads = 1;
	z->par_sent_last = 0;
	z->whole_state = mode == KP_Z_COMPRESS ? W_UNDECIDED : W_OFF;
	if (mode == KP_Z_COMPRESS && (r = stage_header(z, hdr)) < 0)
		return r;
	if ((r = ready_engine(z, mode, level)) < 0)
		return r;
	start_member(z, 1);
	return 0;
}

/* ---- input ----------------------------------------------------------------- */

static size_t in_avail(const struct step *s)
{
	size_t n;

	if (s->src >= 0)
		n = s->z->in_end - s->z->in_pos;
	else
		n = (size_t)(s->in_len - s->in_off);
	return n < KP_Z_CHUNK_MAX ? n : KP_Z_CHUNK_MAX;
}

static const uint8_t *in_ptr(const struct step *s)
{
	if (s->src >= 0)
		return s->z->inbuf + s->z->in_pos;
	return s->in + s->in_off;
}

static void in_take(struct step *s, size_t n)
{
	if (s->src >= 0) {
		s->z->in_pos += n;
	} else {
		s->in_off += (int64_t)n;
		s->z->in_total += (int64_t)n;
	}
}

/* All of the input has been seen: nothing buffered follows what is left. */
static int in_ended(const struct step *s)
{
	return s->src >= 0 ? s->z->src_eof : s->in_eof;
}

static int grow_whole(kp_z *z, size_t n);
static int whole_to_zlib(kp_z *z);

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
static int fill_input(struct step *s)
{
	kp_z *z = s->z;
	size_t got = 0;
	int r;

	if (s->src < 0)
		return KP_Z_NEED_INPUT;
	z->in_pos = z->in_end = 0;
	if (z->whole_state != W_ON)
		return read_src(s, z->inbuf, z->bufsize, &z->in_end);
	if ((r = grow_whole(z, 1)) != 0)
		return r < 0 ? r : whole_to_zlib(z);
	r = read_src(s, z->whole + z->whole_len, z->whole_cap - z->whole_len,
		     &got);
	if (r == 0)
		z->whole_len += got;
	return r;
}

/* ---- output ---------------------------------------------------------------- */

static size_t win_space(const struct step *s)
{
	size_t n = s->wcap - s->z->out_end;
	return n < KP_Z_CHUNK_MAX ? n : KP_Z_CHUNK_MAX;
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
static int deliver(struct step *s)
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

static void emit_pending(struct step *s)
{
	kp_z *z = s->z;
	size_t n = z->pend_end - z->pend_pos, room = win_space(s);

	if (n > room)
		n = room;
	memcpy(s->win + z->out_end, z->pend + z->pend_pos, n);
	z->pend_pos += n;
	z->out_end += n;
}

/* ---- compression --------------------------------------------------------- */

/* Deflate data an engine wrote into pend goes out before anything else:
 * 1 while some is held (more_out says whether the window took it all). */
static int emit_held(struct step *s)
{
	kp_z *z = s->z;

	if (z->pend_pos >= z->pend_end)
		return 0;
	emit_pending(s);
	z->more_out = z->pend_pos < z->pend_end;
	return 1;
}

/* A zlib call that moved nothing twice in a row with room on both sides
 * would loop for ever: refuse to. */
static int stalled(struct step *s, size_t used, size_t got)
{
	if (used != 0 || got != 0) {
		s->stalls = 0;
		return 0;
	}
	return ++s->stalls > 2;
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
	in_take(s, take);
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
static int whole_to_zlib(kp_z *z)
{
	int zr;

	z->whole_state = W_OFF;
	z->check = kp_zcheck_add(z->format, z->check, z->whole, z->whole_len);
	z->isize = (uint32_t)z->whole_len;
	int r = reserve_pend(z, deflateBound(&z->zs, (uLong)z->whole_len));
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
	free_whole(z);
	return 0;
}

/* Makes room for n more bytes of whole input: 0, 1 when that would pass
 * whole_max, or -ENOMEM. */
static int grow_whole(kp_z *z, size_t n)
{
	size_t want = z->whole_len + n, cap = z->whole_cap;

	if (want <= cap)
		return 0;
	if ((int64_t)want > z->whole_max)
		return 1;
	if (cap == 0) /* the first: the size announced */
		cap = want;
	while (cap < want)
		cap *= 2;
	if ((int64_t)cap > z->whole_max)
		cap = (size_t)z->whole_max;
	uint8_t *p = realloc(z->whole, cap);
	if (p == NULL)
		return -ENOMEM;
	advise_huge(p, cap);
	z->whole = p;
	z->whole_cap = cap;
	return 0;
}

/* run_deflate on libdeflate: the input is kept until it has all come, then
 * compressed in one call into pend, which is emitted as the wrappers are. */
static int run_whole(struct step *s, const uint8_t *ip, size_t n, int all_in)
{
	kp_z *z = s->z;
	int r;

	if ((r = grow_whole(z, n)) != 0)
		return r < 0 ? r : whole_to_zlib(z);
	if (n > 0)
		memcpy(z->whole + z->whole_len, ip, n);
	z->whole_len += n;
	in_take(s, n);
	if (!all_in)
		return 0;
	z->check = kp_zcheck_add(z->format, z->check, z->whole, z->whole_len);
	z->isize = (uint32_t)z->whole_len;
	if ((r = reserve_pend(z, kp_ld_bound(z->ld, z->whole_len))) < 0)
		return r;
	size_t got = kp_ld_compress(z->ld, z->whole, z->whole_len, z->pend,
				    z->pend_cap);
	if (got == 0)
		return KP_ZE_STATE; /* pend has room for libdeflate's bound */
	free_whole(z);
	z->pend_pos = 0;
	z->pend_end = got;
	z->body_done = 1;
	z->more_out = 1;
	return 0;
}

/* At a compression's first step: its threads (kp_z_threads), or whether
 * its input is known to be at most whole_max bytes, and if so the
 * libdeflate compressor and a buffer for all of it. */
static int choose_engine(kp_z *z, int src_fd)
{
	int64_t n = z->size_hint;
	struct stat st;
	int r;

	z->whole_state = W_OFF;
	if (z->threads > 1 && !z->use_isal) {
		z->par = kp_par_new(z->format, z->level, z->threads);
		return z->par != NULL ? 0 : -ENOMEM;
	}
	if (!kp_ld_deflates(z->level))
		return 0;
	if (src_fd >= 0) {
		off_t off;
		n = -1;
		if (fstat(src_fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (off = lseek(src_fd, 0, SEEK_CUR)) >= 0 &&
		    st.st_size >= off)
			n = (int64_t)(st.st_size - off);
	}
	if (n < 0 || n > z->whole_max)
		return 0;
	if (z->ld == NULL && (z->ld = kp_ld_new()) == NULL)
		return -ENOMEM;
	if ((r = kp_ld_reset(z->ld, z->level)) < 0)
		return r;
	/* One byte more than the size: the read that finds the end of a
	 * file has room, so a file that grew since is noticed too. */
	if ((r = grow_whole(z, (size_t)n + 1)) != 0)
		return r < 0 ? r : KP_ZE_STATE;
	z->whole_state = W_ON;
	return 0;
}

int kp_z_flush(kp_z *z)
{
	if (z == NULL || z->mode != KP_Z_COMPRESS || z->threads > 1 ||
	    z->size_hint >= 0 || z->whole_state == W_ON ||
	    z->phase == PH_NONE || z->phase == PH_DONE || z->phase == PH_DEAD)
		return KP_ZE_STATE;
	if (z->phase == PH_TRAILER || z->phase == PH_END)
		return 0; /* the end flushes everything anyway */
	z->flush_req = 1;
	return 0;
}

void kp_z_idle(kp_z *z)
{
	if (z == NULL)
		return;
	release_stream(z);
	z->phase = PH_NONE;
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
			in_take(s, took);
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
	if ((r = reserve_pend(z, out_len)) < 0)
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

static int run_deflate(struct step *s)
{
	kp_z *z = s->z;
	size_t n = in_avail(s), room = win_space(s);
	const uint8_t *ip = in_ptr(s);
	/* Z_FINISH only once every remaining byte is in this call. */
	int all_in = in_ended(s) &&
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
	in_take(s, used);
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
		return stalled(s, used, got) ? KP_ZE_STATE : 0;
	case Z_MEM_ERROR:
		return -ENOMEM;
	default: /* Z_STREAM_ERROR: a broken state */
		return KP_ZE_STATE;
	}
}

static int compress_once(struct step *s)
{
	kp_z *z = s->z;

	switch (z->phase) {
	case PH_HEADER:
	case PH_TRAILER:
		emit_pending(s);
		if (z->pend_pos == z->pend_end)
			z->phase = z->phase == PH_HEADER ? PH_BODY : PH_END;
		return 0;
	case PH_BODY:
		return run_deflate(s);
	default:
		return KP_ZE_STATE;
	}
}

/* ---- decompression -------------------------------------------------------- */

static int parse_header(struct step *s)
{
	kp_z *z = s->z;
	size_t n = in_avail(s), used = 0;
	int r;

	if (n == 0)
		return KP_ZE_TRUNCATED; /* only called so at end of input */
	r = kp_zhead_feed(&z->head, in_ptr(s), n, &used);
	in_take(s, used);
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
		if (n == 0 && in_ended(s))
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
	in_take(s, used);
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
	if (used == 0 && got == 0 && in_ended(s))
		return KP_ZE_TRUNCATED; /* it has all there is and wants more */
	return stalled(s, used, got) ? KP_ZE_CORRUPT : 0;
}

static int run_inflate(struct step *s)
{
	kp_z *z = s->z;
	size_t n = in_avail(s), room = win_space(s);
	const uint8_t *ip = in_ptr(s);
	uint8_t *op = s->win + z->out_end;
	int zr, r;

	if (n == 0 && in_ended(s) && !z->more_out)
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
	in_take(s, used);
	if (count_output(z, op, got))
		return 0;
	r = inflate_result(s, zr, n);
	if (r == 0 && zr != Z_STREAM_END && stalled(s, used, got))
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
		size_t n = in_avail(s);
		if (n == 0)
			return KP_ZE_TRUNCATED;
		r = kp_ztrail_feed(&z->trail, in_ptr(s), n, &used);
		in_take(s, used);
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
	if (in_avail(s) == 0) {
		z->phase = PH_END;
		return 0;
	}
	if (z->format != KP_Z_GZIP)
		return KP_ZE_HEADER;
	start_member(z, 0);
	return 0;
}

static int decompress_once(struct step *s)
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

/* ---- the step loop ---------------------------------------------------------- */

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
			if ((r = deliver(s)) != 0)
				return r;
			z->phase = PH_DONE;
			release_stream(z);
			return KP_Z_DONE;
		}
		if (z->phase == PH_LIMIT) {
			if ((r = deliver(s)) != 0)
				return r;
			return KP_ZE_TOO_LARGE;
		}
		/* Full, or a member just checked: what is held is final, and
		 * whatever follows (trailing garbage) must not hold it back. */
		if (win_space(s) == 0 ||
		    (z->phase == PH_NEXT && z->out_end > z->out_pos)) {
			if ((r = deliver(s)) != 0)
				return r;
			continue;
		}
		if (wants_input(z) && in_avail(s) == 0 && !in_ended(s)) {
			/* Never wait for input while holding output: the
			 * peer may be waiting for it. */
			if ((r = deliver(s)) != 0 || (r = fill_input(s)) != 0)
				return r;
			continue;
		}
		r = z->mode == KP_Z_COMPRESS ? compress_once(s)
					     : decompress_once(s);
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
	    (r = choose_engine(z, src_fd)) < 0) {
		z->phase = PH_DEAD;
		return r;
	}
	/* Memory output handed over by the last call is the caller's now. */
	if (dst_fd < 0)
		z->out_pos = z->out_end = 0;

	r = run(&s);

	res->consumed = s.in_off;
	if (r < 0)
		release_stream(z); /* no thread outlives a failed stream */
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
