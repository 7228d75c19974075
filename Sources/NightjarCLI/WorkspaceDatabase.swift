import Foundation
import NightjarAgent
import NightjarCore
import NightjarLedger
import NightjarStore

/// The workspace database: created by `init`, migrated forward by every command that opens it.
/// Each later stage (ledger, runs, review) appends its migrations here.
enum WorkspaceDatabase {
    static let migrations: [Migration] =
        [
            Migration(
                version: 1, name: "workspace",
                sql: """
                    CREATE TABLE workspace_event (
                        id INTEGER PRIMARY KEY,
                        at TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        detail TEXT NOT NULL
                    );
                    """)
        ]
        + LedgerSchema.statements.enumerated().map {
            Migration(version: $0.offset + 2, name: $0.element.name, sql: $0.element.sql)
        }

    /// Creates (or migrates) the database and records the creation.
    static func create(at path: String) throws {
        let database = try Database(path: path)
        try Migrator.migrate(database, migrations)
        try database.execute(
            "INSERT INTO workspace_event (at, kind, detail) VALUES (?, 'created', ?)",
            [Logger.timestamp(), "nightjar \(NightjarVersion.current)"])
    }

    /// Opens the database, bringing its schema up to date. The first open in a process says
    /// which clients have names the identifier rule refuses, with the command that renames each.
    static func open(at path: String) throws -> Database {
        let database = try Database(path: path)
        try Migrator.migrate(database, migrations)
        if Workspace.firstOpen(of: "database " + path) {
            for client in try Ledger(database: database).clientsWithRefusedNames() {
                Logger(label: "workspace").warning(refusedClientWarning(client))
            }
        }
        return database
    }

    /// What the warning at open says of a client named before the identifier rule.
    static func refusedClientWarning(_ client: ClientID) -> String {
        let reason =
            Identifier.problem(client.rawValue).map {
                IdentifierError(field: "client name", value: client.rawValue, reason: $0).message
            } ?? ""
        return
            "the ledger holds a client whose name breaks the naming rule: \(reason); rename it: nightjar client rename "
            + "\(Workspace.shellQuoted(client.rawValue)) \(Identifier.suggestedName(for: client.rawValue))"
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
