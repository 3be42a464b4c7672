package kpipe

// #include "kpipe.h"
import "C"

// ZlibVersion returns the version of the C zlib library kpipe runs with, as
// zlib's zlibVersion() reports it (for example "1.2.13").
func ZlibVersion() string {
	return C.GoString(C.kp_zlib_version())
}

// zlibCompatible reports whether the zlib loaded at run time has the major
// version of the headers kpipe was built against.
func zlibCompatible() bool {
	return C.kp_zlib_compatible() == 1
}
