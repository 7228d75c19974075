// Linux process controls that Glibc's Swift module does not export (prctl is variadic).
#pragma once
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static inline int csystem_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on, 0, 0, 0); }
/// An anonymous file in memory (close-on-exec), for a secret a C library insists on reading from a path.
extern int memfd_create(const char *name, unsigned int flags);
static inline int csystem_memory_file(const char *name) { return memfd_create(name, 1u /* MFD_CLOEXEC */); }
static inline int csystem_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

/// glibc's memmem (a GNU extension the Swift module leaves out): the benchmarks' baseline scan.
extern void *memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);
static inline void *csystem_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/// Which of the sixteen bytes at `bytes` equal `either` or `terminator`: bit i of the low half
/// for bytes[i] equal to either, bit i of the high half for bytes[i] equal to the terminator (the
/// X12 reader's search for element separators and segment ends, sixteen bytes an instruction).
static inline uint32_t csystem_match16(const uint8_t *bytes, uint8_t either, uint8_t terminator) {
#if defined(__SSE2__)
    __m128i text = _mm_loadu_si128((const __m128i *)bytes);
    __m128i ends = _mm_cmpeq_epi8(text, _mm_set1_epi8((char)terminator));
    __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(text, _mm_set1_epi8((char)either)), ends);
    return (uint32_t)_mm_movemask_epi8(hits) | (uint32_t)_mm_movemask_epi8(ends) << 16;
#else
    uint32_t mask = 0;
    for (int i = 0; i < 16; i++) {
        mask |= (uint32_t)(bytes[i] == either || bytes[i] == terminator) << i;
        mask |= (uint32_t)(bytes[i] == terminator) << (i + 16);
    }
    return mask;
#endif
}
