import Foundation
import NightjarAgent
import NightjarCore
import NightjarLedger
import NightjarScript
import NightjarVault

/// `nightjar run`, `runs`, `runs show`, `check`: the night and what became of it.
enum NightCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(["run"], summary: "run the night: every credential's portals, imports, matching, the summary",
                        discussion: """
                        Takes every credential in scope (all the vault key can open, or --client/--portal), works
                        out each one's range — from the end of its last successful range less 3 days (portals post
                        late) to today, or the last 30 days the first time, or --from/--to — and runs the approved
                        definitions concurrently (--concurrency overall; each definition bounds its own hosts).
                        Each file moves into the content-addressed inbox (data/inbox, read-only) and is imported the
                        moment it lands; bytes seen before are recorded as seen, not imported again. Then new batches
                        are matched and the run's summary is written. A run killed at any point and started again
                        finishes the work without a duplicate file, batch or match, and never repeats a failed login.
                        Exits 1 when any credential failed, 0 when all went well.

                        Example (unattended, as a timer or cron job would):
                          nightjar run --key-file /etc/nightjar/night.key --json
                        """,
                        options: [.value("client", "C", repeatable: true, "only this client (repeatable)"),
                                  .value("portal", "P", repeatable: true, "only this portal (repeatable)"),
                                  .value("from", "DATE", "fetch from this date (with --to) instead of since the last run"),
                                  .value("to", "DATE", "fetch up to this date"),
                                  .value("kind", "KIND", repeatable: true, "what to fetch (default: remittance)"),
                                  .value("concurrency", "N", "credentials at once (default 8)"),
                                  .flag("interactive", "ask for one-time codes a person must type")] + VaultCommands.unlockOptions,
                        run: run),
            CommandSpec(["runs"], summary: "list recent runs", options: [.value("limit", "N", "how many (default 20)")], run: listRuns),
            CommandSpec(["runs", "show"], summary: "show a run: each credential's range, outcome, files and lines",
                        arguments: [ArgumentSpec("ID", "the run id")], run: showRun),
            CommandSpec(["check"], summary: "exit non-zero when no run finished well recently (for monitoring)",
                        discussion: """
                        Exits 0 when the last finished run ended without failures within --max-age; otherwise exits 1
                        with a one-line reason. A monitoring system or a systemd OnFailure= unit calls it.

                        Example:
                          nightjar check --max-age 26h
                        """,
                        options: [.value("max-age", "AGE", "how old the last good run may be: 26h, 90m, 2d (default 26h)")], run: check),
        ]
    }

    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        let (paths, input, method) = try VaultCommands.context(invocation)
        let vault = try Vault.open(paths: paths, as: method)
        let clients = invocation.values("client"), portals = invocation.values("portal")
        let entries = try vault.list().filter { (clients.isEmpty || clients.contains($0.client)) && (portals.isEmpty || portals.contains($0.portal)) }
        guard !entries.isEmpty else { throw GeneralError(code: "run.nothing", message: "no credentials in scope", exitStatus: .noInput) }
        var skipped: [String] = []
        var definitions: [String: ScraperDefinition] = [:]
        for portal in Set(entries.map(\.portal)).sorted() {
            do {
                let (definition, path) = try ScraperCommands.loadDefinition(portal, workspace: workspace)
                if vault.isApproved(portal: definition.portal, sha256: definition.sha256) {
                    definitions[portal] = definition
                } else {
                    skipped.append("\(portal): \(path) is not approved in this version (nightjar scraper approve)")
                }
            } catch let error as any NightjarError {
                skipped.append("\(portal): \(error.message)")
            }
        }
        let runnable = entries.filter { definitions[$0.portal] != nil }
        let runID = "night-\(Logger.timestamp())"
        let credentials = runnable.isEmpty ? [] : try vault.credentials(runnable.map { ($0.client, $0.portal) }, purpose: .use(run: runID))
        let opener = WorkspaceDatabase.opener(workspace)
        let importer = RemittanceFileImporter(defaultCurrency: config.defaultCurrency, profiles: try ImportCommands.workspaceProfiles(workspace))
        let book = try NightBook(open: opener, importer: importer, inbox: Inbox(root: workspace.inboxDirectory))
        let timeZone = TimeZone(identifier: config.timeZone) ?? .current
        let today = CalendarDate.today(in: timeZone)
        var explicit: DateRange?
        if invocation.value("from") != nil || invocation.value("to") != nil { explicit = try ScraperCommands.dateRange(invocation) }
        var jobs: [NightJob] = []
        for entry in credentials {
            let definition = definitions[entry.portal]!
            var range: DateRange
            if let explicit {
                range = explicit
            } else {
                let lastEnd = try await book.lastSuccessfulEnd(client: entry.client, portal: entry.portal)
                range = NightPlanning.range(lastSuccessfulEnd: lastEnd, today: today)
            }
            jobs.append(NightJob(credential: ScraperCommands.scriptCredential(entry), definition: definition, range: range,
                                 originOverrides: config.originOverrides(client: entry.client, portal: entry.portal, firstOrigin: definition.origins[0].name)))
        }
        let concurrency = Int(invocation.value("concurrency") ?? "8") ?? 8
        let runner = NightRunner(jobs: jobs, book: book, kinds: try ScraperCommands.kinds(invocation), stagingDirectory: workspace.dataDirectory + "/staging",
                                 reportsDirectory: workspace.reportsDirectory, maximumConcurrent: concurrency,
                                 loginGuard: DatabaseLoginGuard(open: opener), totp: TOTPCodeSource(store: DatabaseTOTPStore(open: opener)),
                                 prompt: invocation.flag("interactive") ? ScraperCommands.PersonPrompt(input: input) : nil,
                                 trace: { Logger(label: "run").info($0) })
        let scope = (clients.isEmpty ? "all clients" : clients.joined(separator: ",")) + " / " + (portals.isEmpty ? "all portals" : portals.joined(separator: ","))
        let report = try await runner.run(scope: scope)
        let soon = CalendarDate.today(in: timeZone).adding(days: 14).description
        let expiring = entries.filter { ($0.expires ?? "9999") <= soon }.map { "\($0.client)/\($0.portal) expires \($0.expires ?? "")" }
        if invocation.json {
            struct Body: Encodable {
                let report: NightReport
                let skipped: [String]
                let expiring: [String]
            }
            try Output.json(Body(report: report, skipped: skipped, expiring: expiring))
        } else {
            Output.line(NightRunner.summaryText(report).trimmingCharacters(in: .newlines))
            for line in skipped { Output.line("skipped: \(line)") }
            for line in expiring { Output.line("warning: \(line)") }
            Output.line("Summary: \(report.reportPath)")
        }
        return report.succeeded && skipped.isEmpty ? .ok : .failure
    }

    static func listRuns(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        let log = RunLog(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let runs = try log.runs(limit: Int(invocation.value("limit") ?? "20") ?? 20)
        if invocation.json {
            try Output.json(runs)
        } else if runs.isEmpty {
            Output.line("No runs yet.")
        } else {
            for run in runs {
                let failed = run.items.filter { !["ok", "no_documents"].contains($0.status) }.count
                Output.line("\(String(run.id).padding(5)) \(run.startedAt)  \(run.status.padding(12)) \(run.items.count) credentials, \(failed) failed, "
                    + "\(run.items.map(\.filesNew).reduce(0, +)) new files, \(run.items.map(\.lines).reduce(0, +)) lines")
            }
        }
        return .ok
    }

    static func showRun(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        guard let id = invocation.arguments.first.flatMap({ Int64($0) }) else { throw UsageError("give a run id", command: "runs show") }
        let log = RunLog(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        guard let run = try log.run(id) else { throw GeneralError(code: "run.missing", message: "no run \(id)", exitStatus: .noInput) }
        if invocation.json {
            try Output.json(run)
        } else {
            Output.line("run \(run.id): \(run.status), \(run.startedAt) to \(run.finishedAt ?? "-"), \(run.scope)")
            for item in run.items {
                Output.line("  \("\(item.client)/\(item.portal)".padding(22)) \(item.from)..\(item.to)  \(item.status.padding(18)) "
                    + "\(item.filesNew) new, \(item.filesSeen) seen, \(item.batches) batches, \(item.lines) lines")
                if let message = item.message { Output.line("      \(item.location.map { "\($0): " } ?? "")\(message)") }
            }
        }
        return .ok
    }

    /// `26h`, `90m`, `2d`, `3600s` → seconds.
    static func age(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let value = Double(text.dropLast()) else { return Double(text) }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }

    static func check(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        guard let maxAge = age(invocation.value("max-age") ?? "26h") else { throw UsageError("--max-age takes 26h, 90m, 2d", command: "check") }
        let log = RunLog(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        guard let run = try log.lastFinished(), let finished = run.finishedAt else {
            Output.line("FAIL: no run has finished yet")
            return .failure
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let date = formatter.date(from: finished) ?? plain.date(from: finished) else {
            Output.line("FAIL: run \(run.id) has an unreadable finish time")
            return .failure
        }
        let ageSeconds = Date().timeIntervalSince(date)
        if ageSeconds > maxAge {
            Output.line("FAIL: the last run (\(run.id)) finished \(Int(ageSeconds / 3600))h ago, more than \(invocation.value("max-age") ?? "26h")")
            return .failure
        }
        let failed = run.items.filter { !["ok", "no_documents"].contains($0.status) }
        if !failed.isEmpty {
            Output.line("FAIL: run \(run.id) had failures: " + failed.map { "\($0.client)/\($0.portal) \($0.status)" }.joined(separator: ", "))
            return .failure
        }
        Output.line("OK: run \(run.id) finished \(Int(ageSeconds / 60)) min ago, \(run.items.count) credentials, no failures")
        return .ok
    }
}
