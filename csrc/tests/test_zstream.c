/* test_zstream.c: kp_z on real fds (pipes, socketpairs, tmpfs files) and
 * memory, against zlib's own output and the gzip command. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "kpipe.h"
#include "zinternal.h"

#define KIB 1024
#define MIB (1024 * 1024)

/* ---- byte buffers and data ------------------------------------------------ */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!CHECK(q != NULL))
			return -1;
		b->p = q;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int same(const struct buf *a, const uint8_t *p, size_t n)
{
	return CHECK_EQ(a->len, n) &&
	       (n == 0 || CHECK(memcmp(a->p, p, n) == 0));
}

enum data_kind { RANDOM, TEXT };

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1DULL;
}

/* Pseudo-random bytes, or text-like data: lines drawn from 64 made-up
 * ones, a quarter of them with one letter changed (it compresses about
 * 10:1 with long matches, as source code does; text made of short words
 * would make level 9 crawl). */
static uint8_t *make_data(size_t n, int kind, uint64_t seed)
{
	uint8_t lines[64][81];
	size_t lens[64];
	uint8_t *p = malloc(n ? n : 1);
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
	size_t i = 0;

	if (!CHECK(p != NULL))
		return NULL;
	for (int l = 0; l < 64; l++) {
		lens[l] = 20 + next_rand(&x) % 60;
		for (size_t j = 0; j < lens[l]; j++)
			lines[l][j] = (uint8_t)(32 + next_rand(&x) % 95);
		lines[l][lens[l]++] = '\n';
	}
	while (i < n) {
		uint64_t r = next_rand(&x);
		if (kind == RANDOM) {
			for (int j = 0; j < 8 && i < n; j++)
				p[i++] = (uint8_t)(r >> (8 * j));
			continue;
		}
		size_t l = r % 64, start = i;
		for (size_t j = 0; j < lens[l] && i < n; j++)
			p[i++] = lines[l][j];
		if ((r >> 8) % 4 == 0)
			p[start + (r >> 16) % (i - start)] =
				(uint8_t)('a' + (r >> 40) % 26);
	}
	return p;
}

/* ---- fds -------------------------------------------------------------------- */

/* An unlinked file on tmpfs (never /tmp: cold pages there get paged out). */
static int shm_file(void)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd >= 0 ? fd : check_tmpfile();
}

static int shm_file_with(const void *p, size_t n)
{
	int fd = shm_file();

	if (fd < 0)
		return -1;
	if (!CHECK_OK(check_write_all(fd, p, n)) ||
	    !CHECK_SYS(lseek(fd, 0, SEEK_SET))) {
		check_close_fd(fd);
		return -1;
	}
	return fd;
}

static int add_block(void *b, const void *p, size_t n)
{
	return buf_add(b, p, n);
}

/* Adds the file fd, from offset 0 to its end, to b. Returns 0 or -1. */
static int read_file(int fd, struct buf *b)
{
	return check_read_file(fd, add_block, b);
}

/* ---- driving a kp_z ------------------------------------------------------------ */

/* Where a run takes input and puts output. Memory input is given in pieces
 * of in_piece bytes (0: all at once); memory output goes to out[0..out_cap)
 * when out is set, else to the kp_z's own buffer. */
struct run {
	int src, dst;
	const uint8_t *in;
	size_t in_len, in_piece;
	uint8_t *out;
	int64_t out_cap;
	struct buf *sink; /* memory output */
	int64_t written;  /* sum of res.written */
	int announce;     /* tell z the memory input's size (kp_z_size_hint) */
};

/* Steps z until DONE or an error and returns that; fails the test on
 * KP_Z_AGAIN (the fds here never block) and on broken result fields. */
static int drive(kp_z *z, struct run *r)
{
	size_t off = 0;

	r->written = 0;
	if (r->announce && r->src < 0 &&
	    !CHECK_EQ(kp_z_size_hint(z, (int64_t)r->in_len), 0))
		return KP_ZE_STATE;
	for (long iter = 0; iter < 50L * 1000 * 1000; iter++) {
		kp_z_result res;
		size_t n = r->in_len - off;
		if (r->in_piece > 0 && n > r->in_piece)
			n = r->in_piece;
		int eof = off + n == r->in_len;
		int st = kp_z_step(z, r->src, r->dst,
				   r->in ? r->in + off : NULL, (int64_t)n, eof,
				   r->out, r->out_cap, &res);
		if (!CHECK_GE(res.consumed, 0) || !CHECK_LE(res.consumed, n) ||
		    !CHECK_GE(res.written, 0))
			return KP_ZE_STATE;
		if (r->src < 0)
			off += (size_t)res.consumed;
		r->written += res.written;
		switch (st) {
		case KP_Z_HAVE_OUTPUT:
			if (!CHECK(r->dst < 0) || !CHECK_GT(res.out_len, 0) ||
			    !CHECK_EQ(res.written, res.out_len))
				return KP_ZE_STATE;
			if (r->out != NULL && !CHECK(res.out == r->out))
				return KP_ZE_STATE;
			if (buf_add(r->sink, res.out, (size_t)res.out_len) < 0)
				return KP_ZE_STATE;
			break;
		case KP_Z_NEED_INPUT:
			if (!CHECK(r->src < 0) || !CHECK_EQ(res.consumed, n) ||
			    !CHECK(!eof))
				return KP_ZE_STATE;
			break;
		case KP_Z_AGAIN:
			CHECK_FAIL("unexpected KP_Z_AGAIN, side %d", res.side);
			return KP_ZE_STATE;
		default:
			return st; /* DONE or an error */
		}
	}
	CHECK_FAIL("kp_z_step loops");
	return KP_ZE_STATE;
}

/* Memory to memory in one go, the input's size announced (as the Go side
 * does for a bytes.Reader): returns the final status. */
static int mem_run(kp_z *z, const uint8_t *in, size_t n, struct buf *out)
{
	struct run r = { -1, -1, in, n, 0, NULL, 0, out, 0, 1 };
	return drive(z, &r);
}

static int compress_mem(int format, int level, const kp_gz_header *hdr,
			const uint8_t *in, size_t n, struct buf *out)
{
	kp_z *z = kp_z_new(0);
	int st;

	if (!CHECK(z != NULL))
		return KP_ZE_STATE;
	st = kp_z_reset(z, KP_Z_COMPRESS, format, level, -1, hdr);
	if (CHECK_EQ(st, 0))
		st = mem_run(z, in, n, out);
	kp_z_free(z);
	return st;
}

static int decompress_mem(int format, const uint8_t *in, size_t n,
			  int64_t max_out, struct buf *out)
{
	kp_z *z = kp_z_new(0);
	int st;

	if (!CHECK(z != NULL))
		return KP_ZE_STATE;
	st = kp_z_reset(z, KP_Z_DECOMPRESS, format, 0, max_out, NULL);
	if (CHECK_EQ(st, 0))
		st = mem_run(z, in, n, out);
	kp_z_free(z);
	return st;
}

/* Calls step (deflate or inflate) with flush until it returns other than
 * Z_OK, or until adding what it writes to out fails; returns what step
 * returned last (Z_OK, then, after a failed add). */
static int zlib_run(z_stream *zs, int (*step)(z_streamp, int), int flush,
		    struct buf *out)
{
	uint8_t tmp[16 * KIB];
	int zr;

	do {
		zs->next_out = tmp;
		zs->avail_out = sizeof(tmp);
		zr = step(zs, flush);
		if (buf_add(out, tmp, sizeof(tmp) - zs->avail_out) < 0)
			break;
	} while (zr == Z_OK);
	return zr;
}

/* What zlib itself makes of the data: gzip (windowBits 31) or zlib (15). */
static int zlib_reference(int format, int level, const uint8_t *in, size_t n,
			  struct buf *out)
{
	z_stream zs;
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (!CHECK_EQ(deflateInit2(&zs, level == -2 ? -1 : level, Z_DEFLATED,
				   format == KP_Z_GZIP ? 31 : 15, 8,
				   level == -2 ? Z_HUFFMAN_ONLY
					       : Z_DEFAULT_STRATEGY),
		      Z_OK))
		return -1;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zr = zlib_run(&zs, deflate, Z_FINISH, out);
	CHECK_EQ(zr, Z_STREAM_END);
	CHECK_EQ(deflateEnd(&zs), Z_OK);
	return zr == Z_STREAM_END ? 0 : -1;
}

/* Decodes comp (with its zlib or gzip wrapper) with zlib itself. */
static int zlib_decode(int format, const struct buf *comp, struct buf *out)
{
	z_stream zs;
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (!CHECK_EQ(inflateInit2(&zs, format == KP_Z_GZIP ? 31 : 15), Z_OK))
		return -1;
	zs.next_in = comp->p;
	zs.avail_in = (uInt)comp->len;
	zr = zlib_run(&zs, inflate, Z_NO_FLUSH, out);
	CHECK_EQ(inflateEnd(&zs), Z_OK);
	return CHECK_EQ(zr, Z_STREAM_END) && CHECK_EQ(zs.avail_in, 0) ? 0 : -1;
}

static int compress_mem(int format, int level, const kp_gz_header *hdr,
			const uint8_t *in, size_t n, struct buf *out);

/* What kpipe must write at level: zlib's bytes where zlib runs; where ISA-L
 * does (levels 1-3, when loaded), kpipe's own memory -> memory output,
 * which zlib must decode to in (the paths must then all write it). */
static int expected(int format, int level, const uint8_t *in, size_t n,
		    struct buf *out)
{
	struct buf back = { 0 };
	int r;

	if (!kp_isal_deflates(level) &&
	    !kp_ld_deflates(level == -1 ? 6 : level))
		return zlib_reference(format, level, in, n, out);
	if (!CHECK_EQ(compress_mem(format, level, NULL, in, n, out), KP_Z_DONE))
		return -1;
	r = zlib_decode(format, out, &back);
	if (r == 0 && !same(&back, in, n))
		r = -1;
	buf_free(&back);
	return r;
}

/* ---- round trips ------------------------------------------------------------- */

static const int formats[] = { KP_Z_ZLIB, KP_Z_GZIP };
static const char *const fnames[] = { "zlib", "gzip" };

/* Compresses fd -> fd (and, for the cheaper levels, memory -> fd and
 * fd -> memory); each must give exactly `want`. */
static void compress_paths(int format, int level, const uint8_t *data, size_t n,
			   const struct buf *want, int all_paths)
{
	kp_z *z = kp_z_new(0);
	int src = shm_file_with(data, n), dst = shm_file();

	if (!CHECK(z != NULL) || src < 0 || dst < 0)
		goto out;
	for (int path = 0; path < (all_paths ? 3 : 1); path++) {
		struct buf got = { 0 };
		struct run r = { src, dst, NULL, 0, 0, NULL, 0, &got, 0, 0 };
		if (path == 1) { /* memory -> fd */
			r.src = -1;
			r.in = data;
			r.in_len = n;
			r.in_piece = 100 * KIB + 3;
			r.announce = 1;
		} else if (path == 2) { /* fd -> memory */
			r.dst = -1;
		}
		CHECK_SYS(lseek(src, 0, SEEK_SET));
		CHECK_SYS(ftruncate(dst, 0));
		CHECK_SYS(lseek(dst, 0, SEEK_SET));
		if (!CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, format, level, -1,
					 NULL),
			      0))
			break;
		if (!CHECK_EQ(drive(z, &r), KP_Z_DONE))
			check_note("path %d", path);
		if (r.dst >= 0)
			read_file(dst, &got);
		if (!same(&got, want->p, want->len))
			check_note("%s level %d size %zu path %d",
				   fnames[format], level, n, path);
		int64_t tin, tout;
		kp_z_totals(z, &tin, &tout);
		CHECK_EQ(tin, n);
		CHECK_EQ(tout, want->len);
		CHECK_EQ(r.written, want->len);
		buf_free(&got);
	}
out:
	kp_z_free(z);
	check_close_fd(src);
	check_close_fd(dst);
}

/* Decompresses comp by every path (fd -> fd, memory -> fd, fd -> memory,
 * memory -> memory with the kp_z's buffer and with small caller buffers);
 * each must give data. */
static void decompress_paths(int format, const struct buf *comp,
			     const uint8_t *data, size_t n, int small_outs)
{
	static const int64_t caps[] = { 1, 7, 4093 };
	kp_z *z = kp_z_new(0);
	int src = shm_file_with(comp->p, comp->len), dst = shm_file();

	if (!CHECK(z != NULL) || src < 0 || dst < 0)
		goto out;
	for (int path = 0; path < 4 + (small_outs ? 3 : 0); path++) {
		struct buf got = { 0 };
		uint8_t outbuf[4093];
		struct run r = { src, dst, NULL, 0, 0, NULL, 0, &got, 0, 0 };
		if (path == 1 || path >= 3) { /* memory input */
			r.src = -1;
			r.in = comp->p;
			r.in_len = comp->len;
			r.in_piece = path == 1 ? 0 : 999;
		}
		if (path >= 2) /* memory output */
			r.dst = -1;
		if (path >= 4) {
			r.out = outbuf;
			r.out_cap = caps[path - 4];
		}
		CHECK_SYS(lseek(src, 0, SEEK_SET));
		CHECK_SYS(ftruncate(dst, 0));
		CHECK_SYS(lseek(dst, 0, SEEK_SET));
		if (!CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, format, 0, -1,
					 NULL),
			      0))
			break;
		if (!CHECK_EQ(drive(z, &r), KP_Z_DONE))
			check_note("%s size %zu path %d", fnames[format], n,
				   path);
		if (r.dst >= 0)
			read_file(dst, &got);
		if (!same(&got, data, n))
			check_note("%s size %zu path %d", fnames[format], n,
				   path);
		int64_t tin, tout;
		kp_z_totals(z, &tin, &tout);
		CHECK_EQ(tin, comp->len);
		CHECK_EQ(tout, n);
		buf_free(&got);
	}
out:
	kp_z_free(z);
	check_close_fd(src);
	check_close_fd(dst);
}

static void test_round_trips(void)
{
	static const int levels[] = { 1, 6, 9, -2 };
	static const size_t sizes[] = { 0, 1, 64 * KIB - 1, MIB + 7 };

	for (size_t f = 0; f < 2; f++)
		for (size_t l = 0; l < 4; l++)
			for (size_t s = 0; s < 4; s++)
				for (int kind = RANDOM; kind <= TEXT; kind++) {
					int format = formats[f],
					    level = levels[l];
					size_t n = sizes[s];
					uint8_t *data = make_data(
						n, kind, s * 10 + (size_t)kind);
					struct buf ref = { 0 }, mine = { 0 };
					if (data == NULL)
						return;
					/* Byte for byte what zlib writes with
					 * its own wrappers. */
					if (expected(format, level, data, n,
						     &ref) == 0 &&
					    CHECK_EQ(compress_mem(format, level,
								  NULL, data, n,
								  &mine),
						     KP_Z_DONE) &&
					    !same(&mine, ref.p, ref.len))
						check_note("%s level %d size "
							   "%zu kind %d",
							   fnames[f], level, n,
							   kind);
					/* All paths for the fast levels; for
					 * the slow ones, fd -> fd below 1 MiB
					 * (memory -> memory is above). */
					int cheap = level == 1 || level == -2;
					if (cheap || n < MIB)
						compress_paths(format, level,
							       data, n, &ref,
							       cheap);
					decompress_paths(format, &ref, data, n,
							 n == 64 * KIB - 1 &&
								 level == 6);
					buf_free(&ref);
					buf_free(&mine);
					free(data);
				}
}

/* Resets z to compress, announces hint bytes of memory input (-1: none),
 * runs r and checks that it wrote exactly want; r->sink is emptied. */
static void rerun(kp_z *z, int format, int level, int64_t hint, struct run *r,
		  const struct buf *want)
{
	CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, format, level, -1, NULL), 0);
	if (hint >= 0)
		CHECK_EQ(kp_z_size_hint(z, hint), 0);
	CHECK_EQ(drive(z, r), KP_Z_DONE);
	same(r->sink, want->p, want->len);
	buf_free(r->sink);
}

/* libdeflate's whole-stream path at levels 4 to 9: memory whose size is
 * announced and a regular file give the same bytes; memory not announced
 * goes through zlib, byte for byte zlib's own output; input longer than
 * whole_max, announced or found so, falls back to zlib, with the same bytes
 * as zlib alone. */
static void test_whole_engine(void)
{
	static const int levels[] = { 4, 6, 9 };
	size_t n = 700 * KIB + 5;
	uint8_t *data = make_data(n, TEXT, 51);

	if (data == NULL)
		return;
	for (size_t f = 0; f < 2; f++)
		for (size_t l = 0; l < 3; l++) {
			int format = formats[f], level = levels[l];
			struct buf whole = { 0 }, ref = { 0 }, got = { 0 };
			kp_z *z = kp_z_new(0);
			int src = shm_file_with(data, n), dst = shm_file();
			if (!CHECK(z != NULL) || src < 0 || dst < 0)
				goto next;
			if (!CHECK_EQ(zlib_reference(format, level, data, n,
						     &ref),
				      0) ||
			    !CHECK_EQ(compress_mem(format, level, NULL, data, n,
						   &whole),
				      KP_Z_DONE))
				goto next;
			/* libdeflate's bytes differ from zlib's. */
			CHECK_EQ(kp_ld_deflates(level), kp_ld_available());
			CHECK_EQ(whole.len != ref.len ||
					 memcmp(whole.p, ref.p, ref.len) != 0,
				 kp_ld_available());
			/* A regular file runs whole too: fd -> memory. */
			struct run fr = { src,  -1, NULL, 0, 0,
					  NULL, 0,  &got, 0, 0 };
			rerun(z, format, level, -1, &fr, &whole);
			/* Memory in pieces, not announced: zlib. */
			struct run mr = { -1,   -1, data, n, 64 * KIB,
					  NULL, 0,  &got, 0, 0 };
			rerun(z, format, level, -1, &mr, &ref);
			/* Announced as less than whole_max but longer: the
			 * buffer grows, then zlib takes over. */
			kp_z_test_whole_max(z, 300 * KIB);
			struct run ur = { -1,   -1, data, n, 100 * KIB,
					  NULL, 0,  &got, 0, 0 };
			rerun(z, format, level, 50 * KIB, &ur, &ref);
			/* A file longer than whole_max: zlib from the start. */
			CHECK_SYS(lseek(src, 0, SEEK_SET));
			rerun(z, format, level, -1, &fr, &ref);
			/* A file whose size is under whole_max, from an
			 * offset: whole again, and only what follows it. */
			CHECK_SYS(lseek(src, (off_t)(n - 200 * KIB), SEEK_SET));
			struct buf tail = { 0 };
			CHECK_EQ(compress_mem(format, level, NULL,
					      data + n - 200 * KIB, 200 * KIB,
					      &tail),
				 KP_Z_DONE);
			rerun(z, format, level, -1, &fr, &tail);
			buf_free(&tail);
			/* Announcing is refused once the stream has begun. */
			CHECK_EQ(kp_z_size_hint(z, 1), KP_ZE_STATE);
		next:
			buf_free(&got);
			buf_free(&whole);
			buf_free(&ref);
			kp_z_free(z);
			check_close_fd(src);
			check_close_fd(dst);
		}
	free(data);
}

/* Threads in this process (the workers of a stream included). */
static int thread_count(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	if (!CHECK(d != NULL))
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Compresses in[0..n) on threads threads, memory (in pieces of piece
 * bytes) or a file (piece 0) to memory. */
static int compress_threads(int format, int level, int threads,
			    const uint8_t *in, size_t n, size_t piece,
			    struct buf *out)
{
	kp_z *z = kp_z_new(0);
	int src = piece == 0 ? shm_file_with(in, n) : -1, st = KP_ZE_STATE;
	struct run r = { src,
			 -1,
			 src < 0 ? in : NULL,
			 src < 0 ? n : 0,
			 piece,
			 NULL,
			 0,
			 out,
			 0,
			 0 };

	if (CHECK(z != NULL) && (piece > 0 || src >= 0) &&
	    CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, format, level, -1, NULL),
		     0) &&
	    CHECK_EQ(kp_z_threads(z, threads), 0))
		st = drive(z, &r);
	kp_z_free(z);
	check_close_fd(src);
	return st;
}

/* Many threads for one stream: the output decodes to the input, is the
 * same bytes for 2 and 5 threads, from memory in pieces and from a file;
 * the threads are gone when the stream ends or fails. */
static void test_threads(void)
{
	static const int levels[] = { 1, 4, 6, -2 };
	static const size_t sizes[] = { 0, 1, MIB, 3 * MIB + 333 * KIB };
	int before = thread_count();
	uint8_t *data = make_data(sizes[3], TEXT, 61);

	if (data == NULL)
		return;
	for (size_t f = 0; f < 2; f++)
		for (size_t l = 0; l < 4; l++)
			for (size_t i = 0; i < 4; i++) {
				int format = formats[f], level = levels[l];
				size_t n = sizes[i];
				struct buf two = { 0 }, five = { 0 },
					   file = { 0 }, back = { 0 };
				if (CHECK_EQ(compress_threads(format, level, 2,
							      data, n,
							      100 * KIB, &two),
					     KP_Z_DONE) &&
				    CHECK_EQ(zlib_decode(format, &two, &back),
					     0) &&
				    !same(&back, data, n))
					check_note("%s level %d size %zu",
						   fnames[f], level, n);
				CHECK_EQ(compress_threads(format, level, 5,
							  data, n, 64 * KIB + 1,
							  &five),
					 KP_Z_DONE);
				same(&five, two.p, two.len);
				CHECK_EQ(compress_threads(format, level, 2,
							  data, n, 0, &file),
					 KP_Z_DONE);
				same(&file, two.p, two.len);
				buf_free(&two);
				buf_free(&five);
				buf_free(&file);
				buf_free(&back);
			}
	CHECK_EQ(thread_count(), before);

	/* A destination that fails mid-stream (a pipe whose reader is
	 * gone): the error comes back and no worker stays. */
	int p[2];
	kp_z *z = kp_z_new(0);
	if (CHECK(z != NULL) && CHECK_SYS(pipe2(p, O_CLOEXEC))) {
		check_close_fd(p[0]);
		struct run r = { -1,   p[1], data, sizes[3], 256 * KIB,
				 NULL, 0,    NULL, 0,        0 };
		CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, 6, -1, NULL),
			 0);
		CHECK_EQ(kp_z_threads(z, 2), 0);
		CHECK_EQ(drive(z, &r), -EPIPE);
		CHECK_EQ(thread_count(), before);
		check_close_fd(p[1]);
	}
	kp_z_free(z);
	/* Out of place: after the first step, or no threads. */
	z = kp_z_new(0);
	if (CHECK(z != NULL)) {
		CHECK_EQ(kp_z_threads(z, 2), KP_ZE_STATE); /* never reset */
		CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, 6, -1, NULL),
			 0);
		CHECK_EQ(kp_z_threads(z, 0), KP_ZE_STATE);
	}
	kp_z_free(z);
	free(data);
}

/* Compression into a caller's tiny buffer, and with input in tiny pieces. */
static void test_compress_small_pieces(void)
{
	static const int64_t caps[] = { 1, 7 };
	size_t n = 64 * KIB - 1;
	uint8_t *data = make_data(n, TEXT, 5);
	kp_z *z = kp_z_new(4096);

	if (data == NULL || !CHECK(z != NULL))
		goto out;
	for (size_t f = 0; f < 2; f++) {
		struct buf ref = { 0 };
		zlib_reference(formats[f], 6, data, n, &ref);
		for (size_t c = 0; c < 2; c++) {
			uint8_t out[7];
			struct buf got = { 0 };
			struct run r = { -1,  -1,      data, n, 13 * (c + 1),
					 out, caps[c], &got, 0, 0 };
			CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, formats[f], 6, -1,
					    NULL),
				 0);
			CHECK_EQ(drive(z, &r), KP_Z_DONE);
			same(&got, ref.p, ref.len);
			buf_free(&got);
		}
		buf_free(&ref);
	}
out:
	kp_z_free(z);
	free(data);
}

/* ---- non-blocking fds ------------------------------------------------------- */

/* Compressed input one byte at a time through a non-blocking pipe: the step
 * says KP_Z_AGAIN (source) between bytes and never takes a short read for
 * the end; then the same for compression. */
static void test_byte_at_a_time_pipe(void)
{
	size_t n = 3000;
	uint8_t *data = make_data(n, TEXT, 9);

	if (data == NULL)
		return;
	for (int mode = KP_Z_COMPRESS; mode <= KP_Z_DECOMPRESS; mode++)
		for (size_t f = 0; f < 2; f++) {
			struct buf comp = { 0 }, got = { 0 };
			const struct buf *in;
			struct buf plain = { data, n, n };
			int p[2] = { -1, -1 }, dst = shm_file();
			kp_z *z = kp_z_new(0);

			zlib_reference(formats[f], 6, data, n, &comp);
			in = mode == KP_Z_DECOMPRESS ? &comp : &plain;
			if (!CHECK(z != NULL) || dst < 0 ||
			    !CHECK_OK(kp_pipe_open(p, 1, 0, NULL)))
				goto next;
			CHECK_EQ(kp_z_reset(z, mode, formats[f], 6, -1, NULL),
				 0);
			int st = -1, agains = 0;
			for (size_t i = 0; i <= in->len; i++) {
				if (i < in->len)
					CHECK_OK(check_write_all(p[1],
								 in->p + i, 1));
				else
					check_close_fd(p[1]), p[1] = -1;
				kp_z_result res;
				st = kp_z_step(z, p[0], dst, NULL, 0, 0, NULL,
					       0, &res);
				if (st == KP_Z_AGAIN) {
					CHECK_EQ(res.side, KP_SIDE_SRC);
					agains++;
					continue;
				}
				break;
			}
			CHECK_EQ(st, KP_Z_DONE);
			CHECK_EQ(agains, in->len);
			read_file(dst, &got);
			if (mode == KP_Z_DECOMPRESS)
				same(&got, data, n);
			else
				same(&got, comp.p, comp.len);
		next:
			kp_z_free(z);
			kp_pipe_close(p);
			check_close_fd(dst);
			buf_free(&comp);
			buf_free(&got);
		}
	free(data);
}

/* A non-blocking destination pipe that fills: KP_Z_AGAIN (destination),
 * partial writes continued, nothing lost. */
static void test_full_destination_pipe(void)
{
	size_t n = MIB + 7;
	uint8_t *data = make_data(n, TEXT, 12);

	if (data == NULL)
		return;
	for (int mode = KP_Z_COMPRESS; mode <= KP_Z_DECOMPRESS; mode++) {
		struct buf comp = { 0 };
		int p[2] = { -1, -1 };
		kp_z *z = kp_z_new(0);
		struct check_hash got, want;

		expected(KP_Z_GZIP, 1, data, n, &comp);
		const uint8_t *in = mode == KP_Z_DECOMPRESS ? comp.p : data;
		size_t in_len = mode == KP_Z_DECOMPRESS ? comp.len : n;
		if (!CHECK(z != NULL) ||
		    !CHECK_OK(kp_pipe_open(p, 1, 4096, NULL)))
			goto next;
		CHECK_EQ(kp_z_reset(z, mode, KP_Z_GZIP, 1, -1, NULL), 0);
		check_hash_init(&got);
		size_t off = 0;
		int st, agains = 0;
		int64_t written = 0;
		for (;;) {
			kp_z_result res;
			st = kp_z_step(z, -1, p[1], in + off,
				       (int64_t)(in_len - off), 1, NULL, 0,
				       &res);
			off += (size_t)res.consumed;
			written += res.written;
			if (st != KP_Z_AGAIN)
				break;
			CHECK_EQ(res.side, KP_SIDE_DST);
			agains++;
			if (check_drain(p[0], &got) < 0)
				break;
		}
		CHECK_EQ(st, KP_Z_DONE);
		CHECK_GT(agains, 4);
		CHECK_EQ(off, in_len);
		CHECK_GE(check_drain(p[0], &got), 0);
		CHECK_EQ(written, got.n);
		check_hash_init(&want);
		if (mode == KP_Z_DECOMPRESS)
			check_hash_add(&want, data, n);
		else
			check_hash_add(&want, comp.p, comp.len);
		CHECK_EQ(got.n, want.n);
		CHECK(got.h == want.h);
	next:
		kp_z_free(z);
		kp_pipe_close(p);
		buf_free(&comp);
	}
	free(data);
}

struct slow_writer {
	int fd;
	const uint8_t *p;
	size_t n;
};

/* Writes in uneven small pieces, then shuts the socket down. */
static void *slow_write(void *arg)
{
	struct slow_writer *w = arg;
	size_t off = 0, piece = 1;

	while (off < w->n) {
		size_t k = w->n - off < piece ? w->n - off : piece;
		if (check_write_all(w->fd, w->p + off, k) < 0)
			break;
		off += k;
		piece = piece * 3 % 1021 + 1;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

/* Short reads from a socket are not the end of input. */
static void test_socket_short_reads(void)
{
	size_t n = 200 * KIB;
	uint8_t *data = make_data(n, RANDOM, 21);
	struct buf comp = { 0 }, got = { 0 };
	int sv[2] = { -1, -1 }, dst = shm_file();
	kp_z *z = kp_z_new(0);
	pthread_t th;

	if (data == NULL || !CHECK(z != NULL) || dst < 0 ||
	    !CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)))
		goto out;
	zlib_reference(KP_Z_GZIP, 6, data, n, &comp);
	struct slow_writer w = { sv[1], comp.p, comp.len };
	if (!CHECK_EQ(pthread_create(&th, NULL, slow_write, &w), 0))
		goto out;
	kp_z_result res;
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(kp_z_step(z, sv[0], dst, NULL, 0, 0, NULL, 0, &res),
		 KP_Z_DONE);
	CHECK_EQ(res.written, n);
	CHECK_EQ(pthread_join(th, NULL), 0);
	read_file(dst, &got);
	same(&got, data, n);
out:
	kp_z_free(z);
	check_close_fd(sv[0]);
	check_close_fd(sv[1]);
	check_close_fd(dst);
	buf_free(&comp);
	buf_free(&got);
	free(data);
}

/* ---- the gzip command ----------------------------------------------------------- */

/* Runs argv with stdin from fd in and stdout to fd out; returns its exit
 * status or -1. */
static int run_cmd(char *const argv[], int in, int out)
{
	pid_t pid = fork();
	int status;

	if (!CHECK_SYS(pid))
		return -1;
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (!CHECK(errno == EINTR))
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int have_gzip(void)
{
	if (access("/bin/gzip", X_OK) == 0 ||
	    access("/usr/bin/gzip", X_OK) == 0)
		return 1;
	check_note("no gzip command: skipped");
	return 0;
}

/* gzip -dc takes what kpipe writes, with and without header fields. */
static void test_gzip_command_reads_ours(void)
{
	static const uint8_t extra[] = { 'K', 'P', 2, 0, 'h', 'i' };
	static const int levels[] = { 1, 9, -2 };
	size_t n = 300 * KIB;
	uint8_t *data = make_data(n, TEXT, 31);
	char *argv[] = { "gzip", "-dc", NULL };

	if (data == NULL || !have_gzip())
		goto out;
	for (int v = 0; v < 3; v++) {
		kp_gz_header h = { 0 };
		struct buf comp = { 0 }, got = { 0 };
		h.os = 3;
		if (v > 0) {
			h.name = (const uint8_t *)"data.txt";
			h.name_len = 8;
			h.comment = (const uint8_t *)"made by kpipe";
			h.comment_len = 13;
			h.extra = extra;
			h.extra_len = sizeof(extra);
			h.mtime = 1700000000;
			h.hcrc = v == 2;
		}
		int src = -1, dst = shm_file();
		if (CHECK_EQ(compress_mem(KP_Z_GZIP, levels[v], &h, data, n,
					  &comp),
			     KP_Z_DONE) &&
		    (src = shm_file_with(comp.p, comp.len)) >= 0 && dst >= 0) {
			CHECK_EQ(run_cmd(argv, src, dst), 0);
			read_file(dst, &got);
			same(&got, data, n);
		}
		check_close_fd(src);
		check_close_fd(dst);
		buf_free(&comp);
		buf_free(&got);
	}
out:
	free(data);
}

/* kpipe reads what gzip writes: from a pipe (no name) and from a named file
 * (gzip stores the name), and two members concatenated. */
static void test_ours_reads_gzip_command(void)
{
	size_t n = 500 * KIB + 3;
	uint8_t *data = make_data(n, TEXT, 41);
	char dir[] = "/dev/shm/kpipe-ztest-XXXXXX", path[64];
	int made_dir = 0, made_file = 0;

	if (data == NULL || !have_gzip())
		goto out;
	if (!CHECK(mkdtemp(dir) != NULL))
		goto out;
	made_dir = 1;
	snprintf(path, sizeof(path), "%s/hello.txt", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!CHECK_SYS(fd))
		goto out;
	made_file = 1;
	CHECK_OK(check_write_all(fd, data, n));
	check_close_fd(fd);

	for (int named = 0; named < 2; named++) {
		char *pipe_argv[] = { "gzip", "-c", NULL };
		char *file_argv[] = { "gzip", "-N", "-c", path, NULL };
		int in = open(path, O_RDONLY | O_CLOEXEC), comp = shm_file();
		int out = shm_file();
		kp_z *z = kp_z_new(0);
		struct buf got = { 0 };
		if (!CHECK_SYS(in) || comp < 0 || out < 0 || !CHECK(z != NULL))
			goto next;
		CHECK_EQ(run_cmd(named ? file_argv : pipe_argv, in, comp), 0);
		CHECK_SYS(lseek(comp, 0, SEEK_SET));
		CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL),
			 0);
		struct run r = { comp, out, NULL, 0, 0, NULL, 0, &got, 0, 0 };
		CHECK_EQ(drive(z, &r), KP_Z_DONE);
		read_file(out, &got);
		same(&got, data, n);
		kp_gz_header h;
		CHECK_EQ(kp_z_gzip_header(z, &h), 1);
		if (named) {
			if (CHECK(h.name != NULL) && CHECK_EQ(h.name_len, 9))
				CHECK(memcmp(h.name, "hello.txt", 9) == 0);
			CHECK_NE(h.mtime, 0);
		} else {
			CHECK(h.name == NULL);
		}
		CHECK_EQ(h.os, 3);
	next:
		kp_z_free(z);
		if (in >= 0)
			check_close_fd(in);
		check_close_fd(comp);
		check_close_fd(out);
		buf_free(&got);
	}
out:
	if (made_file)
		CHECK_SYS(unlink(path));
	if (made_dir)
		CHECK_SYS(rmdir(dir));
	free(data);
}

/* ---- multi-member ------------------------------------------------------------------ */

static void test_multi_member(void)
{
	size_t n1 = 70 * KIB, n2 = 5000;
	uint8_t *d1 = make_data(n1, TEXT, 51), *d2 = make_data(n2, RANDOM, 52);
	struct buf all = { 0 }, want = { 0 }, got = { 0 };
	kp_gz_header h = { 0 };

	if (d1 == NULL || d2 == NULL)
		goto out;
	h.name = (const uint8_t *)"first";
	h.name_len = 5;
	h.os = 3;
	kp_gz_header h2 = h;
	h2.name = (const uint8_t *)"second";
	h2.name_len = 6;
	h2.hcrc = 1;
	/* first, an empty member, second */
	CHECK_EQ(compress_mem(KP_Z_GZIP, 6, &h, d1, n1, &all), KP_Z_DONE);
	CHECK_EQ(compress_mem(KP_Z_GZIP, 6, NULL, NULL, 0, &all), KP_Z_DONE);
	CHECK_EQ(compress_mem(KP_Z_GZIP, 1, &h2, d2, n2, &all), KP_Z_DONE);
	buf_add(&want, d1, n1);
	buf_add(&want, d2, n2);
	for (int path = 0; path < 2; path++) {
		kp_z *z = kp_z_new(4096);
		int src = shm_file_with(all.p, all.len), dst = shm_file();
		struct run r = { src, dst, NULL, 0, 0, NULL, 0, &got, 0, 0 };
		if (path == 1) {
			r.src = r.dst = -1;
			r.in = all.p;
			r.in_len = all.len;
			r.in_piece = 1;
		}
		if (CHECK(z != NULL) && src >= 0 && dst >= 0) {
			kp_gz_header g;
			CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0,
					    -1, NULL),
				 0);
			CHECK_EQ(kp_z_gzip_header(z, &g), 0);
			CHECK_EQ(drive(z, &r), KP_Z_DONE);
			if (path == 0)
				read_file(dst, &got);
			same(&got, want.p, want.len);
			/* The first member's header. */
			CHECK_EQ(kp_z_gzip_header(z, &g), 1);
			if (CHECK_EQ(g.name_len, 5) && CHECK(g.name != NULL))
				CHECK(memcmp(g.name, "first", 5) == 0);
			CHECK_EQ(g.hcrc, 0);
		}
		kp_z_free(z);
		check_close_fd(src);
		check_close_fd(dst);
		buf_free(&got);
	}
	/* A zlib stream is one stream: a second one after it is garbage. */
	struct buf two = { 0 };
	compress_mem(KP_Z_ZLIB, 6, NULL, d2, 100, &two);
	compress_mem(KP_Z_ZLIB, 6, NULL, d2, 100, &two);
	CHECK_EQ(decompress_mem(KP_Z_ZLIB, two.p, two.len, -1, &got),
		 KP_ZE_HEADER);
	buf_free(&two);
out:
	buf_free(&all);
	buf_free(&want);
	buf_free(&got);
	free(d1);
	free(d2);
}

/* ---- damaged input ---------------------------------------------------------------- */

/* A small member with every header field, and one without. */
static void small_member(int format, int fields, struct buf *out,
			 uint8_t **data, size_t *n)
{
	static const uint8_t extra[] = { 'x', 'y', 1, 0, 9 };
	kp_gz_header h = { 0 };

	*n = 600;
	*data = make_data(*n, TEXT, 61);
	if (*data == NULL)
		return;
	h.os = 3;
	h.mtime = 12345;
	if (fields) {
		h.name = (const uint8_t *)"nm";
		h.name_len = 2;
		h.comment = (const uint8_t *)"cm";
		h.comment_len = 2;
		h.extra = extra;
		h.extra_len = sizeof(extra);
		h.hcrc = 1;
	}
	CHECK_EQ(compress_mem(format, 6, &h, *data, *n, out), KP_Z_DONE);
}

/* Decompressing the n bytes at p from a file to a file (one kp_z_step)
 * stops with KP_ZE_TRUNCATED. */
static void truncated_fd(int format, const uint8_t *p, size_t n)
{
	int src = shm_file_with(p, n), dst = shm_file();
	kp_z *z = kp_z_new(0);
	kp_z_result res;

	if (src >= 0 && dst >= 0 && CHECK(z != NULL)) {
		CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, format, 0, -1, NULL),
			 0);
		CHECK_EQ(kp_z_step(z, src, dst, NULL, 0, 0, NULL, 0, &res),
			 KP_ZE_TRUNCATED);
	}
	kp_z_free(z);
	check_close_fd(src);
	check_close_fd(dst);
}

/* Every proper prefix is truncated: never DONE. */
static void test_truncation(void)
{
	for (int v = 0; v < 3; v++) {
		int format = v == 0 ? KP_Z_ZLIB : KP_Z_GZIP;
		struct buf m = { 0 };
		uint8_t *data = NULL;
		size_t n;
		small_member(format, v == 2, &m, &data, &n);
		for (size_t len = 0; len < m.len; len++) {
			struct buf got = { 0 };
			int st = decompress_mem(format, m.p, len, -1, &got);
			if (!CHECK_EQ(st, KP_ZE_TRUNCATED))
				check_note("%s prefix %zu of %zu",
					   fnames[format], len, m.len);
			buf_free(&got);
		}
		/* And through an fd. */
		truncated_fd(format, m.p, m.len / 2);
		buf_free(&m);
		free(data);
	}
	/* Empty input, memory and fd. */
	for (size_t f = 0; f < 2; f++) {
		struct buf got = { 0 };
		CHECK_EQ(decompress_mem(formats[f], NULL, 0, -1, &got),
			 KP_ZE_TRUNCATED);
		truncated_fd(formats[f], NULL, 0);
	}
}

/* gzip bytes whose change gzip ignores: MTIME, XFL, OS and FTEXT (and with
 * no FHCRC, the name and comment text). */
static int in_deflate_data(int format, int fields, const struct buf *m,
			   size_t byte)
{
	size_t trailer = format == KP_Z_GZIP ? 8 : 4;
	/* small_member's header: 10 bytes, or with its fields FEXTRA (2 + 5),
	 * "nm", "cm" and FHCRC. */
	size_t header = format == KP_Z_ZLIB ? 2
			: fields            ? 10 + 7 + 3 + 3 + 2
					    : 10;

	return byte >= header && byte < m->len - trailer;
}

static int ignorable_bit(int format, const struct buf *m, size_t byte, int bit)
{
	size_t trailer = format == KP_Z_GZIP ? 8 : 4;

	/* The last deflate byte: its bits past the final block's end are
	 * padding. */
	if (byte == m->len - trailer - 1)
		return 1;
	if (format != KP_Z_GZIP)
		return 0;
	return (byte >= 4 && byte <= 9) || (byte == 3 && bit == 0);
}

/* Every single-bit flip: an error, or (only where the bit does not matter)
 * DONE with exactly the original output. Never DONE with other output. */
static void test_bit_flips(void)
{
	for (int v = 0; v < 3; v++) {
		int format = v == 0 ? KP_Z_ZLIB : KP_Z_GZIP;
		struct buf m = { 0 };
		uint8_t *data = NULL;
		size_t n;
		int done_count = 0;
		small_member(format, v == 2, &m, &data, &n);
		for (size_t byte = 0; byte < m.len; byte++)
			for (int bit = 0; bit < 8; bit++) {
				struct buf got = { 0 };
				m.p[byte] ^= (uint8_t)(1 << bit);
				int st = decompress_mem(format, m.p, m.len, -1,
							&got);
				m.p[byte] ^= (uint8_t)(1 << bit);
				if (st == KP_Z_DONE) {
					done_count++;
					/* In the deflate data, a flip may
					 * decode to the same bytes (a distance
					 * to another copy of the same text):
					 * harmless. Elsewhere only ignorable
					 * fields may change. */
					if (!same(&got, data, n) ||
					    !CHECK(in_deflate_data(format,
								   v == 2, &m,
								   byte) ||
						   ignorable_bit(format, &m,
								 byte, bit)))
						check_note("%s byte %zu bit %d "
							   "of %zu",
							   fnames[format], byte,
							   bit, m.len);
				} else if (!CHECK(st == KP_ZE_HEADER ||
						  st == KP_ZE_CHECKSUM ||
						  st == KP_ZE_CORRUPT ||
						  st == KP_ZE_TRUNCATED)) {
					check_note("status %d", st);
				}
				buf_free(&got);
			}
		/* MTIME, XFL, OS, FTEXT, and padding bits. */
		if (format == KP_Z_GZIP && v == 1)
			CHECK_GE(done_count, 6 * 8 + 1);
		buf_free(&m);
		free(data);
	}
}

static void test_checksums(void)
{
	for (size_t f = 0; f < 2; f++) {
		struct buf m = { 0 }, got = { 0 };
		uint8_t *data = NULL;
		size_t n;
		small_member(formats[f], 0, &m, &data, &n);
		if (data == NULL || m.len < 8)
			goto next;
		/* Each trailer byte. */
		size_t tl = formats[f] == KP_Z_GZIP ? 8 : 4;
		for (size_t i = m.len - tl; i < m.len; i++) {
			m.p[i] ^= 0x40;
			CHECK_EQ(decompress_mem(formats[f], m.p, m.len, -1,
						&got),
				 KP_ZE_CHECKSUM);
			m.p[i] ^= 0x40;
			got.len = 0;
		}
	next:
		buf_free(&m);
		buf_free(&got);
		free(data);
	}
}

static void test_bad_headers(void)
{
	struct buf m = { 0 }, got = { 0 }, big = { 0 };
	uint8_t *data = NULL;
	size_t n;

	small_member(KP_Z_GZIP, 1, &m, &data, &n);
	if (data == NULL)
		goto out;
	struct {
		size_t byte;
		uint8_t flip;
	} bad[] = {
		{ 0, 0x01 }, /* magic */
		{ 1, 0x80 }, /* magic */
		{ 2, 0x01 }, /* method 9 */
		{ 3, 0x20 }, /* reserved flags */
		{ 3, 0x40 }, { 3, 0x80 },
		{ 4, 0x01 }, /* MTIME: caught by the header CRC here */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.p[bad[i].byte] ^= bad[i].flip;
		CHECK_EQ(decompress_mem(KP_Z_GZIP, m.p, m.len, -1, &got),
			 KP_ZE_HEADER);
		m.p[bad[i].byte] ^= bad[i].flip;
		got.len = 0;
	}
	/* zlib: FDICT set (with a valid check), CINFO 8, CM 7. */
	static const uint8_t fdict[] = { 0x78, 0xbb, 0, 0, 0, 1 };
	static const uint8_t cinfo[] = { 0x88, 0x1d, 0x03, 0x00 };
	CHECK_EQ(decompress_mem(KP_Z_ZLIB, fdict, sizeof(fdict), -1, &got),
		 KP_ZE_HEADER);
	CHECK_EQ(decompress_mem(KP_Z_ZLIB, cinfo, sizeof(cinfo), -1, &got),
		 KP_ZE_HEADER);
	/* An over-long name, with and without its NUL ever coming. */
	uint8_t hdr[10] = { 0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3 };
	buf_add(&big, hdr, sizeof(hdr));
	for (int i = 0; i < KP_GZ_NAME_MAX + 10; i++)
		buf_add(&big, "n", 1);
	CHECK_EQ(decompress_mem(KP_Z_GZIP, big.p, big.len, -1, &got),
		 KP_ZE_HEADER);
	/* Writing such a header is refused at reset, as is a NUL in a name. */
	kp_z *z = kp_z_new(0);
	kp_gz_header h = { 0 };
	if (CHECK(z != NULL)) {
		h.name = big.p + 10;
		h.name_len = KP_GZ_NAME_MAX + 1;
		CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, 6, -1, &h),
			 KP_ZE_HEADER);
		h.name = (const uint8_t *)"a\0b";
		h.name_len = 3;
		CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, 6, -1, &h),
			 KP_ZE_HEADER);
		kp_z_result res;
		CHECK_EQ(kp_z_step(z, -1, -1, NULL, 0, 1, NULL, 0, &res),
			 KP_ZE_STATE);
		/* The fields are copied: the caller's may go at once. */
		char name[] = "copied";
		h.name = (const uint8_t *)name;
		h.name_len = 6;
		CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, 6, -1, &h), 0);
		memset(name, 'X', 6);
		struct buf out = { 0 };
		CHECK_EQ(mem_run(z, NULL, 0, &out), KP_Z_DONE);
		CHECK(out.len > 16 && memcmp(out.p + 10, "copied", 7) == 0);
		buf_free(&out);
	}
	kp_z_free(z);
out:
	buf_free(&m);
	buf_free(&got);
	buf_free(&big);
	free(data);
}

/* Trailing garbage or zeros after a gzip member or a zlib stream is an
 * error, found at once: the writer stays open, so waiting for more would
 * show as KP_Z_AGAIN here (and spin or hang in a loop that ignores it). */
static void test_trailing_data(void)
{
	static const char *const tails[] = { "garbage", "\0\0\0\0",
					     "\x1f\x8c" };
	static const size_t tail_len[] = { 7, 4, 2 };

	for (size_t f = 0; f < 2; f++)
		for (size_t t = 0; t < 3; t++) {
			struct buf m = { 0 }, got = { 0 };
			uint8_t *data = NULL;
			size_t n;
			small_member(formats[f], 0, &m, &data, &n);
			buf_add(&m, tails[t], tail_len[t]);
			CHECK_EQ(decompress_mem(formats[f], m.p, m.len, -1,
						&got),
				 KP_ZE_HEADER);
			int p[2] = { -1, -1 }, dst = shm_file();
			kp_z *z = kp_z_new(0);
			if (CHECK(z != NULL) && dst >= 0 &&
			    CHECK_OK(kp_pipe_open(p, 1, 0, NULL)) &&
			    CHECK_OK(check_write_all(p[1], m.p, m.len))) {
				kp_z_result res;
				double t0 = check_now();
				CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS,
						    formats[f], 0, -1, NULL),
					 0);
				CHECK_EQ(kp_z_step(z, p[0], dst, NULL, 0, 0,
						   NULL, 0, &res),
					 KP_ZE_HEADER);
				CHECK_LT(check_now() - t0, 1.0);
				/* The output came out before the error. */
				CHECK_EQ(res.written, n);
			}
			kp_z_free(z);
			kp_pipe_close(p);
			check_close_fd(dst);
			buf_free(&m);
			buf_free(&got);
			free(data);
		}
}

/* ---- limits, reuse, misuse ------------------------------------------------------------ */

static void test_max_out(void)
{
	size_t n = 100 * KIB + 1;
	uint8_t *data = make_data(n, TEXT, 71);

	if (data == NULL)
		return;
	for (size_t f = 0; f < 2; f++) {
		struct buf comp = { 0 }, got = { 0 };
		zlib_reference(formats[f], 6, data, n, &comp);
		CHECK_EQ(decompress_mem(formats[f], comp.p, comp.len,
					(int64_t)n, &got),
			 KP_Z_DONE);
		same(&got, data, n);
		got.len = 0;
		CHECK_EQ(decompress_mem(formats[f], comp.p, comp.len,
					(int64_t)n - 1, &got),
			 KP_ZE_TOO_LARGE);
		CHECK_EQ(got.len, n - 1); /* exactly the limit */
		got.len = 0;
		CHECK_EQ(decompress_mem(formats[f], comp.p, comp.len, 0, &got),
			 KP_ZE_TOO_LARGE);
		CHECK_EQ(got.len, 0);
		/* To an fd: exactly the limit, never a byte past it. */
		int src = shm_file_with(comp.p, comp.len), dst = shm_file();
		kp_z *z = kp_z_new(4096);
		kp_z_result res;
		if (src >= 0 && dst >= 0 && CHECK(z != NULL)) {
			CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, formats[f], 0,
					    5000, NULL),
				 0);
			CHECK_EQ(kp_z_step(z, src, dst, NULL, 0, 0, NULL, 0,
					   &res),
				 KP_ZE_TOO_LARGE);
			struct stat st;
			if (CHECK_SYS(fstat(dst, &st)))
				CHECK_EQ(st.st_size, 5000);
		}
		kp_z_free(z);
		check_close_fd(src);
		check_close_fd(dst);
		buf_free(&comp);
		buf_free(&got);
	}
	/* An empty stream fits in 0. */
	struct buf e = { 0 }, got = { 0 };
	compress_mem(KP_Z_GZIP, 6, NULL, NULL, 0, &e);
	CHECK_EQ(decompress_mem(KP_Z_GZIP, e.p, e.len, 0, &got), KP_Z_DONE);
	buf_free(&e);
	buf_free(&got);
	free(data);
}

/* One kp_z, reset 1000 times across modes, formats and levels. */
static void test_reset_reuse(void)
{
	static const int levels[] = { 1, 6, 9, -2, -1, 0 };
	size_t n = 2000;
	uint8_t *data = make_data(n, TEXT, 81);
	kp_z *z = kp_z_new(4096);

	if (data == NULL || !CHECK(z != NULL))
		goto out;
	for (int i = 0; i < 1000; i++) {
		int format = formats[i % 2];
		int level = levels[(i / 2) % 6];
		struct buf comp = { 0 }, got = { 0 };
		/* Sometimes abandon a stream half-way first. */
		if (i % 7 == 0) {
			kp_z_result res;
			CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, format, 9, -1,
					    NULL),
				 0);
			CHECK_EQ(kp_z_step(z, -1, -1, data, 100, 0, NULL, 0,
					   &res),
				 KP_Z_HAVE_OUTPUT);
		}
		if (!CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, format, level, -1,
					 NULL),
			      0) ||
		    !CHECK_EQ(mem_run(z, data, n, &comp), KP_Z_DONE))
			break;
		struct buf ref = { 0 };
		if (i <
		    24) { /* the reused state writes what a fresh one does */
			expected(format, level, data, n, &ref);
			same(&comp, ref.p, ref.len);
			buf_free(&ref);
		}
		if (!CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, format, 0, -1,
					 NULL),
			      0) ||
		    !CHECK_EQ(mem_run(z, comp.p, comp.len, &got), KP_Z_DONE) ||
		    !same(&got, data, n))
			break;
		buf_free(&comp);
		buf_free(&got);
	}
out:
	kp_z_free(z);
	free(data);
}

static void test_misuse(void)
{
	kp_z *z = kp_z_new(0);
	kp_z_result res;
	struct buf m = { 0 }, got = { 0 };
	uint8_t *data = NULL;
	size_t n;

	if (!CHECK(z != NULL))
		return;
	/* Before any reset. */
	CHECK_EQ(kp_z_step(z, -1, -1, NULL, 0, 1, NULL, 0, &res), KP_ZE_STATE);
	CHECK_EQ(kp_z_reset(z, 2, KP_Z_GZIP, 6, -1, NULL), -EINVAL);
	CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, 2, 6, -1, NULL), -EINVAL);
	CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, 10, -1, NULL),
		 -EINVAL);
	CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, -3, -1, NULL),
		 -EINVAL);
	CHECK_EQ(kp_z_step(z, -1, -1, NULL, 0, 1, NULL, 0, &res), KP_ZE_STATE);
	/* Step after an error. */
	small_member(KP_Z_GZIP, 0, &m, &data, &n);
	if (data == NULL)
		goto out;
	m.p[m.len - 1] ^= 1;
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(mem_run(z, m.p, m.len, &got), KP_ZE_CHECKSUM);
	CHECK_EQ(kp_z_step(z, -1, -1, m.p, (int64_t)m.len, 1, NULL, 0, &res),
		 KP_ZE_STATE);
	CHECK_EQ(kp_z_step(z, -1, -1, NULL, 0, 1, NULL, 0, &res), KP_ZE_STATE);
	/* Step after DONE. */
	m.p[m.len - 1] ^= 1;
	got.len = 0;
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(mem_run(z, m.p, m.len, &got), KP_Z_DONE);
	CHECK_EQ(kp_z_step(z, -1, -1, NULL, 0, 1, NULL, 0, &res), KP_ZE_STATE);
	/* Bad arguments. */
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(kp_z_step(z, -1, -1, NULL, 5, 1, NULL, 0, &res), KP_ZE_STATE);
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(kp_z_step(z, -1, -1, m.p, -1, 1, NULL, 0, &res), KP_ZE_STATE);
	uint8_t out[4];
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(kp_z_step(z, -1, -1, m.p, 3, 1, out, 0, &res), KP_ZE_STATE);
	/* A read error reports its side. */
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	int wo = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (CHECK_SYS(wo)) {
		CHECK_ERR(kp_z_step(z, wo, -1, NULL, 0, 0, NULL, 0, &res),
			  EBADF);
		CHECK_EQ(res.side, KP_SIDE_SRC);
		check_close_fd(wo);
	}
	/* NULLs. */
	kp_z_free(NULL);
	CHECK_EQ(kp_z_reset(NULL, 0, 0, 6, -1, NULL), KP_ZE_STATE);
	CHECK(kp_z_new(-1) == NULL);
	kp_z *tiny = kp_z_new(1); /* raised to the minimum */
	if (CHECK(tiny != NULL)) {
		got.len = 0;
		CHECK_EQ(kp_z_reset(tiny, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1,
				    NULL),
			 0);
		CHECK_EQ(mem_run(tiny, m.p, m.len, &got), KP_Z_DONE);
		same(&got, data, n);
	}
	kp_z_free(tiny);
out:
	kp_z_free(z);
	buf_free(&m);
	buf_free(&got);
	free(data);
}

/* ---- sync flush ---------------------------------------------------------------- */

/* Steps z on in[0..n) (eof as given), or on no input after a kp_z_flush,
 * until it wants more input or is done; output goes to out. */
static int step_until_input(kp_z *z, const uint8_t *in, size_t n, int eof,
			    struct buf *out)
{
	size_t off = 0;

	for (int iter = 0; iter < 100000; iter++) {
		kp_z_result res;
		int st = kp_z_step(z, -1, -1, in ? in + off : NULL,
				   (int64_t)(n - off), eof, NULL, 0, &res);
		off += (size_t)res.consumed;
		if (st == KP_Z_HAVE_OUTPUT) {
			if (buf_add(out, res.out, (size_t)res.out_len) < 0)
				return KP_ZE_STATE;
			continue;
		}
		if (st == KP_Z_NEED_INPUT && !CHECK_EQ(off, n))
			return KP_ZE_STATE;
		return st;
	}
	CHECK_FAIL("kp_z_step loops");
	return KP_ZE_STATE;
}

/* Decodes a stream cut after a sync flush: all of comp must decode, to
 * exactly want[0..n), without reaching the stream's end. */
static void decodes_so_far(int format, const struct buf *comp,
			   const uint8_t *want, size_t n)
{
	z_stream zs;
	struct buf out = { 0 };
	uint8_t tmp[16 * KIB];
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (!CHECK_EQ(inflateInit2(&zs, format == KP_Z_GZIP ? 31 : 15), Z_OK))
		return;
	zs.next_in = comp->p;
	zs.avail_in = (uInt)comp->len;
	do {
		zs.next_out = tmp;
		zs.avail_out = sizeof(tmp);
		zr = inflate(&zs, Z_SYNC_FLUSH);
		if (buf_add(&out, tmp, sizeof(tmp) - zs.avail_out) < 0)
			break;
	} while (zr == Z_OK && zs.avail_out == 0);
	CHECK(zr == Z_OK || zr == Z_BUF_ERROR);
	CHECK_EQ(zs.avail_in, 0);
	same(&out, want, n);
	CHECK_EQ(inflateEnd(&zs), Z_OK);
	buf_free(&out);
}

/* kp_z_flush: after each flush everything given so far decodes, on ISA-L's
 * levels and zlib's, twice in a row too, and the stream still ends whole. */
static void test_sync_flush(void)
{
	const size_t n = 300 * KIB, cut = 100 * KIB + 7;
	static const int levels[] = { 1, 3, 4, 6, 9 };
	uint8_t *data = make_data(n, TEXT, 11);
	kp_z *z = kp_z_new(0);
	struct buf comp = { 0 }, got = { 0 };

	if (!CHECK(data != NULL) || !CHECK(z != NULL))
		goto out;
	for (size_t f = 0; f < 2; f++) {
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]);
		     l++) {
			comp.len = got.len = 0;
			if (!CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, formats[f],
						 levels[l], -1, NULL),
				      0))
				continue;
			/* A flush before any input: the header and an empty
			 * block. */
			CHECK_EQ(kp_z_flush(z), 0);
			CHECK_EQ(step_until_input(z, NULL, 0, 0, &comp),
				 KP_Z_NEED_INPUT);
			decodes_so_far(formats[f], &comp, data, 0);
			CHECK_EQ(step_until_input(z, data, cut, 0, &comp),
				 KP_Z_NEED_INPUT);
			for (int twice = 0; twice < 2; twice++) {
				CHECK_EQ(kp_z_flush(z), 0);
				CHECK_EQ(step_until_input(z, NULL, 0, 0, &comp),
					 KP_Z_NEED_INPUT);
				decodes_so_far(formats[f], &comp, data, cut);
			}
			CHECK_EQ(step_until_input(z, data + cut, n - cut, 1,
						  &comp),
				 KP_Z_DONE);
			if (CHECK_EQ(zlib_decode(formats[f], &comp, &got), 0))
				same(&got, data, n);
		}
	}
	/* Streams that cannot flush. */
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(kp_z_flush(z), KP_ZE_STATE);
	CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, 6, -1, NULL), 0);
	CHECK_EQ(kp_z_threads(z, 2), 0);
	CHECK_EQ(kp_z_flush(z), KP_ZE_STATE);
	CHECK_EQ(kp_z_flush(NULL), KP_ZE_STATE);
out:
	kp_z_free(z);
	buf_free(&comp);
	buf_free(&got);
	free(data);
}

/* A kp_z reused gives the bytes a fresh one gives, at every level: nothing
 * of an earlier stream (ISA-L's hash tables included) shapes the next. */
static void test_reuse_same_bytes(void)
{
	const size_t n = 200 * KIB;
	uint8_t *a = make_data(n, TEXT, 21), *b = make_data(n, TEXT, 22);
	kp_z *used = kp_z_new(0), *fresh = kp_z_new(0);
	struct buf x = { 0 }, y = { 0 };

	if (!CHECK(a && b && used && fresh))
		goto out;
	for (int level = 1; level <= 9; level++) {
		struct run r = { -1, -1, a, n, 4096, NULL, 0, &x, 0, 0 };
		x.len = y.len = 0;
		CHECK_EQ(kp_z_reset(used, KP_Z_COMPRESS, KP_Z_GZIP, level, -1,
				    NULL),
			 0);
		CHECK_EQ(drive(used, &r), KP_Z_DONE);
		x.len = 0;
		r.in = b;
		CHECK_EQ(kp_z_reset(used, KP_Z_COMPRESS, KP_Z_GZIP, level, -1,
				    NULL),
			 0);
		CHECK_EQ(drive(used, &r), KP_Z_DONE);
		r.sink = &y;
		CHECK_EQ(kp_z_reset(fresh, KP_Z_COMPRESS, KP_Z_GZIP, level, -1,
				    NULL),
			 0);
		CHECK_EQ(drive(fresh, &r), KP_Z_DONE);
		if (!CHECK_EQ(x.len, y.len) ||
		    !CHECK(memcmp(x.p, y.p, x.len) == 0))
			fprintf(stderr, "level %d: a reused stream differs\n",
				level);
		kp_z_free(fresh);
		fresh = kp_z_new(0);
		if (!CHECK(fresh != NULL))
			break;
	}
out:
	kp_z_free(used);
	kp_z_free(fresh);
	buf_free(&x);
	buf_free(&y);
	free(a);
	free(b);
}

/* kp_z_whole_until: input of unknown size kept whole gives the bytes of the
 * same input announced (libdeflate's); past the limit, or after a flush,
 * zlib takes over and the stream still decodes whole. */
static void test_whole_until(void)
{
	const size_t n = 300 * KIB;
	uint8_t *data = make_data(n, TEXT, 31);
	kp_z *z = kp_z_new(0);
	struct buf want = { 0 }, got = { 0 }, plain = { 0 };

	if (!CHECK(data != NULL) || !CHECK(z != NULL))
		goto out;
	for (int level = 4; level <= 9; level += 5) {
		want.len = 0;
		if (!CHECK_EQ(compress_mem(KP_Z_GZIP, level, NULL, data, n,
					   &want),
			      KP_Z_DONE))
			continue;
		/* Whole: in pieces, size unknown; the same bytes. */
		for (int64_t max = (int64_t)n; max >= (int64_t)n / 3;
		     max -= (int64_t)n / 2) {
			struct run r = { -1,   -1, data, n, 10000,
					 NULL, 0,  &got, 0, 0 };
			got.len = plain.len = 0;
			CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, level,
					    -1, NULL),
				 0);
			CHECK_EQ(kp_z_whole_until(z, max), 0);
			CHECK_EQ(drive(z, &r), KP_Z_DONE);
			if (max >= (int64_t)n)
				same(&got, want.p, want.len);
			if (CHECK_EQ(zlib_decode(KP_Z_GZIP, &got, &plain), 0))
				same(&plain, data, n);
		}
		/* A flush half-way: what came before decodes at once. */
		got.len = plain.len = 0;
		CHECK_EQ(kp_z_reset(z, KP_Z_COMPRESS, KP_Z_GZIP, level, -1,
				    NULL),
			 0);
		CHECK_EQ(kp_z_whole_until(z, (int64_t)n), 0);
		CHECK_EQ(step_until_input(z, data, n / 2, 0, &got),
			 KP_Z_NEED_INPUT);
		CHECK_EQ(got.len, 10); /* kept whole: the header alone */
		CHECK_EQ(kp_z_flush(z), 0);
		CHECK_EQ(step_until_input(z, NULL, 0, 0, &got),
			 KP_Z_NEED_INPUT);
		decodes_so_far(KP_Z_GZIP, &got, data, n / 2);
		CHECK_EQ(step_until_input(z, data + n / 2, n - n / 2, 1, &got),
			 KP_Z_DONE);
		if (CHECK_EQ(zlib_decode(KP_Z_GZIP, &got, &plain), 0))
			same(&plain, data, n);
	}
	/* Out of place: after the first step, or when decompressing. */
	CHECK_EQ(kp_z_whole_until(z, 10), KP_ZE_STATE);
	CHECK_EQ(kp_z_reset(z, KP_Z_DECOMPRESS, KP_Z_GZIP, 0, -1, NULL), 0);
	CHECK_EQ(kp_z_whole_until(z, 10), KP_ZE_STATE);
out:
	kp_z_free(z);
	buf_free(&want);
	buf_free(&got);
	buf_free(&plain);
	free(data);
}

CHECK_SUITE(CHECK_CASE(test_round_trips), CHECK_CASE(test_whole_engine),
	    CHECK_CASE(test_threads), CHECK_CASE(test_compress_small_pieces),
	    CHECK_CASE(test_byte_at_a_time_pipe),
	    CHECK_CASE(test_full_destination_pipe),
	    CHECK_CASE(test_socket_short_reads),
	    CHECK_CASE(test_gzip_command_reads_ours),
	    CHECK_CASE(test_ours_reads_gzip_command),
	    CHECK_CASE(test_multi_member), CHECK_CASE(test_truncation),
	    CHECK_CASE(test_bit_flips), CHECK_CASE(test_checksums),
	    CHECK_CASE(test_bad_headers), CHECK_CASE(test_trailing_data),
	    CHECK_CASE(test_max_out), CHECK_CASE(test_reset_reuse),
	    CHECK_CASE(test_misuse), CHECK_CASE(test_sync_flush),
	    CHECK_CASE(test_reuse_same_bytes), CHECK_CASE(test_whole_until))
