import Foundation
import NightjarAgent
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarScript
import NightjarStore

final class NightResultBox: @unchecked Sendable {
    var report: NightReport?
    var error: (any Error)?
}

/// When a night's credentials started and finished and when the night ended, from its progress
/// events: where the time went besides the requests.
final class NightTimeline: NightProgressDisplay, @unchecked Sendable {
    private let lock = NSLock()
    private var started: [String: TimeInterval] = [:]
    private var durations: [TimeInterval] = []
    private var finished: [TimeInterval] = []
    private var end: TimeInterval = 0

    func show(_ event: NightProgress.Event, _ counts: NightProgress.Counts) {
        lock.withLock {
            switch event {
            case .credentialStarted(let name): started[name] = counts.elapsed
            case .credentialFinished(let name, _):
                finished.append(counts.elapsed)
                durations.append(counts.elapsed - (started[name] ?? 0))
            case .runFinished: end = counts.elapsed
            default: break
            }
        }
    }

    /// The first credential's start, the last credential's end, the night's end, and a
    /// credential's mean time from start to end.
    var figures:
        (firstCredential: TimeInterval, lastCredential: TimeInterval, end: TimeInterval, meanCredential: TimeInterval)
    {
        lock.withLock {
            (
                started.values.min() ?? 0, finished.max() ?? 0, end,
                durations.isEmpty ? 0 : durations.reduce(0, +) / Double(durations.count)
            )
        }
    }
}

/// The night at scale: `credentials` credentials over the sandbox `portals` (50 ms added to every
/// answer), `perHost` requests at once per portal and `overall` credentials at once, through
/// definitions, inbox, imports, matching and the report. The bound is what latency alone allows:
/// per portal, its requests × 50 ms ÷ `perHost`, and no credential faster than its own chain of
/// requests one after another.
func nightAtScale(credentials count: Int, portals: [String], perHost concurrency: Int, overall: Int, label: String)
    throws -> [Figure]
{
    let sandbox = try SandboxProcess(latencyMilliseconds: 50)
    let origins = sandbox.origins
    let accounts = sandbox.accounts.filter { portals.contains($0["portal"] as? String ?? "") }
    let folder = scratchFolder("night")
    // NIGHTJAR_BENCH_KEEP keeps the workspace (its HAR files time every request).
    defer {
        if ProcessInfo.processInfo.environment["NIGHTJAR_BENCH_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
    let databasePath = folder + "/night.sqlite"
    let migrations = LedgerSchema.statements.enumerated().map {
        Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
    }
    let open: DatabaseOpener = {
        let database = try Database(path: databasePath)
        try Migrator.migrate(database, migrations)
        return database
    }
    var definitions: [String: ScraperDefinition] = [:]
    for portal in portals {
        // The shipped definitions, allowed `concurrency` requests at once per host and no rate limit
        // (the bound is what latency allows).
        let text = try String(contentsOfFile: "scrapers/\(portal).scraper", encoding: .utf8)
            .replacingOccurrences(of: "concurrency 2", with: "concurrency \(concurrency)")
            .replacingOccurrences(of: "rate 4 per second", with: "rate 100000 per second").replacingOccurrences(
                of: "rate 5 per second", with: "rate 100000 per second")
        definitions[portal] = try ScraperChecker.load(text, file: "\(portal).scraper")
    }
    // The shipped example profiles of the sandbox portals' CSV and JSON remittances.
    let profiles = try ["sandbox-html-portal-remittance", "sandbox-json-api-remittance"].map { name in
        try LayoutProfileParser.parse(
            try String(contentsOfFile: "docs/examples/\(name).profile", encoding: .utf8), file: "\(name).profile")
    }
    // Seven weeks of the sandbox's payments: about ten files per credential, two search windows.
    let range = try DateRange(from: try CalendarDate(iso: "2026-08-01"), to: try CalendarDate(iso: "2026-09-20"))
    var jobs: [NightJob] = []
    for index in 0..<count {
        let account = accounts[index % accounts.count]
        let portal = account["portal"] as? String ?? ""
        let definition = definitions[portal]!
        let credential = ScriptCredential(
            client: "client\(index)", portal: portal,
            fields: [
                "username": account["username"] as? String ?? "", "password": account["password"] as? String ?? "",
            ],
            allowedOrigins: [origins[portal] ?? ""])
        jobs.append(
            NightJob(
                credential: credential, definition: definition, range: range,
                originOverrides: [definition.origins[0].name: origins[portal] ?? ""]))
    }
    let book = try NightBook(
        open: open, importer: RemittanceFileImporter(defaultCurrency: .usd, profiles: profiles),
        inbox: Inbox(root: folder + "/inbox"))
    let timeline = NightTimeline()
    let runner = NightRunner(
        jobs: jobs, book: book, stagingDirectory: folder + "/staging", reportsDirectory: folder + "/reports",
        maximumConcurrent: overall, loginGuard: DatabaseLoginGuard(open: open), totp: TOTPCodeSource(),
        progress: NightProgress(display: timeline))
    let box = NightResultBox()
    let cpuBefore = cpuSeconds()
    let seconds = try measure {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.report = try await runner.run(scope: "bench") } catch { box.error = error }
            done.signal()
        }
        done.wait()
        if let error = box.error { throw error }
    }
    let cpu = cpuSeconds() - cpuBefore
    let (answered, sandboxCPU) = sandbox.stop()
    guard let report = box.report else { throw GeneralError(code: "bench", message: "no report") }
    let failed = report.run.items.filter { $0.status != "ok" && $0.status != "no_documents" }.count
    if failed > 0 {
        throw GeneralError(
            code: "bench",
            message: "\(failed) credentials failed: \(report.run.items.first { $0.status != "ok" }?.message ?? "")")
    }
    let files = report.run.items.map(\.filesNew).reduce(0, +)
    let lines = report.run.items.map(\.lines).reduce(0, +)
    let requests = portals.map { answered[$0] ?? 0 }.reduce(0, +)
    let perPortal = portals.map { Double(answered[$0] ?? 0) / Double(concurrency) }.max() ?? 0
    let waves = (Double(count) / Double(overall)).rounded(.up)
    let bound = max(perPortal, waves * Double(requests) / Double(count)) * 0.050
    let (firstCredential, lastCredential, end, meanCredential) = timeline.figures
    return [
        Figure(
            benchmark:
                "\(label): \(count) credentials, \(portals.count) portal(s), \(concurrency) at once per host, elapsed",
            value: seconds, unit: "s", goal: nil),
        Figure(
            benchmark:
                "\(label): requests (\(String(format: "%.1f", Double(requests) / Double(count))) per credential)",
            value: Double(requests), unit: "", goal: nil),
        Figure(
            benchmark: "\(label): latency bound (requests × 50 ms ÷ concurrency)", value: bound, unit: "s", goal: nil),
        Figure(benchmark: "\(label): elapsed / bound", value: seconds / bound, unit: "x", goal: "<= 1.3x"),
        Figure(
            benchmark:
                "\(label): a credential's mean time, start to end (its own requests alone: \(String(format: "%.2f", Double(requests) / Double(count) * 0.050)) s)",
            value: meanCredential, unit: "s", goal: nil),
        Figure(
            benchmark: "\(label): the first credential started at (the run's set-up)", value: firstCredential,
            unit: "s", goal: nil),
        Figure(benchmark: "\(label): the last credential finished at", value: lastCredential, unit: "s", goal: nil),
        Figure(
            benchmark: "\(label): after the last credential (matching, the report)", value: end - lastCredential,
            unit: "s", goal: nil),
        Figure(
            benchmark: "\(label): CPU (user + system) of the night", value: cpu, unit: "s",
            goal: label == "night 1000" ? "< 20 s" : nil),
        Figure(
            benchmark: "\(label): CPU of the sandbox portals (another process, same 2 cores)", value: sandboxCPU,
            unit: "s", goal: nil),
        Figure(
            benchmark: "\(label): files per second (downloaded, stored, imported)", value: Double(files) / seconds,
            unit: "files/s", goal: nil),
        Figure(
            benchmark: "\(label): remittance lines per second", value: Double(lines) / seconds, unit: "lines/s",
            goal: nil),
        Figure(
            benchmark: "\(label): peak memory", value: peakMemoryMiB(), unit: "MiB",
            goal: label == "night 1000" ? "< 150 MiB" : "< 200 MiB"),
    ]
}

/// The open invoices a generated 820 of `payments` × 250 lines pays exactly (less its 1.00 pricing deduction), as the default CSV.
func benchInvoicesCSV(payments: Int, linesPerPayment: Int = 250) -> String {
    var invoices = "customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number\n"
    for payment in 0..<payments {
        for line in 0..<linesPerPayment {
            // The 820 pays `cents` and deducts 1.00 (ADX 01, pricing) on every line.
            let cents = 10_000 + (payment * 7 + line * 13) % 90_000 + 100
            let amount = "\(cents / 100).\(String(format: "%02d", cents % 100))"
            invoices +=
                "C1,\(benchInvoiceNumber(payment: payment, line: line)),2026-11-01,2026-12-01,\(amount),\(amount),USD,PO\(line)\n"
        }
    }
    return invoices
}

func benchDatabase(_ path: String) throws -> Database {
    let database = try Database(path: path)
    try Migrator.migrate(
        database,
        LedgerSchema.statements.enumerated().map {
            Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
        })
    return database
}

/// Builds the match-1m workspace in `folder` (run in a child process, so that the matching
/// process's memory and time are its own): open invoices and the 820 imported, the payer
/// mapped, and the CSVs the Python baseline reads.
func prepareMatching(folder: String, count: Int) throws {
    let database = try benchDatabase(folder + "/match.sqlite")
    let ledger = Ledger(database: database)
    let linesPerPayment = 250
    let payments = count / linesPerPayment
    let invoices = benchInvoicesCSV(payments: payments)
    var lineCSV = "reference,amount_paid,deduction\n"
    for payment in 0..<payments {
        for line in 0..<linesPerPayment {
            let cents = 10_000 + (payment * 7 + line * 13) % 90_000
            lineCSV +=
                "\(benchInvoiceNumber(payment: payment, line: line)),\(String(format: "%d.%02d", cents / 100, cents % 100)),1.00\n"
        }
    }
    try invoices.write(toFile: folder + "/invoices.csv", atomically: true, encoding: .utf8)
    try lineCSV.write(toFile: folder + "/lines.csv", atomically: true, encoding: .utf8)
    let invoiceBytes = Array(invoices.utf8)
    _ = try ledger.importOpenInvoices(
        try OpenInvoiceReader.read(invoiceBytes, defaultCurrency: .usd), bytes: invoiceBytes, name: "invoices.csv",
        client: "bench")
    let remittance = generated820(payments: payments, lines: linesPerPayment)
    _ = try ledger.importRemittances(
        try RemittanceAdviceReader.read(remittance, defaultCurrency: .usd, file: "big.x12"), bytes: remittance,
        name: "big.x12", client: "bench", format: "x12-820")
    try ledger.addCustomerAlias(client: "bench", alias: "V123", customerID: "C1")
}

/// Runs the Python dictionary join over the same data: (wall seconds, CPU seconds).
func pythonBaseline(folder: String) -> (Double, Double)? {
    let python = Process()
    python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    python.arguments = ["Benchmarks/baseline_match.py", folder + "/invoices.csv", folder + "/lines.csv"]
    let output = Pipe()
    python.standardOutput = output
    guard (try? python.run()) != nil else { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    python.waitUntilExit()
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let seconds = object["seconds"] as? Double
    else { return nil }
    return (seconds, object["cpu_seconds"] as? Double ?? seconds)
}

/// Matching `count` remittance lines against `count` open invoices of one customer, end to end
/// through the store (open invoices and lines read from SQLite, decisions written back, one
/// transaction per payment), beside a plain dictionary join in Python over the same data, run
/// right after in the same process tree. The workspace is built by a child process first, so
/// the time, CPU and peak memory are matching's alone. On a machine other work shares, the CPU
/// figures compare the two fairly; the goal is on elapsed time.
func matchingAtScale(count: Int) throws -> [Figure] {
    // NIGHTJAR_MATCH_COPY_FROM names a workspace prepared before (for profiling matching alone).
    let folder = scratchFolder("match")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    if let prepared = ProcessInfo.processInfo.environment["NIGHTJAR_MATCH_COPY_FROM"] {
        for name in ["match.sqlite", "invoices.csv", "lines.csv"] {
            try FileManager.default.copyItem(atPath: prepared + "/" + name, toPath: folder + "/" + name)
        }
    } else {
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        setup.arguments = ["--prepare-match", folder, String(count)]
        try setup.run()
        setup.waitUntilExit()
        guard setup.terminationStatus == 0 else {
            throw GeneralError(code: "bench", message: "preparing the match workspace failed")
        }
    }
    let database = try benchDatabase(folder + "/match.sqlite")
    let ledger = Ledger(database: database)
    var statuses: [String: Int] = [:]
    let before = peakMemoryMiB()
    let cpuBefore = cpuSeconds()
    let seconds = try measure {
        for result in try ledger.match(client: "bench", scope: .newBatches).batches {
            for (status, number) in result.statuses { statuses[status, default: 0] += number }
        }
    }
    let cpu = cpuSeconds() - cpuBefore
    let peak = peakMemoryMiB()
    let lines = statuses.values.reduce(0, +)
    let automatic =
        (statuses["paid_in_full"] ?? 0) + (statuses["paid_with_discount"] ?? 0) + (statuses["short_paid"] ?? 0)
    var figures = [
        Figure(
            benchmark: "match \(lines) lines against \(count) open invoices (store to store), elapsed", value: seconds,
            unit: "s", goal: nil),
        Figure(benchmark: "match: CPU time (user + system)", value: cpu, unit: "s", goal: nil),
        Figure(benchmark: "match: lines per second", value: Double(lines) / seconds, unit: "lines/s", goal: nil),
        Figure(
            benchmark:
                "match: lines matched to their invoice (\(statuses.keys.sorted().map { "\($0) \(statuses[$0]!)" }.joined(separator: ", ")))",
            value: Double(automatic) / Double(max(lines, 1)) * 100, unit: "%", goal: "100 %"),
        Figure(
            benchmark: "match: peak memory (process, matching only; \(Int(before)) MiB before)", value: peak,
            unit: "MiB", goal: "< 600 MiB"),
    ]
    if let (baseline, baselineCPU) = pythonBaseline(folder: folder) {
        figures.append(
            Figure(
                benchmark: "match: Python dictionary-join baseline (no store, no rules), elapsed", value: baseline,
                unit: "s", goal: nil))
        figures.append(
            Figure(
                benchmark: "match: Python dictionary-join baseline, CPU time", value: baselineCPU, unit: "s", goal: nil)
        )
        figures.append(
            Figure(benchmark: "match: Nightjar / baseline, elapsed", value: seconds / baseline, unit: "x", goal: "< 1x")
        )
        figures.append(
            Figure(benchmark: "match: Nightjar / baseline, CPU time", value: cpu / baselineCPU, unit: "x", goal: nil))
    }
    return figures
}

/// Importing a 100,000-line 820 and matching it, against 100,000 open invoices loaded before.
func importAndMatch(count: Int) throws -> [Figure] {
    let folder = scratchFolder("import-match")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let database = try benchDatabase(folder + "/import-match.sqlite")
    let ledger = Ledger(database: database)
    let payments = count / 250
    let invoices = Array(benchInvoicesCSV(payments: payments).utf8)
    _ = try ledger.importOpenInvoices(
        try OpenInvoiceReader.read(invoices, defaultCurrency: .usd), bytes: invoices, name: "invoices.csv",
        client: "bench")
    try ledger.addCustomerAlias(client: "bench", alias: "V123", customerID: "C1")
    let remittance = generated820(payments: payments, lines: 250)
    var lines = 0
    var matched = 0
    var importSeconds = 0.0
    let cpuBefore = cpuSeconds()
    let seconds = try measure {
        importSeconds = try measure {
            let advices = try RemittanceAdviceReader.read(remittance, defaultCurrency: .usd, file: "big.x12")
            lines = try ledger.importRemittances(
                advices, bytes: remittance, name: "big.x12", client: "bench", format: "x12-820"
            ).lines
        }
        matched = try ledger.match(client: "bench", scope: .newBatches).statuses["short_paid"] ?? 0
    }
    let cpu = cpuSeconds() - cpuBefore
    return [
        Figure(
            benchmark: "import + match \(lines) remittance lines (\(remittance.count / 1_000_000) MB 820), elapsed",
            value: seconds, unit: "s", goal: "< 2 s"),
        Figure(benchmark: "import + match: CPU time (user + system)", value: cpu, unit: "s", goal: nil),
        Figure(benchmark: "import + match: the import part", value: importSeconds, unit: "s", goal: nil),
        Figure(
            benchmark: "import + match: lines matched to their invoice",
            value: Double(matched) / Double(max(lines, 1)) * 100, unit: "%", goal: "100 %"),
    ]
}
