public import Foundation
public import NightjarCore
import NightjarFileDrop
public import NightjarHTTP
public import NightjarLedger
import NightjarMail
import NightjarReview
public import NightjarScript
public import NightjarStore
import Synchronization

/// One credential's share of a night: the definition, the range and where its origins are.
public struct NightJob: Sendable {
    public let credential: ScriptCredential
    public let definition: ScraperDefinition
    public let range: DateRange
    public let originOverrides: [String: String]

    public init(
        credential: ScriptCredential, definition: ScraperDefinition, range: DateRange, originOverrides: [String: String]
    ) {
        self.credential = credential
        self.definition = definition
        self.range = range
        self.originOverrides = originOverrides
    }
}

/// How a night's ranges are chosen.
public enum NightPlanning {
    /// From the end of the last range that succeeded, less an overlap (portals post late), to
    /// today; a credential never fetched before looks back `lookbackDays`.
    public static func range(
        lastSuccessfulEnd: CalendarDate?, today: CalendarDate, overlapDays: Int = 3, lookbackDays: Int = 30
    ) -> DateRange {
        var from = lastSuccessfulEnd.map { $0.adding(days: -overlapDays) } ?? today.adding(days: -lookbackDays)
        if from > today { from = today }
        return try! DateRange(from: from, to: today)
    }
}

/// Opens the workspace database (migrated) for whoever needs a connection.
public typealias DatabaseOpener = @Sendable () throws -> Database

/// Login attempts journalled in the workspace database (see `LoginAttempts`).
public struct DatabaseLoginGuard: LoginGuard {
    let connection: SharedConnection

    public init(open: @escaping DatabaseOpener) { connection = SharedConnection(open: open) }

    public func begin(credential: String) throws -> Int64 {
        switch try connection.use({ try LoginAttempts(database: $0).begin(credential: credential) }) {
        case .success(let id): return id
        case .failure(let blocking):
            let ending = blocking.outcome.map { "ended \($0)" } ?? "never finished (interrupted)"
            let problem =
                "a login for \(credential) at \(blocking.startedAt) \(ending); not trying again within 12 hours (after fixing the credential: nightjar run --retry-login \(credential))"
            throw ScraperFailure(.loginRefused, problem, location: nil)
        }
    }

    public func finish(_ attempt: Int64, outcome: String) throws {
        try connection.use { try LoginAttempts(database: $0).finish(attempt, outcome: outcome) }
    }
}

/// TOTP periods used, kept in the workspace database so a restarted process never resends a code.
public struct DatabaseTOTPStore: TOTPUseStore {
    let connection: SharedConnection

    public init(open: @escaping DatabaseOpener) { connection = SharedConnection(open: open) }

    public func lastCounter(credential: String) -> UInt64? {
        (try? connection.use { try RunLog(database: $0).lastTOTPCounter(credential: credential) }) ?? nil
    }

    public func record(credential: String, counter: UInt64) throws {
        try connection.use { try RunLog(database: $0).recordTOTPCounter(credential: credential, counter: counter) }
    }
}

/// What mailbox and SFTP sources have read, kept in the workspace database (`SourceItems`).
public struct DatabaseSourceMemory: SourceMemory {
    let open: DatabaseOpener

    public init(open: @escaping DatabaseOpener) { self.open = open }

    public func wasRead(client: String, source: String, key: String) async -> SourceItemRecord? {
        ((try? SourceItems(database: try open()).item(client: client, source: source, key: key)) ?? nil).map(
            DatabaseSourceMemory.record)
    }

    public func wasRead(client: String, source: String, identity: String) async -> SourceItemRecord? {
        ((try? SourceItems(database: try open()).item(client: client, source: source, identity: identity)) ?? nil).map(
            DatabaseSourceMemory.record)
    }

    public func record(client: String, source: String, key: String, identity: String?, status: String, message: String?)
        async
    {
        do {
            try SourceItems(database: try open()).record(
                client: client, source: source, key: key, identity: identity, status: status, message: message)
        } catch {
            Logger(label: "run").warning(
                "\(client)/\(source): could not remember \(key): \((error as? any NightjarError)?.message ?? "\(error)")"
            )
        }
    }

    static func record(_ item: SourceItems.Item) -> SourceItemRecord {
        SourceItemRecord(key: item.key, identity: item.identity, status: item.status, readAt: item.readAt)
    }
}

/// The night's writes, one at a time: the inbox, imports, counters, matching. Files are imported
/// the moment they land, each in one transaction.
public actor NightBook {
    let database: Database
    let ledger: Ledger
    let log: RunLog
    nonisolated let importer: RemittanceFileImporter
    nonisolated let inbox: Inbox
    let rules: MatchingRulesFiles?
    var problems: [String: [String]] = [:]
    /// A second connection for what a credential needs before it talks to its portal (its
    /// run-log item, what it fetched before): a credential waits for SQLite's write lock for a
    /// moment instead of behind the book's queue of landings and matchings.
    nonisolated let side: SharedConnection

    public init(
        open: @escaping DatabaseOpener, importer: RemittanceFileImporter, inbox: Inbox, rules: MatchingRulesFiles? = nil
    )
        throws
    {
        self.rules = rules
        let database = try open()
        self.database = database
        ledger = Ledger(database: database)
        log = RunLog(database: database)
        self.importer = importer
        self.inbox = inbox
        side = SharedConnection(open: open)
    }

    public func startRun(scope: String) throws -> Int64 { try log.start(scope: scope) }

    public func lastSuccessfulEnd(client: String, portal: String) throws -> CalendarDate? {
        try log.lastSuccessfulEnd(client: client, portal: portal)
    }

    public func consecutiveFailures(client: String, portal: String) throws -> Int {
        try log.consecutiveFailures(client: client, portal: portal)
    }

    /// Starts a credential's run-log item and, unless `refetch`, returns the listing keys of what
    /// the item fetched before (`listingKeys(client:item:log:)`), on the book's second connection.
    public nonisolated func startItem(
        run: Int64, client: String, portal: String, range: DateRange, refetch: Bool = true
    ) async throws -> Set<String> {
        try await side.perform { database in
            let log = RunLog(database: database)
            try log.startItem(run: run, client: client, portal: portal, range: range)
            return refetch ? [] : try NightBook.listingKeys(client: client, item: portal, log: log)
        }
    }

    /// Records how a credential's part of the run ended. A portal failure is its own class; when
    /// the portal answered but a file it gave could not be read, the item is `import_failed` (or
    /// `unsupported_document`), with each file, and the range still counts as fetched (the file
    /// is kept); when a file could not be kept at all, `store_failed`, and the range is fetched again.
    public func finishItem(run: Int64, client: String, portal: String, outcome: ScraperOutcome) throws {
        var status = outcome.status
        let notStored = problems["\(client)/\(portal)"] ?? []
        var messages = [outcome.failure?.message].compactMap { $0 } + notStored
        if outcome.failure == nil {
            let unread = try log.unreadFiles(run: run).filter { $0.client == client && $0.portal == portal }
            // A mailbox's or drop's message or file that was refused is never read again: a person must see it.
            if !outcome.refused.isEmpty { status = "items_refused" }
            messages += outcome.refused + outcome.notes
            if unread.contains(where: { $0.status == "failed" }) {
                status = "import_failed"
            } else if !unread.isEmpty {
                status = "unsupported_document"
            }
            // A file that could not even be kept (the disk, the inbox) is worse than one not read.
            if !notStored.isEmpty { status = "store_failed" }
            messages += unread.map { "\($0.file): \($0.reason)" }
        }
        if outcome.alreadyInInbox > 0 {
            try log.count(run: run, client: client, portal: portal, seen: outcome.alreadyInInbox)
        }
        try log.finishItem(
            run: run, client: client, portal: portal, status: status,
            message: messages.isEmpty ? nil : messages.joined(separator: "; "),
            location: outcome.failure?.location?.description)
    }

    /// Records a credential the night did not run (its definition, or its client's rules file, is
    /// not approved in its present version): an item of its own, so it is seen, never an "ok" night.
    public func skipItem(
        run: Int64, client: String, portal: String, today: CalendarDate, status: String, message: String
    ) throws {
        let range = try DateRange(from: today, to: today)
        try log.startItem(run: run, client: client, portal: portal, range: range)
        try log.finishItem(run: run, client: client, portal: portal, status: status, message: message, location: nil)
    }

    /// A file has landed: into the inbox, then imported unless these bytes were imported before.
    /// `item` is the run-log entry it counts for (`PORTAL/LABEL` for a labelled credential). A file
    /// that cannot be read stays in the inbox marked unread, with why and where, until a fixed
    /// profile reads it (`import --pending`) or a person dismisses it.
    ///
    /// `readAhead` is the file as `readAhead(_:client:)` read it, outside the book; without it the
    /// file is read here, in the import's transaction. The move into the inbox and the file's
    /// metadata are done on the caller's task: the book only records and imports.
    public nonisolated func land(
        run: Int64, client: String, portal: String, item: String? = nil, download: DownloadRecord,
        readAhead: ReadAheadRemittances? = nil
    ) async {
        let item = item ?? portal
        CrashPoint.hit("downloaded")
        let stored = Result { () throws -> (path: String, metadata: String) in
            let path = try inbox.store(download.path, client: client, sha256: download.sha256, name: download.fileName)
            CrashPoint.hit("inbox-moved")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (path, String(decoding: try encoder.encode(download.metadata), as: UTF8.self))
        }
        await record(
            run: run, client: client, portal: portal, item: item, download: download, stored: stored,
            readAhead: readAhead)
    }

    /// `land`'s part in the book: one transaction for the inbox record, the import and the counters.
    private func record(
        run: Int64, client: String, portal: String, item: String, download: DownloadRecord,
        stored: Result<(path: String, metadata: String), any Error>, readAhead: ReadAheadRemittances?
    ) {
        do {
            let (path, metadata) = try stored.get()
            // One transaction per file: the inbox record, the import and the counters commit together.
            try database.transaction {
                let new = try log.recordInboxFile(
                    client: client, portal: portal, sha256: download.sha256, name: download.fileName,
                    size: download.size,
                    path: path, kind: download.kind.rawValue, metadata: metadata, run: run, item: item)
                CrashPoint.hit("inbox-recorded")
                // Imported before, or dismissed by a person: seen again, nothing more.
                if try log.alreadyImported(client: client, sha256: download.sha256)
                    || log.inboxStatus(client: client, sha256: download.sha256) == "dismissed"
                {
                    try log.count(run: run, client: client, portal: item, seen: 1)
                    return
                }
                let result = try readInto(
                    path, sha256: download.sha256, kind: download.kind, name: download.fileName, client: client,
                    portal: portal, readAhead: readAhead)
                try log.markInboxFile(
                    client: client, sha256: download.sha256, status: result.status, code: result.code,
                    message: result.message,
                    location: result.location)
                try log.count(
                    run: run, client: client, portal: item, new: new ? 1 : 0, seen: new ? 0 : 1,
                    batches: result.batches, lines: result.lines)
                CrashPoint.hit("import-uncommitted")
            }
            CrashPoint.hit("imported")
        } catch {
            problems["\(client)/\(item)", default: []].append(
                "\(download.fileName): \((error as? any NightjarError)?.message ?? "\(error)")")
        }
    }

    /// A small remittance file just downloaded, read (format, profile, payments) by the caller's
    /// task rather than inside the book, so that many are read at once and the book only writes
    /// them (`land(...readAhead:)`). Nil for another kind of document, a file over
    /// `RemittanceFileImporter.readAheadBytes`, or one that cannot be opened: the import reads those
    /// itself, and meets the same errors.
    public nonisolated func readAhead(_ download: DownloadRecord, client: String) -> ReadAheadRemittances? {
        guard download.kind == .remittance, download.size <= RemittanceFileImporter.readAheadBytes,
            let file = try? InputFile(
                path: download.path, name: download.fileName, maximumBytes: importer.maximumFileBytes),
            file.size <= RemittanceFileImporter.readAheadBytes, let bytes = try? file.prefix(file.size),
            bytes.count == file.size
        else { return nil }
        return importer.readAhead(bytes, name: download.fileName, client: ClientID(client))
    }

    /// What reading a landed file gave: its inbox status and, when unread, why and where.
    struct Reading {
        var status = "imported"
        var code: String?
        var message: String?
        var location: String?
        var batches = 0
        var lines = 0
    }

    /// Reads a landed file into the ledger (remittances) or purchase orders (invoices); an error
    /// undoes only the import (its own savepoint) and is returned as an unread file's reason. The
    /// file at `path` is read in chunks, whatever its size (one payment or invoice in memory at a
    /// time); one over `max_file_size` is refused with its size named.
    func readInto(
        _ path: String, sha256: String, kind: DocumentKind, name: String, client: String, portal: String,
        readAhead: ReadAheadRemittances? = nil
    ) throws -> Reading {
        var reading = Reading()
        switch kind {
        case .invoice:
            // A supplier's invoice becomes a purchase order (created, replaced, or logged).
            let source = try InputFile(path: path, name: name, maximumBytes: importer.maximumFileBytes)
            let outcomes = try PurchaseOrders(database: database).importInvoices(
                source, name: name, client: client,
                defaultCurrency: importer.defaultCurrency, profiles: importer.profiles,
                sha256: sha256)
            if let failed = outcomes.first(where: { $0.action == "failed" }) {
                reading.status = "failed"
                reading.code = "po.failed"
                reading.message = failed.message
            }
        case .remittance:
            do {
                let imported: FileImport
                if let readAhead {
                    imported = try importer.importReadAhead(
                        readAhead, sha256: sha256, name: name, client: ClientID(client), portal: portal, into: ledger)
                } else {
                    let source = try InputFile(path: path, name: name, maximumBytes: importer.maximumFileBytes)
                    imported = try importer.importFile(
                        source, name: name, client: ClientID(client), portal: portal, into: ledger, sha256: sha256)
                }
                switch imported {
                case .imported(let imported):
                    reading.batches = imported.batches
                    reading.lines = imported.lines
                case .skipped(let code, let message):
                    reading.status = code == "unsupported_document" ? "unsupported" : "failed"
                    reading.code = code
                    reading.message = message
                }
            } catch let error as any NightjarError {
                reading.status = "failed"
                reading.code = error.code
                reading.message = error.message
                reading.location = error.location?.description
            }
        default:
            reading.status = "stored"
        }
        return reading
    }

    /// Reads again the files of the inbox nothing could read (after a profile was fixed or
    /// approved), one transaction each; returns each file with what became of it.
    public func importPending(client: String?) throws -> [(file: RunLog.UnreadFile, result: String)] {
        var done: [(RunLog.UnreadFile, String)] = []
        for file in try log.unreadFiles(client: client) where file.status == "failed" {
            let result = try database.transaction { () throws -> Reading in
                let portal = String(file.portal.prefix { $0 != "/" })
                let reading = try readInto(
                    file.path, sha256: file.sha256, kind: DocumentKind(rawValue: file.kind) ?? .remittance,
                    name: file.file, client: file.client, portal: portal)
                try log.markInboxFile(
                    client: file.client, sha256: file.sha256, status: reading.status, code: reading.code,
                    message: reading.message,
                    location: reading.location)
                return reading
            }
            done.append(
                (
                    file,
                    result.status == "imported"
                        ? "imported: \(result.batches) batch(es), \(result.lines) line(s)"
                        : "still unread: \(result.message ?? result.code ?? result.status)"
                            + (result.location.map { " (\($0))" } ?? "")
                ))
        }
        return done
    }

    /// How listings name the documents the inbox holds for a credential (`DownloadRecord.listingKeys`).
    static func listingKeys(client: String, item: String, log: RunLog) throws -> Set<String> {
        var keys: Set<String> = []
        for (kind, metadata) in try log.inboxListings(client: client, item: item) {
            guard let kind = DocumentKind(rawValue: kind),
                let fields = try? JSONDecoder().decode([String: String].self, from: Data(metadata.utf8))
            else { continue }
            keys.formUnion(DownloadRecord.listingKeys(kind: kind, metadata: fields))
        }
        return keys
    }

    /// What a person must see first about `run` (see `NightAttention`).
    public func attention(run: RunLog.Run, clients: [String]) throws -> [RunLog.Attention] {
        try NightAttention.list(run: run, log: log, clients: clients)
    }

    /// Matches every batch of these clients that has not been matched yet, one transaction each.
    /// Lines per status (`unknown_payer` and `duplicate_payment` counted apart from unknown references).
    public func matchNewBatches(clients: [String]) throws -> [String: Int] {
        var statuses: [String: Int] = [:]
        for client in clients.map { ClientID($0) } {
            // One commit per batch: a night killed at any point resumes from the batch it was in.
            _ = try ledger.match(
                client: client, scope: .newBatches, rules: try rules?.rules(for: client.rawValue).0 ?? .standard,
                linesPerTransaction: 1,
                beforeCommit: { CrashPoint.hit("match-uncommitted") },
                afterCommit: { result in
                    CrashPoint.hit("matched")
                    for (status, count) in result.statuses { statuses[status, default: 0] += count }
                })
        }
        return statuses
    }

    public func finishRun(_ run: Int64, status: String, summary: String) throws {
        try log.finish(run, status: status, summary: summary)
    }

    public func run(_ id: Int64) throws -> RunLog.Run? { try log.run(id) }

    public func reviewBatches(clients: [String]) throws -> [ReviewBatch] {
        try ledger.reviewBatches(clients: clients.map { ClientID($0) })
    }
}

/// The summary of a night.
public struct NightReport: Sendable, Codable {
    public let run: RunLog.Run
    /// Matched lines by status over the run's new batches.
    public let matching: [String: Int]
    /// Exceptions among the lines of tonight's new batches.
    public let exceptions: Int
    /// Exceptions in every batch of the night's clients still waiting for approval (tonight's and
    /// earlier nights'): what the morning report lists.
    public let exceptionsWaiting: Int
    /// Credentials that failed several runs in a row.
    public let failingRepeatedly: [String]
    /// What the operator should know: definitions not run, credentials expiring soon.
    public let warnings: [String]
    /// What a person must see first: tonight's credentials that did not go well and every
    /// unread file of the night's clients (`NightAttention.list`).
    public let attention: [RunLog.Attention]
    public let reportPath: String
    /// The morning report (HTML) for finance.
    public let morningReportPath: String

    enum CodingKeys: String, CodingKey {
        case run, matching, exceptions, warnings
        case exceptionsWaiting = "exceptions_waiting"
        case attention = "needs_attention"
        case failingRepeatedly = "failing_repeatedly", reportPath = "report_path", morningReportPath =
            "morning_report_path"
    }

    /// Whether every credential ended well (ok or no documents) and nothing of the night's
    /// clients waits for a person (a file still unread from an earlier night counts).
    public var succeeded: Bool { run.items.allSatisfy { RunLog.goodStatuses.contains($0.status) } && attention.isEmpty }
}

/// Runs the night: every job concurrently (bounded overall; each portal's definition bounds its
/// own hosts across credentials), importing files as they land, then matching and the report.
/// One credential's trouble never stops another's.
public struct NightRunner: Sendable {
    public let jobs: [NightJob]
    public let book: NightBook
    public let kinds: [DocumentKind]
    /// Downloads land here before they move into the inbox.
    public let stagingDirectory: String
    /// HAR files and pages that surprised a definition go here, per run.
    public let reportsDirectory: String
    public let maximumConcurrent: Int
    public let loginGuard: (any LoginGuard)?
    public let totp: TOTPCodeSource
    public let prompt: (any OneTimeCodePrompt)?
    public let trace: @Sendable (String) -> Void
    /// Download again what the inbox already holds (`--refetch`); by default a document the
    /// listing names by reference with the same date or size is not fetched twice.
    public var refetch = false
    /// When the night must be over (`night_ends`): no portal's wait is waited out past it.
    public var deadline: ContinuousClock.Instant?
    /// Told of each credential and file as the night goes (a live line, JSON lines), when set.
    public let progress: NightProgress?
    /// What mailbox and SFTP sources have read (nil: they remember nothing between nights).
    public var sourceMemory: (any SourceMemory)?
    /// CA certificates mailbox servers are verified with instead of the system's (a private CA).
    public var sourceTLS = TLSSettings()
    /// The workspace's zone, in which a file's modification time gives its date.
    public var timeZone: TimeZone = .current

    public init(
        jobs: [NightJob], book: NightBook, kinds: [DocumentKind] = [.remittance], stagingDirectory: String,
        reportsDirectory: String,
        maximumConcurrent: Int = 8, loginGuard: (any LoginGuard)?, totp: TOTPCodeSource,
        prompt: (any OneTimeCodePrompt)? = nil,
        trace: @escaping @Sendable (String) -> Void = { _ in }, progress: NightProgress? = nil
    ) {
        self.progress = progress
        self.jobs = jobs
        self.book = book
        self.kinds = kinds
        self.stagingDirectory = stagingDirectory
        self.reportsDirectory = reportsDirectory
        self.maximumConcurrent = max(1, maximumConcurrent)
        self.loginGuard = loginGuard
        self.totp = totp
        self.prompt = prompt
        self.trace = trace
    }

    /// A credential the night does not run, and why (its definition or its client's rules are
    /// not approved in their present version).
    public struct Skipped: Sendable {
        public let client: String
        public let item: String
        public let message: String
        public init(client: String, item: String, message: String) {
            self.client = client
            self.item = item
            self.message = message
        }
    }

    public func run(scope: String, warnings: [String] = [], skipped: [Skipped] = [], today: CalendarDate? = nil)
        async throws -> NightReport
    {
        let runID = try await book.startRun(scope: scope)
        let skipDay = today ?? jobs.first?.range.to ?? CalendarDate.today(in: TimeZone.current)
        for skip in skipped {
            try await book.skipItem(
                run: runID, client: skip.client, portal: skip.item, today: skipDay, status: "skipped_unapproved",
                message: skip.message)
        }
        progress?.runStarted(runID, credentials: jobs.count)
        let folder = reportsDirectory + "/run-\(runID)"
        try SecureFile.createPrivateDirectory(reportsDirectory)
        try SecureFile.createPrivateDirectory(folder)
        // One limiter per portal, shared by all its credentials.
        var limiters: [String: OriginLimiter] = [:]
        for job in jobs where limiters[job.definition.portal] == nil {
            limiters[job.definition.portal] = OriginLimiter()
        }
        // Interleave portals so different hosts work side by side.
        let ordered = NightRunner.interleaved(jobs)
        // A credential that must wait for a fresh one-time-code period waits before it takes one of
        // the night's slots, so a wait never keeps another credential from running.
        // A client's new batches are matched as soon as its last credential is done, while other
        // credentials still wait on their portals: one client's matching reads and writes only
        // its own data, so the result is the night's end's, and the night does not end on a long
        // run of matching alone.
        enum Finished: Sendable {
            case conversed(client: String, tail: CredentialTail)
            case ran(client: String)
            case readyAfterWaiting(NightJob)
            case matched([String: Int])
            case matchingFailed(any Error)
        }
        let totp = self.totp
        let book = self.book
        var unfinished: [String: Int] = [:]
        for job in jobs { unfinished[job.credential.client, default: 0] += 1 }
        var matching: [String: Int] = [:]
        var matchingError: (any Error)?
        try await withThrowingTaskGroup(of: Finished.self) { group in
            var next = 0
            var running = 0
            // Credentials past their conversation whose files are still landing, and clients
            // being matched: they hold no slot, but no more than a night's worth of slots wait at
            // once (each holds its files' payments until the book takes them). One credential at
            // a time means one: each is finished, and its client matched, before the next starts.
            var finishing = 0
            let finishingAllowed = maximumConcurrent > 1 ? maximumConcurrent : 0
            var ready: [NightJob] = []
            func fill() {
                while running < maximumConcurrent && running + finishing < maximumConcurrent + finishingAllowed {
                    let job: NightJob
                    if !ready.isEmpty {
                        job = ready.removeFirst()
                    } else if next < ordered.count {
                        job = ordered[next]
                        next += 1
                        let wait = job.definition.loginUsesTOTP ? totp.waitBeforeLogin(for: job.credential) : 0
                        if wait > 0 {
                            Logger(label: "run").info(
                                "\(job.credential.name): waiting \(String(format: "%.1f", wait)) s for a fresh one-time-code period (not holding a slot)"
                            )
                            group.addTask {
                                try await totp.pause(wait)
                                return .readyAfterWaiting(job)
                            }
                            continue
                        }
                    } else {
                        return
                    }
                    running += 1
                    let limiter = limiters[job.definition.portal]!
                    group.addTask {
                        let tail = try await self.converse(job, run: runID, folder: folder, limiter: limiter)
                        return .conversed(client: job.credential.client, tail: tail)
                    }
                }
            }
            fill()
            while let finished = try await group.next() {
                switch finished {
                case .conversed(let client, let tail):
                    // The slot is free as soon as the portal is: the next credential starts while
                    // this one's last files land and its outcome is recorded.
                    running -= 1
                    finishing += 1
                    group.addTask {
                        try await tail.finish()
                        return .ran(client: client)
                    }
                case .ran(let client):
                    finishing -= 1
                    unfinished[client, default: 1] -= 1
                    if unfinished[client] == 0 {
                        // A matching error ends the run once every credential is done, as before.
                        finishing += 1
                        group.addTask {
                            do { return .matched(try await book.matchNewBatches(clients: [client])) } catch {
                                return .matchingFailed(error)
                            }
                        }
                    }
                case .readyAfterWaiting(let job): ready.append(job)
                case .matched(let statuses):
                    finishing -= 1
                    for (status, count) in statuses { matching[status, default: 0] += count }
                case .matchingFailed(let error):
                    finishing -= 1
                    matchingError = matchingError ?? error
                }
                fill()
            }
        }
        if let matchingError { throw matchingError }
        let clients = Array(Set(jobs.map(\.credential.client))).sorted()
        var failing: [String] = []
        for job in jobs
        where try await book.consecutiveFailures(client: job.credential.client, portal: job.credential.runItem) >= 3 {
            failing.append(job.credential.name)
        }
        guard let run = try await book.run(runID) else {
            throw GeneralError(code: "run.missing", message: "run \(runID) vanished")
        }
        let exceptions = matching.filter { !["paid_in_full", "paid_with_discount"].contains($0.key) }.values.reduce(
            0, +)
        let reportPath = folder + "/summary.txt"
        let morningPath = folder + "/morning-report.html"
        let inScope = Array(Set(run.items.map(\.client))).sorted()
        let attention = try await book.attention(run: run, clients: inScope)
        let waiting = try await book.reviewBatches(clients: clients)
        let waitingExceptions = MorningReport.exceptionCount(waiting)
        let report = NightReport(
            run: run, matching: matching, exceptions: exceptions, exceptionsWaiting: waitingExceptions,
            failingRepeatedly: failing,
            warnings: warnings, attention: attention, reportPath: reportPath, morningReportPath: morningPath)
        try RedactedFile.write(NightRunner.summaryText(report), to: reportPath)
        let morning = MorningReport(
            title: "Nightjar morning report — run \(runID)", generatedAt: Logger.timestamp(),
            batches: waiting, attention: attention,
            warnings: warnings + failing.map { "\($0) has failed three runs or more in a row" }, newTonight: exceptions)
        try RedactedFile.write(morning.html(), to: morningPath)
        CrashPoint.hit("report-written")
        let failed = run.items.filter { !RunLog.goodStatuses.contains($0.status) }.count
        let status = report.succeeded ? "ok" : "failures"
        try await book.finishRun(runID, status: status, summary: "\(run.items.count) credentials, \(failed) failed")
        guard let finished = try await book.run(runID) else {
            throw GeneralError(code: "run.missing", message: "run \(runID) vanished")
        }
        progress?.runFinished(status: status)
        CrashPoint.reportPassed()
        return NightReport(
            run: finished, matching: matching, exceptions: exceptions, exceptionsWaiting: waitingExceptions,
            failingRepeatedly: failing,
            warnings: warnings, attention: attention, reportPath: reportPath, morningReportPath: morningPath)
    }

    static func interleaved(_ jobs: [NightJob]) -> [NightJob] {
        var byPortal: [String: [NightJob]] = [:]
        for job in jobs { byPortal[job.definition.portal, default: []].append(job) }
        let portals = byPortal.keys.sorted()
        var result: [NightJob] = []
        var index = 0
        while result.count < jobs.count {
            for portal in portals where index < byPortal[portal]!.count { result.append(byPortal[portal]![index]) }
            index += 1
        }
        return result
    }

    /// What is left of a credential once its conversation with the portal has ended: its HAR
    /// file, its files' landings and its run-log item. It holds none of the night's slots.
    struct CredentialTail: Sendable {
        let finish: @Sendable () async throws -> Void
    }

    /// A credential's conversation with its portal, mailbox or drop; returns what is left to do
    /// once the portal is no longer needed (`CredentialTail`).
    func converse(_ job: NightJob, run: Int64, folder: String, limiter: OriginLimiter) async throws
        -> CredentialTail
    {
        // A labelled credential is its own run-log item (`PORTAL/LABEL`), its own folder and HAR.
        let client = job.credential.client
        let portal = job.definition.portal
        let item = job.credential.runItem
        let fileName = "\(client)-" + item.replacingOccurrences(of: "/", with: "-")
        let progress = self.progress
        let book = self.book
        let trace = self.trace
        if job.definition.source != .portal {
            _ = try await book.startItem(run: run, client: client, portal: item, range: job.range)
            progress?.credentialStarted(job.credential.name)
            let outcome = try await performSource(job, run: run, folder: folder, fileName: fileName)
            return CredentialTail {
                try await NightRunner.finish(
                    job, outcome: outcome, run: run, book: book, progress: progress, trace: trace)
            }
        }
        let known = try await book.startItem(
            run: run, client: client, portal: item, range: job.range, refetch: refetch)
        progress?.credentialStarted(job.credential.name)
        let recorder = HARRecorder(sensitiveNames: job.definition.settings.sensitiveNames)
        let origins = job.definition.origins.map { ScraperChecker.origin(of: job.originOverrides[$0.name] ?? $0.url) }
        let session = await ScraperInterpreter.session(
            for: job.definition, origins: origins, recorder: recorder, limiter: limiter, deadline: deadline)
        let options = ScraperRunOptions(
            range: job.range, kinds: kinds, originOverrides: job.originOverrides,
            downloadDirectory: stagingDirectory + "/run-\(run)/\(client)/\(item)", alreadyFetched: known)
        // A file lands (inbox, import, run log) while the next one is fetched: the portal's
        // latency and the book's work overlap. One landing at a time per credential, in order,
        // finished before the next file is saved and before the credential's end.
        let landings = LandingQueue()
        let outcome = await ScraperInterpreter(
            definition: job.definition, credential: job.credential, transport: session, options: options,
            loginGuard: loginGuard, prompt: prompt, totp: totp,
            trace: { trace("\(client)/\(item): \($0)") },
            onDownload: { record in
                // Read (format, profile, payments) in the landing, while the next request waits
                // on the portal.
                landings.start {
                    let readAhead = book.readAhead(record, client: client)
                    await book.land(
                        run: run, client: client, portal: portal, item: item, download: record, readAhead: readAhead)
                    progress?.fileLanded(job.credential.name, file: record.fileName, kind: record.kind.rawValue)
                }
            },
            beforeSaving: { await landings.finished() }
        ).run()
        return CredentialTail {
            try? recorder.write(to: folder + "/\(fileName).har")
            if let failure = outcome.failure, failure.failureClass == .layoutChanged, let page = failure.page {
                try? RedactedFile.write(
                    String(decoding: page, as: UTF8.self), to: folder + "/\(fileName)-layout-changed.html")
            }
            await landings.finished()
            try await NightRunner.finish(job, outcome: outcome, run: run, book: book, progress: progress, trace: trace)
        }
    }

    /// Records a credential's outcome once its files have landed.
    static func finish(
        _ job: NightJob, outcome: ScraperOutcome, run: Int64, book: NightBook, progress: NightProgress?,
        trace: @Sendable (String) -> Void
    ) async throws {
        let item = job.credential.runItem
        try await book.finishItem(run: run, client: job.credential.client, portal: item, outcome: outcome)
        progress?.credentialFinished(job.credential.name, status: outcome.status)
        CrashPoint.hit("item-finished")
        trace("\(job.credential.client)/\(item): \(outcome.status)")
    }

    /// A mailbox (IMAP) or SFTP drop: its reader, the workspace's memory of what was read, and
    /// the protocol conversation (secrets masked) written beside the HAR files as `.trace`.
    func performSource(_ job: NightJob, run: Int64, folder: String, fileName: String) async throws
        -> ScraperOutcome
    {
        let client = job.credential.client
        let portal = job.definition.portal
        let item = job.credential.runItem
        let book = self.book
        let trace = self.trace
        let progress = self.progress
        var options = SourceRunOptions(
            range: job.range, kinds: kinds,
            originOverride: job.definition.origins.first.flatMap { job.originOverrides[$0.name] },
            downloadDirectory: stagingDirectory + "/run-\(run)/\(client)/\(item)", timeZone: timeZone, tls: sourceTLS)
        options.readOnly = false
        let land: @Sendable (DownloadRecord) async -> Void = { record in
            let readAhead = book.readAhead(record, client: client)
            await book.land(
                run: run, client: client, portal: portal, item: item, download: record, readAhead: readAhead)
            progress?.fileLanded(job.credential.name, file: record.fileName, kind: record.kind.rawValue)
        }
        let say: @Sendable (String) -> Void = { trace("\(client)/\(item): \($0)") }
        let outcome: ScraperOutcome
        let conversation: [String]
        switch job.definition.source {
        case .mailbox:
            let reader = MailboxReader(
                definition: job.definition, credential: job.credential, options: options, memory: sourceMemory,
                loginGuard: loginGuard, trace: say, onDownload: land)
            outcome = await reader.run()
            conversation = reader.conversation
        default:
            let reader = FileDropReader(
                definition: job.definition, credential: job.credential, options: options, memory: sourceMemory,
                loginGuard: loginGuard, trace: say, onDownload: land)
            outcome = await reader.run()
            conversation = reader.conversation
        }
        if !conversation.isEmpty {
            try? RedactedFile.write(conversation.joined(separator: "\n") + "\n", to: folder + "/\(fileName).trace")
        }
        return outcome
    }

    /// The run's summary as text (the morning report proper builds on the same data).
    /// `paint` colours each credential's outcome and what needs attention (plain for the file).
    public static func summaryText(_ report: NightReport, paint: Paint = .none) -> String {
        var lines = ["Nightjar run \(report.run.id), started \(report.run.startedAt)", ""]
        if !report.attention.isEmpty {
            lines.append(paint("NEEDS ATTENTION (\(report.attention.count)):", .red))
            for entry in report.attention {
                lines.append("  \(entry.client)/\(entry.item) \(entry.outcome)" + (entry.file.map { ": \($0)" } ?? ""))
                lines.append("      \(entry.message)")
                lines.append("      what to do: \(entry.whatToDo)")
            }
            lines.append("")
        }
        // Names are never cut: a long one widens the column.
        let width = max(24, (report.run.items.map { "\($0.client)/\($0.portal)".count }.max() ?? 0) + 1)
        lines.append(
            "client/portal".padding(toLength: width, withPad: " ", startingAt: 0)
                + "range                    status              new  seen  batches  lines")
        for item in report.run.items {
            lines.append(
                "\(item.client)/\(item.portal)".padding(toLength: width, withPad: " ", startingAt: 0)
                    + "\(item.from)..\(item.to)  ".padding(toLength: 25, withPad: " ", startingAt: 0)
                    + paint(item.status, RunLog.goodStatuses.contains(item.status) ? .green : .red)
                    + String(repeating: " ", count: max(0, 18 - item.status.count))
                    + String(format: "%5d %5d %8d %6d", item.filesNew, item.filesSeen, item.batches, item.lines))
            if let message = item.message { lines.append("    \(item.location.map { "\($0): " } ?? "")\(message)") }
        }
        lines.append("")
        lines.append(
            "Matching: "
                + (report.matching.isEmpty
                    ? "no new batches"
                    : report.matching.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        )
        lines.append(
            (report.exceptionsWaiting > 0 ? paint("Exceptions:", .yellow) : "Exceptions:")
                + " \(report.exceptions) new tonight, \(report.exceptionsWaiting) waiting in total (the morning report lists them)"
        )
        if !report.failingRepeatedly.isEmpty {
            lines.append("Failing three runs or more in a row: \(report.failingRepeatedly.joined(separator: ", "))")
        }
        for warning in report.warnings { lines.append("Warning: \(warning)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A credential's landings, one after another in the background: `start` queues one behind
/// those before it, `finished` waits for all queued so far.
final class LandingQueue: Sendable {
    private let last = Mutex<Task<Void, Never>?>(nil)

    func start(_ landing: @escaping @Sendable () async -> Void) {
        last.withLock { last in
            let before = last
            last = Task {
                await before?.value
                await landing()
            }
        }
    }

    func finished() async {
        await last.withLock { $0 }?.value
    }
}
