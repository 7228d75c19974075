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

/// The night at scale: `credentials` credentials over the Northwind and Tailspin sandbox portals
/// (50 ms added to every answer), through definitions, inbox, imports and matching.
func nightAtScale(credentials count: Int) throws -> [Figure] {
    let (sandbox, description) = try startSandbox(latencyMilliseconds: 50)
    defer { sandbox.terminate(); sandbox.waitUntilExit() }
    let origins = description["portals"] as? [String: String] ?? [:]
    let accounts = ((description["accounts"] as? [[String: Any]]) ?? []).filter { ["northwind", "tailspin"].contains($0["portal"] as? String ?? "") }
    let folder = scratchFolder("night")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let databasePath = folder + "/night.sqlite"
    let migrations = LedgerSchema.statements.enumerated().map { Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql) }
    let open: DatabaseOpener = {
        let database = try Database(path: databasePath)
        try Migrator.migrate(database, migrations)
        return database
    }
    var definitions: [String: ScraperDefinition] = [:]
    let concurrency = 50
    for portal in ["northwind", "tailspin"] {
        // The shipped definitions, allowed `concurrency` requests at once per host.
        let text = try String(contentsOfFile: "scrapers/\(portal).scraper", encoding: .utf8)
            .replacingOccurrences(of: "concurrency 2", with: "concurrency \(concurrency)")
            .replacingOccurrences(of: "rate 4 per second", with: "rate 1000 per second").replacingOccurrences(of: "rate 5 per second", with: "rate 1000 per second")
        definitions[portal] = try ScraperChecker.load(text, file: "\(portal).scraper")
    }
    let profile = try DelimitedProfile.parse(try String(contentsOfFile: "docs/examples/northwind-remittance.profile", encoding: .utf8), file: "profile")
    let range = try DateRange(from: try CalendarDate(iso: "2026-08-01"), to: try CalendarDate(iso: "2026-08-31"))
    var jobs: [NightJob] = []
    for index in 0..<count {
        let account = accounts[index % accounts.count]
        let portal = account["portal"] as? String ?? ""
        let definition = definitions[portal]!
        let credential = ScriptCredential(client: "client\(index)", portal: portal,
                                          fields: ["username": account["username"] as? String ?? "", "password": account["password"] as? String ?? ""],
                                          allowedOrigins: [origins[portal] ?? ""])
        jobs.append(NightJob(credential: credential, definition: definition, range: range, originOverrides: [definition.origins[0].name: origins[portal] ?? ""]))
    }
    let book = try NightBook(open: open, importer: RemittanceFileImporter(defaultCurrency: .usd, profiles: [profile]), inbox: Inbox(root: folder + "/inbox"))
    let runner = NightRunner(jobs: jobs, book: book, stagingDirectory: folder + "/staging", reportsDirectory: folder + "/reports",
                             maximumConcurrent: 2 * concurrency, loginGuard: DatabaseLoginGuard(open: open), totp: TOTPCodeSource())
    let box = NightResultBox()
    let seconds = try measure {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.report = try await runner.run(scope: "bench") } catch { box.error = error }
            done.signal()
        }
        done.wait()
        if let error = box.error { throw error }
    }
    guard let report = box.report else { throw GeneralError(code: "bench", message: "no report") }
    let failed = report.run.items.filter { $0.status != "ok" && $0.status != "no_documents" }.count
    if failed > 0 { throw GeneralError(code: "bench", message: "\(failed) credentials failed: \(report.run.items.first { $0.status != "ok" }?.message ?? "")") }
    let files = report.run.items.map(\.filesNew).reduce(0, +)
    let lines = report.run.items.map(\.lines).reduce(0, +)
    let database = try open()
    let requests = Int(try database.scalar(Int64.self, "SELECT count(*) FROM inbox_file") ?? 0) + 3 * count
    // The fastest the portals allow: per host `concurrency` requests in flight, and each credential's
    // requests one after another, each at least 50 ms.
    let perPortalRequests = Double(requests) / 2
    let waves = (Double(count) / Double(2 * concurrency)).rounded(.up)
    let bound = max(perPortalRequests / Double(concurrency), waves * Double(requests) / Double(count)) * 0.050
    return [Figure(benchmark: "night: \(count) credentials, 2 portals, 50 ms latency, elapsed", value: seconds, unit: "s", goal: nil),
            Figure(benchmark: "night: latency bound (per-host concurrency \(concurrency), chains of 50 ms requests)", value: bound, unit: "s", goal: nil),
            Figure(benchmark: "night: elapsed / bound", value: seconds / bound, unit: "x", goal: nil),
            Figure(benchmark: "night: files per second (downloaded, stored, imported)", value: Double(files) / seconds, unit: "files/s", goal: nil),
            Figure(benchmark: "night: remittance lines per second", value: Double(lines) / seconds, unit: "lines/s", goal: nil),
            Figure(benchmark: "night: peak memory", value: peakMemoryMiB(), unit: "MiB", goal: "< 200 MiB")]
}
