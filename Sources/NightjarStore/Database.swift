import CSQLite
import Foundation
public import NightjarCore

/// How a database is opened.
public struct DatabaseOptions: Sendable {
    /// How long a writer waits for another connection's lock before `store.busy`.
    public var busyTimeoutMilliseconds: Int32 = 5000
    /// `FULL` makes every commit durable across power loss (the default: this is money data);
    /// `NORMAL` is faster and durable across application crashes.
    public var synchronousFull = true
    /// Open without writing.
    public var readOnly = false

    public init() {}
}

/// A connection to a SQLite database: WAL mode, foreign keys on, double-quoted strings off,
/// cached prepared statements, nested transactions. Not thread-safe: use a connection from
/// one thread at a time (each process or task opens its own).
public final class Database {
    private let handle: OpaquePointer
    /// The file path, or `:memory:`.
    public let path: String
    private var statements: [String: Statement] = [:]
    private var transactionDepth = 0

    /// Process-wide settings made before SQLite first initialises (once, whichever connection opens first).
    private static let libraryConfigured: Bool = csqlite_disable_memory_statistics() == SQLITE_OK

    /// Opens or creates the database at `path`. A new file is created readable by the owner only.
    public init(path: String, options: DatabaseOptions = DatabaseOptions()) throws(StoreError) {
        self.path = path
        _ = Database.libraryConfigured
        if path != ":memory:" && !options.readOnly && !FileManager.default.fileExists(atPath: path) {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor >= 0 { close(descriptor) }
        }
        var connection: OpaquePointer?
        let flags =
            (options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let status = sqlite3_open_v2(path, &connection, flags, nil)
        guard status == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(connection)
            throw StoreError(
                resultCode: status, sqliteMessage: message, statement: nil,
                detail: "cannot open database \(path): \(message)")
        }
        handle = connection
        sqlite3_extended_result_codes(handle, 1)
        _ = csqlite_busy_timeout(handle, options.busyTimeoutMilliseconds)
        _ = csqlite_disable_dqs(handle)
        do throws(StoreError) {
            // A trial read so a file that is not a database fails here, clearly.
            _ = try scalar(Int64.self, "SELECT count(*) FROM sqlite_master")
            try execute("PRAGMA foreign_keys = ON")
            if path != ":memory:" && !options.readOnly {
                let mode: String? = try scalar(String.self, "PRAGMA journal_mode = WAL")
                guard mode?.lowercased() == "wal" else {
                    throw StoreError.custom(
                        1, "database \(path) could not switch to WAL mode (got \(mode ?? "nothing"))")
                }
                try execute("PRAGMA synchronous = \(options.synchronousFull ? "FULL" : "NORMAL")")
                for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                    chmod(path + suffix, 0o600)
                }
            }
        } catch {
            statements.removeAll()
            sqlite3_close_v2(handle)
            if error.primaryCode == SQLITE_NOTADB {
                throw StoreError(
                    resultCode: error.resultCode, sqliteMessage: error.sqliteMessage, statement: nil,
                    detail: "\(path) is not a Nightjar database (file is not a database)")
            }
            throw error
        }
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    func failure(_ status: Int32, _ sql: String?) -> StoreError {
        StoreError(
            resultCode: sqlite3_extended_errcode(handle) != 0 ? sqlite3_extended_errcode(handle) : status,
            sqliteMessage: String(cString: sqlite3_errmsg(handle)), statement: sql)
    }

    // MARK: Statements

    /// A cached prepared statement for `sql`.
    func statement(_ sql: String) throws(StoreError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var pointer: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard status == SQLITE_OK, let pointer else { throw failure(status, sql) }
        let statement = Statement(pointer, sql: sql, database: self)
        statements[sql] = statement
        return statement
    }

    /// Number of cached statements (for tests and diagnostics).
    public var cachedStatementCount: Int { statements.count }

    /// Runs one statement that returns no rows.
    public func execute(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws(StoreError) {
        let statement = try statement(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// Runs several statements separated by semicolons (schema scripts). No arguments.
    public func executeScript(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? ""
            sqlite3_free(message)
            throw StoreError(resultCode: sqlite3_extended_errcode(handle), sqliteMessage: text, statement: sql)
        }
    }

    /// All rows of a query.
    public func query(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws(StoreError) -> [Row] {
        var rows: [Row] = []
        try forEachRow(sql, arguments) { rows.append($0) }
        return rows
    }

    /// Streams rows to `body` without collecting them.
    public func forEachRow(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [],
        _ body: (Row) throws -> Void
    ) throws(StoreError) {
        let statement = try statement(sql)
        try statement.bind(arguments)
        let columns = statement.columnNames
        while try statement.step() {
            do {
                try body(Row(columns: columns, values: statement.currentValues()))
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError.custom(1, "row handler failed: \(error)")
            }
        }
    }

    /// The first column of the first row, converted to `T`, or nil when there is no row.
    public func scalar<T: DatabaseValueConvertible>(
        _ type: T.Type, _ sql: String,
        _ arguments: [any DatabaseValueConvertible] = []
    ) throws(StoreError) -> T? {
        let statement = try statement(sql)
        try statement.bind(arguments)
        guard try statement.step() else { return nil }
        let value = statement.value(at: 0)
        statement.reset()
        return T(databaseValue: value)
    }

    /// Row id of the last insert on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    // MARK: Transactions

    /// Runs `body` in a transaction: `BEGIN IMMEDIATE` (so a writer never meets a lock it cannot
    /// wait out mid-transaction), commit on return, rollback on any thrown error, which is
    /// rethrown. Nested calls use savepoints: an inner failure the outer code catches undoes
    /// only the inner part.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let depth = transactionDepth
        let savepoint = "nightjar_\(depth)"
        if depth == 0 {
            try execute("BEGIN IMMEDIATE")
        } else {
            try execute("SAVEPOINT \(savepoint)")
        }
        transactionDepth += 1
        do {
            let result = try body()
            transactionDepth -= 1
            if depth == 0 {
                try execute("COMMIT")
            } else {
                try execute("RELEASE SAVEPOINT \(savepoint)")
            }
            return result
        } catch {
            transactionDepth = depth
            if depth == 0 {
                try? execute("ROLLBACK")
            } else {
                try? execute("ROLLBACK TO SAVEPOINT \(savepoint)")
                try? execute("RELEASE SAVEPOINT \(savepoint)")
            }
            throw error
        }
    }

    /// Runs `body` in a read transaction (a consistent snapshot in WAL mode).
    public func read<T>(_ body: () throws -> T) throws -> T {
        guard transactionDepth == 0 else { return try body() }
        try execute("BEGIN DEFERRED")
        transactionDepth = 1
        defer {
            transactionDepth = 0
            try? execute("COMMIT")
        }
        return try body()
    }

    /// Whether a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }
}

/// A prepared statement, owned and cached by its database.
final class Statement {
    let pointer: OpaquePointer
    let sql: String
    unowned let database: Database
    lazy var columnNames: [String] = (0..<sqlite3_column_count(pointer)).map {
        String(cString: sqlite3_column_name(pointer, $0))
    }

    init(_ pointer: OpaquePointer, sql: String, database: Database) {
        self.pointer = pointer
        self.sql = sql
        self.database = database
    }

    deinit { sqlite3_finalize(pointer) }

    func reset() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
    }

    func bind(_ arguments: [any DatabaseValueConvertible]) throws(StoreError) {
        let expected = Int(sqlite3_bind_parameter_count(pointer))
        guard arguments.count == expected else {
            throw StoreError(
                resultCode: SQLITE_RANGE, sqliteMessage: "\(arguments.count) arguments for \(expected) parameters",
                statement: sql)
        }
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch argument.databaseValue {
            case .null: status = sqlite3_bind_null(pointer, index)
            case .integer(let value): status = sqlite3_bind_int64(pointer, index, value)
            case .real(let value): status = sqlite3_bind_double(pointer, index, value)
            case .text(let value): status = sqlite3_bind_text(pointer, index, value, -1, csqlite_transient())
            case .blob(let value):
                status = value.withUnsafeBytes {
                    sqlite3_bind_blob(pointer, index, $0.baseAddress, Int32($0.count), csqlite_transient())
                }
            }
            guard status == SQLITE_OK else { throw database.failure(status, sql) }
        }
    }

    /// Advances; true when a row is available.
    func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(pointer)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE:
            sqlite3_reset(pointer)
            return false
        default:
            let error = database.failure(status, sql)
            sqlite3_reset(pointer)
            throw error
        }
    }

    func value(at index: Int32) -> DatabaseValue {
        switch sqlite3_column_type(pointer, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(pointer, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(pointer, index))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(pointer, index)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(pointer, index))
            guard count > 0, let bytes = sqlite3_column_blob(pointer, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    func currentValues() -> [DatabaseValue] {
        (0..<sqlite3_column_count(pointer)).map { value(at: $0) }
    }
}

/// The SQLite library version, e.g. `3.40.1`.
public var sqliteLibraryVersion: String { String(cString: sqlite3_libversion()) }

// MARK: Bulk work

/// A cached prepared statement bound and read by column position, with no intermediate values:
/// for the few places that move a million rows (matching a night, writing its decisions).
public struct PreparedStatement {
    let statement: Statement

    var pointer: OpaquePointer { statement.pointer }

    public func bind(_ value: Int64, at index: Int32) { sqlite3_bind_int64(pointer, index, value) }

    public func bind(_ value: Int64?, at index: Int32) {
        if let value { sqlite3_bind_int64(pointer, index, value) } else { sqlite3_bind_null(pointer, index) }
    }

    public func bind(_ value: String, at index: Int32) {
        // Native strings hand their bytes over without a copy; others are made contiguous first.
        let done: Bool? = value.utf8.withContiguousStorageIfAvailable { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                sqlite3_bind_text(pointer, index, "", 0, csqlite_transient())
                return true
            }
            base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                _ = sqlite3_bind_text(pointer, index, $0, Int32(bytes.count), csqlite_transient())
            }
            return true
        }
        if done == true { return }
        var text = value
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                sqlite3_bind_text(pointer, index, "", 0, csqlite_transient())
                return
            }
            base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                _ = sqlite3_bind_text(pointer, index, $0, Int32(bytes.count), csqlite_transient())
            }
        }
    }

    public func bind(_ value: String?, at index: Int32) {
        if let value { bind(value, at: index) } else { sqlite3_bind_null(pointer, index) }
    }

    /// Runs a statement that returns no rows, then clears its bindings for the next use.
    public func run() throws(StoreError) {
        while try statement.step() {}
        statement.reset()
    }

    /// Streams the rows to `body`, which reads columns by position.
    public func forEachRow(_ body: (Columns) throws -> Void) throws {
        let columns = Columns(pointer: pointer)
        while try statement.step() { try body(columns) }
        statement.reset()
    }

    /// The current row of a statement being stepped, read by column position.
    public struct Columns {
        let pointer: OpaquePointer

        public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(pointer, index) == SQLITE_NULL }
        public func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(pointer, index) }
        public func optionalInt64(_ index: Int32) -> Int64? {
            isNull(index) ? nil : sqlite3_column_int64(pointer, index)
        }

        public func string(_ index: Int32) -> String {
            guard let text = sqlite3_column_text(pointer, index) else { return "" }
            return String(
                decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(pointer, index))),
                as: UTF8.self)
        }

        public func optionalString(_ index: Int32) -> String? { isNull(index) ? nil : string(index) }

        /// The column's text as bytes, valid only until the next row (no string is made).
        public func bytes(_ index: Int32) -> UnsafeBufferPointer<UInt8> {
            guard let text = sqlite3_column_text(pointer, index) else {
                return UnsafeBufferPointer(start: nil, count: 0)
            }
            return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(pointer, index)))
        }
    }
}

extension Database {
    /// The cached prepared statement for `sql`, reset and with no bindings.
    public func prepared(_ sql: String) throws(StoreError) -> PreparedStatement {
        PreparedStatement(statement: try statement(sql))
    }
}
