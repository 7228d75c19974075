import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// A login that sends a one-time code waits for a fresh period before its first request, so the
/// code is still good when the portal checks it after the password step.
@Suite struct TOTPTimingTests {
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var time: Double
        private(set) var slept: [Double] = []
        init(_ time: Double) { self.time = time }
        var now: Double { lock.withLock { time } }
        func sleep(_ seconds: Double) {
            lock.withLock {
                time += seconds
                slept.append(seconds)
            }
        }
    }

    static func credential() -> ScriptCredential {
        ScriptCredential(
            client: "acme", portal: "sandbox-totp-portal", fields: [:], allowedOrigins: [], totp: { _ in "123456" })
    }

    @Test func withFewSecondsLeftOrACodeAlreadyUsedTheLoginWaits() async throws {
        let periodStart = 1_800_000_000.0
        let late = Clock(periodStart + 27)
        let lateSource = TOTPCodeSource(now: { late.now }, sleep: { late.sleep($0) })
        #expect(abs(lateSource.waitBeforeLogin(for: TOTPTimingTests.credential()) - 3.05) < 0.001)
        let clock = Clock(periodStart + 10)
        let source = TOTPCodeSource(now: { clock.now }, sleep: { clock.sleep($0) })
        #expect(source.waitBeforeLogin(for: TOTPTimingTests.credential()) == 0)
        _ = try await source.code(for: TOTPTimingTests.credential())
        // This period's code is spent: the next login waits for the next period.
        #expect(abs(source.waitBeforeLogin(for: TOTPTimingTests.credential()) - 20.05) < 0.001)
    }

    @Test func theWaitHappensBeforeTheFirstRequestAndIsSaid() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let now = Date().timeIntervalSince1970
        let offset = OSAllocatedOffset()
        // Start two seconds before the end of the real current period.
        offset.add(30 - now.truncatingRemainder(dividingBy: 30) - 2)
        let source = TOTPCodeSource(now: { Date().timeIntervalSince1970 + offset.value }, sleep: { offset.add($0) })
        let lines = Lines()
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-totp-portal"), portals: portals, client: "acme",
            range: ScriptTestSupport.range("2026-08-01", "2026-08-31"), totp: source, lines: lines)
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        let waiting = try #require(
            lines.all.firstIndex { $0.hasPrefix("waiting") && $0.contains("fresh one-time-code period") })
        let firstRequest = try #require(lines.all.firstIndex { $0.hasPrefix("GET") || $0.hasPrefix("POST") })
        #expect(waiting < firstRequest)
    }
}
