import Foundation
public import NightjarCore
public import NightjarStore

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

    /// A file that landed in the inbox and was not read: what went wrong and what to do.
    public struct UnreadFile: Sendable, Codable, Equatable {
        public let id: Int64
        public let client: String
        /// The run item it came with: `PORTAL`, or `PORTAL/LABEL` for a labelled credential.
        public let portal: String
        /// What the definition said it is (`remittance`, `invoice`...).
        public let kind: String
        public let file: String
        public let sha256: String
        public let path: String
        /// `failed` or `unsupported`.
        public let status: String
        public let code: String?
        public let message: String?
        public let location: String?
        public let firstSeenAt: String
        /// The last run that fetched it.
        public let lastRun: Int64?
        /// The command that settles it.
        public let whatToDo: String

        enum CodingKeys: String, CodingKey {
            case id, client, portal, kind, file, sha256, path, status, code, message, location
            case firstSeenAt = "first_seen_at", lastRun = "last_run", whatToDo = "what_to_do"
        }

        /// As an item of the morning's list.
        public var attention: Attention {
            Attention(
                outcome: status == "unsupported" ? "unsupported_document" : "import_failed", client: client,
                item: portal, file: file,
                message: reason, whatToDo: whatToDo, run: lastRun)
        }

        /// Why it is unread, with where, without the file's name (said beside it).
        public var reason: String {
            var text = message ?? code ?? status
            if text.hasPrefix(file + ": ") { text.removeFirst(file.count + 2) }
            return text + (location.map { " (\($0))" } ?? "")
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
        /// Files of this item the run could not read (still unread).
        public var unreadFiles: [UnreadFile] = []

        enum CodingKeys: String, CodingKey {
            case client, portal, from, to, status, batches, lines, message, location
            case filesNew = "files_new", filesSeen = "files_seen", unreadFiles = "unread_files"
        }
    }

    /// Item statuses that mean the credential's part went well.
    public static let goodStatuses = ["ok", "no_documents"]

    /// One thing a person must see in the morning: a credential whose part did not go well, or a
    /// file that is still unread. Listed at the top of the summary and of the morning report, in
    /// `runs show --json`, and by `nightjar check`.
    public struct Attention: Sendable, Codable, Equatable {
        /// The class: `import_failed`, `unsupported_document`, `portal_unavailable`,
        /// `skipped_unapproved`, `auth_failed`, ...
        public let outcome: String
        public let client: String
        /// `PORTAL` or `PORTAL/LABEL`.
        public let item: String
        /// The file, for an unread one.
        public let file: String?
        /// What happened, with where (a file's line) when known.
        public let message: String
        public let whatToDo: String
        /// The run that last saw it.
        public let run: Int64?

        public init(
            outcome: String, client: String, item: String, file: String?, message: String, whatToDo: String, run: Int64?
        ) {
            self.outcome = outcome
            self.client = client
            self.item = item
            self.file = file
            self.message = message
            self.whatToDo = whatToDo
            self.run = run
        }

        enum CodingKeys: String, CodingKey {
            case outcome, client, item, file, message, run
            case whatToDo = "what_to_do"
        }

        /// `client/item: outcome: file: message — what to do`, one line.
        public var line: String {
            "\(client)/\(item) \(outcome)" + (file.map { ": \($0)" } ?? "") + ": \(message) — \(whatToDo)"
        }
    }

    /// Item statuses that still count a range as fetched: the portal answered and every file
    /// landed, whether or not each could be read (unread files stay in the inbox).
    public static let fetchedStatuses = ["ok", "no_documents", "import_failed", "unsupported_document"]

    static func now() -> String { Logger.timestamp() }

    /// Starts a run; runs left `running` by a killed process are marked `interrupted`.
    public func start(scope: String) throws -> Int64 {
        try database.transaction {
            try database.execute("UPDATE night_run SET status = 'interrupted' WHERE status = 'running'")
            try database.execute("UPDATE night_run_item SET status = 'interrupted' WHERE status = 'running'")
            try database.execute(
                "INSERT INTO night_run (started_at, status, scope) VALUES (?, 'running', ?)", [RunLog.now(), scope])
            return database.lastInsertRowID
        }
    }

    public func finish(_ run: Int64, status: String, summary: String) throws {
        try database.execute(
            "UPDATE night_run SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
            [RunLog.now(), status, summary, run])
    }

    public func startItem(run: Int64, client: String, portal: String, range: DateRange) throws {
        try database.execute(
            """
            INSERT INTO night_run_item (run_id, client, portal, range_from, range_to, status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)
            """, [run, client, portal, range.from.description, range.to.description, RunLog.now()])
    }

    /// Adds to an item's counters as files land.
    public func count(
        run: Int64, client: String, portal: String, new: Int = 0, seen: Int = 0, batches: Int = 0, lines: Int = 0
    ) throws {
        try database.execute(
            """
            UPDATE night_run_item SET files_new = files_new + ?, files_seen = files_seen + ?, batches = batches + ?, lines = lines + ?
            WHERE run_id = ? AND client = ? AND portal = ?
            """, [new, seen, batches, lines, run, client, portal])
    }

    public func finishItem(
        run: Int64, client: String, portal: String, status: String, message: String?, location: String?
    ) throws {
        try database.execute(
            """
            UPDATE night_run_item SET status = ?, message = ?, location = ?, finished_at = ? WHERE run_id = ? AND client = ? AND portal = ?
            """, [status, message, location, RunLog.now(), run, client, portal])
    }

    /// The end of the last range that succeeded for a credential.
    public func lastSuccessfulEnd(client: String, portal: String) throws -> CalendarDate? {
        let text = try database.scalar(
            String.self,
            """
            SELECT max(range_to) FROM night_run_item WHERE client = ? AND portal = ? AND status IN ('ok', 'no_documents', 'import_failed', 'unsupported_document', 'items_refused')
            """, [client, portal])
        return try text.map { try CalendarDate(iso: $0) }
    }

    /// How many runs in a row, most recent first, ended badly for a credential.
    public func consecutiveFailures(client: String, portal: String) throws -> Int {
        let statuses = try database.query(
            """
            SELECT status FROM night_run_item WHERE client = ? AND portal = ? AND status NOT IN ('running', 'interrupted') ORDER BY id DESC LIMIT 30
            """, [client, portal]
        ).map { try $0.string("status") }
        return statuses.prefix { !["ok", "no_documents"].contains($0) }.count
    }

    public func runs(limit: Int = 20) throws -> [Run] {
        try database.query("SELECT id FROM night_run ORDER BY id DESC LIMIT ?", [limit]).map {
            try run(try $0.int64("id"))!
        }
    }

    public func run(_ id: Int64) throws -> Run? {
        guard let row = try database.query("SELECT * FROM night_run WHERE id = ?", [id]).first else { return nil }
        let unread = try unreadFiles(run: id)
        let items = try database.query("SELECT * FROM night_run_item WHERE run_id = ? ORDER BY client, portal", [id])
            .map { item in
                let client = try item.string("client")
                let portal = try item.string("portal")
                var value = Item(
                    client: client, portal: portal, from: try item.string("range_from"),
                    to: try item.string("range_to"),
                    status: try item.string("status"), filesNew: Int(try item.int64("files_new")),
                    filesSeen: Int(try item.int64("files_seen")),
                    batches: Int(try item.int64("batches")), lines: Int(try item.int64("lines")),
                    message: try item.optionalString("message"),
                    location: try item.optionalString("location"))
                value.unreadFiles = unread.filter { $0.client == client && $0.portal == portal }
                return value
            }
        return Run(
            id: id, startedAt: try row.string("started_at"), finishedAt: try row.optionalString("finished_at"),
            status: try row.string("status"),
            scope: try row.string("scope"), items: items)
    }

    /// The most recent finished run.
    /// Each credential's latest part of a run finished since `since` (an ISO timestamp): what
    /// `check` judges (with per-portal windows, the last run did not visit every portal).
    public func latestItems(finishedSince since: String) throws -> [Item] {
        let rows = try database.query(
            """
            SELECT i.* FROM night_run_item i
            JOIN (SELECT client, portal, max(run_id) AS run_id FROM night_run_item
                  WHERE run_id IN (SELECT id FROM night_run WHERE finished_at IS NOT NULL AND finished_at >= ?) GROUP BY client, portal) latest
              ON latest.client = i.client AND latest.portal = i.portal AND latest.run_id = i.run_id
            ORDER BY i.client, i.portal
            """, [since])
        return try rows.map { item in
            Item(
                client: try item.string("client"), portal: try item.string("portal"),
                from: try item.string("range_from"), to: try item.string("range_to"),
                status: try item.string("status"), filesNew: Int(try item.int64("files_new")),
                filesSeen: Int(try item.int64("files_seen")),
                batches: Int(try item.int64("batches")), lines: Int(try item.int64("lines")),
                message: try item.optionalString("message"),
                location: try item.optionalString("location"))
        }
    }

    public func lastFinished() throws -> Run? {
        guard
            let id = try database.scalar(
                Int64.self, "SELECT id FROM night_run WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")
        else { return nil }
        return try run(id)
    }

    // MARK: Inbox

    /// Records a file in the inbox; false when this client already had these bytes (seen again:
    /// a file is counted new once). `item` is the run item it came with (`PORTAL` or `PORTAL/LABEL`).
    public func recordInboxFile(
        client: String, portal: String, sha256: String, name: String, size: Int, path: String, kind: String,
        metadata: String, run: Int64?, item: String? = nil
    ) throws -> Bool {
        try database.transaction {
            let now = RunLog.now()
            if try database.scalar(
                Int64.self, "SELECT id FROM inbox_file WHERE client = ? AND sha256 = ?", [client, sha256]) != nil
            {
                try database.execute(
                    """
                    UPDATE inbox_file SET last_seen_at = ?, times_seen = times_seen + 1, last_run_id = ?, last_item = ? WHERE client = ? AND sha256 = ?
                    """, [now, run, item ?? portal, client, sha256])
                return false
            }
            try database.execute(
                """
                INSERT INTO inbox_file (client, portal, sha256, original_name, size, path, kind, metadata, first_run_id, first_seen_at, last_seen_at,
                    last_run_id, last_item)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [client, portal, sha256, name, size, path, kind, metadata, run, now, now, run, item ?? portal])
            return true
        }
    }

    /// Each inbox file a credential fetched: its kind and what the listing said of it (JSON).
    public func inboxListings(client: String, item: String) throws -> [(kind: String, metadata: String)] {
        try database.query(
            "SELECT kind, metadata FROM inbox_file WHERE client = ? AND COALESCE(last_item, portal) = ?",
            [client, item]
        ).map {
            (try $0.string("kind"), try $0.string("metadata"))
        }
    }

    /// An inbox file's import status (`imported`, `failed`, `unsupported`, `stored`, `dismissed`), or nil.
    public func inboxStatus(client: String, sha256: String) throws -> String? {
        try database.scalar(
            String.self, "SELECT import_status FROM inbox_file WHERE client = ? AND sha256 = ?", [client, sha256])
    }

    /// What became of an inbox file's import.
    public func markInboxFile(
        client: String, sha256: String, status: String, code: String? = nil, message: String? = nil,
        location: String? = nil
    ) throws {
        try database.execute(
            """
            UPDATE inbox_file SET import_status = ?, import_code = ?, import_message = ?, import_location = ? WHERE client = ? AND sha256 = ?
            """, [status, code, message, location, client, sha256])
    }

    static let unreadSelect = """
        SELECT id, client, COALESCE(last_item, portal) AS item, kind, original_name, sha256, path, import_status, import_code, import_message, import_location,
               first_seen_at, last_run_id
        FROM inbox_file WHERE import_status IN ('failed', 'unsupported')
        """

    static func unread(_ row: Row) throws -> UnreadFile {
        let status = try row.string("import_status")
        let code = try row.optionalString("import_code")
        let client = try row.string("client")
        let path = try row.string("path")
        let sha = try row.string("sha256")
        return UnreadFile(
            id: try row.int64("id"), client: client, portal: try row.string("item"), kind: try row.string("kind"),
            file: try row.string("original_name"), sha256: sha,
            path: path, status: status, code: code, message: try row.optionalString("import_message"),
            location: try row.optionalString("import_location"), firstSeenAt: try row.string("first_seen_at"),
            lastRun: try row.get("last_run_id", as: Int64?.self),
            whatToDo: RunLog.whatToDo(status: status, code: code, client: client, path: path, sha256: sha))
    }

    /// The command that settles an unread file.
    static func whatToDo(status: String, code: String?, client: String, path: String, sha256: String) -> String {
        let dismiss =
            "or, if nobody will read it, nightjar inbox dismiss \(sha256.prefix(12)) --client \(client) --reason \"...\""
        let pending = "then nightjar import --pending --client \(client)"
        switch (status, code) {
        case ("unsupported", _):
            return
                "read it by hand; then nightjar inbox dismiss \(sha256.prefix(12)) --client \(client) --reason \"...\""
        case (_, "no_profile"?):
            return "write a profile for it (nightjar profile draft \(path)), \(pending); \(dismiss)"
        case (_, "several_profiles"?):
            return "narrow one of the profiles with [match] (nightjar profile try \(path)), \(pending)"
        case (_, "profile_unapproved"?):
            return "have an admin approve the profile (nightjar profile approve NAME), \(pending)"
        case (_, "wrong_kind"?): return "read it with the command the message names, \(dismiss)"
        default:
            return "fix the profile that reads it (nightjar profile try \(path) --profile NAME), \(pending); \(dismiss)"
        }
    }

    /// Files not read and not dismissed, for one client or all.
    public func unreadFiles(client: String? = nil) throws -> [UnreadFile] {
        var sql = RunLog.unreadSelect
        var arguments: [any DatabaseValueConvertible] = []
        if let client {
            sql += " AND client = ?"
            arguments.append(client)
        }
        return try database.query(sql + " ORDER BY id", arguments).map(RunLog.unread)
    }

    /// Files a run saw and could not read.
    public func unreadFiles(run: Int64) throws -> [UnreadFile] {
        try database.query(RunLog.unreadSelect + " AND last_run_id = ? ORDER BY id", [run]).map(RunLog.unread)
    }

    /// Whether `text` names `file`: the start of its sha256 (at least 6 characters), its id, name or path.
    public static func names(_ file: UnreadFile, _ text: String) -> Bool {
        (text.count >= 6 && file.sha256.hasPrefix(text.lowercased())) || file.file == text || String(file.id) == text
            || file.path == text
    }

    /// Ends the alarm for a file nobody will read: recorded with who, when and why.
    public func dismiss(client: String, file: String, by actor: String, reason: String) throws -> UnreadFile {
        let matches = try unreadFiles(client: client).filter { RunLog.names($0, file) }
        guard let found = matches.first else {
            throw GeneralError(
                code: "inbox.not_unread",
                message: "no unread file \(file) for \(client) (nightjar inbox list --client \(client))",
                exitStatus: .noInput)
        }
        guard matches.count == 1 else {
            throw GeneralError(
                code: "inbox.ambiguous",
                message: "\(file) names \(matches.count) unread files; give more of the sha256", exitStatus: .usage)
        }
        try database.execute(
            """
            UPDATE inbox_file SET import_status = 'dismissed', dismissed_by = ?, dismissed_at = ?, dismissed_reason = ? WHERE id = ?
            """, [actor, RunLog.now(), reason, found.id])
        return found
    }

    /// Whether the ledger already imported these bytes for the client.
    public func alreadyImported(client: String, sha256: String) throws -> Bool {
        try database.scalar(
            Int64.self, "SELECT id FROM source_file WHERE client_id = ? AND sha256 = ?", [client, sha256]) != nil
    }

    // MARK: TOTP

    public func lastTOTPCounter(credential: String) throws -> UInt64? {
        try database.scalar(Int64.self, "SELECT counter FROM totp_use WHERE credential = ?", [credential]).map {
            UInt64($0)
        }
    }

    public func recordTOTPCounter(credential: String, counter: UInt64) throws {
        try database.execute(
            """
            INSERT INTO totp_use (credential, counter) VALUES (?, ?) ON CONFLICT (credential) DO UPDATE SET counter = max(counter, excluded.counter)
            """, [credential, Int64(counter)])
    }
}
