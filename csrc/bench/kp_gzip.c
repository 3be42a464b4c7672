/*
 * kp_gzip [-d] [-l LEVEL] [-t THREADS] [-b BUFSIZE] [-bare]: gzip (or with -d
 * gunzip) stdin to stdout, and print the bytes read and written and the
 * seconds taken on stderr.
 *
 * Without -bare it runs a kp_z from fd to fd. With -bare it is a bare zlib
 * loop in the manner of zlib's examples/zpipe.c (deflateInit2/inflateInit2
 * with windowBits 31, so zlib writes and checks the gzip wrapper itself,
 * and buffers of the same size): the baseline kpipe's gzip is measured
 * against. The pure-C half of kpipe's gzip benchmarks (no Go involved).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bench.h"
#include "kpipe.h"

struct opts {
	int decompress, level, bare, threads;
	int64_t bufsize;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: kp_gzip [-d] [-l LEVEL] [-t THREADS] [-b BUFSIZE[K|M]] "
		"[-bare]\n");
	return 2;
}

static int parse_size(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1024 * 1024, end++;
	if (*end != '\0' || v < 4096 || v > (1LL << 30))
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	o->decompress = 0;
	o->level = -1;
	o->bare = 0;
	o->threads = 1;
	o->bufsize = 128 * 1024;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0) {
			o->decompress = 1;
		} else if (strcmp(argv[i], "-bare") == 0) {
			o->bare = 1;
		} else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v < -2 || v > 9)
				return -1;
			o->level = (int)v;
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v < 1 || v > 64)
				return -1;
			o->threads = (int)v;
		} else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
			if (parse_size(argv[++i], &o->bufsize) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* ---- kp_z ---------------------------------------------------------------- */

static const char *kp_error(int r)
{
	switch (r) {
	case KP_ZE_HEADER:
		return "bad header or trailing garbage";
	case KP_ZE_CHECKSUM:
		return "checksum mismatch";
	case KP_ZE_CORRUPT:
		return "corrupt deflate data";
	case KP_ZE_TRUNCATED:
		return "truncated input";
	case KP_ZE_TOO_LARGE:
		return "output too large";
	case KP_ZE_STATE:
		return "misuse";
	default:
		return r < 0 ? strerror(-r) : "unexpected status";
	}
}

static int run_kp(const struct opts *o, int64_t *in, int64_t *out)
{
	kp_z *z = kp_z_new(o->bufsize);
	kp_z_result res;
	int r;

	if (z == NULL) {
		fprintf(stderr, "kp_gzip: out of memory\n");
		return 1;
	}
	r = kp_z_reset(z, o->decompress ? KP_Z_DECOMPRESS : KP_Z_COMPRESS,
		       KP_Z_GZIP, o->level, -1, NULL);
	if (r == 0 && !o->decompress)
		r = kp_z_threads(z, o->threads);
	/* stdin and stdout block: the step runs to the end or an error. */
	if (r == 0)
		r = kp_z_step(z, 0, 1, NULL, 0, 0, NULL, 0, &res);
	kp_z_totals(z, in, out);
	kp_z_free(z);
	if (r != KP_Z_DONE) {
		fprintf(stderr, "kp_gzip: %s\n", kp_error(r));
		return 1;
	}
	return 0;
}

/* ---- the bare zlib loop --------------------------------------------------- */

static int read_some(unsigned char *buf, size_t len, size_t *got)
{
	ssize_t n;

	do {
		n = read(0, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		perror("kp_gzip: read");
		return -1;
	}
	*got = (size_t)n;
	return 0;
}

static int write_all(const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(1, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("kp_gzip: write");
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Calls step (deflate or inflate) with flush until it leaves room in ob (bs
 * bytes), writing all it makes to stdout; its last result goes to *zr.
 * Returns 0, or -1 on a zlib or write error. */
static int pump(z_stream *zs, int (*step)(z_streamp, int), int flush,
		unsigned char *ob, size_t bs, int64_t *out, int *zr)
{
	do {
		zs->next_out = ob;
		zs->avail_out = (uInt)bs;
		*zr = step(zs, flush);
		if (*zr == Z_NEED_DICT || *zr == Z_DATA_ERROR ||
		    *zr == Z_MEM_ERROR || *zr == Z_STREAM_ERROR)
			return -1;
		size_t have = bs - zs->avail_out;
		if (write_all(ob, have) < 0)
			return -1;
		*out += (int64_t)have;
	} while (zs->avail_out == 0);
	return 0;
}

static int bare_deflate(z_stream *zs, unsigned char *ib, unsigned char *ob,
			size_t bs, int64_t *in, int64_t *out)
{
	int flush, zr;
	size_t got;

	do {
		if (read_some(ib, bs, &got) < 0)
			return -1;
		*in += (int64_t)got;
		flush = got == 0 ? Z_FINISH : Z_NO_FLUSH;
		zs->next_in = ib;
		zs->avail_in = (uInt)got;
		if (pump(zs, deflate, flush, ob, bs, out, &zr) < 0)
			return -1;
	} while (flush != Z_FINISH);
	return zr == Z_STREAM_END ? 0 : -1;
}

static int bare_inflate(z_stream *zs, unsigned char *ib, unsigned char *ob,
			size_t bs, int64_t *in, int64_t *out)
{
	int zr = Z_OK;
	size_t got;

	do {
		if (read_some(ib, bs, &got) < 0)
			return -1;
		if (got == 0)
			return -1; /* truncated */
		*in += (int64_t)got;
		zs->next_in = ib;
		zs->avail_in = (uInt)got;
		if (pump(zs, inflate, Z_NO_FLUSH, ob, bs, out, &zr) < 0)
			return -1;
	} while (zr != Z_STREAM_END);
	return 0;
}

static int run_bare(const struct opts *o, int64_t *in, int64_t *out)
{
	size_t bs = (size_t)o->bufsize;
	unsigned char *ib = malloc(bs), *ob = malloc(bs);
	z_stream zs;
	int zr, r = 1;

	memset(&zs, 0, sizeof(zs));
	if (ib == NULL || ob == NULL)
		goto out;
	if (o->decompress)
		zr = inflateInit2(&zs, 31);
	else
		zr = deflateInit2(
			&zs, o->level == -2 ? -1 : o->level, Z_DEFLATED, 31, 8,
			o->level == -2 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY);
	if (zr != Z_OK)
		goto out;
	if (o->decompress) {
		r = bare_inflate(&zs, ib, ob, bs, in, out) < 0;
		(void)inflateEnd(&zs);
	} else {
		r = bare_deflate(&zs, ib, ob, bs, in, out) < 0;
		(void)deflateEnd(&zs);
	}
out:
	if (r)
		fprintf(stderr, "kp_gzip: bare zlib loop failed\n");
	free(ib);
	free(ob);
	return r;
}

int main(int argc, char **argv)
{
	struct opts o;
	int64_t in = 0, out = 0;
	int r;

	if (parse_opts(argc, argv, &o) < 0)
		return usage();
	if (bench_init("kp_gzip") != 0)
		return 1;
	double t0 = bench_now();
	r = o.bare ? run_bare(&o, &in, &out) : run_kp(&o, &in, &out);
	double dt = bench_now() - t0;
	fprintf(stderr,
		"%s %s: in %" PRId64 " out %" PRId64 " %.3f s %.1f MB/s\n",
		o.bare ? "bare" : "kp_z", o.decompress ? "gunzip" : "gzip", in,
		out, dt,
		dt > 0 ? (double)(o.decompress ? out : in) / dt / 1e6 : 0);
	return r;
}
