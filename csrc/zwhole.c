/*
 * zwhole.c: libdeflate, as the engine zstream.c runs at levels 4 to 9 when
 * a stream's whole input is known before it starts (memory, a regular
 * file): libdeflate compresses a whole buffer in one call, with no
 * streaming state, which is what makes it faster than zlib at a better
 * ratio. kpipe's own code keeps the zlib and gzip framing around its raw
 * deflate data.
 *
 * Like ISA-L (zisal.c), libdeflate is compiled in only where its header is
 * (libdeflate-dev) and loaded at run time (libdeflate.so.0); without it the
 * same levels run on zlib. The function table is written once, under
 * pthread_once, before any reader sees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zinternal.h"

#if defined(__has_include)
#if __has_include(<libdeflate.h>)
#define KP_LIBDEFLATE_HEADER 1
#endif
#endif

#ifdef KP_LIBDEFLATE_HEADER

#include <dlfcn.h>
#include <libdeflate.h>
#include <pthread.h>

static struct {
	int ok;
	struct libdeflate_compressor *(*alloc)(int);
	size_t (*compress)(struct libdeflate_compressor *, const void *, size_t,
			   void *, size_t);
	size_t (*bound)(struct libdeflate_compressor *, size_t);
	void (*free)(struct libdeflate_compressor *);
} ld;

static pthread_once_t ld_once = PTHREAD_ONCE_INIT;

static void ld_load(void)
{
	const char *force = getenv("KPIPE_ZENGINE");
	void *h;

	if (force != NULL && strcmp(force, "zlib") == 0)
		return;
	h = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return;
	ld.alloc = (struct libdeflate_compressor * (*)(int))
		dlsym(h, "libdeflate_alloc_compressor");
	ld.compress =
		(size_t(*)(struct libdeflate_compressor *, const void *, size_t,
			   void *, size_t))dlsym(h,
						 "libdeflate_deflate_compress");
	ld.bound = (size_t(*)(struct libdeflate_compressor *, size_t))dlsym(
		h, "libdeflate_deflate_compress_bound");
	ld.free = (void (*)(struct libdeflate_compressor *))dlsym(
		h, "libdeflate_free_compressor");
	if (ld.alloc == NULL || ld.compress == NULL || ld.bound == NULL ||
	    ld.free == NULL) {
		dlclose(h);
		memset(&ld, 0, sizeof(ld));
		return;
	}
	ld.ok = 1; /* the handle stays open for the process's life */
}

int kp_ld_available(void)
{
	if (pthread_once(&ld_once, ld_load) != 0)
		return 0;
	return ld.ok;
}

/*
 * kpipe's levels 4 to 9 on libdeflate's scale. Measured on a tar of Go's
 * sources (MB/s on one core at size ratio): libdeflate 5 126 @4.43, 6 101
 * @4.48, 7 77 @4.51, 8 45 @4.54, 9 36 @4.54, 10 12 @4.70, where zlib 6
 * gives 38 @4.41 and zlib 9 13 @4.45. libdeflate's levels 1 to 4 (4.03 to
 * 4.29) are left out: ISA-L's level 3 is faster below them and
 * klauspost/compress faster at their ratios.
 */
static int ld_level(int level)
{
	static const int map[10] = { 0, 0, 0, 0, 5, 6, 7, 8, 9, 10 };
	return level >= 4 && level <= 9 ? map[level] : 0;
}

struct kp_ld {
	struct libdeflate_compressor *c;
	int level; /* kpipe's level c was made for */
};

int kp_ld_deflates(int level)
{
	return ld_level(level) != 0 && kp_ld_available();
}

struct kp_ld *kp_ld_new(void)
{
	return calloc(1, sizeof(struct kp_ld));
}

void kp_ld_free(struct kp_ld *e)
{
	if (e == NULL)
		return;
	if (e->c != NULL)
		ld.free(e->c);
	free(e);
}

int kp_ld_reset(struct kp_ld *e, int level)
{
	if (!kp_ld_deflates(level))
		return -EINVAL;
	if (e->c != NULL && e->level == level)
		return 0;
	if (e->c != NULL)
		ld.free(e->c);
	e->c = ld.alloc(ld_level(level));
	e->level = level;
	return e->c != NULL ? 0 : -ENOMEM;
}

size_t kp_ld_bound(struct kp_ld *e, size_t n)
{
	return ld.bound(e->c, n);
}

size_t kp_ld_compress(struct kp_ld *e, const uint8_t *in, size_t n,
		      uint8_t *out, size_t room)
{
	/* Nothing is one empty final fixed block, as zlib writes it, on
	 * every engine (libdeflate writes an empty stored block). */
	if (n == 0 && room >= 2) {
		out[0] = 0x03;
		out[1] = 0x00;
		return 2;
	}
	return ld.compress(e->c, in, n, out, room);
}

#else /* no libdeflate header: zlib runs levels 4 to 9 */

int kp_ld_available(void)
{
	return 0;
}

int kp_ld_deflates(int level)
{
	(void)level;
	return 0;
}

struct kp_ld *kp_ld_new(void)
{
	return NULL;
}

void kp_ld_free(struct kp_ld *e)
{
	(void)e;
}

int kp_ld_reset(struct kp_ld *e, int level)
{
	(void)e, (void)level;
	return -ENOSYS;
}

size_t kp_ld_bound(struct kp_ld *e, size_t n)
{
	(void)e, (void)n;
	return 0;
}

size_t kp_ld_compress(struct kp_ld *e, const uint8_t *in, size_t n,
		      uint8_t *out, size_t room)
{
	(void)e, (void)in, (void)n, (void)out, (void)room;
	return 0;
}

#endif
