import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// Each failure class, produced by the sandbox's faults, reported with the step and line.
@Suite struct FailureClassTests {
    @Test(arguments: ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"])
    func aWrongPasswordIsAuthFailedAfterExactlyOneAttempt(portal: String) async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let credential = ScriptTestSupport.credential(
            portals, client: "globex", portal: portal, password: "wrong-password-123")
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped(portal), portals: portals, client: "globex", credential: credential)
        let failure = try #require(outcome.failure)
        #expect(failure.failureClass == .authFailed)
        #expect(failure.location?.line != nil)
        #expect(failure.step.hasPrefix("fail auth_failed"))
        #expect(
            portals.failedLogins(
                portal: portal, username: portals.data.account(client: "globex", portal: portal)!.username) == 1)
        #expect(!failure.message.contains("wrong-password-123"))
    }

    @Test(arguments: ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"])
    func aLockedAccountIsAccountLocked(portal: String) async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let wrong = ScriptTestSupport.credential(
            portals, client: "initech", portal: portal, password: "not-the-password")
        for _ in 0..<SandboxPortals.lockoutThreshold {
            _ = await ScriptTestSupport.run(
                try ScriptTestSupport.shipped(portal), portals: portals, client: "initech", credential: wrong)
        }
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped(portal), portals: portals, client: "initech")
        #expect(outcome.failure?.failureClass == .accountLocked)
        #expect(outcome.failure?.failureClass.isRetryable == false)
    }

    @Test func aCodeOnlyAPersonCanTypeEndsTheNightWithMFARequiredAndWorksInteractively() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/sandbox-totp-portal.scraper", encoding: .utf8
        )
        .replacingOccurrences(of: "form { code: totp }", with: "form { code: ask \"Code from the authenticator app\" }")
        let definition = try ScriptTestSupport.parse(text)
        let night = await ScriptTestSupport.run(definition, portals: portals, client: "acme")
        #expect(night.failure?.failureClass == .mfaRequired)
        #expect(night.failure?.step.contains("post") == true)

        struct Person: OneTimeCodePrompt {
            let secret: String
            func code(prompt: String, credential: String) async -> String? {
                SandboxPortals.totp(secret: secret, time: UInt64(Date().timeIntervalSince1970))
            }
        }
        let morning = await ScriptTestSupport.run(
            definition, portals: portals, client: "acme",
            prompt: Person(secret: portals.data.account(client: "acme", portal: "sandbox-totp-portal")!.totpSecret))
        #expect(morning.failure == nil)
        #expect(morning.downloads.count > 0)
    }

    @Test func maintenanceIsPortalUnavailable() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.maintenance = true
        portals.setFaults(faults, for: "sandbox-html-portal")
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-html-portal"), portals: portals, client: "acme")
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(outcome.failure?.failureClass.isRetryable == true)
    }

    @Test func aFewServerErrorsAreRetriedAway() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.serverErrors = 1
        portals.setFaults(faults, for: "sandbox-html-portal")
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-html-portal"), portals: portals, client: "acme")
        #expect(outcome.failure == nil)
    }

    @Test func aRedirectLoopIsPortalUnavailable() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.redirectLoop = true
        portals.setFaults(faults, for: "sandbox-html-portal")
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-html-portal"), portals: portals, client: "acme")
        #expect(outcome.failure?.failureClass == .portalUnavailable)
    }

    @Test func aMissingElementIsLayoutChangedWithThePageKept() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/sandbox-html-portal.scraper", encoding: .utf8
        )
        .replacingOccurrences(
            of: "expect element \"//table[@id='remits'] | //p[@class='empty']\"",
            with: "expect element \"//table[@id='payments']\"")
        let outcome = await ScriptTestSupport.run(try ScriptTestSupport.parse(text), portals: portals, client: "acme")
        let failure = try #require(outcome.failure)
        #expect(failure.failureClass == .layoutChanged)
        #expect(failure.step == "expect element \"//table[@id='payments']\"")
        #expect(String(decoding: failure.page ?? [], as: UTF8.self).contains("<h1>Remittances</h1>"))
        #expect(failure.pageURL?.contains("/payments/remittance") == true)
    }

    @Test func anExtractionThatMatchesNothingIsLayoutChanged() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/sandbox-html-portal.scraper", encoding: .utf8
        )
        .replacingOccurrences(of: "@name='__RequestVerificationToken'", with: "@name='csrf'")
        let outcome = await ScriptTestSupport.run(try ScriptTestSupport.parse(text), portals: portals, client: "acme")
        #expect(outcome.failure?.failureClass == .layoutChanged)
        #expect(outcome.failure?.problem.contains("matched nothing") == true)
        #expect(
            portals.failedLogins(
                portal: "sandbox-html-portal",
                username: portals.data.account(client: "acme", portal: "sandbox-html-portal")!.username) == 0)
    }

    @Test func persistentTooManyRequestsIsRateLimited() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.rateLimitEvery = 1
        portals.setFaults(faults, for: "sandbox-json-api")
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-json-api"), portals: portals, client: "acme")
        #expect(outcome.failure?.failureClass == .rateLimited)
    }

    @Test func occasionalTooManyRequestsAreWaitedOut() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.rateLimitEvery = 4
        portals.setFaults(faults, for: "sandbox-json-api")
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-json-api"), portals: portals, client: "acme",
            range: ScriptTestSupport.range("2026-10-01", "2026-12-31"))
        #expect(outcome.failure == nil)
        #expect(
            outcome.downloads.count
                == portals.data.payments(
                    portal: "sandbox-json-api", client: "acme", from: "2026-10-01", to: "2026-12-31"
                ).count)
    }

    @Test(arguments: ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"])
    func anExpiredSessionLogsInOnceAndResumes(portal: String) async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        let count = portals.data.payments(portal: portal, client: "globex", from: "2026-09-01", to: "2026-12-31").count
        // sandbox-totp-portal needs a fresh TOTP code per login: let it expire once, half-way through the downloads.
        faults.sessionLifetime = portal == "sandbox-totp-portal" ? (count + 3) / 2 + 1 : 3
        portals.setFaults(faults, for: portal)
        let lines = Lines()
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped(portal), portals: portals, client: "globex",
            range: ScriptTestSupport.range("2026-09-01", "2026-12-31"), totp: jumpingTOTP(), lines: lines)
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        #expect(outcome.logins > 1)
        #expect(lines.all.contains { $0.contains("the session expired") })
        #expect(
            outcome.downloads.count
                == portals.data.payments(portal: portal, client: "globex", from: "2026-09-01", to: "2026-12-31").count)
    }

    /// sandbox-json-api's token says how long it lasts (`expires_in`); the definition's `expires in`
    /// makes the run log in again shortly before, so no request meets an expired token.
    @Test func aTokenIsRenewedBeforeItExpiresWhenThePortalSaysWhen() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        // The token says it lasts 12 s and is honoured for 18: the run renews at 7 s; a run that
        // never renews meets a refusal after 18 s of requests a second apart.
        faults.tokenSeconds = 12
        faults.tokenGraceSeconds = 6
        portals.setFaults(faults, for: "sandbox-json-api")
        // Slowed to one request a second, the run outlasts the stated lifetime several times.
        let text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/sandbox-json-api.scraper", encoding: .utf8
        )
        .replacingOccurrences(of: "rate 5 per second", with: "rate 1 per second")
        let definition = try ScriptTestSupport.parse(text)
        let lines = Lines()
        let start = ContinuousClock.now
        let session = await ScraperInterpreter.session(
            for: definition, origins: [portals.origins["sandbox-json-api"]!], recorder: nil)
        let outcome = await ScriptTestSupport.run(
            definition, portals: portals, client: "globex", range: ScriptTestSupport.range("2026-09-01", "2026-12-31"),
            transport: session, lines: lines)
        let elapsed = ContinuousClock.now - start
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        #expect(
            outcome.downloads.count
                == portals.data.payments(
                    portal: "sandbox-json-api", client: "globex", from: "2026-09-01", to: "2026-12-31"
                ).count)
        #expect(elapsed > .seconds(14), "the run must outlast the stated lifetime for this test to mean anything")
        #expect(outcome.logins >= 3, "renewed at least twice")
        #expect(lines.all.contains { $0.contains("about to expire") })
        // A token refused after a long silence means this process was not scheduled (a test
        // machine busy with blocking work); one refused while requests kept coming means the
        // run did not renew in time. Without `expires in` every token is refused after 30 s of
        // requests a second apart.
        #expect(portals.refusedTokens(afterSilenceUnder: 8) == 0, "\(lines.all.joined(separator: "\n"))")
    }

    @Test func expiresInBelongsToTheLoginAndWantsSeconds() throws {
        let misplaced = """
            portal p "P"
            origin web "https://p.example"
            login {
              post "/token" form { user: vault.username }
            }
            remittances {
              expires in 60
              download get "/file" kind remittance
            }
            """
        #expect(throws: (any Error).self) { try ScriptTestSupport.parse(misplaced) }
        let placed = misplaced.replacingOccurrences(of: "  expires in 60\n", with: "").replacingOccurrences(
            of: "post \"/token\" form { user: vault.username }",
            with: "post \"/token\" form { user: vault.username }\n  expires in 60")
        #expect(throws: Never.self) { try ScriptTestSupport.parse(placed) }
    }

    @Test func aSessionThatExpiresAgainRightAfterLoggingInIsAFailure() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.rejectSessions = true
        portals.setFaults(faults, for: "sandbox-html-portal")
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-html-portal"), portals: portals, client: "acme")
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(outcome.failure?.problem.contains("expired again") == true)
        #expect(outcome.logins == 2)
    }
}
