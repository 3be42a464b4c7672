/* test_zlib_info.c: kp_zlib_version and kp_zlib_compatible against the zlib
 * this test runs with. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "kpipe.h"

static void test_version(void)
{
	const char *v = kp_zlib_version();

	if (!CHECK(v != NULL))
		return;
	check_note("zlib %s at run time, %s at build time", v, ZLIB_VERSION);
	CHECK_GT(strlen(v), 0);
	/* "major.minor[.patch...]" */
	CHECK(isdigit((unsigned char)v[0]));
	CHECK(strchr(v, '.') != NULL);
	/* The same library the rest of the process uses, and a stable
	 * pointer to it. */
	CHECK_STREQ(v, zlibVersion());
	CHECK(kp_zlib_version() == v);
}

static void test_compatible(void)
{
	const char *v = kp_zlib_version();

	CHECK_EQ(kp_zlib_compatible(), 1);
	/* Same major version as the headers, the rule zlib itself uses. */
	if (CHECK(v != NULL))
		CHECK_EQ(strtol(v, NULL, 10), strtol(ZLIB_VERSION, NULL, 10));
	/* And zlib agrees that it can be used with these headers. */
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (CHECK_EQ(deflateInit(&zs, Z_DEFAULT_COMPRESSION), Z_OK))
		CHECK_EQ(deflateEnd(&zs), Z_OK);
}

CHECK_SUITE(CHECK_CASE(test_version), CHECK_CASE(test_compatible))
