import NightjarCore

/// The workspace database: created by `init`, migrated forward by every command that opens it.
enum WorkspaceDatabase {
    static func create(at path: String) throws {}
    static func schemaVersion(at path: String) throws -> Int { 0 }
}
