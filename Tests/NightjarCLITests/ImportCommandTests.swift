import Foundation
import NightjarCore
import Testing

/// Importing real files from the command line, as finance staff would.
@Suite("nightjar import", .serialized)
struct ImportCommandTests {
    static var samples: String {
        // The shared samples sit beside the checkout; the same files are also in the documents tests' resources.
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return here.appendingPathComponent("NightjarDocumentsTests/Samples").path
    }

    @Test func remittancesAndInvoicesImportOnceAndShowUpInBatches() throws {
        let parent = BinaryRunner.temporaryFolder("import")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        try FileManager.default.copyItem(
            atPath: repository.appendingPathComponent("docs/examples/sandbox-html-portal-remittance.profile").path,
            toPath: root + "/profiles/sandbox-html-portal-remittance.profile")
        let csv = parent + "/sandbox-html-portal.csv"
        try """
        Sandbox HTML Portal - Remittance Advice,,,,,,,
        Payment Number:,100234,,,,,,
        Payment Date:,11/20/2026,,,,,,
        Payer:,Example Traders,,,,,,
        Payer ID:,NWT-77,,,,,,
        ,,,,,,,
        Line Type,Invoice Number,Invoice Amount,Discount,Amount,Reason Code,Reason,Reference
        INVOICE,INV-1001,"1,200.00",24.00,"1,176.00",,,
        INVOICE,INV-1002,500.00,0.00,500.00,,,
        DEDUCTION,INV-1002,,,-50.00,SHORTAGE,Short shipped,DM-1
        Total,,,,"1,626.00",,,
        """.write(toFile: csv, atomically: true, encoding: .utf8)
        let x12 = ImportCommandTests.samples + "/bots_820-004010-01_safeway_rmr_discounts.x12"
        var result = try BinaryRunner.run(["--home", root, "import", csv, x12, "--client", "acme"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("sandbox-html-portal.csv: 1 batch(es), 2 line(s)"))
        #expect(result.stdout.contains("1 OUT OF BALANCE"))
        result = try BinaryRunner.run(["--home", root, "import", csv, x12, "--client", "acme"])
        #expect(result.stdout.components(separatedBy: "already imported").count == 3)

        result = try BinaryRunner.run(["--home", root, "batches", "--json"])
        let batches = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(batches.count == 2)
        let safeway = try #require(batches.first { ($0["trace_number"] as? String) == "4311000190" })
        #expect(safeway["balanced"] as? Bool == false)
        #expect(safeway["difference"] as? String == "-32769.61")
        result = try BinaryRunner.run(["--home", root, "batch", "show", "\(safeway["id"] as? Int ?? 0)"])
        #expect(result.stdout.contains("OUT OF BALANCE by -32769.61"))
        #expect(result.stdout.contains("IV 6092392"))
        #expect(!result.stdout.contains("2000014804300"), "bank account numbers are masked")

        // A broken file is refused with its location and stores nothing.
        let broken = parent + "/broken.x12"
        let text = try String(contentsOfFile: x12, encoding: .utf8).replacingOccurrences(of: "SE*", with: "SE*9")
        try text.write(toFile: broken, atomically: true, encoding: .utf8)
        result = try BinaryRunner.run(["--home", root, "import", broken, "--client", "acme"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("broken.x12 segment"))
        #expect(
            try BinaryRunner.run(["--home", root, "batches", "--json"]).stdout.components(separatedBy: "\"id\"").count
                == 3)

        let invoices = parent + "/open.csv"
        try
            "customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number\nNW,INV-1001,2026-10-01,2026-10-31,1200.00,1200.00,USD,PO-1\n"
            .write(toFile: invoices, atomically: true, encoding: .utf8)
        result = try BinaryRunner.run(["--home", root, "invoices", "import", invoices, "--client", "acme"])
        #expect(result.stdout.contains("1 new open invoice"))
        #expect(SecureFile.mode(of: root + "/data/nightjar.sqlite") == 0o600)
    }
}
