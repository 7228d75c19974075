import Foundation
import Testing

@testable import NightjarStore

/// A writer that finds the database locked by another connection waits for it (trying again
/// often) up to its timeout, then fails with SQLITE_BUSY, as with SQLite's own busy timeout.
@Suite("Waiting for another connection's lock", .serialized)
struct BusyWaitTests {
    /// A database with a table, and a second connection to it holding the write lock for `seconds`
    /// on another thread; `locked` is signalled once the lock is held.
    static func holdLock(_ path: String, seconds: Double, locked: DispatchSemaphore, done: DispatchSemaphore) {
        Thread.detachNewThread {
            let holder = try! Database(path: path)
            try! holder.execute("BEGIN IMMEDIATE")
            try! holder.execute("INSERT INTO t VALUES (1)")
            locked.signal()
            Thread.sleep(forTimeInterval: seconds)
            try! holder.execute("COMMIT")
            done.signal()
        }
    }

    static func database(timeout: Int32) throws -> (Database, String) {
        let path = temporaryDatabasePath("busy")
        let setup = try Database(path: path)
        try setup.execute("CREATE TABLE t (i INTEGER)")
        var options = DatabaseOptions()
        options.busyTimeoutMilliseconds = timeout
        return (try Database(path: path, options: options), path)
    }

    @Test func aWriterWaitsForALockHeldBriefly() throws {
        let (writer, path) = try Self.database(timeout: 5000)
        let locked = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Self.holdLock(path, seconds: 0.05, locked: locked, done: done)
        locked.wait()
        try writer.execute("INSERT INTO t VALUES (2)")
        done.wait()
        #expect(try writer.scalar(Int64.self, "SELECT sum(i) FROM t") == 3)
    }

    @Test func aWriterGivesUpAfterItsTimeout() throws {
        let (writer, path) = try Self.database(timeout: 100)
        let locked = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Self.holdLock(path, seconds: 1.0, locked: locked, done: done)
        locked.wait()
        let start = ContinuousClock.now
        let error = try #require(throws: StoreError.self) { try writer.execute("INSERT INTO t VALUES (2)") }
        let waited = ContinuousClock.now - start
        #expect(error.primaryCode == 5)  // SQLITE_BUSY
        #expect(waited >= .milliseconds(100))
        done.wait()
    }

    @Test func noTimeoutMeansNoWaiting() throws {
        let (writer, path) = try Self.database(timeout: 0)
        let locked = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Self.holdLock(path, seconds: 0.3, locked: locked, done: done)
        locked.wait()
        let error = try #require(throws: StoreError.self) { try writer.execute("INSERT INTO t VALUES (2)") }
        #expect(error.primaryCode == 5)
        done.wait()
    }
}
