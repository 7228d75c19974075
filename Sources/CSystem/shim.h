// Linux process controls that Glibc's Swift module does not export (prctl is variadic).
#pragma once
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static inline int csystem_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on, 0, 0, 0); }
static inline int csystem_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

/// glibc's memmem (a GNU extension the Swift module leaves out): the benchmarks' baseline scan.
extern void *memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);
static inline void *csystem_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}
