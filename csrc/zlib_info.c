/* zlib_info.c: which zlib kpipe runs with. */
#include <zlib.h>

#include "kp_zengine.h"

const char *kp_zlib_version(void)
{
	return zlibVersion();
}

int kp_zlib_compatible(void)
{
	return zlibVersion()[0] == ZLIB_VERSION[0];
}
