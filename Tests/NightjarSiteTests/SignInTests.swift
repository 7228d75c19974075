import Foundation
import NightjarCore
import NightjarCrypto
import NightjarLedger
import NightjarStore
@_spi(Testing) import NightjarVault
import Testing

@testable import NightjarSite

/// A clock the test moves.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now = Date(timeIntervalSince1970: 1_790_000_000)
    var date: Date {
        lock.lock()
        defer { lock.unlock() }
        return now
    }
    func advance(_ seconds: TimeInterval) {
        lock.lock()
        now += seconds
        lock.unlock()
    }
}

@Suite struct SessionAndThrottleTests {
    @Test func sessionsEndAfterThirtyIdleMinutesAndTwelveHoursWhateverTheUse() {
        let clock = TestClock()
        let store = SessionStore(clock: { clock.date })
        let first = store.start(operatorName: "carol", address: "10.0.0.1")
        #expect(first.id.count == 43 && Token.isWellFormed(first.id) && first.session.formToken.count == 43)
        clock.advance(29 * 60)
        guard case .live = store.resume(first.id) else {
            Issue.record("alive after 29 idle minutes")
            return
        }
        clock.advance(30 * 60)
        guard case .ended(_, .idle) = store.resume(first.id) else {
            Issue.record("not ended after 30 idle minutes")
            return
        }
        guard case .unknown = store.resume(first.id) else {
            Issue.record("an ended session came back")
            return
        }
        // Busy all day: still ends 12 hours after sign-in.
        let busy = store.start(operatorName: "carol", address: "10.0.0.1")
        for _ in 0..<35 {
            clock.advance(20 * 60)
            guard case .live = store.resume(busy.id) else {
                Issue.record("ended early")
                return
            }
        }
        clock.advance(60 * 60)
        guard case .ended(_, .expired) = store.resume(busy.id) else {
            Issue.record("alive after 12 hours")
            return
        }
    }

    @Test func idsAreUniqueAndJunkIsNeverLookedUp() {
        let store = SessionStore()
        let ids = (0..<500).map { store.start(operatorName: "o\($0 % 50)", address: "a").id }
        #expect(Set(ids).count == 500)
        for junk in ["", "x", String(repeating: "A", count: 43), String(repeating: "!", count: 43), ids[0] + "A"] {
            guard case .unknown = store.resume(junk) else {
                Issue.record("\(junk) found")
                continue
            }
        }
        #expect(store.end(ids[0]) != nil && store.end(ids[0]) == nil)
    }

    @Test func anOperatorsOldestSessionGivesWayBeyondTheCap() {
        var policy = SessionPolicy()
        policy.maximumPerOperator = 3
        let store = SessionStore(policy: policy)
        let ids = (0..<3).map { _ in store.start(operatorName: "carol", address: "a").id }
        let fourth = store.start(operatorName: "carol", address: "a")
        #expect(fourth.ended.count == 1)
        guard case .unknown = store.resume(ids[0]) else {
            Issue.record("the oldest should have ended")
            return
        }
        #expect(store.endAll(operatorName: "carol").count == 3 && store.count == 0)
    }

    @Test func sweepingEndsOnlyTimedOutSessions() {
        let clock = TestClock()
        let store = SessionStore(clock: { clock.date })
        _ = store.start(operatorName: "a", address: "x")
        clock.advance(20 * 60)
        let fresh = store.start(operatorName: "b", address: "x")
        clock.advance(15 * 60)
        let ended = store.sweep()
        #expect(ended.map(\.0.operatorName) == ["a"] && ended.first?.1 == .idle)
        guard case .live = store.resume(fresh.id) else {
            Issue.record("swept a live session")
            return
        }
    }

    @Test func preSessionTokensBelongToTheirCookie() {
        let tokens = PreSessionTokens()
        let cookie = tokens.newCookie()
        let other = tokens.newCookie()
        let token = tokens.formToken(for: cookie)
        #expect(tokens.verify(token: token, cookie: cookie))
        #expect(!tokens.verify(token: token, cookie: other))
        #expect(!tokens.verify(token: tokens.formToken(for: other), cookie: cookie))
        #expect(!PreSessionTokens().verify(token: token, cookie: cookie), "another server's key")
        #expect(!tokens.verify(token: "", cookie: cookie) && !tokens.verify(token: token, cookie: "short"))
    }

    @Test func failedSignInsWaitLongerEachTimeUpToTheCapAndAreForgotten() {
        let schedule = ThrottleSchedule(delays: [0, 0, 1, 2, 4], forgetAfter: 600)
        let throttle = SignInThrottle(schedule: schedule)
        var now = Date(timeIntervalSince1970: 1_000_000)
        var waits: [TimeInterval] = []
        for _ in 0..<8 {
            throttle.failed(operatorName: "carol", address: "10.0.0.9", now: now)
            waits.append(throttle.wait(operatorName: "carol", address: "10.0.0.9", now: now))
        }
        #expect(waits == [0, 0, 1, 2, 4, 4, 4, 4], "grows, then stays at the cap: never a lock-out")
        now += 4
        #expect(throttle.wait(operatorName: "carol", address: "10.0.0.9", now: now) == 0)
        // Per name and per address: another address guessing carol waits; carol elsewhere waits too.
        #expect(throttle.wait(operatorName: "carol", address: "10.0.0.1", now: now - 1) > 0)
        #expect(throttle.wait(operatorName: "bob", address: "10.0.0.9", now: now - 1) > 0)
        #expect(throttle.wait(operatorName: "bob", address: "10.0.0.1", now: now - 1) == 0)
        // A success clears the name's count, not the address's.
        throttle.succeeded(operatorName: "carol")
        #expect(throttle.wait(operatorName: "carol", address: "10.0.0.1", now: now - 1) == 0)
        #expect(throttle.wait(operatorName: "dave", address: "10.0.0.9", now: now - 1) > 0)
        // Quiet for longer than `forgetAfter`: counted from the start again.
        now += 601
        throttle.failed(operatorName: "carol", address: "10.0.0.9", now: now)
        #expect(throttle.wait(operatorName: "carol", address: "10.0.0.9", now: now) == 0)
    }

    @Test func throttleTablesStayBounded() {
        let throttle = SignInThrottle(schedule: ThrottleSchedule(delays: [5]), maximumEntries: 100)
        let now = Date()
        for index in 0..<5_000 {
            throttle.failed(
                operatorName: "name-\(index)", address: "10.0.\(index / 250).\(index % 250)", now: now + Double(index))
        }
        #expect(throttle.wait(operatorName: "name-4999", address: "x", now: now + 4999) > 0)
        #expect(
            throttle.wait(operatorName: "name-0", address: "x", now: now + 4999) == 0, "the oldest entries went first")
    }

    @Test(arguments: ["", "a", "1,-1", "1,,2", "4000", "1;2"])
    func badThrottleSchedulesAreRefused(_ text: String) {
        #expect(throws: GeneralError.self) { try ThrottleSchedule.parse(text) }
    }

    @Test func theDerivationGateAdmitsItsLimitAndNoMore() async {
        let gate = DerivationGate(limit: 2)
        #expect(gate.tryEnter() && gate.tryEnter())
        #expect(!gate.tryEnter())
        gate.leave()
        #expect(gate.tryEnter())
        gate.leave()
        gate.leave()
        // Under contention the count never passes the limit.
        let peak = Peak()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    if gate.tryEnter() {
                        peak.observe(gate.inUse)
                        gate.leave()
                    }
                }
            }
        }
        #expect(peak.value <= 2 && gate.inUse == 0)
    }
}

final class Peak: @unchecked Sendable {
    private let lock = NSLock()
    private var highest = 0
    func observe(_ value: Int) {
        lock.lock()
        highest = max(highest, value)
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return highest
    }
}

/// The site in-process, with a real vault and database and a clock the test moves: timeouts
/// end sessions and are recorded in the vault's audit log.
@Suite struct SiteSessionTimeoutTests {
    static let passphrase = "carol passphrase 1"

    struct Workspace {
        let folder: String
        let paths: VaultPaths
        let site: ReviewSite
        let clock = TestClock()

        init() throws {
            VaultKDFPolicy.allowTestingProfile()
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-site-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            paths = VaultPaths(
                vault: folder + "/nightjar.vault", audit: folder + "/audit.log", state: folder + "/vault-state")
            let (admin, _) = try Vault.create(
                paths: paths, adminName: "alice", passphrase: SecretBytes(utf8: "alice passphrase"))
            _ = admin
            let key = try Vault.update(
                paths: paths, as: .passphrase(name: "alice", SecretBytes(utf8: "alice passphrase"))
            ) { vault -> AutomationKey in
                try vault.addOperator(
                    name: "carol", roles: [.reviewer], passphrase: SecretBytes(utf8: SiteSessionTimeoutTests.passphrase)
                )
                return try vault.createAutomationKey(name: "site", clients: [])
            }
            let databasePath = folder + "/nightjar.sqlite"
            let migrations = LedgerSchema.statements.enumerated().map {
                Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
            }
            _ = try Migrator.migrate(try Database(path: databasePath), migrations)
            let configuration = SiteConfiguration(
                title: "Test", workspaceRoot: folder,
                openDatabase: {
                    let database = try Database(path: databasePath)
                    _ = try Migrator.migrate(database, migrations)
                    return database
                }, vault: try SiteVault(paths: paths, siteKey: key))
            let clock = self.clock
            site = ReviewSite(configuration: configuration, clock: { clock.date })
        }

        func get(_ path: String, cookie: String? = nil) -> SiteResponse {
            site.handle(SiteRequest(method: "GET", path: path, headers: cookie.map { ["cookie": $0] } ?? [:]))
        }

        func post(_ path: String, _ body: String, cookie: String) -> SiteResponse {
            site.handle(
                SiteRequest(
                    method: "POST", path: path,
                    headers: ["cookie": cookie, "content-type": "application/x-www-form-urlencoded"],
                    body: Array(body.utf8)))
        }

        /// Signs carol in; returns the session cookie.
        func signIn() throws -> String {
            let page = get("/sign-in")
            let cookie = try #require(
                page.headers.first { $0.name == "Set-Cookie" }?.value.split(separator: ";").first.map(String.init))
            let token = try #require(
                String(decoding: page.body, as: UTF8.self).components(separatedBy: "name=\"csrf\" value=\"").dropFirst()
                    .first?.prefix { $0 != "\"" })
            let answer = post(
                "/sign-in",
                "csrf=\(token)&name=carol&passphrase=\(SiteSessionTimeoutTests.passphrase.replacingOccurrences(of: " ", with: "+"))",
                cookie: cookie)
            #expect(answer.status == 303)
            return try #require(
                answer.headers.first { $0.value.hasPrefix("nightjar-session=") }?.value.split(separator: ";").first.map(
                    String.init))
        }

        func audit() throws -> String { try String(contentsOfFile: paths.audit, encoding: .utf8) }
    }

    @Test func anIdleSessionEndsAtThirtyMinutesAndTheEndIsAudited() throws {
        let workspace = try Workspace()
        let cookie = try workspace.signIn()
        #expect(workspace.get("/", cookie: cookie).status == 200)
        workspace.clock.advance(30 * 60 + 1)
        let answer = workspace.get("/", cookie: cookie)
        #expect(answer.status == 303 && answer.header("Location") == "/sign-in")
        #expect(try workspace.audit().contains("carol, idle timeout"))
    }

    @Test func theSweepEndsSessionsNobodyUsesAndTheAuditLogStillVerifies() throws {
        let workspace = try Workspace()
        _ = try workspace.signIn()
        #expect(workspace.site.sessions.count == 1)
        workspace.clock.advance(12 * 60 * 60)
        workspace.site.sweepSessions()
        #expect(workspace.site.sessions.count == 0)
        #expect(try workspace.audit().contains("carol, absolute timeout"))
        let vault = try Vault.open(
            paths: workspace.paths, as: .passphrase(name: "alice", SecretBytes(utf8: "alice passphrase")))
        #expect(try vault.verifyAudit().count >= 5)
    }

    @Test func operatorsAddedWhileTheSiteRunsAreSeenAtOnce() throws {
        let workspace = try Workspace()
        #expect(try workspace.site.configuration.vault.principal(named: "dave") == nil)
        try Vault.update(paths: workspace.paths, as: .passphrase(name: "alice", SecretBytes(utf8: "alice passphrase")))
        { vault in
            try vault.addOperator(name: "dave", roles: [.admin], passphrase: SecretBytes(utf8: "dave passphrase"))
        }
        #expect(try workspace.site.configuration.vault.principal(named: "dave")?.roles == [.admin])
        #expect(try workspace.site.configuration.vault.principal(named: "carol")?.roles == [.reviewer])
    }
}
