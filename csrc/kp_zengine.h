/*
 * kp_zengine.h: the compression engines this process runs: the linked zlib
 * (zlib_info.c), and ISA-L (zisal.c) and libdeflate (zwhole.c) where they
 * are.
 */
#ifndef KP_ZENGINE_H
#define KP_ZENGINE_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- zlib_info.c: the linked zlib --------------------------------------- */

/* The version string of the zlib in use at run time. */
const char *kp_zlib_version(void);

/* Returns 1 when the run-time zlib is compatible with the headers kpipe was
 * built against (same major version), 0 otherwise. */
int kp_zlib_compatible(void);

/* ---- zisal.c: ISA-L, where it is --------------------------------------- */

/* Whether ISA-L runs this process's inflate and its deflate at levels 1 to
 * 3: compiled in (its headers were there at build time), its library
 * (libisal.so.2) loaded, and KPIPE_ZENGINE=zlib not set when first asked.
 * The answer does not change afterwards. */
int kp_isal_available(void);

/* ---- zwhole.c: libdeflate, where it is ---------------------------------- */

/* Whether libdeflate compresses at levels 4 to 9 the streams whose whole
 * input is known at the start (see kp_z_size_hint): compiled in (its
 * header was there at build time), libdeflate.so.0 loaded, and
 * KPIPE_ZENGINE=zlib not set when first asked. The answer does not change
 * afterwards. */
int kp_ld_available(void);

#ifdef __cplusplus
}
#endif

#endif /* KP_ZENGINE_H */
