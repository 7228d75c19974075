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

#include <stdint.h>
#include <time.h>

/// The busy handler `csqlite_busy_timeout` installs: a connection that finds the database
/// locked tries again after 50 µs, then 200 µs, then every millisecond, until `context` (the
/// timeout in milliseconds) has passed since its first try. SQLite's own (sqlite3_busy_timeout)
/// sleeps 1, 2, 5, 10 ... 100 ms between tries, so a lock held for a millisecond costs its
/// waiter several, a thread that does nothing else meanwhile.
static int csqlite_busy_wait(void *context, int count) {
    static __thread struct timespec first;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (count == 0) first = now;
    int64_t waited = (int64_t)(now.tv_sec - first.tv_sec) * 1000000 + (now.tv_nsec - first.tv_nsec) / 1000;
    if (waited >= (int64_t)(intptr_t)context * 1000) return 0;
    long pause = count < 20 ? 50 : (count < 100 ? 200 : 1000);
    struct timespec interval = {0, pause * 1000};
    nanosleep(&interval, NULL);
    return 1;
}

/// Waits up to `milliseconds` for another connection's lock, trying again often (see
/// csqlite_busy_wait); 0 or less: no waiting, as sqlite3_busy_timeout.
static inline int csqlite_busy_timeout(sqlite3 *db, int milliseconds) {
    if (milliseconds <= 0) return sqlite3_busy_timeout(db, 0);
    return sqlite3_busy_handler(db, csqlite_busy_wait, (void *)(intptr_t)milliseconds);
}
