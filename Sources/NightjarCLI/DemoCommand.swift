import Foundation
import NightjarCore
import NightjarCrypto
import NightjarDocuments
import NightjarHTTP
import NightjarLedger
import NightjarVault

/// `nightjar demo`: the demonstration night in a throw-away workspace, against the sandbox
/// portals started as a child process. It runs the stages that exist and says plainly which do not.
enum DemoCommand {
    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let keep = invocation.value("keep")
        let root = keep.map { Workspace.absolute($0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("nightjar-demo-\(ProcessInfo.processInfo.processIdentifier)").path
        let workspace = Workspace(root: root)
        Output.line("Nightjar demo")
        Output.line("=============")
        Output.line("")
        Output.line("1. Creating a throw-away workspace in \(root)")
        try workspace.create(config: WorkspaceConfig(name: "Nightjar demo", timeZone: "America/New_York", defaultCurrency: .usd))
        try WorkspaceDatabase.create(at: workspace.databasePath)
        Output.line("   created nightjar.conf, vault/, scrapers/, profiles/, data/nightjar.sqlite, reports/, logs/ (owner-only)")
        Output.line("")
        Output.line("2. Self-checks (`nightjar doctor`)")
        var checks = [DoctorCommand.hardening(), DoctorCommand.timeZones()] + SystemLibraries.checks()
        checks.append(DoctorCommand.redaction())
        checks.append(DoctorCommand.workspacePermissions(workspace))
        for check in checks { Output.line("   \(check.ok ? "ok  " : "FAIL") \(check.name.padding(20))\(check.detail)") }
        Output.line("")
        var lines = ["Nightjar demo, \(Logger.timestamp())", "workspace: \(root)"] + checks.map { "\($0.ok ? "ok" : "FAIL") \($0.name): \($0.detail)" }
        Output.line("3. Starting the sandbox portals (nightjar-sandbox, on 127.0.0.1 only)")
        let sandbox = try Sandbox.start(invoicesFolder: root + "/data/erp-export")
        defer { sandbox.stop() }
        for (name, origin) in sandbox.origins.sorted(by: { $0.key < $1.key }) { Output.line("   \(name.padding(10)) \(origin)") }
        Output.line("")
        Output.line("4. The credential vault")
        let vaultLines = try demoVault(workspace, sandbox: sandbox)
        for line in vaultLines { Output.line("   " + line) }
        lines += vaultLines
        Output.line("")
        Output.line("5. Fetching remittances from the Tailspin portal (token login, cursor pages, X12 820 downloads)")
        let fetchLines = try await fetchAndImport(workspace, sandbox: sandbox)
        for line in fetchLines { Output.line("   " + line) }
        lines += fetchLines
        Output.line("")
        Output.line("6. Not built yet")
        Output.line("   The scraper-definition language (so the Northwind and Contoso portals, and Tailspin")
        Output.line("   beyond this built-in sequence, are not visited), the night run, review and approval,")
        Output.line("   the morning report, review and GL export. This demo grows with each of them.")
        Output.line("")
        let summary = workspace.reportsDirectory + "/demo-summary.txt"
        try RedactedFile.write(lines.joined(separator: "\n") + "\n", to: summary)
        Output.line("Summary written to \(summary)")
        Output.line("Try: nightjar --home \(root) batches")
        if keep == nil {
            Output.line("(pass --keep DIR to keep the workspace somewhere else; this one is in the system temporary folder)")
        }
        return checks.allSatisfy(\.ok) ? .ok : .failure
    }

    /// Creates a vault holding the sandbox's demo accounts for Tailspin, bound to its origin, then
    /// opens it unattended with an automation key, as the night run will.
    static func demoVault(_ workspace: Workspace, sandbox: Sandbox) throws -> [String] {
        let paths = VaultCommands.paths(workspace)
        let passphrase = SecretBytes(utf8: "demo-" + SecureRandom.bytes(9).hexString)
        _ = try Vault.create(paths: paths, adminName: "demo-admin", passphrase: passphrase)
        let keyPath = workspace.vaultDirectory + "/night.key"
        let origin = try Origin(sandbox.origins["tailspin"] ?? "")
        let accounts = sandbox.accounts.filter { $0.portal == "tailspin" }
        try Vault.update(paths: paths, as: .passphrase(name: "demo-admin", passphrase)) { vault in
            for account in accounts {
                try vault.addEntry(client: account.client, portal: "tailspin", CredentialInput(
                    username: SecretBytes(utf8: account.username), password: SecretBytes(utf8: account.password),
                    allowedOrigins: [origin], expires: CalendarDate.today(in: .current).adding(days: 10)))
            }
            try vault.createAutomationKey(name: "night", clients: nil).write(to: keyPath)
        }
        let night = try Vault.open(paths: paths, as: .automationKey(try AutomationKey.load(path: keyPath)))
        let (count, head) = try night.verifyAudit()
        return ["created \(paths.vault) with admin demo-admin and a recovery key",
                "added \(accounts.count) Tailspin credentials (acme, globex, initech), each bound to \(origin)",
                "wrote an automation key (mode 0600) and unlocked unattended with it, as the night run will",
                "expiring within 14 days: \(try night.list().filter { ($0.expires ?? "9999") <= CalendarDate.today(in: .current).adding(days: 14).description }.count)",
                "audit log verified: \(count) signed records, chain head \(head.prefix(16))..."]
    }

    /// Until scraper definitions exist, the demo visits Tailspin with a built-in sequence: the
    /// steps its definition will hold. Credentials come from the vault; every byte goes through
    /// the redactor; the exchanges are recorded as a HAR file.
    static func fetchAndImport(_ workspace: Workspace, sandbox: Sandbox) async throws -> [String] {
        let paths = VaultCommands.paths(workspace)
        let night = try Vault.open(paths: paths, as: .automationKey(try AutomationKey.load(path: workspace.vaultDirectory + "/night.key")))
        let names = try night.list().map { (client: $0.client, portal: $0.portal) }
        let credentials = try night.credentials(names, purpose: .use(run: "demo"))
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: workspace.databasePath))
        var lines: [String] = []
        let base = sandbox.origins["tailspin"] ?? ""
        for credential in credentials {
            guard credential.allowedOrigins.contains(where: { $0.description == (try? Origin(base))?.description }),
                  let username = credential.username?.unsafeUTF8String(), let password = credential.password?.unsafeUTF8String() else {
                lines.append("\(credential.name): refused (not bound to \(base))")
                continue
            }
            let invoices = try Array(Data(contentsOf: URL(fileURLWithPath: workspace.root + "/data/erp-export/\(credential.client)-open-invoices.csv")))
            let loaded = try ledger.importOpenInvoices(try OpenInvoiceReader.read(invoices, defaultCurrency: .usd), bytes: invoices,
                                                       name: "\(credential.client)-open-invoices.csv", client: credential.client)
            let recorder = HARRecorder()
            let session = HTTPSession(recorder: recorder)
            let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
            let grant = try await session.send(HTTPRequest(.post, base + "/api/token", body: .json(Array(body)), retryable: false))
            guard grant.status == 200, let token = (try JSONSerialization.jsonObject(with: Data(grant.body)) as? [String: Any])?["access_token"] as? String else {
                lines.append("\(credential.name): login failed (HTTP \(grant.status))")
                continue
            }
            Redactor.shared.register(text: token)
            var cursor: String? = "0"
            var files = 0, batches = 0, outOfBalance = 0, pages = 0
            while let current = cursor, pages < 50 {
                pages += 1
                let page = try await session.send(HTTPRequest(.get, base + "/api/remittances",
                                                              query: [("from", "2026-08-01"), ("to", "2026-12-31"), ("cursor", current)],
                                                              headers: [("Authorization", "Bearer \(token)")]))
                let object = try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any]
                for item in (object?["items"] as? [[String: Any]]) ?? [] {
                    guard let id = item["id"] as? String else { continue }
                    let file = try await session.download(HTTPRequest(.get, base + "/api/remittances/\(id)/file",
                                                                      headers: [("Authorization", "Bearer \(token)")]),
                                                          to: workspace.inboxDirectory)
                    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file.path)))
                    let advices = try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: (file.path as NSString).lastPathComponent)
                    let result = try ledger.importRemittances(advices, bytes: bytes, name: (file.path as NSString).lastPathComponent,
                                                              client: credential.client, format: "x12-820", portal: "tailspin")
                    files += 1
                    batches += result.batches
                    outOfBalance += result.outOfBalance
                }
                cursor = object?["next_cursor"] as? String
            }
            let har = workspace.reportsDirectory + "/\(credential.client)-tailspin.har"
            try recorder.write(to: har)
            lines.append("\(credential.name): \(loaded.invoicesCreated) open invoices loaded; \(files) files downloaded (hashed), \(batches) batches imported"
                + (outOfBalance > 0 ? ", \(outOfBalance) out of balance" : ", all balanced") + "; exchanges in \(har)")
        }
        return lines
    }
}

/// The sandbox portals as a child process: started, described, and stopped by closing its input.
struct Sandbox {
    let process: Process
    let input: Pipe
    let origins: [String: String]
    let accounts: [(client: String, portal: String, username: String, password: String)]

    static func start(invoicesFolder: String) throws -> Sandbox {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("nightjar-sandbox")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw GeneralError(code: "demo.no_sandbox", message: "nightjar-sandbox is not next to nightjar (\(executable.path)); build it with `swift build -c release`",
                               exitStatus: .noInput)
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--json", "--write-open-invoices", invoicesFolder]
        let output = Pipe(), input = Pipe()
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
            ($0["client"] as? String ?? "", $0["portal"] as? String ?? "", $0["username"] as? String ?? "", $0["password"] as? String ?? "")
        }
        for account in accounts { Redactor.shared.register(text: account.3) }
        return Sandbox(process: process, input: input, origins: object["portals"] as? [String: String] ?? [:], accounts: accounts)
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
