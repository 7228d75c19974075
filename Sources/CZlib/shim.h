// zlib for Swift: inflateInit2 is a macro.
#pragma once
#include <zlib.h>

static inline int czlib_inflate_init2(z_stream *s, int windowBits) { return inflateInit2(s, windowBits); }
static inline int czlib_deflate_init2(z_stream *s, int level, int windowBits) {
    return deflateInit2(s, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
