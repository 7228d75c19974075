/// One step of a schema's history. Steps are numbered from 1 and never change once shipped.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Brings a database to the newest schema, keyed by `PRAGMA user_version`.
public enum Migrator {
    /// The database's schema version.
    public static func version(of database: Database) throws(StoreError) -> Int {
        Int(try database.scalar(Int64.self, "PRAGMA user_version") ?? 0)
    }

    /// Runs the migrations the database has not had, in order, each in its own transaction with
    /// its version bump. Refuses a database newer than `migrations` knows. Returns the steps run.
    @discardableResult
    public static func migrate(_ database: Database, _ migrations: [Migration]) throws -> [Migration] {
        let ordered = migrations.sorted { $0.version < $1.version }
        precondition(
            ordered.enumerated().allSatisfy { $0.offset + 1 == $0.element.version },
            "migrations must be numbered 1, 2, 3...")
        let current = try version(of: database)
        let newest = ordered.last?.version ?? 0
        if current > newest {
            throw StoreError.custom(
                StoreError.newerSchemaCode,
                "\(database.path) has schema version \(current), newer than this Nightjar knows (\(newest)); upgrade Nightjar"
            )
        }
        var applied: [Migration] = []
        for migration in ordered where migration.version > current {
            try database.transaction {
                try database.executeScript(migration.sql)
                try database.execute("PRAGMA user_version = \(migration.version)")
            }
            applied.append(migration)
        }
        return applied
    }
}
