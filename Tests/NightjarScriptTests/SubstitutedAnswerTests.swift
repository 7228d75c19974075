import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// A portal that answers a download with something else than the document — a maintenance
/// page with HTTP 200, nothing at all, the file under another type, the page a session shows
/// when it has ended — ends the credential `portal_unavailable`: nothing is kept as a document,
/// and the range is not done.
@Suite struct SubstitutedAnswerTests {
    static func run(
        _ portal: String, _ substitute: SubstitutedDownload, after: Int = 1, lifetime: Int = 0,
        definition: ScraperDefinition? = nil
    ) async throws -> ScraperOutcome {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.substitute = substitute
        faults.substituteAfter = after
        faults.sessionLifetime = lifetime
        portals.setFaults(faults, for: portal)
        return await ScriptTestSupport.run(
            try definition ?? ScriptTestSupport.shipped(portal), portals: portals, client: "acme",
            range: ScriptTestSupport.range("2026-08-01", "2026-09-30"), totp: jumpingTOTP())
    }

    @Test func aMaintenancePageWithStatus200IsNotKeptAsTheRemittance() async throws {
        let outcome = try await SubstitutedAnswerTests.run("sandbox-html-portal", .maintenancePage)
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(
            outcome.failure?.message.contains("the portal answered a web page (\"We'll be back soon\")") == true,
            "\(String(describing: outcome.failure))")
        #expect(outcome.downloads.count == 1, "only the download before the page is kept")
        #expect(outcome.failure?.page != nil, "the page is kept for the operator to see")
    }

    @Test func anEmptyDownloadIsRefused() async throws {
        let outcome = try await SubstitutedAnswerTests.run("sandbox-html-portal", .empty, after: 0)
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(
            outcome.failure?.message.contains("is not a remittance: it is empty") == true,
            "\(String(describing: outcome.failure))")
        #expect(outcome.downloads.isEmpty)
    }

    @Test func aContentTypeThatContradictsTheExpectedTypeIsRefused() async throws {
        let outcome = try await SubstitutedAnswerTests.run("sandbox-html-portal", .wrongContentType, after: 0)
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(
            outcome.failure?.message.contains("it came as application/pdf") == true,
            "\(String(describing: outcome.failure))")
    }

    @Test func bytesOfAnotherTypeThanExpectTypeSaysAreRefused() async throws {
        // sandbox-totp-portal says `expect type xlsx`; its sign-in page instead is HTML.
        let outcome = try await SubstitutedAnswerTests.run("sandbox-totp-portal", .signInPage, after: 0)
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(
            outcome.failure?.message.contains("web page (\"Sandbox TOTP Portal\")") == true,
            "\(String(describing: outcome.failure))")
    }

    @Test func aCopyOfAPageTheSessionShowedWhenItEndedIsRefused() async throws {
        // sandbox-json-api's token expires after two uses (a 401 with a JSON error, then a new login);
        // later the API answers a download with that same error body and status 200.
        let outcome = try await SubstitutedAnswerTests.run("sandbox-json-api", .signInPage, after: 1, lifetime: 2)
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(
            outcome.failure?.message.contains("the same page the portal showed at sign-in or as an error") == true,
            "\(String(describing: outcome.failure))")
    }

    @Test func aDefinitionCanSayWhatItsPortalsMaintenancePageSays() async throws {
        let text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/sandbox-html-portal.scraper", encoding: .utf8
        )
        .replacingOccurrences(
            of: "unavailable if text \"down for maintenance\"", with: "unavailable if text \"being upgraded\""
        )
        .replacingOccurrences(of: " expect type csv", with: "")
        let outcome = try await SubstitutedAnswerTests.run(
            "sandbox-html-portal", .maintenancePage, definition: try ScriptTestSupport.parse(text))
        #expect(outcome.failure?.failureClass == .portalUnavailable)
        #expect(
            outcome.failure?.message.contains("the portal says it is unavailable (text \"being upgraded\")") == true,
            "\(String(describing: outcome.failure))")
    }

    @Test func expectTypeIsCheckedByTheParser() throws {
        #expect(throws: ScriptErrors.self) {
            try ScriptTestSupport.parse(
                "portal p\norigin o \"https://p.example\"\nremittances {\n  download get \"/f\" kind remittance expect type docx\n}\n"
            )
        }
        let ok = try ScriptTestSupport.parse(
            "portal p\norigin o \"https://p.example\"\nunavailable if text \"down\"\nremittances {\n  download get \"/f\" kind remittance expect type x12\n}\n"
        )
        #expect(ok.unavailable.count == 1)
    }
}
