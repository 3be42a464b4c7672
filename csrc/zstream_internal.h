/*
 * zstream_internal.h: what the parts of kp_z share: the stream (struct kp_z),
 * one kp_z_step call (struct step), the phases, and the functions each part
 * gives the others. Not part of kpipe's public contract (kp_zstream.h is).
 *
 *	zstream.c   the step API and the step loop
 *	zsetup.c    a kp_z's life (new, reset, idle, free), its engines set up
 *	            and its buffers
 *	zio.c       input (reads, memory) and the output window (writes,
 *	            memory hand-over)
 *	zdeflate.c  compression: zlib, ISA-L, libdeflate (whole) and threads
 *	zinflate.c  decompression: headers, zlib or ISA-L, trailers, members
 *
 * The engines and wrappers they run are in zinternal.h.
 */
#ifndef KPIPE_ZSTREAM_INTERNAL_H
#define KPIPE_ZSTREAM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "kp_zstream.h"
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
/* kp_z_whole_until: the first buffer for input of unknown size. */
#define KP_Z_WHOLE_FIRST ((int64_t)256 * 1024)
#define KP_ISAL_OUT_MAX (4 * KP_ISAL_STAGE + 4096)

/* Raw deflate data with the largest window; kpipe writes the wrappers. */
#define RAW_WINDOW_BITS (-15)
#define MEM_LEVEL 8

enum zkind { ZK_NONE, ZK_DEFLATE, ZK_INFLATE };

/* Whether a compression stream runs whole on libdeflate (zwhole.c). */
enum zwhole {
	W_OFF,       /* no: zlib, ISA-L or threads */
	W_UNDECIDED, /* maybe: the first step chooses (kp_zs_choose_engine) */
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
	/* kp_z_whole_until: memory input of unknown size is kept whole up to
	 * this many bytes (-1: not asked for). */
	int64_t whole_open;
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

/* pend grows to hold libdeflate's whole output; a stream that ends, or a
 * new one, gives that memory back, keeping what ISA-L's stages need. */
#define KP_PEND_KEEP ((size_t)KP_ISAL_OUT_MAX)

/* ---- input and output window -------------------------------------------- */

static inline size_t kp_zs_in_avail(const struct step *s)
{
	size_t n;

	if (s->src >= 0)
		n = s->z->in_end - s->z->in_pos;
	else
		n = (size_t)(s->in_len - s->in_off);
	return n < KP_Z_CHUNK_MAX ? n : KP_Z_CHUNK_MAX;
}

static inline const uint8_t *kp_zs_in_ptr(const struct step *s)
{
	if (s->src >= 0)
		return s->z->inbuf + s->z->in_pos;
	return s->in + s->in_off;
}

static inline void kp_zs_in_take(struct step *s, size_t n)
{
	if (s->src >= 0) {
		s->z->in_pos += n;
	} else {
		s->in_off += (int64_t)n;
		s->z->in_total += (int64_t)n;
	}
}

/* All of the input has been seen: nothing buffered follows what is left. */
static inline int kp_zs_in_ended(const struct step *s)
{
	return s->src >= 0 ? s->z->src_eof : s->in_eof;
}

static inline size_t kp_zs_win_space(const struct step *s)
{
	size_t n = s->wcap - s->z->out_end;
	return n < KP_Z_CHUNK_MAX ? n : KP_Z_CHUNK_MAX;
}

/* A zlib call that moved nothing twice in a row with room on both sides
 * would loop for ever: refuse to. */
static inline int kp_zs_stalled(struct step *s, size_t used, size_t got)
{
	if (used != 0 || got != 0) {
		s->stalls = 0;
		return 0;
	}
	return ++s->stalls > 2;
}

/* ---- zsetup.c ------------------------------------------------------------ */

/* Reallocates the buffer *buf of *cap bytes to n bytes, with huge pages
 * asked for under a large one. Returns 0, or -ENOMEM with *buf kept. */
int kp_zs_resize(uint8_t **buf, size_t *cap, size_t n);
/* Makes pend at least n bytes. Returns 0 or -ENOMEM. */
int kp_zs_reserve_pend(kp_z *z, size_t n);
void kp_zs_free_whole(kp_z *z);
void kp_zs_release_stream(kp_z *z);
/* Starts a gzip member or a zlib stream: header next, checks reset. */
void kp_zs_start_member(kp_z *z, int keep_fields);

/* ---- zio.c --------------------------------------------------------------- */

int kp_zs_fill_input(struct step *s);
int kp_zs_deliver(struct step *s);
/* Copies what pend holds into the window, as much as fits. */
void kp_zs_emit_pending(struct step *s);

/* ---- zdeflate.c ---------------------------------------------------------- */

int kp_zs_grow_whole(kp_z *z, size_t n);
int kp_zs_whole_to_zlib(kp_z *z);
int kp_zs_choose_engine(kp_z *z, int src_fd);
/* One move of a compression stream: header, body or trailer. */
int kp_zs_compress_once(struct step *s);

/* ---- zinflate.c ---------------------------------------------------------- */

/* One move of a decompression stream: header, body, trailer or what
 * follows a member. */
int kp_zs_decompress_once(struct step *s);

#endif /* KPIPE_ZSTREAM_INTERNAL_H */
