/* test_zformat.c: the zlib and gzip header and trailer writers and the
 * incremental parsers of zformat.c, against zlib's own wrappers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "kpipe.h"
#include "zinternal.h"

/* The first bytes zlib itself writes for an empty stream at level with
 * windowBits wbits (31: gzip, 15: zlib). */
static int zlib_prefix(int level, int strategy, int wbits, uint8_t *out,
		       size_t len)
{
	uint8_t buf[64];
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	if (!CHECK_EQ(deflateInit2(&zs, level, Z_DEFLATED, wbits, 8, strategy),
		      Z_OK))
		return -1;
	zs.next_out = buf;
	zs.avail_out = sizeof(buf);
	int zr = deflate(&zs, Z_FINISH);
	CHECK_EQ(zr, Z_STREAM_END);
	CHECK_EQ(deflateEnd(&zs), Z_OK);
	if (zr != Z_STREAM_END || sizeof(buf) - zs.avail_out < len)
		return -1;
	memcpy(out, buf, len);
	return 0;
}

static const int levels[] = { -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

static int zstrategy(int level)
{
	return level == -2 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
}

static int zlevel(int level)
{
	return level == -2 ? Z_DEFAULT_COMPRESSION : level;
}

/* ---- writers ------------------------------------------------------------- */

static void test_zlib_header_matches_zlib(void)
{
	for (size_t i = 0; i < NLEVELS; i++) {
		uint8_t ours[2], theirs[2];
		kp_zf_zlib_header(levels[i], ours);
		if (zlib_prefix(zlevel(levels[i]), zstrategy(levels[i]), 15,
				theirs, 2) < 0)
			return;
		CHECK_EQ(ours[0], theirs[0]);
		CHECK_EQ(ours[1], theirs[1]);
		CHECK_EQ(((unsigned)ours[0] * 256 + ours[1]) % 31, 0);
	}
}

static void test_gzip_default_header_matches_zlib(void)
{
	for (size_t i = 0; i < NLEVELS; i++) {
		uint8_t ours[KP_GZ_FIXED_LEN], theirs[KP_GZ_FIXED_LEN];
		CHECK_EQ(kp_zf_gzip_header_len(NULL), KP_GZ_FIXED_LEN);
		CHECK_EQ(kp_zf_gzip_header(NULL, levels[i], ours, sizeof(ours)),
			 KP_GZ_FIXED_LEN);
		if (zlib_prefix(zlevel(levels[i]), zstrategy(levels[i]), 31,
				theirs, sizeof(theirs)) < 0)
			return;
		CHECK(memcmp(ours, theirs, sizeof(ours)) == 0);
	}
}

static void test_trailers(void)
{
	uint8_t g[KP_GZ_TRAILER_LEN], zl[KP_ZL_TRAILER_LEN];
	static const uint8_t gwant[] = { 0x78, 0x56, 0x34, 0x12,
					 0x04, 0x03, 0x02, 0x01 };
	static const uint8_t zwant[] = { 0xde, 0xad, 0xbe, 0xef };

	kp_zf_gzip_trailer(0x12345678, 0x01020304, g);
	CHECK(memcmp(g, gwant, sizeof(g)) == 0);
	kp_zf_zlib_trailer(0xdeadbeef, zl);
	CHECK(memcmp(zl, zwant, sizeof(zl)) == 0);
}

static void test_header_write_errors(void)
{
	uint8_t buf[128];
	kp_gz_header h;

	memset(&h, 0, sizeof(h));
	h.name = (const uint8_t *)"a\0b";
	h.name_len = 3;
	CHECK_EQ(kp_zf_gzip_header_len(&h), KP_ZE_HEADER);
	CHECK_EQ(kp_zf_gzip_header(&h, 6, buf, sizeof(buf)), KP_ZE_HEADER);
	h.name = NULL;
	h.name_len = 0;
	h.comment = (const uint8_t *)"x\0";
	h.comment_len = 2;
	CHECK_EQ(kp_zf_gzip_header_len(&h), KP_ZE_HEADER);
	h.comment = NULL;
	h.comment_len = 5; /* a length without its pointer */
	CHECK_EQ(kp_zf_gzip_header_len(&h), KP_ZE_STATE);
	h.comment_len = 0;
	h.extra_len = 3;
	CHECK_EQ(kp_zf_gzip_header_len(&h), KP_ZE_STATE);
	h.extra_len = 0;
	/* Longer than the reader's bound. */
	uint8_t *big = malloc(KP_GZ_NAME_MAX + 1);
	if (!CHECK(big != NULL))
		return;
	memset(big, 'n', KP_GZ_NAME_MAX + 1);
	h.name = big;
	h.name_len = KP_GZ_NAME_MAX + 1;
	CHECK_EQ(kp_zf_gzip_header_len(&h), KP_ZE_HEADER);
	h.name_len = KP_GZ_NAME_MAX;
	CHECK_EQ(kp_zf_gzip_header_len(&h),
		 KP_GZ_FIXED_LEN + KP_GZ_NAME_MAX + 1);
	/* Too small an output. */
	CHECK_EQ(kp_zf_gzip_header(&h, 6, buf, sizeof(buf)), KP_ZE_STATE);
	free(big);
}

/* ---- header parser ----------------------------------------------------------- */

/* Feeds buf to a fresh parser in pieces of `piece` bytes; returns the
 * parser's last result and the bytes it took in *used. */
static int feed_pieces(struct kp_zhead *p, int format, const uint8_t *buf,
		       size_t len, size_t piece, size_t *used)
{
	size_t off = 0;
	int r = KP_ZP_MORE;

	kp_zhead_init(p, format, 1);
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece, u = 0;
		r = kp_zhead_feed(p, buf + off, n, &u);
		off += u;
		if (r != KP_ZP_MORE)
			break;
		if (!CHECK_EQ(u, n))
			break;
	}
	*used = off;
	return r;
}

static struct kp_zhead *new_parser(void)
{
	struct kp_zhead *p = malloc(sizeof(*p));
	CHECK(p != NULL);
	return p;
}

static void check_same_header(const kp_gz_header *a, const kp_gz_header *b)
{
	CHECK_EQ(a->name != NULL, b->name != NULL);
	CHECK_EQ(a->name_len, b->name_len);
	if (a->name != NULL && b->name != NULL)
		CHECK(memcmp(a->name, b->name, a->name_len) == 0);
	CHECK_EQ(a->comment != NULL, b->comment != NULL);
	CHECK_EQ(a->comment_len, b->comment_len);
	if (a->comment != NULL && b->comment != NULL)
		CHECK(memcmp(a->comment, b->comment, a->comment_len) == 0);
	CHECK_EQ(a->extra != NULL, b->extra != NULL);
	CHECK_EQ(a->extra_len, b->extra_len);
	if (a->extra_len > 0 && a->extra != NULL && b->extra != NULL)
		CHECK(memcmp(a->extra, b->extra, a->extra_len) == 0);
	CHECK_EQ(a->mtime, b->mtime);
	CHECK_EQ(a->os, b->os);
	CHECK_EQ(a->hcrc, b->hcrc);
}

static void test_gzip_header_round_trip(void)
{
	static const uint8_t extra[] = { 'A', 'B', 3, 0, 1, 2, 3 };
	static const size_t pieces[] = { 1, 2, 3, 7, 1000 };
	struct kp_zhead *p = new_parser();
	uint8_t buf[256];
	kp_gz_header h, got;

	if (p == NULL)
		return;
	for (int variant = 0; variant < 16; variant++) {
		memset(&h, 0, sizeof(h));
		if (variant & 1) {
			h.name = (const uint8_t *)"file.txt";
			h.name_len = 8;
		}
		if (variant & 2) {
			h.comment = (const uint8_t *)"a comment";
			h.comment_len = 9;
		}
		if (variant & 4) {
			h.extra = extra;
			h.extra_len = sizeof(extra);
		}
		h.hcrc = (variant & 8) != 0;
		h.mtime = 0x5f000000u + (uint32_t)variant;
		h.os = (uint8_t)variant;
		int64_t n = kp_zf_gzip_header(&h, 6, buf, sizeof(buf));
		if (!CHECK_EQ(n, kp_zf_gzip_header_len(&h)))
			continue;
		/* A byte after the header is not taken. */
		buf[n] = 0x55;
		for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]);
		     k++) {
			size_t used = 0;
			int r = feed_pieces(p, KP_Z_GZIP, buf, (size_t)n + 1,
					    pieces[k], &used);
			CHECK_EQ(r, KP_ZP_DONE);
			CHECK_EQ(used, n);
			kp_zhead_get(p, &got);
			check_same_header(&h, &got);
		}
	}
	/* An empty FEXTRA and an empty name are fields too. */
	memset(&h, 0, sizeof(h));
	h.extra = extra;
	h.name = (const uint8_t *)"";
	int64_t n = kp_zf_gzip_header(&h, 6, buf, sizeof(buf));
	size_t used = 0;
	CHECK_EQ(feed_pieces(p, KP_Z_GZIP, buf, (size_t)n, 1, &used),
		 KP_ZP_DONE);
	kp_zhead_get(p, &got);
	CHECK(got.extra != NULL);
	CHECK_EQ(got.extra_len, 0);
	CHECK(got.name != NULL);
	CHECK_EQ(got.name_len, 0);
	free(p);
}

/* A parser that does not keep fields still checks them. */
static void test_gzip_header_not_kept(void)
{
	struct kp_zhead *p = new_parser();
	uint8_t buf[64];
	kp_gz_header h;
	size_t used;

	if (p == NULL)
		return;
	memset(&h, 0, sizeof(h));
	h.name = (const uint8_t *)"n";
	h.name_len = 1;
	h.hcrc = 1;
	int64_t n = kp_zf_gzip_header(&h, 6, buf, sizeof(buf));
	kp_zhead_init(p, KP_Z_GZIP, 0);
	CHECK_EQ(kp_zhead_feed(p, buf, (size_t)n, &used), KP_ZP_DONE);
	CHECK_EQ(used, n);
	buf[n - 1] ^= 1;
	kp_zhead_init(p, KP_Z_GZIP, 0);
	CHECK_EQ(kp_zhead_feed(p, buf, (size_t)n, &used), KP_ZE_HEADER);
	free(p);
}

/* Feeds one byte at a time and returns the index of the byte that failed,
 * or -1 when the whole header parsed. */
static int64_t fail_index(struct kp_zhead *p, int format, const uint8_t *buf,
			  size_t len)
{
	kp_zhead_init(p, format, 1);
	for (size_t i = 0; i < len; i++) {
		size_t u;
		int r = kp_zhead_feed(p, buf + i, 1, &u);
		if (r < 0) {
			CHECK_EQ(r, KP_ZE_HEADER);
			return (int64_t)i;
		}
		if (r == KP_ZP_DONE)
			return -1;
	}
	return -2; /* incomplete */
}

static void test_gzip_header_errors(void)
{
	struct kp_zhead *p = new_parser();
	uint8_t good[KP_GZ_FIXED_LEN], b[KP_GZ_FIXED_LEN + 4];

	if (p == NULL)
		return;
	kp_zf_gzip_header(NULL, 6, good, sizeof(good));
	CHECK_EQ(fail_index(p, KP_Z_GZIP, good, sizeof(good)), -1);
	/* Each fails on the very byte that is wrong. */
	memcpy(b, good, sizeof(good));
	b[0] = 0x1e;
	CHECK_EQ(fail_index(p, KP_Z_GZIP, b, sizeof(good)), 0);
	memcpy(b, good, sizeof(good));
	b[1] = 0x8c;
	CHECK_EQ(fail_index(p, KP_Z_GZIP, b, sizeof(good)), 1);
	memcpy(b, good, sizeof(good));
	b[2] = 7;
	CHECK_EQ(fail_index(p, KP_Z_GZIP, b, sizeof(good)), 2);
	for (int bit = 5; bit < 8; bit++) {
		memcpy(b, good, sizeof(good));
		b[3] = (uint8_t)(1 << bit);
		CHECK_EQ(fail_index(p, KP_Z_GZIP, b, sizeof(good)), 3);
	}
	/* Zeros and ASCII are not gzip. */
	memset(b, 0, sizeof(b));
	CHECK_EQ(fail_index(p, KP_Z_GZIP, b, sizeof(b)), 0);
	CHECK_EQ(fail_index(p, KP_Z_GZIP, (const uint8_t *)"hello", 5), 0);
	free(p);
}

static void test_gzip_header_crc(void)
{
	struct kp_zhead *p = new_parser();
	uint8_t buf[64];
	kp_gz_header h;

	if (p == NULL)
		return;
	memset(&h, 0, sizeof(h));
	h.hcrc = 1;
	h.comment = (const uint8_t *)"c";
	h.comment_len = 1;
	int64_t n = kp_zf_gzip_header(&h, 6, buf, sizeof(buf));
	CHECK_EQ(n, KP_GZ_FIXED_LEN + 2 + 2);
	/* The stored value is the low half of the CRC-32 of what precedes. */
	uint32_t c = (uint32_t)crc32(0, buf, (uInt)(n - 2));
	CHECK_EQ(buf[n - 2], c & 0xff);
	CHECK_EQ(buf[n - 1], (c >> 8) & 0xff);
	CHECK_EQ(fail_index(p, KP_Z_GZIP, buf, (size_t)n), -1);
	for (int64_t i = n - 2; i < n; i++) {
		buf[i] ^= 0x10;
		CHECK_EQ(fail_index(p, KP_Z_GZIP, buf, (size_t)n), n - 1);
		buf[i] ^= 0x10;
	}
	/* A header byte changed after the CRC was taken. */
	buf[4] ^= 1;
	CHECK_EQ(fail_index(p, KP_Z_GZIP, buf, (size_t)n), n - 1);
	free(p);
}

/* FNAME and FCOMMENT: KP_GZ_NAME_MAX bytes are fine, one more is not, and
 * the parser fails without waiting for a NUL that may never come. */
static void test_gzip_header_long_fields(void)
{
	struct kp_zhead *p = new_parser();
	size_t len = KP_GZ_FIXED_LEN + KP_GZ_NAME_MAX + 2;
	uint8_t *buf = malloc(len);
	kp_gz_header got;

	if (p == NULL || !CHECK(buf != NULL))
		goto out;
	for (int field = 0; field < 2; field++) {
		kp_zf_gzip_header(NULL, 6, buf, KP_GZ_FIXED_LEN);
		buf[3] = field == 0 ? 0x08 : 0x10;
		memset(buf + KP_GZ_FIXED_LEN, 'x', KP_GZ_NAME_MAX + 1);
		buf[len - 1] = 0;
		CHECK_EQ(fail_index(p, KP_Z_GZIP, buf, len),
			 KP_GZ_FIXED_LEN + KP_GZ_NAME_MAX);
		buf[len - 2] = 0; /* exactly the bound */
		size_t used;
		CHECK_EQ(feed_pieces(p, KP_Z_GZIP, buf, len - 1, 100, &used),
			 KP_ZP_DONE);
		kp_zhead_get(p, &got);
		CHECK_EQ(field == 0 ? got.name_len : got.comment_len,
			 KP_GZ_NAME_MAX);
	}
out:
	free(buf);
	free(p);
}

static void test_gzip_header_max_extra(void)
{
	struct kp_zhead *p = new_parser();
	uint8_t *extra = malloc(KP_GZ_EXTRA_MAX);
	uint8_t *buf = malloc(KP_GZ_EXTRA_MAX + 64);
	kp_gz_header h, got;

	if (p == NULL || !CHECK(extra != NULL && buf != NULL))
		goto out;
	for (size_t i = 0; i < KP_GZ_EXTRA_MAX; i++)
		extra[i] = (uint8_t)(i * 7);
	memset(&h, 0, sizeof(h));
	h.extra = extra;
	h.extra_len = KP_GZ_EXTRA_MAX;
	h.hcrc = 1;
	int64_t n = kp_zf_gzip_header(&h, 1, buf, KP_GZ_EXTRA_MAX + 64);
	CHECK_EQ(n, KP_GZ_FIXED_LEN + 2 + KP_GZ_EXTRA_MAX + 2);
	size_t used;
	CHECK_EQ(feed_pieces(p, KP_Z_GZIP, buf, (size_t)n, 4093, &used),
		 KP_ZP_DONE);
	kp_zhead_get(p, &got);
	check_same_header(&h, &got);
	h.extra_len = KP_GZ_EXTRA_MAX + 1;
	CHECK_EQ(kp_zf_gzip_header_len(&h), KP_ZE_HEADER);
out:
	free(extra);
	free(buf);
	free(p);
}

static void test_zlib_header_parse(void)
{
	struct kp_zhead *p = new_parser();
	uint8_t b[2];

	if (p == NULL)
		return;
	for (size_t i = 0; i < NLEVELS; i++) {
		kp_zf_zlib_header(levels[i], b);
		CHECK_EQ(fail_index(p, KP_Z_ZLIB, b, 2), -1);
	}
	/* Every 2-byte header: valid exactly when zlib's rules say so. */
	int valid = 0;
	for (unsigned v = 0; v < 65536; v++) {
		b[0] = (uint8_t)(v >> 8);
		b[1] = (uint8_t)v;
		int ok = (b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 &&
			 v % 31 == 0 && !(b[1] & 0x20);
		int64_t r = fail_index(p, KP_Z_ZLIB, b, 2);
		if (ok != (r == -1)) {
			CHECK_FAIL("zlib header %02x %02x: parser %d, want %d",
				   b[0], b[1], (int)r, ok);
			break;
		}
		valid += ok;
	}
	/* 8 CMF values, each with one FCHECK per FLEVEL (FDICT refused). */
	CHECK_EQ(valid, 8 * 4);
	/* Named cases: CINFO 8, CM 7, FDICT, bad check. */
	CHECK_EQ(fail_index(p, KP_Z_ZLIB, (const uint8_t *)"\x88\x1d", 2), 0);
	CHECK_EQ(fail_index(p, KP_Z_ZLIB, (const uint8_t *)"\x77\x01", 2), 0);
	CHECK_EQ(fail_index(p, KP_Z_ZLIB, (const uint8_t *)"\x78\xbb", 2), 1);
	CHECK_EQ(fail_index(p, KP_Z_ZLIB, (const uint8_t *)"\x78\x9d", 2), 1);
	free(p);
}

/* ---- trailer parser ---------------------------------------------------------- */

static void test_trailer_parse(void)
{
	struct kp_ztrail t;
	uint8_t b[KP_GZ_TRAILER_LEN + 3];
	size_t used;

	kp_zf_gzip_trailer(0xcafef00d, 12345, b);
	b[8] = b[9] = b[10] = 0xee;
	kp_ztrail_init(&t, KP_Z_GZIP);
	for (int i = 0; i < 7; i++) {
		CHECK_EQ(kp_ztrail_feed(&t, b + i, 1, &used), KP_ZP_MORE);
		CHECK_EQ(used, 1);
	}
	CHECK_EQ(kp_ztrail_feed(&t, b + 7, 4, &used), KP_ZP_DONE);
	CHECK_EQ(used, 1);
	CHECK_EQ(kp_ztrail_check(&t, 0xcafef00d, 12345), 0);
	CHECK_EQ(kp_ztrail_check(&t, 0xcafef00c, 12345), KP_ZE_CHECKSUM);
	CHECK_EQ(kp_ztrail_check(&t, 0xcafef00d, 12346), KP_ZE_CHECKSUM);

	kp_zf_zlib_trailer(0x01020304, b);
	kp_ztrail_init(&t, KP_Z_ZLIB);
	CHECK_EQ(kp_ztrail_feed(&t, b, 3, &used), KP_ZP_MORE);
	CHECK_EQ(kp_ztrail_check(&t, 0x01020304, 0), KP_ZE_STATE);
	CHECK_EQ(kp_ztrail_feed(&t, b + 3, 8, &used), KP_ZP_DONE);
	CHECK_EQ(used, 1);
	CHECK_EQ(kp_ztrail_check(&t, 0x01020304, 99), 0);
	CHECK_EQ(kp_ztrail_check(&t, 0x04030201, 0), KP_ZE_CHECKSUM);
}

CHECK_SUITE(CHECK_CASE(test_zlib_header_matches_zlib),
	    CHECK_CASE(test_gzip_default_header_matches_zlib),
	    CHECK_CASE(test_trailers), CHECK_CASE(test_header_write_errors),
	    CHECK_CASE(test_gzip_header_round_trip),
	    CHECK_CASE(test_gzip_header_not_kept),
	    CHECK_CASE(test_gzip_header_errors),
	    CHECK_CASE(test_gzip_header_crc),
	    CHECK_CASE(test_gzip_header_long_fields),
	    CHECK_CASE(test_gzip_header_max_extra),
	    CHECK_CASE(test_zlib_header_parse), CHECK_CASE(test_trailer_parse))
