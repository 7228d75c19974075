import Foundation
import NightjarStore
import Testing

@testable import NightjarAgent

/// The night's second connection waits out another connection's long write (longer than its
/// busy timeout) and runs its transaction once; any other failure comes back at once.
@Suite struct SharedConnectionTests {
    @Test func aLongWriteElsewhereIsWaitedOutAndTheTransactionRunsOnce() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-shared-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/w.sqlite"
        var quick = DatabaseOptions()
        quick.busyTimeoutMilliseconds = 50
        let options = quick
        let setup = try Database(path: path, options: options)
        try setup.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        let shared = SharedConnection(open: { try Database(path: path, options: options) })
        // Another connection holds the write lock for 0.6 s: twelve of the shared one's timeouts.
        try setup.execute("BEGIN IMMEDIATE")
        try setup.execute("INSERT INTO item (name) VALUES ('first')")
        nonisolated(unsafe) let holder = setup
        let released = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.6)
            try? holder.execute("COMMIT")
            released.signal()
        }
        let started = ContinuousClock.now
        let count = try await shared.perform { database in
            try database.execute("INSERT INTO item (name) VALUES ('second')")
            return try database.scalar(Int64.self, "SELECT count(*) FROM item") ?? -1
        }
        released.wait()
        #expect(count == 2)
        #expect(ContinuousClock.now - started >= .milliseconds(550))
        #expect(
            try setup.query("SELECT name FROM item ORDER BY id", []).map { try $0.string("name") } == [
                "first", "second",
            ])
        // A failure other than a busy database is not tried again: the unique name is refused once.
        await #expect(throws: StoreError.self) {
            try await shared.perform { database in try database.execute("INSERT INTO item (name) VALUES ('first')") }
        }
        #expect(try setup.scalar(Int64.self, "SELECT count(*) FROM item") == 2)
    }
}
