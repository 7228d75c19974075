import Foundation
import NightjarCore
import Testing

@testable import NightjarStore

func temporaryDatabasePath(_ label: String) -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-store-\(label)-\(UUID().uuidString)")
        .path
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder + "/test.sqlite"
}

@Suite("Database")
struct DatabaseTests {
    @Test func bindsAndReadsEveryType() throws {
        let database = try Database(path: ":memory:")
        try database.execute("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, d TEXT, r REAL, n TEXT, flag INTEGER)")
        let date = try CalendarDate(iso: "2026-11-24")
        try database.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
            [Int64.min, "é\"'; DROP TABLE t;--", [UInt8]([0, 1, 255]), date, 0.5, String?.none, true])
        let row = try #require(try database.query("SELECT * FROM t").first)
        #expect(try row.int64("i") == Int64.min)
        #expect(try row.string("s") == "é\"'; DROP TABLE t;--")
        #expect(try row.get("b", as: [UInt8].self) == [0, 1, 255])
        #expect(try row.get("d", as: CalendarDate.self) == date)
        #expect(try row.get("r", as: Double.self) == 0.5)
        #expect(try row.optionalString("n") == nil)
        #expect(try row.get("flag", as: Bool.self))
        #expect(throws: StoreError.self) { try row.int64("s") }
    }

    @Test func cachesPreparedStatements() throws {
        let database = try Database(path: ":memory:")
        try database.execute("CREATE TABLE t (i INTEGER)")
        let before = database.cachedStatementCount
        for value in 0..<100 { try database.execute("INSERT INTO t VALUES (?)", [value]) }
        #expect(database.cachedStatementCount == before + 1)
        #expect(try database.scalar(Int64.self, "SELECT sum(i) FROM t") == 4950)
    }

    @Test func aThrownErrorRollsTheTransactionBack() throws {
        let database = try Database(path: ":memory:")
        try database.execute("CREATE TABLE t (i INTEGER)")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try database.transaction {
                try database.execute("INSERT INTO t VALUES (1)")
                throw Stop()
            }
        }
        #expect(try database.scalar(Int64.self, "SELECT count(*) FROM t") == 0)
        #expect(!database.isInTransaction)
    }

    @Test func aNestedFailureUndoesOnlyTheInnerPart() throws {
        let database = try Database(path: ":memory:")
        try database.execute("CREATE TABLE t (i INTEGER)")
        struct Stop: Error {}
        try database.transaction {
            try database.execute("INSERT INTO t VALUES (1)")
            do {
                try database.transaction {
                    try database.execute("INSERT INTO t VALUES (2)")
                    throw Stop()
                }
            } catch is Stop {}
            try database.transaction { try database.execute("INSERT INTO t VALUES (3)") }
        }
        #expect(try database.query("SELECT i FROM t ORDER BY i").map { try $0.int64("i") } == [1, 3])
    }

    @Test func migrationsRunOnceInOrderAndRefuseANewerSchema() throws {
        let path = temporaryDatabasePath("migrate")
        let migrations = [
            Migration(version: 1, name: "a", sql: "CREATE TABLE a (x INTEGER);"),
            Migration(version: 2, name: "b", sql: "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);"),
        ]
        do {
            let database = try Database(path: path)
            #expect(try Migrator.migrate(database, migrations).map(\.version) == [1, 2])
            #expect(try Migrator.migrate(database, migrations).isEmpty)
        }
        let reopened = try Database(path: path)
        #expect(try Migrator.version(of: reopened) == 2)
        #expect(try reopened.scalar(Int64.self, "SELECT count(*) FROM a") == 1)
        #expect {
            try Migrator.migrate(reopened, Array(migrations.prefix(1)))
        } throws: { error in
            (error as? StoreError)?.code == "store.newer_schema"
        }
        // A failing migration leaves the database at the previous version.
        let broken =
            migrations + [Migration(version: 3, name: "bad", sql: "CREATE TABLE c (z INTEGER); SELECT * FROM nowhere;")]
        #expect(throws: StoreError.self) { try Migrator.migrate(reopened, broken) }
        #expect(try Migrator.version(of: reopened) == 2)
        #expect(try reopened.scalar(Int64.self, "SELECT count(*) FROM sqlite_master WHERE name = 'c'") == 0)
    }

    @Test func aFileThatIsNotADatabaseIsRefusedClearly() throws {
        let path = temporaryDatabasePath("notadb")
        try Data(String(repeating: "this is not sqlite ", count: 100).utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try Database(path: path)
        } throws: { error in
            (error as? StoreError)?.code == "store.not_a_database"
        }
    }

    @Test func constraintErrorsCarryTheCodeAndStatementButNoValues() throws {
        let database = try Database(path: ":memory:")
        try database.execute("CREATE TABLE t (k TEXT UNIQUE)")
        try database.execute("INSERT INTO t VALUES (?)", ["secret-value-123"])
        do {
            try database.execute("INSERT INTO t VALUES (?)", ["secret-value-123"])
            Issue.record("expected a constraint error")
        } catch {
            #expect(error.code == "store.constraint")
            #expect(error.codeName == "SQLITE_CONSTRAINT_UNIQUE")
            #expect(error.description.contains("INSERT INTO t VALUES (?)"))
            #expect(!error.description.contains("secret-value-123"))
        }
    }

    @Test func filesAreOwnerOnlyAndInWALMode() throws {
        let path = temporaryDatabasePath("modes")
        let database = try Database(path: path)
        try database.execute("CREATE TABLE t (i INTEGER)")
        try database.execute("INSERT INTO t VALUES (1)")
        #expect(try database.scalar(String.self, "PRAGMA journal_mode") == "wal")
        #expect(try database.scalar(Int64.self, "PRAGMA foreign_keys") == 1)
        #expect(SecureFile.mode(of: path) == 0o600)
        _ = try Database(path: path)
        #expect(SecureFile.mode(of: path + "-wal") == 0o600)
        #expect(throws: StoreError.self) { try database.execute("SELECT \"no_such_column\" FROM t") }
    }

    @Test func aSecondWriterWaitsForTheFirst() throws {
        let path = temporaryDatabasePath("busy")
        let first = try Database(path: path)
        try first.execute("CREATE TABLE t (i INTEGER)")
        let started = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let second = try! Database(path: path)
            started.signal()
            try! second.transaction { try second.execute("INSERT INTO t VALUES (2)") }
            done.signal()
        }
        try first.transaction {
            try first.execute("INSERT INTO t VALUES (1)")
            thread.start()
            started.wait()
            usleep(200_000)
        }
        done.wait()
        #expect(try first.scalar(Int64.self, "SELECT count(*) FROM t") == 2)
    }
}

@Suite("Database crash safety", .serialized)
struct DatabaseCrashTests {
    static var writer: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug"),
        ]
        return candidates.map { $0.appendingPathComponent("nightjar-crash-writer") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    func runWriter(_ path: String, rows: Int, batch: Int, killAfterMicroseconds: UInt32?) throws -> String {
        let process = Process()
        process.executableURL = DatabaseCrashTests.writer
        process.arguments = [path, String(rows), String(batch)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var output = ""
        if let delay = killAfterMicroseconds {
            while !output.contains("BEGIN") {
                let data = pipe.fileHandleForReading.availableData
                if data.isEmpty { break }
                output += String(decoding: data, as: UTF8.self)
            }
            usleep(delay)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        output += String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return output
    }

    /// A writer killed with SIGKILL in the middle of a large transaction: the reopened database
    /// passes its integrity check and holds all of that transaction or none of it, and every
    /// earlier committed transaction intact.
    @Test func aKilledWriteTransactionIsAllOrNothing() throws {
        let path = temporaryDatabasePath("crash")
        let rows = 400_000
        var killed = 0
        let committed = try runWriter(path, rows: 5_000, batch: 0, killAfterMicroseconds: nil)
        #expect(committed.contains("COMMITTED"))
        for (round, delay) in [UInt32(0), 5_000, 20_000, 60_000, 150_000, 300_000, 600_000].enumerated() {
            let output = try runWriter(path, rows: rows, batch: round + 1, killAfterMicroseconds: delay)
            let database = try Database(path: path)
            #expect(try database.scalar(String.self, "PRAGMA integrity_check") == "ok")
            #expect(try database.scalar(Int64.self, "SELECT count(*) FROM row WHERE batch = 0") == 5_000)
            let count = try database.scalar(Int64.self, "SELECT count(*) FROM row WHERE batch = ?", [round + 1]) ?? -1
            if output.contains("COMMITTED") {
                #expect(count == Int64(rows))
            } else {
                #expect(count == 0, "round \(round): \(count) rows of a killed transaction survived")
                killed += 1
            }
        }
        #expect(killed >= 4, "only \(killed) rounds were killed mid-transaction")
    }
}
