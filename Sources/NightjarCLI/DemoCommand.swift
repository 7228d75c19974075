import Foundation
import NightjarCore

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
        Output.line("3. The night itself")
        Output.line("   Not built yet: the credential vault, the sandbox portals and HTTP sessions, scraper")
        Output.line("   definitions, document import, matching and the morning report. This demo grows with")
        Output.line("   each of them; today it shows the ground they stand on.")
        Output.line("")
        let summary = workspace.reportsDirectory + "/demo-summary.txt"
        let lines = ["Nightjar demo, \(Logger.timestamp())", "workspace: \(root)"]
            + checks.map { "\($0.ok ? "ok" : "FAIL") \($0.name): \($0.detail)" }
        try RedactedFile.write(lines.joined(separator: "\n") + "\n", to: summary)
        Output.line("Summary written to \(summary)")
        if keep == nil {
            Output.line("(pass --keep DIR to keep the workspace; this one is in the system temporary folder)")
        }
        return checks.allSatisfy(\.ok) ? .ok : .failure
    }
}
