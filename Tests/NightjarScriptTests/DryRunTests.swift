import Foundation
import NightjarCore
import NightjarHTTP
import NightjarSandbox
import Testing

@testable import NightjarScript

/// Finding 6: a dry run shows what it cannot know yet as `‹what it stands for›`, as written, and
/// never reads such a placeholder as a date, an amount or a size.
@Suite struct DryRunTests {
    @Test func placeholdersAreShownUnencodedAndNeverFiltered() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let lines = Lines()
        let outcome = await ScriptTestSupport.run(
            try ScriptTestSupport.shipped("sandbox-html-portal"), portals: portals, client: "acme",
            range: ScriptTestSupport.range("2026-11-01", "2026-11-30"), dryRun: true, lines: lines)
        #expect(outcome.failure == nil)
        #expect(outcome.requests == 0)
        let text = lines.all.joined(separator: "\n")
        let origin = portals.origins["sandbox-html-portal"]!
        #expect(text.contains(#"GET \#(origin)/‹xpath(row, ".//a[.='Download']/@href")›"#), "\(text)")
        #expect(text.contains(#"amount=‹xpath(row, "td[3]")›"#), "\(text)")
        #expect(text.contains(#"date=‹xpath(row, "td[2]")›"#))
        // Values that are known are still shown as they would be sent.
        #expect(text.contains("fromDate=11%2F01%2F2026&toDate=11%2F30%2F2026"))
        #expect(!text.contains("%E2%80%B9"), "\(text)")
    }

    @Test func aPlaceholderInAQueryIsShownAsWritten() async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let definition = try ScriptTestSupport.parse(
            """
            portal sandbox-html-portal "Query"
            origin main "https://suppliers.sandbox-html-portal.example"
            remittances {
              get "/payments/remittance"
              let next = xpath "//a[@class='next page']/@href"
              get "/search" query { after: next, size: next | number }
              download get "/f.csv" kind remittance size xpath "//span[@class='size']"
            }
            """)
        let lines = Lines()
        _ = await ScriptTestSupport.run(definition, portals: portals, client: "acme", dryRun: true, lines: lines)
        let text = lines.all.joined(separator: "\n")
        #expect(
            text.contains(#"/search?after=‹xpath "//a[@class='next page']/@href"›&size=‹next | number›"#), "\(text)")
        #expect(text.contains(#"size=‹xpath "//span[@class='size']"›"#), "\(text)")
    }

    @Test func encodedPlaceholdersAreDecodedForDisplayOnly() {
        #expect(
            ScraperInterpreter.showingPlaceholders(
                "http://h/a%20b/%E2%80%B9header%20%22Location%22%E2%80%BA", formEncoded: false)
                == #"http://h/a%20b/‹header "Location"›"#)
        #expect(
            ScraperInterpreter.showingPlaceholders("q=%E2%80%B9a+%2B+b%E2%80%BA&r=1+2", formEncoded: true)
                == "q=‹a + b›&r=1+2")
        #expect(ScraperInterpreter.showingPlaceholders("%E2%80%B9unclosed", formEncoded: false) == "%E2%80%B9unclosed")
    }
}
