import Foundation
import Testing

/// The morning report as a clerk opens it: a real headless browser reads the page's DOM.
@Suite("morning report page", .serialized)
struct MorningReportPageTests {
    @Test func exceptionsAreSortedWithTheirTotalSuggestionsAndWhatToDoAndTheContentsLeadSomewhere() throws {
        let parent = try SiteFixture.copy("report-page")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        // The ERP's file names the customer as the clerk knows it.
        try """
        customer_id,customer_name,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms
        ACME-C1,Acme Stores,INV-1001,2026-11-15,2026-12-15,1000.00,1000.00,USD,PO1,2/10 NET 30

        """.write(toFile: parent + "/names.csv", atomically: true, encoding: .utf8)
        #expect(
            try BinaryRunner.run(["--home", root, "invoices", "import", parent + "/names.csv", "--client", "acme"])
                .status == 0)
        let html = parent + "/morning.html"
        let written = try BinaryRunner.run(["--home", root, "report", "--html", html])
        #expect(written.status == 0, "\(written.stderr)")
        try FileManager.default.createDirectory(atPath: SiteTests.artefacts, withIntermediateDirectories: true)
        let screenshot = SiteTests.artefacts + "/morning-report.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        let (status, output) = try SiteTests.tool(
            "/usr/bin/python3",
            [ScraperCommandTests.repository + "/Tests/Support/report_browser_check.py", html, screenshot])
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output)")
        #expect(status == 0 && seen["ok"] as? Bool == true, "\(output)")
        #expect((seen["console_errors"] as? [String])?.isEmpty == true, "\(seen["console_errors"] ?? "")")
        #expect(seen["scripts"] as? Int == 0)

        // A table of contents per client and batch; every anchor leads to its section.
        let contents = try #require(seen["contents"] as? [[String: Any]])
        let targets = contents.compactMap { $0["target"] as? String }
        #expect(
            Set(["client-acme", "client-globex", "exceptions-acme", "batch-1", "batch-2", "batch-3"]).isSubset(
                of: Set(targets)), "\(targets)")
        #expect(contents.allSatisfy { $0["resolves"] as? Bool == true }, "\(contents)")
        #expect(contents.contains { ($0["text"] as? String)?.hasPrefix("Batch 1 · Retail One") == true })

        // Acme's exceptions, the largest first, with their total.
        let tables = try #require(seen["exceptions"] as? [String: [String: Any]])
        let acme = try #require(tables["exceptions-acme"])
        let rows = try #require(acme["rows"] as? [[String: Any]])
        #expect(rows.compactMap { $0["amount"] as? Int } == [45_000, 30_000, 12_000])
        #expect(rows.compactMap { $0["place"] as? String } == ["1 · 2", "1 · 3", "1 · 4"])
        #expect(acme["total"] as? String == "870.00 USD")
        #expect(rows.first?["customer"] as? String == "Acme Stores (ACME-C1)")
        #expect(
            (rows.first?["deductions"] as? String)?.contains("shortage (06) quantity contested 50.00 USD") == true,
            "\(rows.first ?? [:])")
        // Suggestions numbered, with the open amount and how the amount fits, and the command that accepts one.
        #expect(
            rows[1]["suggestions"] as? [String] == ["1. INV-2001 open 300.00 USD · transposed · amount exact"],
            "\(rows[1])")
        #expect(
            (rows[1]["what_to_do"] as? String)?.contains("nightjar batch accept-suggestion 1 3 1 --invoice INV-2001")
                == true)
        #expect(
            rows[2]["suggestions"] as? [String] == ["1. INV-3001 open 120.00 USD · amount matches · amount exact"],
            "\(rows[2])")
        // The count at the top is what the ledger holds.
        #expect(seen["waiting_in_total"] as? String == "3")
        #expect(FileManager.default.contents(atPath: screenshot).map { $0.count > 10_000 } == true)
    }
}
