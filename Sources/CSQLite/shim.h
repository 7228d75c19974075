// sqlite3 for Swift: SQLITE_TRANSIENT is a cast macro, so it is exported as a function.
#pragma once
#include <sqlite3.h>

static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }
