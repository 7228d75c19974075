import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// Finding 8: vault values travel over plain http only to this machine or to an origin the
/// definition marks `allow-http`. The portal gets a name that is not loopback (`portal.test`),
/// pinned to the sandbox's address by the HTTP layer, so no DNS and no /etc/hosts are involved.
@Suite struct PlainHTTPTests {
    static func session(name: String, port: Int) -> HTTPSession {
        var limits = TransferLimits()
        limits.totalTimeout = .seconds(10)
        limits.connectTimeout = .seconds(5)
        return HTTPSession(limits: limits, tls: TLSSettings(resolve: ["\(name):\(port):127.0.0.1"]), retry: .none)
    }

    static func htmlPortal(allowingHTTP: Bool) throws -> ScraperDefinition {
        var text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/sandbox-html-portal.scraper", encoding: .utf8)
        if allowingHTTP {
            text = text.replacingOccurrences(
                of: #"origin main "https://suppliers.sandbox-html-portal.example""#,
                with: #"origin main "https://suppliers.sandbox-html-portal.example" allow-http"#)
        }
        return try ScriptTestSupport.parse(text)
    }

    func run(_ definition: ScraperDefinition, portals: SandboxPortals, credentialAllowsHTTP: Bool = false) async
        -> ScraperOutcome
    {
        let port = portals.htmlPortal.port
        let origin = "http://portal.test:\(port)"
        let account = portals.data.account(client: "acme", portal: "sandbox-html-portal")!
        let credential = ScriptCredential(
            client: "acme", portal: "sandbox-html-portal",
            fields: ["username": account.username, "password": account.password],
            allowedOrigins: [origin], allowsPlainHTTP: credentialAllowsHTTP)
        return await ScriptTestSupport.run(
            definition, portals: portals, client: "acme", credential: credential,
            range: ScriptTestSupport.range("2026-11-01", "2026-11-30"),
            transport: Self.session(name: "portal.test", port: Int(port)), originOverrides: ["main": origin])
    }

    @Test func aPasswordIsNotSentOverPlainHTTPToAnotherMachine() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let outcome = await run(try Self.htmlPortal(allowingHTTP: false), portals: portals)
        #expect(outcome.failure?.failureClass == .originRefused, "\(outcome.failure?.message ?? "no failure")")
        #expect(outcome.failure?.message.contains("over plain http") == true)
        #expect(outcome.failure?.message.contains("allow-http") == true)
        // The sign-in page was fetched (no vault value in it); the password never left.
        #expect(portals.requestCount(portal: "sandbox-html-portal") == 1)
        #expect(outcome.downloads.isEmpty)
    }

    @Test func anOriginMarkedAllowHTTPReceivesIt() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let outcome = await run(try Self.htmlPortal(allowingHTTP: true), portals: portals)
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        #expect(!outcome.downloads.isEmpty)
    }

    @Test func aCredentialMarkedAllowHTTPMayBeSentThere() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let outcome = await run(try Self.htmlPortal(allowingHTTP: false), portals: portals, credentialAllowsHTTP: true)
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        #expect(!outcome.downloads.isEmpty)
    }

    @Test(arguments: [
        ("http://portal.example", true), ("http://portal.example\" allow-http \"", false),
        ("http://127.0.0.1:8080", false),
        ("http://localhost:8080", false), ("https://portal.example", false),
    ])
    func theCheckerNamesAPlainHTTPOriginThatWouldReceiveAVaultValue(origin: String, refused: Bool) throws {
        let text = """
            portal x "X"
            origin main "\(origin.replacingOccurrences(of: "\" allow-http \"", with: ""))"\(origin.contains("allow-http") ? " allow-http" : "")
            login {
              post "/login" form { user: vault.username, password: vault.password }
            }
            remittances {
              download get "/f" kind remittance
            }
            """
        let errors = ScraperChecker.check(try ScraperParser.parse(text, file: "x.scraper")).map(\.problem)
        #expect(errors.contains { $0.contains("over plain http") } == refused, "\(origin): \(errors)")
    }

    @Test func loopbackOriginsAreThisMachine() {
        for origin in [
            "http://127.0.0.1:80", "http://127.1.2.3:8080", "http://localhost:80", "http://[::1]:80",
            "http://app.localhost:80",
        ] {
            #expect(ScraperChecker.isLoopback(origin), "\(origin)")
        }
        for origin in [
            "http://128.0.0.1:80", "http://127.0.0.1.example.com:80", "http://localhost.example:80",
            "http://10.0.0.1:80", "http://[::2]:80",
        ] {
            #expect(!ScraperChecker.isLoopback(origin), "\(origin)")
        }
    }
}
