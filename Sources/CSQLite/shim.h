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
