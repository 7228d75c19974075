public import NightjarCore
public import NightjarHTTP
public import NightjarLedger
public import NightjarScript
public import NightjarStore
import NightjarReview
import Foundation

/// One credential's share of a night: the definition, the range and where its origins are.
public struct NightJob: Sendable {
    public let credential: ScriptCredential
    public let definition: ScraperDefinition
    public let range: DateRange
    public let originOverrides: [String: String]

    public init(credential: ScriptCredential, definition: ScraperDefinition, range: DateRange, originOverrides: [String: String]) {
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
    public static func range(lastSuccessfulEnd: CalendarDate?, today: CalendarDate, overlapDays: Int = 3, lookbackDays: Int = 30) -> DateRange {
        var from = lastSuccessfulEnd.map { $0.adding(days: -overlapDays) } ?? today.adding(days: -lookbackDays)
        if from > today { from = today }
        return try! DateRange(from: from, to: today)
    }
}

/// Opens the workspace database (migrated) for whoever needs a connection.
public typealias DatabaseOpener = @Sendable () throws -> Database

/// Login attempts journalled in the workspace database (see `LoginAttempts`).
public struct DatabaseLoginGuard: LoginGuard {
    let open: DatabaseOpener

    public init(open: @escaping DatabaseOpener) { self.open = open }

    public func begin(credential: String) throws -> Int64 {
        switch try LoginAttempts(database: try open()).begin(credential: credential) {
        case .success(let id): return id
        case .failure(let blocking):
            let ending = blocking.outcome.map { "ended \($0)" } ?? "never finished (interrupted)"
            let problem = "a login for \(credential) at \(blocking.startedAt) \(ending); not trying again within 12 hours (after fixing the credential: --retry-login)"
            throw ScraperFailure(.loginRefused, problem, location: nil)
        }
    }

    public func finish(_ attempt: Int64, outcome: String) throws {
        try LoginAttempts(database: try open()).finish(attempt, outcome: outcome)
    }
}

/// TOTP periods used, kept in the workspace database so a restarted process never resends a code.
public struct DatabaseTOTPStore: TOTPUseStore {
    let open: DatabaseOpener

    public init(open: @escaping DatabaseOpener) { self.open = open }

    public func lastCounter(credential: String) -> UInt64? {
        (try? RunLog(database: try open()).lastTOTPCounter(credential: credential)) ?? nil
    }

    public func record(credential: String, counter: UInt64) throws {
        try RunLog(database: try open()).recordTOTPCounter(credential: credential, counter: counter)
    }
}

/// The night's writes, one at a time: the inbox, imports, counters, matching. Files are imported
/// the moment they land, each in one transaction.
public actor NightBook {
    let database: Database
    let ledger: Ledger
    let log: RunLog
    let importer: RemittanceFileImporter
    let inbox: Inbox
    let rules: MatchingRulesFiles?
    var problems: [String: [String]] = [:]

    public init(open: DatabaseOpener, importer: RemittanceFileImporter, inbox: Inbox, rules: MatchingRulesFiles? = nil) throws {
        self.rules = rules
        let database = try open()
        self.database = database
        ledger = Ledger(database: database)
        log = RunLog(database: database)
        self.importer = importer
        self.inbox = inbox
    }

    public func startRun(scope: String) throws -> Int64 { try log.start(scope: scope) }

    public func lastSuccessfulEnd(client: String, portal: String) throws -> CalendarDate? {
        try log.lastSuccessfulEnd(client: client, portal: portal)
    }

    public func consecutiveFailures(client: String, portal: String) throws -> Int {
        try log.consecutiveFailures(client: client, portal: portal)
    }

    public func startItem(run: Int64, client: String, portal: String, range: DateRange) throws {
        try log.startItem(run: run, client: client, portal: portal, range: range)
    }

    public func finishItem(run: Int64, client: String, portal: String, outcome: ScraperOutcome) throws {
        var message = outcome.failure?.message
        let notImported = problems["\(client)/\(portal)"] ?? []
        if !notImported.isEmpty { message = ([message].compactMap { $0 } + notImported).joined(separator: "; ") }
        try log.finishItem(run: run, client: client, portal: portal, status: outcome.status, message: message,
                           location: outcome.failure?.location?.description)
    }

    /// A file has landed: into the inbox, then imported unless these bytes were imported before.
    /// `item` is the run-log entry it counts for (`PORTAL/LABEL` for a labelled credential).
    public func land(run: Int64, client: String, portal: String, item: String? = nil, download: DownloadRecord) {
        let item = item ?? portal
        do {
            CrashPoint.hit("downloaded")
            let path = try inbox.store(download.path, client: client, sha256: download.sha256, name: download.fileName)
            CrashPoint.hit("inbox-moved")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let metadata = String(decoding: try encoder.encode(download.metadata), as: UTF8.self)
            // One transaction per file: the inbox record, the import and the counters commit together.
            // Read in chunks, whatever its size: only one payment or invoice is in memory at a time.
            let source = try InputFile(path: path, name: download.fileName, maximumBytes: importer.maximumFileBytes)
            let skipped = try database.transaction { () throws -> String? in
                let new = try log.recordInboxFile(client: client, portal: portal, sha256: download.sha256, name: download.fileName, size: download.size,
                                                  path: path, kind: download.kind.rawValue, metadata: metadata, run: run)
                CrashPoint.hit("inbox-recorded")
                if try log.alreadyImported(client: client, sha256: download.sha256) {
                    try log.count(run: run, client: client, portal: item, seen: 1)
                    return nil
                }
                if download.kind == .invoice {
                    // A supplier's invoice becomes a purchase order (created, replaced, or logged).
                    let outcomes = try PurchaseOrders(database: database).importInvoices(source, name: download.fileName, client: client,
                                                                                         defaultCurrency: importer.defaultCurrency, profiles: importer.profiles,
                                                                                         sha256: download.sha256)
                    try log.count(run: run, client: client, portal: item, new: new ? 1 : 0, seen: new ? 0 : 1)
                    CrashPoint.hit("import-uncommitted")
                    return outcomes.first { $0.action == "failed" || $0.action == "conflict" }?.message
                }
                guard download.kind == .remittance else {
                    try log.count(run: run, client: client, portal: item, new: new ? 1 : 0, seen: new ? 0 : 1)
                    return nil
                }
                let result = try importer.importFile(source, name: download.fileName, client: ClientID(client), portal: portal, into: ledger,
                                                     sha256: download.sha256)
                switch result {
                case .imported(let imported):
                    try log.count(run: run, client: client, portal: item, new: 1, batches: imported.batches, lines: imported.lines)
                    CrashPoint.hit("import-uncommitted")
                    return nil
                case .skipped(_, let message):
                    try log.count(run: run, client: client, portal: item, new: 1)
                    CrashPoint.hit("import-uncommitted")
                    return message
                }
            }
            CrashPoint.hit("imported")
            if let skipped { problems["\(client)/\(item)", default: []].append(skipped) }
        } catch {
            problems["\(client)/\(item)", default: []].append("\(download.fileName): \((error as? any NightjarError)?.message ?? "\(error)")")
        }
    }

    /// Matches every batch of these clients that has not been matched yet, one transaction each.
    /// Lines per status (`unknown_payer` and `duplicate_payment` counted apart from unknown references).
    public func matchNewBatches(clients: [String]) throws -> [String: Int] {
        var statuses: [String: Int] = [:]
        for client in clients.map { ClientID($0) } {
            _ = try ledger.match(client: client, scope: .newBatches, rules: try rules?.rules(for: client.rawValue).0 ?? .standard,
                                 beforeCommit: { CrashPoint.hit("match-uncommitted") },
                                 afterCommit: { result in
                                     CrashPoint.hit("matched")
                                     for (status, count) in result.statuses { statuses[status, default: 0] += count }
                                 })
        }
        return statuses
    }

    public func finishRun(_ run: Int64, status: String, summary: String) throws { try log.finish(run, status: status, summary: summary) }

    public func run(_ id: Int64) throws -> RunLog.Run? { try log.run(id) }

    public func reviewBatches(clients: [String]) throws -> [ReviewBatch] { try ledger.reviewBatches(clients: clients.map { ClientID($0) }) }
}

/// The summary of a night.
public struct NightReport: Sendable, Codable {
    public let run: RunLog.Run
    /// Matched lines by status over the run's new batches.
    public let matching: [String: Int]
    public let exceptions: Int
    /// Credentials that failed several runs in a row.
    public let failingRepeatedly: [String]
    /// What the operator should know: definitions not run, credentials expiring soon.
    public let warnings: [String]
    public let reportPath: String
    /// The morning report (HTML) for finance.
    public let morningReportPath: String

    enum CodingKeys: String, CodingKey {
        case run, matching, exceptions, warnings
        case failingRepeatedly = "failing_repeatedly", reportPath = "report_path", morningReportPath = "morning_report_path"
    }

    /// Whether every credential ended well (ok or no documents).
    public var succeeded: Bool { run.items.allSatisfy { $0.status == "ok" || $0.status == "no_documents" } }
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

    public init(jobs: [NightJob], book: NightBook, kinds: [DocumentKind] = [.remittance], stagingDirectory: String, reportsDirectory: String,
                maximumConcurrent: Int = 8, loginGuard: (any LoginGuard)?, totp: TOTPCodeSource, prompt: (any OneTimeCodePrompt)? = nil,
                trace: @escaping @Sendable (String) -> Void = { _ in }) {
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

    public func run(scope: String, warnings: [String] = []) async throws -> NightReport {
        let runID = try await book.startRun(scope: scope)
        let folder = reportsDirectory + "/run-\(runID)"
        try SecureFile.createPrivateDirectory(reportsDirectory)
        try SecureFile.createPrivateDirectory(folder)
        // One limiter per portal, shared by all its credentials.
        var limiters: [String: OriginLimiter] = [:]
        for job in jobs where limiters[job.definition.portal] == nil { limiters[job.definition.portal] = OriginLimiter() }
        // Interleave portals so different hosts work side by side.
        let ordered = NightRunner.interleaved(jobs)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch() {
                guard next < ordered.count else { return }
                let job = ordered[next]
                next += 1
                let limiter = limiters[job.definition.portal]!
                group.addTask { try await self.perform(job, run: runID, folder: folder, limiter: limiter) }
            }
            for _ in 0..<min(maximumConcurrent, ordered.count) { launch() }
            while try await group.next() != nil { launch() }
        }
        let clients = Array(Set(jobs.map(\.credential.client))).sorted()
        let matching = try await book.matchNewBatches(clients: clients)
        var failing: [String] = []
        for job in jobs where try await book.consecutiveFailures(client: job.credential.client, portal: job.credential.runItem) >= 3 {
            failing.append(job.credential.name)
        }
        guard let run = try await book.run(runID) else { throw GeneralError(code: "run.missing", message: "run \(runID) vanished") }
        let exceptions = matching.filter { !["paid_in_full", "paid_with_discount"].contains($0.key) }.values.reduce(0, +)
        let reportPath = folder + "/summary.txt"
        let morningPath = folder + "/morning-report.html"
        let report = NightReport(run: run, matching: matching, exceptions: exceptions, failingRepeatedly: failing, warnings: warnings,
                                 reportPath: reportPath, morningReportPath: morningPath)
        try RedactedFile.write(NightRunner.summaryText(report), to: reportPath)
        let failures = run.items.filter { !["ok", "no_documents"].contains($0.status) }
            .map { (credential: "\($0.client)/\($0.portal)", status: $0.status, message: $0.message ?? "") }
        let morning = MorningReport(title: "Nightjar morning report — run \(runID)", generatedAt: Logger.timestamp(),
                                    batches: try await book.reviewBatches(clients: clients), failures: failures,
                                    warnings: warnings + failing.map { "\($0) has failed three runs or more in a row" })
        try RedactedFile.write(morning.html(), to: morningPath)
        CrashPoint.hit("report-written")
        let status = report.succeeded ? "ok" : "failures"
        try await book.finishRun(runID, status: status, summary: "\(run.items.count) credentials, \(run.items.filter { $0.status != "ok" && $0.status != "no_documents" }.count) failed")
        guard let finished = try await book.run(runID) else { throw GeneralError(code: "run.missing", message: "run \(runID) vanished") }
        CrashPoint.reportPassed()
        return NightReport(run: finished, matching: matching, exceptions: exceptions, failingRepeatedly: failing, warnings: warnings,
                           reportPath: reportPath, morningReportPath: morningPath)
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

    func perform(_ job: NightJob, run: Int64, folder: String, limiter: OriginLimiter) async throws {
        // A labelled credential is its own run-log item (`PORTAL/LABEL`), its own folder and HAR.
        let client = job.credential.client, portal = job.definition.portal, item = job.credential.runItem
        let fileName = "\(client)-" + item.replacingOccurrences(of: "/", with: "-")
        try await book.startItem(run: run, client: client, portal: item, range: job.range)
        let recorder = HARRecorder()
        let origins = job.definition.origins.map { ScraperChecker.origin(of: job.originOverrides[$0.name] ?? $0.url) }
        let session = await ScraperInterpreter.session(for: job.definition, origins: origins, recorder: recorder, limiter: limiter)
        let options = ScraperRunOptions(range: job.range, kinds: kinds, originOverrides: job.originOverrides,
                                        downloadDirectory: stagingDirectory + "/run-\(run)/\(client)/\(item)")
        let book = self.book
        let trace = self.trace
        let outcome = await ScraperInterpreter(definition: job.definition, credential: job.credential, transport: session, options: options,
                                               loginGuard: loginGuard, prompt: prompt, totp: totp,
                                               trace: { trace("\(client)/\(item): \($0)") },
                                               onDownload: { record in await book.land(run: run, client: client, portal: portal, item: item, download: record) }).run()
        try? recorder.write(to: folder + "/\(fileName).har")
        if let failure = outcome.failure, failure.failureClass == .layoutChanged, let page = failure.page {
            try? RedactedFile.write(String(decoding: page, as: UTF8.self), to: folder + "/\(fileName)-layout-changed.html")
        }
        try await book.finishItem(run: run, client: client, portal: item, outcome: outcome)
        CrashPoint.hit("item-finished")
        trace("\(client)/\(item): \(outcome.status)")
    }

    /// The run's summary as text (the morning report proper builds on the same data).
    public static func summaryText(_ report: NightReport) -> String {
        var lines = ["Nightjar run \(report.run.id), started \(report.run.startedAt)", ""]
        lines.append("client/portal".padding(toLength: 24, withPad: " ", startingAt: 0) + "range                    status              new  seen  batches  lines")
        for item in report.run.items {
            lines.append("\(item.client)/\(item.portal)".padding(toLength: 24, withPad: " ", startingAt: 0)
                + "\(item.from)..\(item.to)  ".padding(toLength: 25, withPad: " ", startingAt: 0)
                + item.status.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: "%5d %5d %8d %6d", item.filesNew, item.filesSeen, item.batches, item.lines))
            if let message = item.message { lines.append("    \(item.location.map { "\($0): " } ?? "")\(message)") }
        }
        lines.append("")
        lines.append("Matching: " + (report.matching.isEmpty ? "no new batches" : report.matching.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
        lines.append("Exceptions for review: \(report.exceptions)")
        if !report.failingRepeatedly.isEmpty { lines.append("Failing three runs or more in a row: \(report.failingRepeatedly.joined(separator: ", "))") }
        for warning in report.warnings { lines.append("Warning: \(warning)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
