import Foundation
import NightjarCore
import NightjarCrypto
import NightjarVault

/// `nightjar demo`: the demonstration night in a throw-away workspace. It runs the stages that
/// exist and says plainly which do not yet.
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
        Output.line("3. The credential vault")
        let vaultLines = try demoVault(workspace)
        for line in vaultLines { Output.line("   " + line) }
        Output.line("")
        Output.line("4. The night itself")
        Output.line("   Not built yet: the sandbox portals and HTTP sessions, scraper definitions, document")
        Output.line("   import, matching and the morning report. This demo grows with each of them; today it")
        Output.line("   shows the ground they stand on and the vault the night will unlock.")
        Output.line("")
        let summary = workspace.reportsDirectory + "/demo-summary.txt"
        let lines = ["Nightjar demo, \(Logger.timestamp())", "workspace: \(root)"]
            + checks.map { "\($0.ok ? "ok" : "FAIL") \($0.name): \($0.detail)" } + vaultLines
        try RedactedFile.write(lines.joined(separator: "\n") + "\n", to: summary)
        Output.line("Summary written to \(summary)")
        if keep == nil {
            Output.line("(pass --keep DIR to keep the workspace; this one is in the system temporary folder)")
        }
        return checks.allSatisfy(\.ok) ? .ok : .failure
    }

    /// Creates a vault with three demo clients, then opens it unattended with an automation key,
    /// as the night run will, and verifies the audit chain.
    static func demoVault(_ workspace: Workspace) throws -> [String] {
        let paths = VaultCommands.paths(workspace)
        let passphrase = SecretBytes(utf8: "demo-" + SecureRandom.bytes(9).hexString)
        _ = try Vault.create(paths: paths, adminName: "demo-admin", passphrase: passphrase)
        let admin = UnlockMethod.passphrase(name: "demo-admin", passphrase)
        let keyPath = workspace.vaultDirectory + "/night.key"
        let clients = [("acme", "northwind", "https://127.0.0.1"), ("globex", "tailspin", "https://127.0.0.1"),
                       ("initech", "contoso", "https://127.0.0.1")]
        try Vault.update(paths: paths, as: admin) { vault in
            for (client, portal, origin) in clients {
                try vault.addEntry(client: client, portal: portal, CredentialInput(
                    username: SecretBytes(utf8: "ar@\(client).example"), password: SecretBytes(utf8: "demo-" + SecureRandom.bytes(12).hexString),
                    allowedOrigins: [try Origin(origin)], expires: CalendarDate.today(in: .current).adding(days: 10)))
            }
            try vault.createAutomationKey(name: "night", clients: nil).write(to: keyPath)
        }
        let night = try Vault.open(paths: paths, as: .automationKey(try AutomationKey.load(path: keyPath)))
        let names = try night.list().map { (client: $0.client, portal: $0.portal) }
        let credentials = try night.credentials(names, purpose: .use(run: "demo"))
        let (count, head) = try night.verifyAudit()
        return ["created \(paths.vault) with admin demo-admin and a recovery key",
                "added \(clients.count) credentials (acme, globex, initech), each bound to its portal's origin",
                "wrote an automation key (mode 0600) and unlocked unattended with it, as the night run will",
                "decrypted \(credentials.count) credentials for run \"demo\"; their secrets are registered with the redactor",
                "expiring within 14 days: \(try night.list().filter { ($0.expires ?? "9999") <= CalendarDate.today(in: .current).adding(days: 14).description }.count)",
                "audit log verified: \(count) signed records, chain head \(head.prefix(16))..."]
    }
}
