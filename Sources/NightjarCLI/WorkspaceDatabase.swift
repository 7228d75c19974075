import Foundation
import NightjarCore
import NightjarStore
import NightjarLedger
import NightjarAgent

/// The workspace database: created by `init`, migrated forward by every command that opens it.
/// Each later stage (ledger, runs, review) appends its migrations here.
enum WorkspaceDatabase {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "workspace", sql: """
            CREATE TABLE workspace_event (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL
            );
            """),
    ] + LedgerSchema.statements.enumerated().map { Migration(version: $0.offset + 2, name: $0.element.name, sql: $0.element.sql) }

    /// Creates (or migrates) the database and records the creation.
    static func create(at path: String) throws {
        let database = try Database(path: path)
        try Migrator.migrate(database, migrations)
        try database.execute("INSERT INTO workspace_event (at, kind, detail) VALUES (?, 'created', ?)",
                             [Logger.timestamp(), "nightjar \(NightjarVersion.current)"])
    }

    /// Opens the database, bringing its schema up to date.
    static func open(at path: String) throws -> Database {
        let database = try Database(path: path)
        try Migrator.migrate(database, migrations)
        return database
    }

    /// Opens a fresh connection each call (for code that runs on several threads).
    static func opener(_ workspace: Workspace) -> DatabaseOpener {
        let path = workspace.databasePath
        return { try open(at: path) }
    }

    static func schemaVersion(at path: String) throws -> Int {
        try Migrator.version(of: try open(at: path))
    }
}
