import Foundation
import NightjarStore
import Testing

@testable import NightjarSite

/// Shared reads last exactly until the database changes, whoever changes it.
@Suite struct ReadCacheTests {
    static func database() throws -> (String, @Sendable () throws -> Database) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nj-reads-\(UUID().uuidString).sqlite")
            .path
        let setup = try Database(path: path)
        try setup.execute("CREATE TABLE t (v INTEGER)")
        try setup.execute("INSERT INTO t VALUES (1)")
        return (path, { try Database(path: path) })
    }

    @Test func aCommitByAnotherConnectionEndsTheReadsAndOwnReadsAreKeptUntilThen() throws {
        let (path, open) = try ReadCacheTests.database()
        let cache = ReadCache(open: open)
        let reader = try open()
        func read() throws -> Int64 {
            try cache.snapshot().value(.clients) { try reader.scalar(Int64.self, "SELECT sum(v) FROM t") ?? 0 }
        }
        #expect(try read() == 1)
        // Unchanged database: the value is the one read before, even if the reader would now see more.
        let counter = Counter()
        for _ in 0..<5 {
            _ = try cache.snapshot().value(.batch(1)) {
                counter.add()
                return 0
            }
        }
        #expect(counter.value == 1)
        // A commit from elsewhere (another connection, as another process would).
        let writer = try Database(path: path)
        try writer.execute("INSERT INTO t VALUES (41)")
        #expect(try read() == 42)
        // `forget` after a write by the request itself.
        try cache.snapshot().forget()
        _ = try cache.snapshot().value(.batch(1)) {
            counter.add()
            return 0
        }
        #expect(counter.value == 2)
    }

    @Test func manyRequestsWantingOneReadMakeItOnce() async throws {
        let (_, open) = try ReadCacheTests.database()
        let cache = ReadCache(open: open)
        let counter = Counter()
        let snapshot = try cache.snapshot()
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    snapshot.value(.morning(["acme"])) { () -> Int in
                        counter.add()
                        Thread.sleep(forTimeInterval: 0.05)
                        return 7
                    }
                }
            }
            for await value in group { #expect(value == 7) }
        }
        #expect(counter.value == 1)
    }

    @Test func pageBodiesGetTheReadersTokenBack() {
        let body = CachedBody(
            "<a>\(CachedBody.placeholder)</a><b>\(CachedBody.placeholder)\(CachedBody.placeholder)</b>")
        #expect(String(decoding: body.bytes(token: "T1"), as: UTF8.self) == "<a>T1</a><b>T1T1</b>")
        #expect(String(decoding: CachedBody("no token").bytes(token: "x"), as: UTF8.self) == "no token")
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
