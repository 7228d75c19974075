// Linux process controls that Glibc's Swift module does not export (prctl is variadic).
#pragma once
#include <sys/prctl.h>
#include <sys/resource.h>

static inline int csystem_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on, 0, 0, 0); }
static inline int csystem_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }
