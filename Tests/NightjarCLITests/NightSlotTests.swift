import Foundation
import NightjarAgent
import NightjarCore
import NightjarDocuments
import NightjarSandbox
import NightjarScript
import Testing

@testable import NightjarCLI

/// A credential that must wait for a fresh one-time-code period waits outside the night's
/// concurrency slots: with one slot, the other credential runs while it waits.
@Suite("night slots", .serialized)
struct NightSlotTests {
    final class Trace: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ line: String) { lock.withLock { stored.append(line) } }
        var lines: [String] { lock.withLock { stored } }
    }

    final class Offset: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds: Double
        init(_ seconds: Double) { self.seconds = seconds }
        var value: Double { lock.withLock { seconds } }
    }

    @Test func aOneTimeCodeWaitDoesNotHoldASlot() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-slots-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/nightjar.sqlite"
        try WorkspaceDatabase.create(at: database)

        // A clock one second before a period ends: sandbox-totp-portal's login must wait for the next one.
        let now = Date().timeIntervalSince1970
        let clock = Offset((floor(now / 30) + 1) * 30 - 1 - now)
        let totp = TOTPCodeSource(
            now: { Date().timeIntervalSince1970 + clock.value },
            sleep: { try await Task.sleep(for: .milliseconds(Int($0 * 1000))) })

        let repository = ScraperCommandTests.repository
        func job(_ portal: String) throws -> NightJob {
            let definition = try ScraperChecker.load(
                try String(contentsOfFile: repository + "/scrapers/\(portal).scraper", encoding: .utf8),
                file: "\(portal).scraper")
            let account = portals.data.account(client: "acme", portal: portal)!
            let secret: String = account.totpSecret
            let generator: @Sendable (UInt64) -> String = { time in SandboxPortals.totp(secret: secret, time: time) }
            let fields: [String: String] = ["username": account.username, "password": account.password]
            let origin: String = portals.origins[portal]!
            let credential = ScriptCredential(
                client: "acme", portal: portal, fields: fields, allowedOrigins: [origin],
                totp: secret.isEmpty ? nil : generator)
            return NightJob(
                credential: credential, definition: definition,
                range: try DateRange(
                    from: try CalendarDate(iso: "2026-09-01"), to: try CalendarDate(iso: "2026-09-30")),
                originOverrides: [definition.origins[0].name: portals.origins[portal]!])
        }
        let totpPortal = try job("sandbox-totp-portal")
        let jsonAPI = try job("sandbox-json-api")
        #expect(totpPortal.definition.loginUsesTOTP && totp.waitBeforeLogin(for: totpPortal.credential) > 0)

        let profile = try LayoutProfileParser.parse(
            try String(
                contentsOfFile: repository + "/docs/examples/sandbox-totp-portal-remittance.profile", encoding: .utf8),
            file: "sandbox-totp-portal-remittance.profile")
        let book = try NightBook(
            open: { try WorkspaceDatabase.open(at: database) },
            importer: RemittanceFileImporter(defaultCurrency: .usd, profiles: [profile]),
            inbox: Inbox(root: folder + "/inbox"))
        let trace = Trace()
        // sandbox-totp-portal comes first in the night's order and there is one slot.
        let runner = NightRunner(
            jobs: [totpPortal, jsonAPI], book: book, stagingDirectory: folder + "/staging",
            reportsDirectory: folder + "/reports",
            maximumConcurrent: 1, loginGuard: nil, totp: totp, trace: { trace.append($0) })
        let report = try await runner.run(scope: "slots")
        #expect(report.run.items.map(\.status) == ["ok", "ok"], "\(report.run.items)")
        let lines = trace.lines
        let jsonAPIDone = try #require(lines.firstIndex(of: "acme/sandbox-json-api: ok"), "\(lines)")
        let totpPortalLogin = try #require(
            lines.firstIndex { $0.hasPrefix("acme/sandbox-totp-portal: logging in") }, "\(lines)")
        #expect(jsonAPIDone < totpPortalLogin, "sandbox-json-api must run while sandbox-totp-portal waits: \(lines)")
    }
}
