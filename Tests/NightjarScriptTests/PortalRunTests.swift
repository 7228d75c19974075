import Foundation
import NightjarCore
import NightjarCrypto
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// The shipped definitions, run against the sandbox portals over real HTTP on loopback.
@Suite struct PortalRunTests {
    @Test(arguments: ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"])
    func shippedDefinitionDownloadsEveryRemittance(portal: String) async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let definition = try ScriptTestSupport.shipped(portal)
        let lines = Lines()
        let outcome = await ScriptTestSupport.run(
            definition, portals: portals, client: "acme", range: ScriptTestSupport.range("2026-08-01", "2026-12-31"),
            lines: lines)
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "") \(lines.all.suffix(5))")
        let expected = portals.data.payments(portal: portal, client: "acme", from: "2026-08-01", to: "2026-12-31")
        #expect(expected.count > 0)
        #expect(outcome.downloads.count == expected.count)
        #expect(Set(outcome.downloads.compactMap { $0.metadata["reference"] }) == Set(expected.map(\.trace)))
        for download in outcome.downloads {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: download.path)))
            #expect(SHA256.hash(bytes).hexString == download.sha256)
            #expect(download.kind == .remittance)
            let payment = try #require(expected.first { $0.trace == download.metadata["reference"] })
            if let date = download.metadata["date"] { #expect(date == payment.date) }
        }
        #expect(outcome.status == "ok")
    }

    @Test func rangesLongerThanTheWindowAreSplit() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let definition = try ScriptTestSupport.shipped("sandbox-html-portal")
        let lines = Lines()
        let outcome = await ScriptTestSupport.run(
            definition, portals: portals, client: "globex", range: ScriptTestSupport.range("2026-07-01", "2026-12-31"),
            lines: lines)
        #expect(outcome.failure == nil)
        #expect(lines.all.filter { $0.hasPrefix("window ") }.count == 6)
        let expected = portals.data.payments(
            portal: "sandbox-html-portal", client: "globex", from: "2026-07-01", to: "2026-12-31")
        #expect(outcome.downloads.count == expected.count)
    }

    @Test func anEmptyRangeIsNoDocumentsNotAFailure() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        for portal in ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"] {
            let outcome = await ScriptTestSupport.run(
                try ScriptTestSupport.shipped(portal), portals: portals, client: "acme",
                range: ScriptTestSupport.range("2019-01-01", "2019-01-31"))
            #expect(outcome.failure == nil)
            #expect(outcome.status == "no_documents")
        }
    }
}
