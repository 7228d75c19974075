import Foundation
import NightjarAgent
import NightjarCore
import NightjarCrypto
import NightjarDocuments
import NightjarHTTP
import NightjarLedger
import NightjarScript
import NightjarVault

/// `nightjar demo`: the demonstration night in a throw-away workspace, against the sandbox
/// portals started as a child process. It runs the stages that exist and says plainly which do not.
enum DemoCommand {
    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let keep = invocation.value("keep")
        let root =
            keep.map { Workspace.absolute($0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "nightjar-demo-\(ProcessInfo.processInfo.processIdentifier)"
            ).path
        let workspace = Workspace(root: root)
        Output.line("Nightjar demo")
        Output.line("=============")
        Output.line("")
        Output.line("1. Creating a throw-away workspace in \(root)")
        let existed = (try? FileManager.default.contentsOfDirectory(atPath: root)) != nil
        try workspace.create(
            config: WorkspaceConfig(name: "Nightjar demo", timeZone: "America/New_York", defaultCurrency: .usd))
        do {
            return try await build(workspace, keep: keep)
        } catch {
            // A half-built workspace would block the next try: take away what this run made.
            if existed {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
                    try? FileManager.default.removeItem(atPath: root + "/" + name)
                }
            } else {
                try? FileManager.default.removeItem(atPath: root)
            }
            Console.standardError.line("nightjar: the demo failed; removed the half-built workspace \(root)")
            throw error
        }
    }

    /// Every step after the workspace folders exist.
    static func build(_ workspace: Workspace, keep: String?) async throws -> ExitStatus {
        let root = workspace.root
        try WorkspaceDatabase.create(at: workspace.databasePath)
        Output.line(
            "   created nightjar.conf, vault/, scrapers/, profiles/, data/nightjar.sqlite, reports/, logs/ (owner-only)"
        )
        Output.line("")
        Output.line("2. Self-checks (`nightjar doctor`)")
        var checks = [DoctorCommand.hardening(), DoctorCommand.timeZones()] + SystemLibraries.checks()
        checks.append(DoctorCommand.redaction())
        checks.append(DoctorCommand.workspacePermissions(workspace))
        for check in checks { Output.line("   \(check.ok ? "ok  " : "FAIL") \(check.name.padding(20))\(check.detail)") }
        Output.line("")
        var lines =
            ["Nightjar demo, \(Logger.timestamp())", "workspace: \(root)"]
            + checks.map { "\($0.ok ? "ok" : "FAIL") \($0.name): \($0.detail)" }
        Output.line("3. Starting the sandbox portals (nightjar-sandbox, on 127.0.0.1 only)")
        let sandbox = try Sandbox.start(invoicesFolder: root + "/data/erp-export")
        defer { sandbox.stop() }
        for (name, origin) in sandbox.origins.sorted(by: { $0.key < $1.key }) {
            Output.line("   \(name.padding(10)) \(origin)")
        }
        Output.line("")
        Output.line("4. The credential vault")
        let (vaultLines, adminPassphrase) = try demoVault(workspace, sandbox: sandbox)
        for line in vaultLines { Output.line("   " + line) }
        lines += vaultLines
        Output.line("")
        Output.line(
            "5. The night (`nightjar run`): each client's portals through their approved definitions, files into")
        Output.line("   the inbox and imported as they land, then matching and the run summary")
        let (fetchLines, morningReport) = try await fetchAndImport(workspace, sandbox: sandbox)
        for line in fetchLines { Output.line("   " + line) }
        lines += fetchLines
        Output.line("")
        Output.line("6. Your turn, as finance would in the morning")
        Output.line("   nightjar --home \(root) batch show 1")
        Output.line("   nightjar --home \(root) batches --exceptions")
        Output.line(
            "   echo \(demoReviewerPassphrase) | nightjar --home \(root) batch approve 1 --as demo-reviewer --passphrase-stdin"
        )
        Output.line("     (a batch with exceptions: add --accept-exceptions --reason \"...\")")
        Output.line("   nightjar --home \(root) batch export 1 --format hledger --out \(root)/batch-1.journal")
        Output.line("   nightjar --home \(root) po list; nightjar --home \(root) po log")
        Output.line("   In a browser: nightjar --home \(root) serve --key-file \(root)/vault/site.key")
        Output.line("   then open http://127.0.0.1:8080/ and sign in as demo-reviewer with \(demoReviewerPassphrase)")
        Output.line("   As the demo's admin (throw-away passphrase \(adminPassphrase), this workspace only):")
        Output.line(
            "        echo \(adminPassphrase) | nightjar --home \(root) vault list --as demo-admin --passphrase-stdin")
        Output.line("   Try: nightjar --home \(root) runs show 1")
        Output.line(
            "        nightjar --home \(root) run --key-file \(root)/vault/night.key   (everything again: seen, not imported twice)"
        )
        Output.line("")
        let summary = workspace.reportsDirectory + "/demo-summary.txt"
        try RedactedFile.write(lines.joined(separator: "\n") + "\n", to: summary)
        Output.line("Summary written to \(summary)")
        Output.line("The morning report is at \(morningReport) (open it in a browser; it prints well)")
        Output.line("Try: nightjar --home \(root) batches")
        if keep == nil {
            Output.line(
                "(pass --keep DIR to keep the workspace somewhere else; this one is in the system temporary folder)")
        }
        return checks.allSatisfy(\.ok) ? .ok : .failure
    }

    static let portals = ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"]
    /// The throw-away demo vault's reviewer passphrase (printed on purpose: demo only).
    static let demoReviewerPassphrase = "demo-reviewer-passphrase"

    /// Creates a vault holding every sandbox account (password and TOTP secret), each bound to
    /// its portal's origin; points the workspace at the sandbox; installs and approves the
    /// definitions; writes an automation key and unlocks with it, as the night run will.
    static func demoVault(_ workspace: Workspace, sandbox: Sandbox) throws -> (lines: [String], adminPassphrase: String)
    {
        let paths = VaultCommands.paths(workspace)
        // Printed on purpose (throw-away demo vault only), so the admin steps can be tried on it.
        let adminPassphrase = "demo-admin-" + SecureRandom.bytes(6).hexString
        let passphrase = SecretBytes(utf8: adminPassphrase)
        _ = try Vault.create(paths: paths, adminName: "demo-admin", passphrase: passphrase)
        let keyPath = workspace.vaultDirectory + "/night.key"
        var config = try workspace.requireExisting()
        for portal in portals { config.origins[portal] = sandbox.origins[portal] }
        try SecureFile.writeAtomically(Array(config.rendered().utf8), to: workspace.configPath, mode: 0o600)
        var definitions: [ScraperDefinition] = []
        for portal in portals {
            guard let text = ExampleCommands.text("scrapers/\(portal).scraper") else {
                throw GeneralError(
                    code: "demo.no_scrapers", message: "this binary holds no scrapers/\(portal).scraper",
                    exitStatus: .software)
            }
            try SecureFile.writeAtomically(
                Array(text.utf8), to: workspace.scrapersDirectory + "/\(portal).scraper", mode: 0o600)
            definitions.append(try ScraperChecker.load(text, file: "scrapers/\(portal).scraper"))
        }
        // The layouts the sandbox portals serve: sandbox-html-portal's CSV advice, sandbox-totp-portal's workbook, sandbox-json-api's JSON.
        var profileDigests: [(String, String)] = []
        for name in ["sandbox-html-portal-remittance", "sandbox-totp-portal-remittance", "sandbox-json-api-remittance"]
        {
            if let profile = ExampleCommands.text("docs/examples/\(name).profile") {
                let bytes = Array(profile.utf8)
                try SecureFile.writeAtomically(bytes, to: workspace.profilesDirectory + "/\(name).profile", mode: 0o600)
                profileDigests.append((name, SHA256.hash(bytes).hexString))
            }
        }
        let accounts = sandbox.accounts.filter { portals.contains($0.portal) }
        try Vault.update(paths: paths, as: .passphrase(name: "demo-admin", passphrase)) { vault in
            for account in accounts {
                try vault.addEntry(
                    client: account.client, portal: account.portal,
                    CredentialInput(
                        username: SecretBytes(utf8: account.username), password: SecretBytes(utf8: account.password),
                        totp: try TOTPSettings.parse(SecretBytes(utf8: account.totpSecret)),
                        allowedOrigins: [try Origin(sandbox.origins[account.portal] ?? "")],
                        expires: CalendarDate.today(in: .current).adding(days: 10)))
            }
            for definition in definitions {
                try vault.approveScraper(portal: definition.portal, sha256: definition.sha256)
            }
            for (name, digest) in profileDigests { try vault.approve(.profile, name: name, sha256: digest) }
            // A reviewer holds no client key; this throw-away vault's reviewer has a printed passphrase
            // and reviews every client.
            try vault.addOperator(
                name: "demo-reviewer", roles: [.reviewer], passphrase: SecretBytes(utf8: demoReviewerPassphrase))
            try vault.grantReview(to: "demo-reviewer", client: nil)
            try vault.createAutomationKey(name: "night", clients: nil).write(to: keyPath)
            // The review site's own key: it signs the site's audit records and opens no client.
            try vault.createAutomationKey(name: "site", clients: []).write(to: workspace.vaultDirectory + "/site.key")
        }
        let night = try Vault.open(paths: paths, as: .automationKey(try AutomationKey.load(path: keyPath)))
        let (count, head) = try night.verifyAudit()
        return (
            [
                "created \(paths.vault) with admin demo-admin (passphrase \(adminPassphrase)) and a recovery key",
                "added \(accounts.count) credentials (3 clients x 3 portals, passwords and TOTP secrets), each bound to its portal's origin",
                "installed scrapers/sandbox-html-portal, sandbox-json-api and sandbox-totp-portal.scraper and the profiles of their layouts; the admin approved each version (sha256, signed in the vault's authority chain)",
                "wrote an automation key (mode 0600) and unlocked unattended with it, as the night run will",
                "wrote the review site's key (vault/site.key, no client), for `nightjar serve`",
                "expiring within 14 days: \(try night.list().filter { ($0.expires ?? "9999") <= CalendarDate.today(in: .current).adding(days: 14).description }.count)",
                "audit log verified: \(count) signed records, chain head \(head.prefix(16))...",
            ], adminPassphrase
        )
    }

    /// Loads each client's open invoices, then runs the night (`nightjar run`'s machinery) with
    /// the automation key: every approved definition for every credential, files into the inbox
    /// and imported as they land, then matching and the run summary.
    static func fetchAndImport(_ workspace: Workspace, sandbox: Sandbox) async throws -> (
        lines: [String], morningReport: String
    ) {
        let paths = VaultCommands.paths(workspace)
        let config = try workspace.requireExisting()
        let night = try Vault.open(
            paths: paths, as: .automationKey(try AutomationKey.load(path: workspace.vaultDirectory + "/night.key")))
        let entries = try night.list()
        let credentials = try night.credentials(entries.map(\.name), purpose: .use(run: "demo"))
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: workspace.databasePath))
        var lines: [String] = []
        for client in Set(credentials.map(\.client)).sorted() {
            let invoices = try Array(
                Data(contentsOf: URL(fileURLWithPath: workspace.root + "/data/erp-export/\(client)-open-invoices.csv")))
            let loaded = try ledger.importOpenInvoices(
                try OpenInvoiceReader.read(invoices, defaultCurrency: config.defaultCurrency), bytes: invoices,
                name: "\(client)-open-invoices.csv", client: ClientID(client))
            // Each retailer's payer id and name, as its portal writes them, is one of the client's customers.
            for account in sandbox.accounts where account.client == client && portals.contains(account.portal) {
                let customer = "\(client.uppercased())-C\((portals.firstIndex(of: account.portal) ?? 0) + 1)"
                try ledger.addCustomerAlias(client: ClientID(client), alias: account.payerID, customerID: customer)
                try ledger.addCustomerAlias(client: ClientID(client), alias: account.payerName, customerID: customer)
            }
            lines.append(
                "\(client): \(loaded.invoicesCreated) open invoices loaded from its ERP export; each portal's payer mapped to its customer"
            )
        }
        let range = try DateRange(from: try CalendarDate(iso: "2026-08-01"), to: try CalendarDate(iso: "2026-11-30"))
        var jobs: [NightJob] = []
        for entry in credentials {
            let (definition, _) = try ScraperCommands.loadDefinition(entry.portal, workspace: workspace)
            guard night.isApproved(portal: definition.portal, sha256: definition.sha256) else { continue }
            jobs.append(
                NightJob(
                    credential: ScraperCommands.scriptCredential(entry), definition: definition, range: range,
                    originOverrides: config.originOverrides(
                        client: entry.client, portal: entry.portal, firstOrigin: definition.origins[0].name)))
        }
        let opener = WorkspaceDatabase.opener(workspace)
        let importer = RemittanceFileImporter(
            defaultCurrency: config.defaultCurrency,
            profiles: try FileApprovals.approvedProfiles(workspace, vault: night).profiles)
        try night.verifyAuthority()
        let runner = NightRunner(
            jobs: jobs,
            book: try NightBook(
                open: opener, importer: importer, inbox: Inbox(root: workspace.inboxDirectory),
                rules: MatchingRulesFiles(directory: workspace.rulesDirectory)),
            stagingDirectory: workspace.dataDirectory + "/staging", reportsDirectory: workspace.reportsDirectory,
            loginGuard: DatabaseLoginGuard(open: opener), totp: TOTPCodeSource(store: DatabaseTOTPStore(open: opener)))
        let report = try await runner.run(scope: "demo: all clients / all portals")
        lines += NightRunner.summaryText(report, paint: Console.standardOutput.paint).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init).filter { !$0.isEmpty }
        lines.append("run summary: \(report.reportPath); HAR files of each credential beside it (redacted)")
        lines.append("morning report: \(report.morningReportPath)")
        // Supplier documents: the distributor's invoices (810) to each client's stores become purchase orders.
        let orders = PurchaseOrders(database: try WorkspaceDatabase.open(at: workspace.databasePath))
        for client in Set(credentials.map(\.client)).sorted() {
            for name in ["suppliers", "locations", "products"] {
                let path = workspace.root + "/data/erp-export/\(client)-\(name).csv"
                if let data = FileManager.default.contents(atPath: path) {
                    _ = try orders.importCatalog(String(decoding: data, as: UTF8.self), client: client, file: path)
                }
            }
        }
        let supplierJobs = jobs.filter { $0.definition.block(for: .invoice) != nil }
        let supplierRunner = NightRunner(
            jobs: supplierJobs,
            book: try NightBook(
                open: opener, importer: importer, inbox: Inbox(root: workspace.inboxDirectory),
                rules: MatchingRulesFiles(directory: workspace.rulesDirectory)),
            kinds: [.invoice], stagingDirectory: workspace.dataDirectory + "/staging",
            reportsDirectory: workspace.reportsDirectory,
            loginGuard: DatabaseLoginGuard(open: opener), totp: TOTPCodeSource(store: DatabaseTOTPStore(open: opener)))
        _ = try await supplierRunner.run(scope: "demo: supplier documents")
        let created = try orders.orders(client: nil, status: nil)
        let unmapped = try orders.processingLog(date: nil, client: nil).flatMap(\.unmapped).count
        lines.append(
            "supplier documents: \(created.count) purchase orders from the distributor's 810 invoices (\(unmapped) items to map: nightjar po log)"
        )
        return (lines, report.morningReportPath)
    }
}

/// The sandbox portals as a child process: started, described, and stopped by closing its input.
struct Sandbox {
    let process: Process
    let input: Pipe
    let origins: [String: String]
    /// Each sandbox account, with the payer id and name its portal's retailer writes in remittances.
    let accounts:
        [(
            client: String, portal: String, username: String, password: String, totpSecret: String, payerID: String,
            payerName: String
        )]

    static func start(invoicesFolder: String) throws -> Sandbox {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
            .appendingPathComponent("nightjar-sandbox")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw GeneralError(
                code: "demo.no_sandbox",
                message:
                    "nightjar-sandbox is not next to nightjar (\(executable.path)); build it with `swift build -c release`",
                exitStatus: .noInput)
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--json", "--until-stdin-closes", "--write-open-invoices", invoicesFolder]
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        var line = Data()
        while !line.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            process.terminate()
            throw GeneralError(code: "demo.sandbox_failed", message: "the sandbox did not start", exitStatus: .software)
        }
        let accounts = ((object["accounts"] as? [[String: Any]]) ?? []).map {
            (
                $0["client"] as? String ?? "", $0["portal"] as? String ?? "", $0["username"] as? String ?? "",
                $0["password"] as? String ?? "",
                $0["totp_secret"] as? String ?? "", $0["payer_id"] as? String ?? "", $0["payer_name"] as? String ?? ""
            )
        }
        for account in accounts { Redactor.shared.register(text: account.3) }
        return Sandbox(
            process: process, input: input, origins: object["portals"] as? [String: String] ?? [:], accounts: accounts)
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
