public import NightjarStore
public import NightjarCore
import Foundation

/// Runs, their per-credential items, the inbox of fetched files and TOTP use: the night's
/// durable memory, in the workspace database.
public struct RunLog {
    let database: Database

    public init(database: Database) { self.database = database }

    /// A run as listings show it.
    public struct Run: Sendable, Codable, Equatable {
        public let id: Int64
        public let startedAt: String
        public let finishedAt: String?
        public let status: String
        public let scope: String
        public let items: [Item]

        enum CodingKeys: String, CodingKey {
            case id, status, scope, items
            case startedAt = "started_at", finishedAt = "finished_at"
        }
    }

    /// One credential's part of a run.
    public struct Item: Sendable, Codable, Equatable {
        public let client: String
        public let portal: String
        public let from: String
        public let to: String
        public let status: String
        public let filesNew: Int
        public let filesSeen: Int
        public let batches: Int
        public let lines: Int
        public let message: String?
        public let location: String?

        enum CodingKeys: String, CodingKey {
            case client, portal, from, to, status, batches, lines, message, location
            case filesNew = "files_new", filesSeen = "files_seen"
        }
    }

    static func now() -> String { Logger.timestamp() }

    /// Starts a run; runs left `running` by a killed process are marked `interrupted`.
    public func start(scope: String) throws -> Int64 {
        try database.transaction {
            try database.execute("UPDATE night_run SET status = 'interrupted' WHERE status = 'running'")
            try database.execute("UPDATE night_run_item SET status = 'interrupted' WHERE status = 'running'")
            try database.execute("INSERT INTO night_run (started_at, status, scope) VALUES (?, 'running', ?)", [RunLog.now(), scope])
            return database.lastInsertRowID
        }
    }

    public func finish(_ run: Int64, status: String, summary: String) throws {
        try database.execute("UPDATE night_run SET finished_at = ?, status = ?, summary = ? WHERE id = ?", [RunLog.now(), status, summary, run])
    }

    public func startItem(run: Int64, client: String, portal: String, range: DateRange) throws {
        try database.execute("""
            INSERT INTO night_run_item (run_id, client, portal, range_from, range_to, status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)
            """, [run, client, portal, range.from.description, range.to.description, RunLog.now()])
    }

    /// Adds to an item's counters as files land.
    public func count(run: Int64, client: String, portal: String, new: Int = 0, seen: Int = 0, batches: Int = 0, lines: Int = 0) throws {
        try database.execute("""
            UPDATE night_run_item SET files_new = files_new + ?, files_seen = files_seen + ?, batches = batches + ?, lines = lines + ?
            WHERE run_id = ? AND client = ? AND portal = ?
            """, [new, seen, batches, lines, run, client, portal])
    }

    public func finishItem(run: Int64, client: String, portal: String, status: String, message: String?, location: String?) throws {
        try database.execute("""
            UPDATE night_run_item SET status = ?, message = ?, location = ?, finished_at = ? WHERE run_id = ? AND client = ? AND portal = ?
            """, [status, message, location, RunLog.now(), run, client, portal])
    }

    /// The end of the last range that succeeded for a credential.
    public func lastSuccessfulEnd(client: String, portal: String) throws -> CalendarDate? {
        let text = try database.scalar(String.self, """
            SELECT max(range_to) FROM night_run_item WHERE client = ? AND portal = ? AND status IN ('ok', 'no_documents')
            """, [client, portal])
        return try text.map { try CalendarDate(iso: $0) }
    }

    /// How many runs in a row, most recent first, ended badly for a credential.
    public func consecutiveFailures(client: String, portal: String) throws -> Int {
        let statuses = try database.query("""
            SELECT status FROM night_run_item WHERE client = ? AND portal = ? AND status NOT IN ('running', 'interrupted') ORDER BY id DESC LIMIT 30
            """, [client, portal]).map { try $0.string("status") }
        return statuses.prefix { !["ok", "no_documents"].contains($0) }.count
    }

    public func runs(limit: Int = 20) throws -> [Run] {
        try database.query("SELECT id FROM night_run ORDER BY id DESC LIMIT ?", [limit]).map { try run(try $0.int64("id"))! }
    }

    public func run(_ id: Int64) throws -> Run? {
        guard let row = try database.query("SELECT * FROM night_run WHERE id = ?", [id]).first else { return nil }
        let items = try database.query("SELECT * FROM night_run_item WHERE run_id = ? ORDER BY client, portal", [id]).map { item in
            Item(client: try item.string("client"), portal: try item.string("portal"), from: try item.string("range_from"), to: try item.string("range_to"),
                 status: try item.string("status"), filesNew: Int(try item.int64("files_new")), filesSeen: Int(try item.int64("files_seen")),
                 batches: Int(try item.int64("batches")), lines: Int(try item.int64("lines")), message: try item.optionalString("message"),
                 location: try item.optionalString("location"))
        }
        return Run(id: id, startedAt: try row.string("started_at"), finishedAt: try row.optionalString("finished_at"), status: try row.string("status"),
                   scope: try row.string("scope"), items: items)
    }

    /// The most recent finished run.
    public func lastFinished() throws -> Run? {
        guard let id = try database.scalar(Int64.self, "SELECT id FROM night_run WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1") else { return nil }
        return try run(id)
    }

    // MARK: Inbox

    /// Records a file in the inbox; false when this client already had these bytes (seen again).
    public func recordInboxFile(client: String, portal: String, sha256: String, name: String, size: Int, path: String, kind: String,
                                metadata: String, run: Int64?) throws -> Bool {
        try database.transaction {
            let now = RunLog.now()
            if try database.scalar(Int64.self, "SELECT id FROM inbox_file WHERE client = ? AND sha256 = ?", [client, sha256]) != nil {
                try database.execute("UPDATE inbox_file SET last_seen_at = ?, times_seen = times_seen + 1 WHERE client = ? AND sha256 = ?",
                                     [now, client, sha256])
                return false
            }
            try database.execute("""
                INSERT INTO inbox_file (client, portal, sha256, original_name, size, path, kind, metadata, first_run_id, first_seen_at, last_seen_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [client, portal, sha256, name, size, path, kind, metadata, run, now, now])
            return true
        }
    }

    /// Whether the ledger already imported these bytes for the client.
    public func alreadyImported(client: String, sha256: String) throws -> Bool {
        try database.scalar(Int64.self, "SELECT id FROM source_file WHERE client_id = ? AND sha256 = ?", [client, sha256]) != nil
    }

    // MARK: TOTP

    public func lastTOTPCounter(credential: String) throws -> UInt64? {
        try database.scalar(Int64.self, "SELECT counter FROM totp_use WHERE credential = ?", [credential]).map { UInt64($0) }
    }

    public func recordTOTPCounter(credential: String, counter: UInt64) throws {
        try database.execute("""
            INSERT INTO totp_use (credential, counter) VALUES (?, ?) ON CONFLICT (credential) DO UPDATE SET counter = max(counter, excluded.counter)
            """, [credential, Int64(counter)])
    }
}
