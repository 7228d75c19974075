import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox

@testable import NightjarScript

/// Shared helpers: the repository's scrapers/, sandbox credentials, temporary folders, runs.
enum ScriptTestSupport {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func shipped(_ portal: String) throws -> ScraperDefinition {
        let path = repositoryRoot + "/scrapers/\(portal).scraper"
        return try ScraperChecker.load(
            try String(contentsOfFile: path, encoding: .utf8), file: "scrapers/\(portal).scraper")
    }

    static func parse(_ text: String) throws -> ScraperDefinition {
        try ScraperChecker.load(text, file: "test.scraper")
    }

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nightjar-script-\(UUID().uuidString)")
            .path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func credential(
        _ portals: SandboxPortals, client: String, portal: String, password: String? = nil,
        allowed: [String]? = nil
    ) -> ScriptCredential {
        let account = portals.data.account(client: client, portal: portal)!
        let origin = portals.origins[portal]!
        let secret = account.totpSecret
        let generator: @Sendable (UInt64) -> String = { time in SandboxPortals.totp(secret: secret, time: time) }
        let fields: [String: String] = ["username": account.username, "password": password ?? account.password]
        return ScriptCredential(
            client: client, portal: portal, fields: fields, allowedOrigins: allowed ?? [origin],
            totp: secret.isEmpty ? nil : generator)
    }

    static func quickSession() -> HTTPSession {
        var limits = TransferLimits()
        limits.totalTimeout = .seconds(10)
        limits.connectTimeout = .seconds(5)
        var retry = RetryPolicy()
        retry.baseDelay = .milliseconds(20)
        retry.maximumDelay = .milliseconds(100)
        return HTTPSession(limits: limits, retry: retry)
    }

    static func range(_ from: String = "2026-01-01", _ to: String = "2026-12-31") -> DateRange {
        try! DateRange(from: try! CalendarDate(iso: from), to: try! CalendarDate(iso: to))
    }

    /// Runs a definition against the sandbox with one client's credential.
    static func run(
        _ definition: ScraperDefinition, portals: SandboxPortals, client: String, portal: String? = nil,
        credential: ScriptCredential? = nil, range: DateRange = range(), transport: (any ScriptTransport)? = nil,
        originOverrides: [String: String]? = nil, loginGuard: (any LoginGuard)? = nil,
        prompt: (any OneTimeCodePrompt)? = nil,
        dryRun: Bool = false, totp: TOTPCodeSource = TOTPCodeSource(), lines: Lines? = nil
    ) async -> ScraperOutcome {
        let portalName = portal ?? definition.portal
        let name = definition.origins[0].name
        let interpreter = ScraperInterpreter(
            definition: definition,
            credential: credential ?? self.credential(portals, client: client, portal: portalName),
            transport: transport ?? quickSession(),
            options: ScraperRunOptions(
                range: range, originOverrides: originOverrides ?? [name: portals.origins[portalName]!],
                downloadDirectory: temporaryDirectory(), dryRun: dryRun),
            loginGuard: loginGuard, prompt: prompt, totp: totp, trace: { line in lines?.append(line) })
        return await interpreter.run()
    }
}

/// Collected trace lines.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var all: [String] { lock.withLock { stored } }
}

/// A TOTP clock that jumps ahead instead of sleeping: the first code is the real current one,
/// a second login gets the next period's (which the sandbox accepts, as portals allow for skew).
func jumpingTOTP() -> TOTPCodeSource {
    let offset = OSAllocatedOffset()
    return TOTPCodeSource(now: { Date().timeIntervalSince1970 + offset.value }, sleep: { offset.add($0) })
}

final class OSAllocatedOffset: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = 0.0
    var value: Double { lock.withLock { stored } }
    func add(_ seconds: Double) { lock.withLock { stored += seconds } }
}
