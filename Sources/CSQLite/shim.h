// sqlite3 for Swift: SQLITE_TRANSIENT is a cast macro, so it is exported as a function.
#pragma once
#include <sqlite3.h>

static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

/// sqlite3_db_config is variadic: turn off double-quoted string literals (a common source of
/// silent bugs: "name" read as a string when the column does not exist).
static inline int csqlite_disable_dqs(sqlite3 *db) {
    int a = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)0);
    int b = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)0);
    return a == SQLITE_OK && b == SQLITE_OK ? SQLITE_OK : SQLITE_ERROR;
}

/// sqlite3_config is variadic: stop SQLite's process-wide memory statistics, which take a global
/// mutex on every allocation (a million-row import makes tens of millions). Must run before the
/// library initialises; later calls fail harmlessly with SQLITE_MISUSE.
static inline int csqlite_disable_memory_statistics(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
