import Foundation
import NightjarAgent
import NightjarCore
import NightjarHTTP
import NightjarLedger
import NightjarReview
import NightjarScript
import NightjarVault

/// `nightjar run`, `runs`, `runs show`, `check`: the night and what became of it.
enum NightCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["run"], effect: .changesBooks,
                summary: "run the night: every credential's portals, imports, matching, the summary",
                discussion: """
                    Takes every credential in scope (all the vault key can open, or --client/--portal), works
                    out each one's range — from the end of its last successful range less 3 days (portals post
                    late) to today, or the last 30 days the first time, or --from/--to — and runs the approved
                    definitions concurrently (--concurrency overall; each definition bounds its own hosts).
                    Each file moves into the content-addressed inbox (data/inbox, read-only) and is imported the
                    moment it lands; bytes seen before are recorded as seen, not imported again, and a document the
                    listing names (its reference, with the same date or size) that the inbox holds is not even
                    downloaded again (--refetch downloads it). Then new batches
                    are matched and the run's summary is written. A run killed at any point and started again
                    finishes the work without a duplicate file, batch or match, and never repeats a failed login
                    (after fixing a credential, --retry-login CLIENT/PORTAL allows one more).
                    A file no profile reads stays unread in the inbox (import_failed, unsupported_document); a
                    download that is a substituted page is portal_unavailable and its range is fetched again; a
                    definition or rules file not approved in its present version is skipped_unapproved. Each is
                    listed under NEEDS ATTENTION at the top of the summary and the morning report, with what to do.
                    Exits 1 when any credential did not go well, 0 when all did.

                    On a terminal a live line shows credentials done of the total, files, failures, the time
                    so far and when the night should end; nothing extra is written when standard error is not a
                    terminal. --progress json writes one JSON object per event on standard error instead, for a
                    supervisor (see docs/operating.md).

                    Example (unattended, as a timer or cron job would):
                      nightjar run --key-file /etc/nightjar/night.key --json
                    """,
                options: [
                    .client(repeatable: true, "only this client (repeatable)"),
                    .value(
                        "portal", "P", repeatable: true, names: .identifier("portal name"),
                        "only this portal (repeatable)"),
                    .value("from", "DATE", "fetch from this date (with --to) instead of since the last run"),
                    .value("to", "DATE", "fetch up to this date"),
                    .value(
                        "documents", "WHAT",
                        "remittances (default), supplier (invoices, purchase orders, statements) or all"),
                    .value(
                        "kind", "KIND", repeatable: true,
                        "one kind to fetch: remittance, invoice, purchase_order, statement, other"),
                    .value("concurrency", "N", "credentials at once (default 8)"),
                    .value(
                        "progress", "HOW",
                        "auto: a live line on a terminal, nothing otherwise (default); json: one JSON line per event on standard error; none"
                    ),
                    .flag("since-last", "from the end of each credential's last good range (the default)"),
                    .flag(
                        "refetch",
                        "download again documents the inbox already holds (by default a listing's reference with the same date or size is skipped)"
                    ),
                    .value(
                        "retry-login", "CLIENT/PORTAL", repeatable: true, names: .credentialName,
                        "you fixed this credential: allow one more login although one failed in the last 12 hours (audited)"
                    ),
                    .flag("interactive", "ask for one-time codes a person must type"),
                ] + VaultCommands.unlockOptions,
                run: run),
            CommandSpec(
                ["runs"], effect: .readsOnly, summary: "list recent runs",
                options: [.value("limit", "N", "how many (default 20)")], run: listRuns),
            CommandSpec(
                ["runs", "show"], effect: .readsOnly,
                summary: "show a run: each credential's range, outcome, files and lines",
                arguments: [ArgumentSpec("ID", "the run id")], run: showRun),
            CommandSpec(
                ["check"], effect: .readsOnly,
                summary: "exit non-zero when no run finished recently or anything needs attention (for monitoring)",
                discussion: """
                    Exits 0 when a run finished within --max-age and nothing needs attention: each credential's
                    latest part in that time went well, and no file in the inbox is unread (a file no profile
                    reads stays pending until `nightjar import --pending` reads it or `nightjar inbox dismiss`
                    settles it). Otherwise exits 1 and lists each thing with what to do. A monitoring system or a
                    systemd OnFailure= unit calls it.

                    Example:
                      nightjar check --max-age 26h
                    """,
                options: [.value("max-age", "AGE", "how old the last good run may be: 26h, 90m, 2d (default 26h)")],
                run: check),
            CommandSpec(
                ["report"], effect: .readsOnly,
                summary: "write the morning report: a self-contained HTML page per client, exceptions first",
                discussion: """
                    Covers the batches awaiting review (or those imported on --date), with the last run's portal
                    failures. The page needs nothing from the network, runs no script, prints well, and shows no
                    secret. `nightjar run` writes one per run in reports/run-ID/morning-report.html.

                    Example:
                      nightjar report --html ~/morning.html
                    """,
                options: [
                    .value("html", "FILE", "where to write the page"),
                    .value("date", "DATE", "batches imported on this date"),
                    .client(repeatable: true, "only this client"),
                ], run: report),
            CommandSpec(
                ["schedule"], effect: .readsOnly,
                summary: "list each portal's next visits, in its time zone and in UTC",
                discussion: """
                    Schedules live in nightjar.conf:
                      [schedule]
                      default = "02:00"                                   # the workspace's zone
                      sandbox-html-portal = "11:30 15:00 18:45 23:00 America/New_York"
                    A time that does not exist on a spring-forward day runs at the first instant after the gap;
                    one that happens twice on a fall-back day runs once.
                    """,
                options: [.value("days", "N", "how far ahead (default 1)")], run: schedule),
            CommandSpec(
                ["daemon"], effect: .changesBooks, summary: "stay up and run each portal at its scheduled windows",
                discussion: """
                    Unattended: give the vault key with --key-file, NIGHTJAR_VAULT_KEY_FILE or the systemd credential
                    nightjar-vault-key. Each window runs `nightjar run --portal P` for the portals due then; a bad
                    night is logged and the daemon carries on. See docs/operating.md for the unit files.
                    """,
                options: [.value("max-runs", "N", "stop after N runs (tests)")] + VaultCommands.unlockOptions,
                run: daemon),
            CommandSpec(
                ["trace"], effect: .readsOnly,
                summary: "where a reference (invoice number) appeared: files, batches, lines, matches",
                discussion: """
                    Answers "why is invoice X not in this morning's batch?": every file, batch and line where the
                    reference appeared (compared after normalisation), when it was fetched and what matched it; or
                    that it was never seen, and which portals were checked for which ranges since. Exits 1 when
                    never seen.

                    Example:
                      nightjar trace INV-10042 --client acme
                    """,
                arguments: [ArgumentSpec("REFERENCE", "an invoice number or other reference")],
                options: [.client("only this client")], run: trace),
        ]
    }

    /// What a night covers.
    struct NightScope {
        var clients: [String] = []
        var portals: [String] = []
        var range: DateRange?
        var kinds: [DocumentKind] = [.remittance]
        var concurrency = 8
        var prompt: (any OneTimeCodePrompt)?
        /// Credentials whose earlier failed login no longer blocks one more attempt (audited).
        var retryLogins: [CredentialName] = []
        /// Download again documents the inbox already holds.
        var refetch = false
        var progress: NightProgress?
    }

    /// A night's result with what could not be run and what expires soon.
    struct NightResult {
        let report: NightReport
        let skipped: [String]
        let expiring: [String]
        /// The morning mail handed to the mail server (empty without `[mail]`).
        var mail: [MorningMailing.Delivery] = []
        var succeeded: Bool { report.succeeded && skipped.isEmpty }
    }

    /// Runs one night for a scope: opens the vault, loads approved definitions, plans ranges, runs.
    static func performNight(_ workspace: Workspace, method: UnlockMethod, scope: NightScope) async throws
        -> NightResult
    {
        let config = try workspace.requireExisting()
        let vault = try Vault.open(paths: VaultCommands.paths(workspace), as: method)
        // The morning mail's own sign-in is not a source the night reads.
        let mailCredential = config.mail?.credential
        let entries = try vault.list().filter {
            (scope.clients.isEmpty || scope.clients.contains($0.client))
                && (scope.portals.isEmpty || scope.portals.contains($0.portal))
                && $0.name.description != mailCredential
        }
        guard !entries.isEmpty else {
            throw GeneralError(code: "run.nothing", message: "no credentials in scope", exitStatus: .noInput)
        }
        var skipped: [String] = []
        var skippedItems: [NightRunner.Skipped] = []
        var definitions: [String: ScraperDefinition] = [:]
        for portal in Set(entries.map(\.portal)).sorted() {
            var problem: String?
            do {
                let (definition, path) = try ScraperCommands.loadDefinition(portal, workspace: workspace)
                if vault.isApproved(portal: definition.portal, sha256: definition.sha256) {
                    definitions[portal] = definition
                } else {
                    problem = "\(path) is not approved in this version (nightjar scraper approve \(portal))"
                }
            } catch let error as any NightjarError {
                problem = error.message
            }
            if let problem {
                skipped.append("\(portal): \(problem)")
                for entry in entries where entry.portal == portal {
                    skippedItems.append(
                        NightRunner.Skipped(client: entry.client, item: entry.name.runItem, message: problem))
                }
            }
        }
        // Only approved profiles and rules files: a client whose rules are not approved is not run.
        let (profiles, unapprovedProfiles, profileWarnings) = try FileApprovals.approvedProfiles(
            workspace, vault: vault)
        var unapprovedRules: Set<String> = []
        for client in Set(entries.map(\.client)).sorted() {
            if let problem = try FileApprovals.rulesProblem(workspace, client: client, vault: vault) {
                skipped.append(problem)
                unapprovedRules.insert(client)
                for entry in entries where entry.client == client && definitions[entry.portal] != nil {
                    skippedItems.append(NightRunner.Skipped(client: client, item: entry.name.runItem, message: problem))
                }
            }
        }
        // A person fixed these credentials: one more login is allowed, and the vault's audit log says who allowed it.
        for name in scope.retryLogins {
            guard entries.contains(where: { $0.name == name }) else {
                throw UsageError("--retry-login \(name): no such credential in this night's scope", command: "run")
            }
            let cleared = try LoginAttempts(database: try WorkspaceDatabase.open(at: workspace.databasePath)).clear(
                credential: name.description)
            _ = try vault.audit(
                AuditEvent(
                    "retry-login", client: name.client, entry: name.description,
                    detail: "cleared \(cleared) failed login(s); one more attempt allowed"))
            Logger(label: "run").notice("cleared \(cleared) failed login(s) of \(name); one more attempt is allowed")
        }
        let runnable = entries.filter { definitions[$0.portal] != nil && !unapprovedRules.contains($0.client) }
        let credentials =
            runnable.isEmpty
            ? [] : try vault.credentials(runnable.map(\.name), purpose: .use(run: "night-\(Logger.timestamp())"))
        let opener = WorkspaceDatabase.opener(workspace)
        let importer = RemittanceFileImporter(
            defaultCurrency: config.defaultCurrency, profiles: profiles, unapproved: unapprovedProfiles,
            maximumFileBytes: config.maximumFileBytes)
        let book = try NightBook(
            open: opener, importer: importer, inbox: Inbox(root: workspace.inboxDirectory),
            rules: MatchingRulesFiles(directory: workspace.rulesDirectory))
        let timeZone = TimeZone(identifier: config.timeZone) ?? .current
        let today = CalendarDate.today(in: timeZone)
        var jobs: [NightJob] = []
        for entry in credentials {
            let definition = definitions[entry.portal]!
            let credential = ScraperCommands.scriptCredential(entry)
            var range: DateRange
            if let explicit = scope.range {
                range = explicit
            } else {
                let lastEnd = try await book.lastSuccessfulEnd(client: entry.client, portal: credential.runItem)
                range = NightPlanning.range(lastSuccessfulEnd: lastEnd, today: today)
            }
            jobs.append(
                NightJob(
                    credential: credential, definition: definition, range: range,
                    originOverrides: config.originOverrides(
                        client: entry.client, portal: entry.portal, firstOrigin: definition.origins[0].name)))
        }
        var runner = NightRunner(
            jobs: jobs, book: book, kinds: scope.kinds, stagingDirectory: workspace.dataDirectory + "/staging",
            reportsDirectory: workspace.reportsDirectory, maximumConcurrent: scope.concurrency,
            loginGuard: DatabaseLoginGuard(open: opener), totp: TOTPCodeSource(store: DatabaseTOTPStore(open: opener)),
            prompt: scope.prompt, trace: { Logger(label: "run").info($0) }, progress: scope.progress)
        runner.refetch = scope.refetch
        runner.sourceMemory = DatabaseSourceMemory(open: opener)
        runner.timeZone = timeZone
        if let bundle = config.sourceCABundle { runner.sourceTLS = TLSSettings(caBundle: Workspace.absolute(bundle)) }
        if let end = config.nightDeadline(after: Date()) {
            runner.deadline = ContinuousClock.now + .milliseconds(Int(end.timeIntervalSinceNow * 1000))
        }
        let description =
            (scope.clients.isEmpty ? "all clients" : scope.clients.joined(separator: ",")) + " / "
            + (scope.portals.isEmpty ? "all portals" : scope.portals.joined(separator: ","))
        let soon = today.adding(days: 14).description
        let expiring = entries.filter { ($0.expires ?? "9999") <= soon }.map {
            "\($0.name) expires \($0.expires ?? "")"
        }
        // The vault as it is on disk now must still verify before anything runs.
        try vault.verifyAuthority()
        let report = try await runner.run(
            scope: description, warnings: profileWarnings + expiring.map { "credential \($0)" }, skipped: skippedItems,
            today: today)
        let mail = await MorningMailing.send(report, config: config, vault: vault, book: book, expiring: expiring)
        return NightResult(report: report, skipped: skipped, expiring: expiring, mail: mail)
    }

    static func print(_ result: NightResult, json: Bool) throws {
        if json {
            struct Body: Encodable {
                let report: NightReport
                let skipped: [String]
                let expiring: [String]
                let mail: [MorningMailing.Delivery]
            }
            try Output.json(
                Body(report: result.report, skipped: result.skipped, expiring: result.expiring, mail: result.mail))
        } else {
            Output.line(
                NightRunner.summaryText(result.report, paint: Console.standardOutput.paint).trimmingCharacters(
                    in: .newlines))
            Output.line("Summary: \(result.report.reportPath)")
            Output.line("Morning report: \(result.report.morningReportPath)")
            for delivery in result.mail {
                Output.line(
                    delivery.status == "sent"
                        ? "Mailed \(delivery.to): \(delivery.clients.isEmpty ? "the run's summary" : delivery.clients.joined(separator: ", "))"
                        : "Warning: \(delivery.message ?? "the morning mail was not sent")")
            }
        }
    }

    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try VaultCommands.context(invocation)
        // By hand (a person, not the night's key), running integrations is a role of its own.
        if case .passphrase(let name, _) = method {
            let vault = try Vault.open(paths: paths, as: method)
            guard vault.roles.contains(.runIntegrations) else {
                throw GeneralError(
                    code: "run.role",
                    message:
                        "\(name) may not run integrations by hand: that needs the run-integrations role (nightjar vault operator add ... --role run-integrations)",
                    exitStatus: .noPermission)
            }
        }
        var scope = NightScope()
        scope.clients = invocation.values("client")
        scope.portals = invocation.values("portal")
        if invocation.value("from") != nil || invocation.value("to") != nil {
            scope.range = try ScraperCommands.dateRange(invocation)
        }
        scope.kinds = try ScraperCommands.kinds(invocation)
        switch invocation.value("documents") {
        case nil, "remittances": break
        case "supplier": scope.kinds = [.invoice, .purchaseOrder, .statement]
        case "all": scope.kinds = DocumentKind.allCases
        case let other?:
            throw UsageError("--documents takes remittances, supplier or all, not \(other)", command: "run")
        }
        scope.concurrency = Int(invocation.value("concurrency") ?? "8") ?? 8
        scope.refetch = invocation.flag("refetch")
        scope.retryLogins = try invocation.values("retry-login").map { text in
            do { return try CredentialName(parsing: text) } catch let error as VaultError {
                throw UsageError(error.message, command: "run")
            }
        }
        scope.prompt = invocation.flag("interactive") ? ScraperCommands.PersonPrompt(input: input) : nil
        scope.progress = try ProgressMode.parse(invocation.value("progress")).progress()
        let result = try await performNight(invocation.workspace, method: method, scope: scope)
        try print(result, json: invocation.json)
        return result.succeeded ? .ok : .failure
    }

    // MARK: schedule, daemon

    /// Portals with a definition in the workspace.
    static func portals(_ workspace: Workspace) -> [String] {
        workspace.namedFiles(in: workspace.scrapersDirectory, suffix: ".scraper").map(\.name)
    }

    static func schedule(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        let days = Double(invocation.value("days") ?? "1") ?? 1
        let now = Date()
        let utc = DateFormatter()
        utc.locale = Locale(identifier: "en_US_POSIX")
        utc.timeZone = .gmt
        utc.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        struct Window: Encodable {
            let portal: String
            /// The local time as people read it (`2026-12-02 02:00:00 EST`), for the text table.
            let localText: String
            /// The same in ISO 8601 with its offset (`2026-12-02T02:00:00-05:00`), for JSON.
            let local: String
            let utc: String
            let zone: String

            enum CodingKeys: String, CodingKey { case portal, local, utc, zone }

            init(
                portal: String, instant: Date, zone: TimeZone, local: DateFormatter, iso: DateFormatter,
                utc: DateFormatter
            ) {
                self.portal = portal
                local.timeZone = zone
                iso.timeZone = zone
                localText = local.string(from: instant)
                self.local = iso.string(from: instant)
                self.utc = utc.string(from: instant)
                self.zone = zone.identifier
            }
        }
        let iso = DateFormatter()
        iso.locale = Locale(identifier: "en_US_POSIX")
        iso.dateFormat = "yyyy-MM-dd'T'HH:mm:ssxxx"
        var windows: [Window] = []
        for portal in portals(workspace) {
            let schedule = config.schedule(for: portal)
            let local = DateFormatter()
            local.locale = Locale(identifier: "en_US_POSIX")
            local.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
            for instant in schedule.next(after: now, count: 200) where instant.timeIntervalSince(now) <= days * 86400 {
                windows.append(
                    Window(portal: portal, instant: instant, zone: schedule.timeZone, local: local, iso: iso, utc: utc))
            }
            if hasSupplierDocuments(portal, workspace: workspace) {
                let supplier = config.supplierSchedule
                for instant in supplier.next(after: now, count: 200)
                where instant.timeIntervalSince(now) <= days * 86400 {
                    windows.append(
                        Window(
                            portal: portal + " (supplier)", instant: instant, zone: supplier.timeZone, local: local,
                            iso: iso, utc: utc))
                }
            }
        }
        if invocation.json {
            try Output.json(windows)
        } else if windows.isEmpty {
            Output.line("No portals: add definitions to \(workspace.scrapersDirectory)")
        } else {
            let width = max(14, (windows.map(\.portal.count).max() ?? 0) + 1)
            Output.line("PORTAL".padding(width) + " " + "LOCAL TIME".padding(28) + " UTC")
            for window in windows {
                Output.line("\(window.portal.padding(width)) \(window.localText.padding(28)) \(window.utc)")
            }
        }
        return .ok
    }

    /// Whether a portal's definition fetches supplier documents.
    static func hasSupplierDocuments(_ portal: String, workspace: Workspace) -> Bool {
        guard let (definition, _) = try? ScraperCommands.loadDefinition(portal, workspace: workspace) else {
            return false
        }
        return [.invoice, .purchaseOrder, .statement].contains { definition.block(for: $0) != nil }
    }

    static func daemon(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        let (_, _, method) = try VaultCommands.context(invocation)
        let maximumRuns = invocation.value("max-runs").flatMap(Int.init)
        var runs = 0
        var failures = 0
        Logger(label: "daemon").notice("started; portals: \(portals(workspace).joined(separator: ", "))")
        // Under systemd (Type=notify): ready now, and a watchdog ping while the process works.
        ServiceManager.notify("READY=1\nSTATUS=waiting for the first window")
        let watchdog = ServiceManager.startWatchdog()
        defer {
            watchdog?.cancel()
            ServiceManager.notify("STOPPING=1")
        }
        while maximumRuns.map({ runs < $0 }) ?? true {
            let config = try workspace.requireExisting()
            let now = Date()
            // Remittances at each portal's windows; supplier documents at their own (three a day by default).
            var due: [(portal: String, supplier: Bool, at: Date)] = []
            for portal in portals(workspace) {
                if let next = config.schedule(for: portal).next(after: now, count: 1).first {
                    due.append((portal, false, next))
                }
                if hasSupplierDocuments(portal, workspace: workspace),
                    let next = config.supplierSchedule.next(after: now, count: 1).first
                {
                    due.append((portal, true, next))
                }
            }
            guard let next = due.map(\.at).min() else {
                throw GeneralError(
                    code: "daemon.nothing", message: "no portals to schedule in \(workspace.scrapersDirectory)",
                    exitStatus: .noInput)
            }
            let now2 = due.filter { abs($0.at.timeIntervalSince(next)) < 1 }
            Logger(label: "daemon").notice(
                "next: \(now2.map { "\($0.portal)\($0.supplier ? " (supplier documents)" : "")" }.joined(separator: ", ")) at \(Logger.timestamp(next))"
            )
            ServiceManager.notify(
                "STATUS=next: \(now2.map(\.portal).joined(separator: ", ")) at \(Logger.timestamp(next))")
            let wait = next.timeIntervalSinceNow
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000) + 5)) }
            ServiceManager.notify("STATUS=running \(now2.map(\.portal).joined(separator: ", "))")
            for supplier in [false, true] {
                let portalsNow = now2.filter { $0.supplier == supplier }.map(\.portal)
                if portalsNow.isEmpty { continue }
                var scope = NightScope()
                scope.portals = portalsNow
                if supplier { scope.kinds = [.invoice, .purchaseOrder, .statement] }
                do {
                    let result = try await performNight(workspace, method: method, scope: scope)
                    try print(result, json: invocation.json)
                    if !result.succeeded { failures += 1 }
                } catch let error as any NightjarError {
                    Output.error(error, json: invocation.json)
                    failures += 1
                }
            }
            runs += 1
        }
        return failures == 0 ? .ok : .failure
    }

    static func report(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        guard let file = invocation.value("html") else { throw UsageError("say where: --html FILE", command: "report") }
        let database = try WorkspaceDatabase.open(at: workspace.databasePath)
        let date = try invocation.value("date").map { try CalendarDate(iso: $0) }
        let batches = try Ledger(database: database).reviewBatches(
            clients: invocation.values("client").map { ClientID($0) }, importedOn: date)
        let log = RunLog(database: database)
        let clients = invocation.values("client")
        let attention = try NightAttention.list(
            run: try log.lastFinished(), log: log, clients: clients.isEmpty ? nil : clients
        )
        .filter { clients.isEmpty || clients.contains($0.client) }
        let report = MorningReport(
            title: "Nightjar morning report" + (date.map { " — \($0)" } ?? ""), generatedAt: Logger.timestamp(),
            batches: batches, attention: attention)
        try RedactedFile.write(report.html(), to: Workspace.absolute(file))
        if invocation.json {
            struct Written: Encodable {
                let report: String
                let batches: Int
                let exceptions: Int
                let attention: Int
            }
            try Output.json(
                Written(
                    report: Workspace.absolute(file), batches: batches.count,
                    exceptions: batches.flatMap(\.lines).filter(\.isException).count, attention: attention.count))
            return .ok
        }
        Output.line(
            "Morning report: \(Workspace.absolute(file)) (\(batches.count) batches, \(batches.flatMap(\.lines).filter(\.isException).count) exceptions"
                + (attention.isEmpty ? ")" : ", \(attention.count) need attention)"))
        return .ok
    }

    static func trace(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        guard let reference = invocation.arguments.first else {
            throw UsageError("give the reference (an invoice number)", command: "trace")
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let trace = try ledger.trace(reference: reference, client: invocation.value("client"))
        if invocation.json {
            try Output.json(trace)
            return .ok
        }
        if let invoice = trace.openInvoice { Output.line("open invoice: \(invoice)") }
        if trace.appearances.isEmpty {
            Output.line(
                "\(reference) (as \(trace.normalised)) was never seen in a remittance"
                    + (invocation.value("client").map { " for \($0)" } ?? "") + ".")
            if trace.checks.isEmpty {
                Output.line("No run has checked any portal yet.")
            } else {
                Output.line("Portals checked since:")
                for check in trace.checks.prefix(20) {
                    Output.line(
                        "  \(check.at)  \("\(check.client)/\(check.portal)".padding(22)) \(check.from)..\(check.to)  \(check.status)"
                    )
                }
            }
            return .failure
        }
        for item in trace.appearances {
            Output.line(
                "\(item.client)/\(item.portal ?? "-"): \(item.file) (sha256 \(item.sha256.prefix(12))..., fetched \(item.fetchedAt ?? "by hand"))"
            )
            let place =
                "    batch \(item.batch), payment \(item.traceNumber ?? "-") of \(item.paymentDate ?? "-") from \(item.payer ?? "-")"
            let onLine = item.line >= 1 ? ", line \(item.line)" : ", payment level"
            switch item.foundAs {
            case "line":
                Output.line(
                    place + onLine + ": \(item.reference) paid \(item.amountPaid) — "
                        + (item.matchStatus.map { $0.replacingOccurrences(of: "_", with: " ") } ?? "not matched yet")
                        + (item.matchedInvoice.map { " to \($0)" } ?? ""))
            case "deduction", "deduction text", "deduction invoice":
                Output.line(
                    place + onLine + ": a deduction of \(item.amountPaid) (\(item.foundAs): \(item.reference))"
                        + (item.matchedInvoice.map { " on the line for \($0)" } ?? ""))
            default:
                Output.line(
                    place + onLine + ": \(item.foundAs) \(item.reference) on the line for \(item.matchedInvoice ?? "-")"
                )
            }
        }
        return .ok
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
            Output.line("ID".padding(5) + " STARTED".padding(23) + "STATUS".padding(13) + "WHAT")
            for run in runs {
                let failed = run.items.filter { !RunLog.goodStatuses.contains($0.status) }.count
                Output.line(
                    "\(String(run.id).padding(5)) \(run.startedAt)  \(run.status.padding(12)) \(run.items.count) credentials, \(failed) failed, "
                        + "\(run.items.map(\.filesNew).reduce(0, +)) new files, \(run.items.map(\.lines).reduce(0, +)) lines"
                )
            }
        }
        return .ok
    }

    static func showRun(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        guard let id = invocation.arguments.first.flatMap({ Int64($0) }) else {
            throw UsageError("give a run id", command: "runs show")
        }
        let log = RunLog(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        guard let run = try log.run(id) else {
            throw GeneralError(code: "run.missing", message: "no run \(id)", exitStatus: .noInput)
        }
        if invocation.json {
            try Output.json(run)
        } else {
            Output.line("run \(run.id): \(run.status), \(run.startedAt) to \(run.finishedAt ?? "-"), \(run.scope)")
            for item in run.items {
                Output.line(
                    "  \("\(item.client)/\(item.portal)".padding(22)) \(item.from)..\(item.to)  \(item.status.padding(18)) "
                        + "\(item.filesNew) new, \(item.filesSeen) seen, \(item.batches) batches, \(item.lines) lines")
                if let message = item.message {
                    Output.line("      \(item.location.map { "\($0): " } ?? "")\(message)")
                }
                for file in item.unreadFiles { Output.line("      unread \(file.file): what to do: \(file.whatToDo)") }
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

    /// What `nightjar check --json` prints.
    struct CheckResult: Encodable {
        struct Entry: Encodable {
            let outcome: String
            let client: String
            let item: String
            let file: String?
            let message: String
            let what_to_do: String
            let run: Int64?
        }
        /// `ok`, `no_run`, `too_old` or `attention`.
        let status: String
        let last_run: Int64?
        let finished_at: String?
        let age_seconds: Int?
        let max_age_seconds: Int
        let credentials: Int?
        let attention: [Entry]
        let message: String
    }

    static func check(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        guard let maxAge = age(invocation.value("max-age") ?? "26h") else {
            throw UsageError("--max-age takes 26h, 90m, 2d", command: "check")
        }
        let log = RunLog(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        func finish(_ result: CheckResult, lines: [String] = []) throws -> ExitStatus {
            if invocation.json {
                try Output.json(result)
            } else {
                Output.line((result.status == "ok" ? "OK: " : "FAIL: ") + result.message)
                for line in lines { Output.line("  " + line) }
            }
            return result.status == "ok" ? .ok : .failure
        }
        guard let run = try log.lastFinished(), let finished = run.finishedAt else {
            return try finish(
                CheckResult(
                    status: "no_run", last_run: nil, finished_at: nil, age_seconds: nil, max_age_seconds: Int(maxAge),
                    credentials: nil, attention: [], message: "no run has finished yet"))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let date = formatter.date(from: finished) ?? plain.date(from: finished) else {
            return try finish(
                CheckResult(
                    status: "no_run", last_run: run.id, finished_at: finished, age_seconds: nil,
                    max_age_seconds: Int(maxAge),
                    credentials: run.items.count, attention: [], message: "run \(run.id) has an unreadable finish time")
            )
        }
        let ageSeconds = Date().timeIntervalSince(date)
        if ageSeconds > maxAge {
            return try finish(
                CheckResult(
                    status: "too_old", last_run: run.id, finished_at: finished, age_seconds: Int(ageSeconds),
                    max_age_seconds: Int(maxAge),
                    credentials: run.items.count, attention: [],
                    message:
                        "the last run (\(run.id)) finished \(Int(ageSeconds / 3600))h ago, more than \(invocation.value("max-age") ?? "26h")"
                ))
        }
        // Each credential's latest part within the window, and every unread file: pending until settled.
        let attention = try NightAttention.list(
            items: try log.latestItems(finishedSince: Logger.timestamp(Date().addingTimeInterval(-maxAge))), run: nil,
            log: log)
        let entries = attention.map {
            CheckResult.Entry(
                outcome: $0.outcome, client: $0.client, item: $0.item, file: $0.file, message: $0.message,
                what_to_do: $0.whatToDo, run: $0.run)
        }
        if !attention.isEmpty {
            return try finish(
                CheckResult(
                    status: "attention", last_run: run.id, finished_at: finished, age_seconds: Int(ageSeconds),
                    max_age_seconds: Int(maxAge),
                    credentials: run.items.count, attention: entries,
                    message:
                        "\(attention.count) thing\(attention.count == 1 ? "" : "s") need\(attention.count == 1 ? "s" : "") attention"
                ),
                lines: attention.map(\.line))
        }
        return try finish(
            CheckResult(
                status: "ok", last_run: run.id, finished_at: finished, age_seconds: Int(ageSeconds),
                max_age_seconds: Int(maxAge),
                credentials: run.items.count, attention: [],
                message:
                    "run \(run.id) finished \(Int(ageSeconds / 60)) min ago, \(run.items.count) credentials, no failures"
            ))
    }
}
