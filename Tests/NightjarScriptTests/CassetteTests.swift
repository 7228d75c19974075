import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// Recorded runs replay offline and catch a definition that no longer downloads the same files.
@Suite struct CassetteTests {
    static func cassette(_ portal: String) throws -> Cassette {
        let path = ScriptTestSupport.repositoryRoot + "/scrapers/\(portal).cassette"
        return try Cassette.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path)
    }

    @Test(arguments: ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"])
    func everyShippedCassetteReplays(portal: String) async throws {
        let cassette = try CassetteTests.cassette(portal)
        let (outcome, problems) = await Cassette.verify(
            cassette, definition: try ScriptTestSupport.shipped(portal),
            directory: ScriptTestSupport.temporaryDirectory())
        #expect(problems.isEmpty, "\(problems)")
        #expect(outcome.downloads.count == cassette.downloads.count)
        #expect(cassette.downloads.count > 10)
    }

    @Test func shippedCassettesHoldNoSecretNoPortAndNoAccountNumber() throws {
        let data = SandboxData()
        for portal in ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"] {
            let text = try String(
                contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/\(portal).cassette", encoding: .utf8)
            for account in data.accounts { #expect(!text.contains(account.password)) }
            #expect(!text.contains("127.0.0.1"))
            #expect(!text.contains("4455667788") && !text.contains("9988776655"))
        }
    }

    @Test func aChangedDefinitionFailsItsReplay() async throws {
        let text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/sandbox-html-portal.scraper", encoding: .utf8)
        // A maintainer "simplifies" the row selector and loses the amount column.
        let broken = text.replacingOccurrences(of: "amount xpath(row, \"td[3]\")", with: "amount xpath(row, \"td[2]\")")
        let (_, problems) = await Cassette.verify(
            try CassetteTests.cassette("sandbox-html-portal"), definition: try ScriptTestSupport.parse(broken),
            directory: ScriptTestSupport.temporaryDirectory())
        #expect(!problems.isEmpty)
        #expect(problems.first?.contains("now saved as") == true)
        // Skipping the pages loses downloads and leaves recorded requests unmade.
        let noPaging = text.replacingOccurrences(
            of: "pages next xpath \"//a[@class='next']/@href\" {", with: "if true {")
        let (_, missing) = await Cassette.verify(
            try CassetteTests.cassette("sandbox-html-portal"), definition: try ScriptTestSupport.parse(noPaging),
            directory: ScriptTestSupport.temporaryDirectory())
        #expect(missing.contains { $0.hasPrefix("no longer downloaded") })
        // A request the cassette does not have is named with what was expected.
        let otherPath = text.replacingOccurrences(
            of: "get \"/payments/remittance\" query", with: "get \"/payments/remittances\" query")
        let (_, mismatch) = await Cassette.verify(
            try CassetteTests.cassette("sandbox-html-portal"), definition: try ScriptTestSupport.parse(otherPath),
            directory: ScriptTestSupport.temporaryDirectory())
        #expect(
            mismatch.first?.contains(
                "the definition sent GET https://suppliers.sandbox-html-portal.example/payments/remittances") == true)
    }

    @Test func recordingALiveRunThenReplayingItGivesTheSameFiles() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let definition = try ScriptTestSupport.shipped("sandbox-json-api")
        let recorder = RecordingTransport(ScriptTestSupport.quickSession())
        let live = await ScriptTestSupport.run(
            definition, portals: portals, client: "globex", range: ScriptTestSupport.range("2026-09-01", "2026-10-31"),
            transport: recorder)
        #expect(live.failure == nil)
        let cassette = recorder.cassette(
            portal: "sandbox-json-api", range: ScriptTestSupport.range("2026-09-01", "2026-10-31"),
            kinds: [.remittance],
            origins: [(portals.origins["sandbox-json-api"]!, definition.origins[0].url)])
        let decoded = try Cassette.decode(try cassette.encoded(), file: "x")
        let (replayed, problems) = await Cassette.verify(
            decoded, definition: definition, directory: ScriptTestSupport.temporaryDirectory())
        #expect(replayed.failure == nil)
        #expect(replayed.downloads.count == live.downloads.count)
        // A fresh cassette lists no downloads yet (`scraper record` fills them from this replay, since masked
        // account numbers change the X12 bytes), so every replayed file is reported as new.
        #expect(problems.count == live.downloads.count)
        #expect(String(decoding: try cassette.encoded(), as: UTF8.self).contains(definition.origins[0].url))
    }

    @Test func aDamagedCassetteIsAClearError() {
        #expect(throws: GeneralError.self) {
            try Cassette.decode(Array("{\"format\":\"other\"}".utf8), file: "a.cassette")
        }
        #expect(throws: GeneralError.self) { try Cassette.decode(Array("not json".utf8), file: "a.cassette") }
        #expect(throws: GeneralError.self) { try Cassette.decode([], file: "a.cassette") }
    }

    /// A source cassette is written and read like a portal's, and each kind refuses the other's file.
    @Test func aSourceCassetteRoundTripsAndIsNotTakenForAPortalCassette() throws {
        let source = SourceCassette(
            source: .mailbox, portal: "remittance-mailbox", range: ScriptTestSupport.range("2026-09-01", "2026-09-30"),
            kinds: [.remittance], data: "remittance-mailbox.maildir", downloads: [])
        let bytes = try source.encoded()
        #expect(bytes.last == 10)
        let read = try SourceCassette.decode(bytes, file: "s.cassette")
        #expect(read.source == .mailbox && read.data == "remittance-mailbox.maildir" && read.range == source.range)
        #expect(SourceCassette.isSourceCassette(bytes))
        func code(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as GeneralError { return error.code } catch { return "\(error)" }
            return nil
        }
        #expect(code { _ = try Cassette.decode(bytes, file: "s.cassette") } != nil)
        let portal = try Self.cassette("sandbox-json-api").encoded()
        #expect(code { _ = try SourceCassette.decode(portal, file: "p.cassette") } == "cassette.invalid")
        var renamed = source
        renamed.format = "nightjar-source-cassette/0"
        #expect(
            code { _ = try SourceCassette.decode(try renamed.encoded(), file: "old.cassette") } == "cassette.format")
        #expect(
            code { _ = try SourceCassette.decode(Array("not json".utf8), file: "s.cassette") } == "cassette.invalid")
    }
}
