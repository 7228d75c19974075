// Test support for the store's crash test: one large write transaction, killed from outside.
// Usage: nightjar-crash-writer DATABASE ROWS BATCH
// Prints "BEGIN" once the transaction has started writing and "COMMITTED" after the commit.
import Foundation
import NightjarStore

let arguments = CommandLine.arguments
guard arguments.count == 4, let rows = Int(arguments[2]), let batch = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: nightjar-crash-writer DATABASE ROWS BATCH\n".utf8))
    exit(64)
}
do {
    let database = try Database(path: arguments[1])
    try Migrator.migrate(
        database,
        [
            Migration(
                version: 1, name: "rows",
                sql: """
                    CREATE TABLE row (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, payload TEXT NOT NULL);
                    CREATE INDEX row_batch ON row(batch);
                    """)
        ])
    try database.transaction {
        for index in 0..<rows {
            try database.execute(
                "INSERT INTO row (batch, payload) VALUES (?, ?)",
                [batch, "payload \(index) " + String(repeating: "x", count: 64)])
            if index == 0 { FileHandle.standardOutput.write(Data("BEGIN\n".utf8)) }
        }
    }
    FileHandle.standardOutput.write(Data("COMMITTED\n".utf8))
} catch {
    FileHandle.standardError.write(Data("crash-writer: \(error)\n".utf8))
    exit(1)
}
