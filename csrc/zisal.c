/*
 * zisal.c: ISA-L's deflate and inflate (igzip), as an engine zstream.c runs
 * in place of zlib's for raw deflate data; kpipe's own code keeps the zlib
 * and gzip framing and every check around it.
 *
 * ISA-L is loaded at run time (dlopen of its soname, libisal.so.2), and
 * compiled in only where its headers are (libisal-dev): a build on a machine
 * without them, or a process on a machine without the library, runs zlib
 * alone, with the same output format and the same errors. The function
 * table below is written once, under pthread_once, before any reader sees
 * it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zinternal.h"

#if defined(__has_include)
#if __has_include(<isa-l/igzip_lib.h>) && __has_include(<isa-l/crc.h>)
#define KP_ISAL_HEADERS 1
#endif
#endif

#ifdef KP_ISAL_HEADERS

#include <dlfcn.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>

static struct {
	int ok;
	void (*inflate_init)(struct inflate_state *);
	int (*inflate)(struct inflate_state *);
	void (*deflate_init)(struct isal_zstream *);
	void (*deflate_reset)(struct isal_zstream *);
	int (*deflate)(struct isal_zstream *);
	uint32_t (*crc32_gzip)(uint32_t, const unsigned char *, uint64_t);
} isal;

static pthread_once_t isal_once = PTHREAD_ONCE_INIT;

static void isal_load(void)
{
	const char *force = getenv("KPIPE_ZENGINE");
	void *h;

	if (force != NULL && strcmp(force, "zlib") == 0)
		return;
	h = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return;
	isal.inflate_init =
		(void (*)(struct inflate_state *))dlsym(h, "isal_inflate_init");
	isal.inflate =
		(int (*)(struct inflate_state *))dlsym(h, "isal_inflate");
	isal.deflate_init =
		(void (*)(struct isal_zstream *))dlsym(h, "isal_deflate_init");
	isal.deflate_reset =
		(void (*)(struct isal_zstream *))dlsym(h, "isal_deflate_reset");
	isal.deflate = (int (*)(struct isal_zstream *))dlsym(h, "isal_deflate");
	isal.crc32_gzip = (uint32_t(*)(uint32_t, const unsigned char *,
				       uint64_t))dlsym(h, "crc32_gzip_refl");
	if (isal.inflate_init == NULL || isal.inflate == NULL ||
	    isal.deflate_init == NULL || isal.deflate_reset == NULL ||
	    isal.deflate == NULL || isal.crc32_gzip == NULL) {
		dlclose(h);
		memset(&isal, 0, sizeof(isal));
		return;
	}
	isal.ok = 1; /* the handle stays open for the process's life */
}

int kp_isal_available(void)
{
	if (pthread_once(&isal_once, isal_load) != 0)
		return 0;
	return isal.ok;
}

struct kp_isal {
	struct inflate_state *in; /* each allocated on first use */
	struct isal_zstream *def;
	uint8_t *lvlbuf;
	int def_level; /* the level def was set up for, -1: none */
};

/* kpipe's levels 1 to 3 are ISA-L's, each with its default level buffer;
 * level 3's is the largest, so one buffer of that size serves them all. */
static uint32_t lvlbuf_size(int level)
{
	switch (level) {
	case 1:
		return ISAL_DEF_LVL1_DEFAULT;
	case 2:
		return ISAL_DEF_LVL2_DEFAULT;
	default:
		return ISAL_DEF_LVL3_DEFAULT;
	}
}

_Static_assert(ISAL_DEF_LVL3_DEFAULT >= ISAL_DEF_LVL2_DEFAULT &&
		       ISAL_DEF_LVL3_DEFAULT >= ISAL_DEF_LVL1_DEFAULT,
	       "level 3's buffer serves levels 1 and 2");

struct kp_isal *kp_isal_new(void)
{
	struct kp_isal *e = calloc(1, sizeof(*e));

	if (e != NULL)
		e->def_level = -1;
	return e;
}

void kp_isal_free(struct kp_isal *e)
{
	if (e == NULL)
		return;
	free(e->in);
	free(e->def);
	free(e->lvlbuf);
	free(e);
}

int kp_isal_deflates(int level)
{
	return level >= 1 && level <= ISAL_DEF_MAX_LEVEL && kp_isal_available();
}

int kp_isal_inflate_reset(struct kp_isal *e)
{
	if (e->in == NULL && (e->in = malloc(sizeof(*e->in))) == NULL)
		return -ENOMEM;
	isal.inflate_init(e->in);
	e->in->crc_flag = ISAL_DEFLATE; /* raw: kpipe checks the wrapper */
	return 0;
}

int kp_isal_inflate(struct kp_isal *e, const uint8_t *in, size_t n,
		    uint8_t *out, size_t room, size_t *used, size_t *got,
		    int *done, uint8_t back[8], size_t *back_len)
{
	struct inflate_state *st = e->in;
	int r;

	st->next_in = (uint8_t *)(uintptr_t)in;
	st->avail_in = (uint32_t)n;
	st->next_out = out;
	st->avail_out = (uint32_t)room;
	r = isal.inflate(st);
	*used = n - st->avail_in;
	*got = room - st->avail_out;
	*done = st->block_state == ISAL_BLOCK_FINISH;
	st->next_in = NULL;
	st->next_out = NULL;
	*back_len = 0;
	if (*done && st->read_in_length > 0) {
		/* Whole bytes it read past the final block (ISA-L 2.30 keeps
		 * them in its bit buffer, later releases give them back
		 * through next_in): they are the wrapper's trailer. The bits
		 * left of the last deflate byte are padding. */
		int left = st->read_in_length;
		uint64_t bits = st->read_in >> (left % 8);
		for (int i = 0; i < left / 8; i++)
			back[i] = (uint8_t)(bits >> (8 * i));
		*back_len = (size_t)(left / 8);
		st->read_in = 0;
		st->read_in_length = 0;
	}
	switch (r) {
	case ISAL_DECOMP_OK:
	case ISAL_END_INPUT:
	case ISAL_OUT_OVERFLOW:
		return 0;
	case ISAL_INVALID_BLOCK:
	case ISAL_INVALID_SYMBOL:
	case ISAL_INVALID_LOOKBACK:
	case ISAL_NEED_DICT: /* cannot happen in raw mode; corrupt if it does */
		return KP_ZE_CORRUPT;
	default:
		return KP_ZE_STATE;
	}
}

int kp_isal_deflate_reset(struct kp_isal *e, int level)
{
	uint32_t size = lvlbuf_size(level);

	if (e->def == NULL && (e->def = malloc(sizeof(*e->def))) == NULL)
		return -ENOMEM;
	if (e->lvlbuf == NULL &&
	    (e->lvlbuf = calloc(1, ISAL_DEF_LVL3_DEFAULT)) == NULL)
		return -ENOMEM;
	if (e->def_level < 0)
		isal.deflate_init(e->def);
	else
		isal.deflate_reset(e->def);
	e->def->level = (uint32_t)level;
	e->def->level_buf = e->lvlbuf;
	e->def->level_buf_size = size;
	e->def->gzip_flag = IGZIP_DEFLATE; /* raw: kpipe writes the wrapper */
	e->def->hist_bits = 0;             /* the whole 32 KiB window */
	e->def->flush = NO_FLUSH;
	e->def->end_of_stream = 0;
	e->def_level = level;
	return 0;
}

int kp_isal_deflate(struct kp_isal *e, const uint8_t *in, size_t n, int end,
		    uint8_t *out, size_t room, size_t *used, size_t *got,
		    int *done)
{
	struct isal_zstream *st = e->def;
	int r;

	st->next_in = (uint8_t *)(uintptr_t)in;
	st->avail_in = (uint32_t)n;
	st->next_out = out;
	st->avail_out = (uint32_t)room;
	st->end_of_stream = end == KP_ISAL_FINISH;
	st->flush = end == KP_ISAL_SYNC ? SYNC_FLUSH : NO_FLUSH;
	r = isal.deflate(st);
	*used = n - st->avail_in;
	*got = room - st->avail_out;
	/* A sync flush is complete once ISA-L waits for a new block. */
	*done = st->internal_state.state ==
		(end == KP_ISAL_SYNC ? ZSTATE_NEW_HDR : ZSTATE_END);
	st->next_in = NULL;
	st->next_out = NULL;
	if (r == ISAL_INVALID_LEVEL_BUF || r == ISAL_INVALID_LEVEL)
		return -EINVAL;
	return r == COMP_OK ? 0 : KP_ZE_STATE;
}

uint32_t kp_isal_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	return isal.crc32_gzip(crc, p, n);
}

#else /* no ISA-L headers: zlib alone */

int kp_isal_available(void)
{
	return 0;
}

int kp_isal_deflates(int level)
{
	(void)level;
	return 0;
}

struct kp_isal *kp_isal_new(void)
{
	return NULL;
}

void kp_isal_free(struct kp_isal *e)
{
	(void)e;
}

int kp_isal_inflate_reset(struct kp_isal *e)
{
	(void)e;
	return -ENOSYS;
}

int kp_isal_inflate(struct kp_isal *e, const uint8_t *in, size_t n,
		    uint8_t *out, size_t room, size_t *used, size_t *got,
		    int *done, uint8_t back[8], size_t *back_len)
{
	(void)e, (void)in, (void)n, (void)out, (void)room, (void)back;
	*used = *got = *back_len = 0;
	*done = 0;
	return KP_ZE_STATE;
}

int kp_isal_deflate_reset(struct kp_isal *e, int level)
{
	(void)e, (void)level;
	return -ENOSYS;
}

int kp_isal_deflate(struct kp_isal *e, const uint8_t *in, size_t n, int end,
		    uint8_t *out, size_t room, size_t *used, size_t *got,
		    int *done)
{
	(void)e, (void)in, (void)n, (void)end, (void)out, (void)room;
	*used = *got = 0;
	*done = 0;
	return KP_ZE_STATE;
}

uint32_t kp_isal_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	(void)p, (void)n;
	return crc;
}

#endif
