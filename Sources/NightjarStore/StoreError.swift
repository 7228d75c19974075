import CSQLite
public import NightjarCore

/// A SQLite failure: the extended result code and its name, SQLite's message, and the
/// statement. Bound values are never included: they may be secrets or personal data.
public struct StoreError: NightjarError, Equatable {
    /// The extended result code, e.g. 2067 for SQLITE_CONSTRAINT_UNIQUE.
    public let resultCode: Int32
    public let sqliteMessage: String
    /// The SQL text of the statement, if any.
    public let statement: String?
    /// A message of our own when the failure is not SQLite's.
    let detail: String?

    init(resultCode: Int32, sqliteMessage: String, statement: String?, detail: String? = nil) {
        self.resultCode = resultCode
        self.sqliteMessage = sqliteMessage
        self.statement = statement
        self.detail = detail
    }

    /// A failure of ours (not from SQLite), e.g. a schema from a newer version.
    static func custom(_ code: Int32, _ detail: String) -> StoreError {
        StoreError(resultCode: code, sqliteMessage: "", statement: nil, detail: detail)
    }

    /// The primary result code (the low byte).
    public var primaryCode: Int32 { resultCode & 0xFF }

    /// The symbolic name, e.g. `SQLITE_CONSTRAINT_UNIQUE`.
    public var codeName: String {
        if resultCode == StoreError.newerSchemaCode { return "NIGHTJAR_NEWER_SCHEMA" }
        return StoreError.name(resultCode)
    }

    static let newerSchemaCode: Int32 = 10_001

    public var code: String {
        if resultCode == StoreError.newerSchemaCode { return "store.newer_schema" }
        switch primaryCode {
        case SQLITE_CONSTRAINT: return "store.constraint"
        case SQLITE_BUSY, SQLITE_LOCKED: return "store.busy"
        case SQLITE_NOTADB: return "store.not_a_database"
        case SQLITE_CORRUPT: return "store.corrupt"
        case SQLITE_CANTOPEN: return "store.cannot_open"
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH: return "store.permission"
        case SQLITE_FULL: return "store.disk_full"
        case SQLITE_IOERR: return "store.io"
        default: return "store.error"
        }
    }

    public var message: String {
        var text = detail ?? "database error \(codeName): \(sqliteMessage)"
        if let statement { text += " (in: \(statement.count > 300 ? String(statement.prefix(300)) + "…" : statement))" }
        return text
    }

    public var exitStatus: ExitStatus {
        switch primaryCode {
        case SQLITE_CANTOPEN: .cannotCreate
        case SQLITE_NOTADB, SQLITE_CORRUPT: .dataError
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH: .noPermission
        case SQLITE_CONSTRAINT: .dataError
        default: resultCode == StoreError.newerSchemaCode ? .config : .ioError
        }
    }

    static func name(_ code: Int32) -> String {
        let names: [Int32: String] = [
            1: "SQLITE_ERROR", 5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 7: "SQLITE_NOMEM", 8: "SQLITE_READONLY",
            10: "SQLITE_IOERR",
            11: "SQLITE_CORRUPT", 13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN", 19: "SQLITE_CONSTRAINT",
            20: "SQLITE_MISMATCH",
            21: "SQLITE_MISUSE", 23: "SQLITE_AUTH", 25: "SQLITE_RANGE", 26: "SQLITE_NOTADB",
            275: "SQLITE_CONSTRAINT_CHECK", 787: "SQLITE_CONSTRAINT_FOREIGNKEY", 1299: "SQLITE_CONSTRAINT_NOTNULL",
            1555: "SQLITE_CONSTRAINT_PRIMARYKEY", 2067: "SQLITE_CONSTRAINT_UNIQUE", 517: "SQLITE_BUSY_SNAPSHOT",
        ]
        return names[code] ?? names[code & 0xFF].map { "\($0) (\(code))" } ?? "SQLITE_\(code)"
    }
}
