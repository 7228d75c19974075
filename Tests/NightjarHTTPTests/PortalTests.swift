import Foundation
import NightjarCore
import NightjarCrypto
import NightjarSandbox
import Testing

@testable import NightjarHTTP

/// Each sandbox portal's flow, driven through real HTTP sessions.
@Suite("Sandbox portals", .serialized)
struct PortalTests {
    static func hidden(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func links(_ html: String, containing marker: String) -> [String] {
        html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }.filter {
            $0.contains(marker)
        }
    }

    @Test func htmlPortalFormLoginPagingDownloadsAndLockout() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let account = try #require(portals.data.account(client: "acme", portal: "sandbox-html-portal"))
        let base = portals.htmlPortal.url("")
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        let loginPage = try await session.send(HTTPRequest(.get, base + "/login")).text
        let token = try #require(PortalTests.hidden("__RequestVerificationToken", in: loginPage))
        let landed = try await session.send(
            HTTPRequest(
                .post, base + "/login",
                body: .form([
                    ("__RequestVerificationToken", token), ("UserName", account.username),
                    ("Password", account.password),
                ])))
        #expect(landed.url.hasSuffix("/dashboard"))
        var page: String? = base + "/payments/remittance?fromDate=08/01/2026&toDate=12/31/2026"
        var downloads: [String] = []
        var pages = 0
        while let url = page, pages < 20 {
            let html = try await session.send(HTTPRequest(.get, url)).text
            downloads += PortalTests.links(html, containing: "/download")
            page = PortalTests.links(html, containing: "page=").first.map {
                base + $0.replacingOccurrences(of: "&amp;", with: "&")
            }
            pages += 1
        }
        let expected = portals.data.payments(
            portal: "sandbox-html-portal", client: "acme", from: "2026-08-01", to: "2026-12-31")
        #expect(downloads.count == expected.count && pages > 1)
        let csv = try await session.send(HTTPRequest(.get, base + downloads[0])).text
        #expect(csv.hasPrefix("Sandbox HTML Portal - Remittance Advice"))
        #expect(csv.contains(expected[0].trace))

        // Wrong passwords lock the account after three tries; the right one is then refused too.
        let stranger = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        for attempt in 1...3 {
            let answer = try await stranger.send(
                HTTPRequest(
                    .post, base + "/login",
                    body: .form([
                        ("__RequestVerificationToken", token),
                        ("UserName", portals.data.account(client: "globex", portal: "sandbox-html-portal")!.username),
                        ("Password", "wrong"),
                    ])))
            #expect(answer.text.contains(attempt < 3 ? "Invalid username or password" : "Account locked"))
        }
        let locked = try await stranger.send(
            HTTPRequest(
                .post, base + "/login",
                body: .form([
                    ("__RequestVerificationToken", token),
                    ("UserName", portals.data.account(client: "globex", portal: "sandbox-html-portal")!.username),
                    ("Password", portals.data.account(client: "globex", portal: "sandbox-html-portal")!.password),
                ])))
        #expect(locked.text.contains("Account locked"))

        // Session expiry sends the next page back to the login page.
        var faults = PortalFaults()
        faults.sessionLifetime = 1
        portals.setFaults(faults, for: "sandbox-html-portal")
        _ = try await session.send(HTTPRequest(.get, base + "/payments/remittance"))
        let expired = try await session.send(HTTPRequest(.get, base + "/payments/remittance"))
        #expect(expired.url.contains("/login"))
    }

    @Test func jsonAPITokenCursorRateLimitAndExpiry() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.rateLimitEvery = 3
        portals.setFaults(faults, for: "sandbox-json-api")
        let account = try #require(portals.data.account(client: "globex", portal: "sandbox-json-api"))
        let base = portals.jsonAPI.url("")
        var retry = RetryPolicy()
        retry.baseDelay = .milliseconds(10)
        retry.allowNonIdempotent = true
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: retry)
        let grant = try await session.send(
            HTTPRequest(
                .post, base + "/api/token",
                body: .json(Array("{\"username\":\"\(account.username)\",\"password\":\"\(account.password)\"}".utf8))))
        let token = try #require(
            (try JSONSerialization.jsonObject(with: Data(grant.body)) as? [String: Any])?["access_token"] as? String)
        var cursor: String? = "0"
        var ids: [String] = []
        while let current = cursor {
            let answer = try await session.send(
                HTTPRequest(
                    .get, base + "/api/remittances",
                    query: [("from", "2026-01-01"), ("to", "2026-12-31"), ("cursor", current)],
                    headers: [("Authorization", "Bearer \(token)")]))
            #expect(answer.status == 200)
            let object = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            ids += ((object?["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            cursor = object?["next_cursor"] as? String
        }
        #expect(
            ids.count
                == portals.data.payments(
                    portal: "sandbox-json-api", client: "globex", from: "2026-01-01", to: "2026-12-31"
                ).count)
        let file = try await session.send(
            HTTPRequest(.get, base + "/api/remittances/\(ids[0])/file", headers: [("Authorization", "Bearer \(token)")])
        )
        #expect(file.text.hasPrefix("ISA*"))
        let refused = try await session.send(
            HTTPRequest(.get, base + "/api/remittances", headers: [("Authorization", "Bearer nope")]))
        #expect(refused.status == 401 || refused.status == 429)
    }

    @Test func totpPortalPasswordThenTOTPWithARotatingSearchField() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let account = try #require(portals.data.account(client: "initech", portal: "sandbox-totp-portal"))
        let base = portals.totpPortal.url("")
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        let verify = try await session.send(
            HTTPRequest(.post, base + "/signin", body: .form([("user", account.username), ("pass", account.password)])))
        #expect(verify.url.hasSuffix("/verify"))
        let code = TOTP.code(secret: try Base32.decode(account.totpSecret), time: UInt64(Date().timeIntervalSince1970))
        let search = try await session.send(HTTPRequest(.post, base + "/verify", body: .form([("code", code)])))
        #expect(search.url.hasSuffix("/remittances"))
        let stateToken = try #require(PortalTests.hidden("state", in: search.text))
        let results = try await session.send(
            HTTPRequest(
                .post, base + "/remittances/search",
                body: .form([("state", stateToken), ("from", "2026-01-01"), ("to", "2026-12-31")])))
        let files = PortalTests.links(results.text, containing: ".xlsx")
        #expect(
            files.count
                == portals.data.payments(
                    portal: "sandbox-totp-portal", client: "initech", from: "2026-01-01", to: "2026-12-31"
                ).count)
        // The same state value twice is refused: the form must be fetched again.
        let stale = try await session.send(
            HTTPRequest(
                .post, base + "/remittances/search", body: .form([("state", stateToken), ("from", "2026-01-01")])))
        #expect(stale.status == 400)
        let csv = try await session.send(HTTPRequest(.get, base + files[0]))
        #expect(csv.body.starts(with: [0x50, 0x4B, 0x03, 0x04]), "a workbook")
        #expect(csv.header("Content-Encoding") == "gzip")
        // A code is never accepted twice.
        let again = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        _ = try await again.send(
            HTTPRequest(.post, base + "/signin", body: .form([("user", account.username), ("pass", account.password)])))
        let reused = try await again.send(HTTPRequest(.post, base + "/verify", body: .form([("code", code)])))
        #expect(reused.text.contains("not valid"))
    }

    @Test func portalFaultsOnDemand() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        var faults = PortalFaults()
        faults.serverErrors = 2
        portals.setFaults(faults, for: "sandbox-html-portal")
        var retry = RetryPolicy()
        retry.baseDelay = .milliseconds(10)
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: retry)
        #expect(try await session.send(HTTPRequest(.get, portals.htmlPortal.url("/login"))).status == 200)
        faults = PortalFaults()
        faults.maintenance = true
        portals.setFaults(faults, for: "sandbox-html-portal")
        #expect(
            try await session.send(HTTPRequest(.get, portals.htmlPortal.url("/login"))).text.contains("maintenance"))
        faults = PortalFaults()
        faults.redirectLoop = true
        portals.setFaults(faults, for: "sandbox-html-portal")
        let account = portals.data.account(client: "acme", portal: "sandbox-html-portal")!
        let login = try await session.send(HTTPRequest(.get, portals.htmlPortal.url("/login"))).text
        _ = try await session.send(
            HTTPRequest(
                .post, portals.htmlPortal.url("/login"),
                body: .form([
                    ("__RequestVerificationToken", PortalTests.hidden("__RequestVerificationToken", in: login)!),
                    ("UserName", account.username), ("Password", account.password),
                ])))
        await #expect(throws: HTTPError.tooManyRedirects(10)) {
            try await session.send(HTTPRequest(.get, portals.htmlPortal.url("/payments/remittance")))
        }
    }
}
