import Foundation
import NightjarCore
import Testing

/// Supplier invoices (X12 810) into purchase orders, as a store's operator runs it.
@Suite("nightjar po", .serialized)
struct SupplierCommandTests {
    static let samples =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        + "/NightjarDocumentsTests/Samples"

    /// A one-invoice 810: `lines` are (qualifier, code, quantity, unit price, description).
    static func invoice(
        number: String, date: String, control: String, lines: [(String, String, String, String, String)],
        total: String? = nil
    ) -> String {
        var body = [
            "ST*810*\(control)", "BIG*\(date)*\(number)*\(date)*PO\(number)", "N1*VN*SANDBOX FOODS*92*FAB-001",
            "N1*ST*STORE ONE*92*ST-01",
        ]
        var cents = 0
        for (index, line) in lines.enumerated() {
            body.append("IT1*\(index + 1)*\(line.2)*EA*\(line.3)**\(line.0)*\(line.1)")
            body.append("PID*F****\(line.4)")
            cents += Int((Double(line.2)! * Double(line.3)! * 100).rounded())
        }
        body.append("TDS*\(total ?? String(cents))")
        body.append("CTT*\(lines.count)")
        body.append("SE*\(body.count + 1)*\(control)")
        return
            ([
                "ISA*00*          *00*          *ZZ*DISTRIBUTOR    *ZZ*STOREONE       *\(date.dropFirst(2))*1200*U*00401*\(control.suffix(9).padding(toLength: 9, withPad: "0", startingAt: 0))*0*P*>",
                "GS*IN*DISTRIBUTOR*STOREONE*\(date)*1200*1*X*004010",
            ] + body + ["GE*1*1", "IEA*1*\(control.suffix(9).padding(toLength: 9, withPad: "0", startingAt: 0))"])
            .joined(separator: "~\n") + "~\n"
    }

    @Test func invoicesBecomePurchaseOrdersMappedByReorderNumber() throws {
        let parent = BinaryRunner.temporaryFolder("po")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }
        func write(_ name: String, _ text: String) throws -> String {
            try text.write(toFile: parent + "/" + name, atomically: true, encoding: .utf8)
            return parent + "/" + name
        }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let suppliers = try write(
            "suppliers.csv", "supplier,name,their_code\nFAB,Sandbox Foods,FAB-001\nBARRY,Barry and Lamb,2055574240000\n"
        )
        let locations = try write(
            "locations.csv", "location,name,their_code\nS1,Store One,ST-01\nMAC,Macdonalds Co,2100988521100\n")
        let products = try write(
            "products.csv",
            """
            sku,name,supplier,reorder_number
            OAT-1,Rolled oats 1 kg,FAB,V-100
            RICE-5,Rice 5 kg,FAB,B-200
            TEA-50,Black tea 50 bags,FAB,BP-300
            JAM-1,Strawberry jam,FAB,012345678905
            SOL-120,Convenient size solution 120ml,BARRY,001055503223
            """)
        for file in [suppliers, locations, products] {
            let result = try run(["catalog", "import", file, "--client", "store1"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(try run(["catalog", "search", "jam", "--client", "store1"]).stdout.contains("JAM-1"))

        // Each qualifier maps; an unknown item stays on the order as an error and in the log.
        let first = try write(
            "inv1.x12",
            SupplierCommandTests.invoice(
                number: "655910", date: "20220615", control: "0001",
                lines: [
                    ("VN", "V-100", "10", "2.50", "OATS"), ("IN", "B-200", "4", "9.99", "RICE"),
                    ("BP", "BP-300", "2", "3.10", "TEA"),
                    ("UP", "012345678905", "6", "1.75", "JAM"), ("VN", "V-999", "1", "4.00", "MYSTERY ITEM"),
                ]))
        var result = try run(["po", "import", first, "--client", "store1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains(
                "created       purchase order 655910 20220615 created from inv1.x12: 5 lines, 1 not mapped"))
        #expect(result.stdout.contains("not mapped: VN V-999 \"MYSTERY ITEM\""))
        result = try run(["po", "show", "655910 20220615", "--client", "store1", "--json"])
        #expect(
            result.stdout.contains("\"sku\" : \"OAT-1\"") && result.stdout.contains("\"sku\" : \"RICE-5\"")
                && result.stdout.contains("\"sku\" : \"TEA-50\"")
                && result.stdout.contains("\"sku\" : \"JAM-1\""), "\(result.stdout)")
        #expect(result.stdout.contains("\"status\" : \"inventory_not_received\""))
        #expect(result.stdout.contains("\"supplier\" : \"FAB\"") && result.stdout.contains("\"location\" : \"S1\""))
        #expect(result.stdout.contains("\"total\" : \"85.66\""))
        // Mapping the missing item fixes the open order.
        result = try run([
            "catalog", "map", "--client", "store1", "--supplier", "FAB", "--item", "V-999", "--sku", "OAT-1",
        ])
        #expect(result.stdout.contains("1 open purchase order line(s) mapped"))

        // A newer document for the same reference replaces; an older one is ignored, whatever the arrival order.
        let newer = try write(
            "inv1b.x12",
            SupplierCommandTests.invoice(
                number: "655910", date: "20220615", control: "0002", lines: [("VN", "V-100", "12", "2.50", "OATS")]))
        let older = try write(
            "inv1a.x12",
            SupplierCommandTests.invoice(
                number: "655910", date: "20220615", control: "0000", lines: [("VN", "V-100", "99", "2.50", "OATS")]))
        result = try run(["po", "import", newer, older, "--client", "store1"])
        #expect(result.stdout.contains("replaced      purchase order 655910 20220615 replaced by inv1b.x12: 1 lines"))
        #expect(result.stdout.contains("older_ignored"))
        #expect(try run(["po", "show", "655910 20220615", "--client", "store1"]).stdout.contains("12.00"))
        #expect(
            try run(["po", "list", "--client", "store1"]).stdout.components(separatedBy: "655910 20220615").count == 2)

        // Received orders are never replaced: the newer document is a conflict for a person.
        #expect(try run(["po", "receive", "655910 20220615", "--client", "store1", "--by", "dana"]).status == 0)
        let newest = try write(
            "inv1c.x12",
            SupplierCommandTests.invoice(
                number: "655910", date: "20220615", control: "0003", lines: [("VN", "V-100", "1", "2.50", "OATS")]))
        result = try run(["po", "import", newest, "--client", "store1"])
        #expect(result.stdout.hasPrefix("conflict"))
        #expect(try run(["po", "show", "655910 20220615", "--client", "store1"]).stdout.contains("inventory_received"))

        // A person's correction is recorded as such.
        let second = try write(
            "inv2.x12",
            SupplierCommandTests.invoice(
                number: "700001", date: "20220701", control: "0010", lines: [("VN", "V-100", "5", "2.50", "OATS")],
                total: "99999"))
        result = try run(["po", "import", second, "--client", "store1"])
        // The TDS total disagrees with the lines: reported with its segment.
        #expect(result.stdout.contains("segment"), "\(result.stdout)")
        #expect(
            try run(["po", "correct", "700001 20220701", "1", "--quantity", "4", "--client", "store1", "--by", "dana"])
                .status == 0)
        result = try run(["po", "show", "700001 20220701", "--client", "store1"])
        #expect(result.stdout.contains("corrected by dana") && result.stdout.contains("10.00"))

        // A damaged file changes nothing and is logged as failed with its location.
        let before = try run(["po", "list", "--json"]).stdout
        let broken = try write(
            "broken.x12",
            String(
                SupplierCommandTests.invoice(
                    number: "800001", date: "20220801", control: "0020", lines: [("VN", "V-100", "1", "2.50", "OATS")]
                ).prefix(150)))
        result = try run(["po", "import", broken, "--client", "store1"])
        #expect(result.status == 65)
        #expect(result.stdout.contains("failed") && result.stdout.contains("broken.x12"))
        #expect(try run(["po", "list", "--json"]).stdout == before)

        // The real sample: two invoices, UA codes mapped when the qualifier is allowed, TDS in implied decimals.
        result = try run([
            "po", "import", SupplierCommandTests.samples + "/bots_810-004010-01_two_ST_TDS_implied_dec.x12", "--client",
            "store1", "--qualifiers", "UA,VN",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("purchase order 465266 20020523 created"), "\(result.stdout)")
        result = try run(["po", "show", "465266 20020523", "--client", "store1", "--json"])
        #expect(
            result.stdout.contains("\"sku\" : \"SOL-120\"") && result.stdout.contains("\"supplier\" : \"BARRY\"")
                && result.stdout.contains("\"location\" : \"MAC\""))

        // The processing log reads for a store manager.
        result = try run(["po", "log"])
        for action in ["created", "replaced", "older_ignored", "received", "conflict", "corrected", "failed"] {
            #expect(result.stdout.contains(" \(action) "), "\(action)\n\(result.stdout)")
        }
        #expect(result.stdout.contains("item not found: VN V-999 \"MYSTERY ITEM\""))
    }

    @Test func everyRealSampleImportsOrIsRefusedWithItsLocation() throws {
        let parent = BinaryRunner.temporaryFolder("po-samples")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        for sample in [
            "bots_810-004010-01_two_ST_TDS_implied_dec.x12", "moov_x12_4010_810_multi_ST.txt",
            "stupidedi_004010X348_810_mixed_crlf.edi",
            "stupidedi_004010_IN810_pipe_separator.edi",
        ] {
            let result = try BinaryRunner.run([
                "--home", root, "po", "import", SupplierCommandTests.samples + "/" + sample, "--client", "store1",
            ])
            #expect(
                result.status == 0 || (result.status == 65 && result.stdout.contains(sample)),
                "\(sample): \(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("created") || result.stdout.contains("failed"), "\(sample)")
        }
    }

    @Test func runningIntegrationsByHandNeedsTheRole() throws {
        let parent = BinaryRunner.temporaryFolder("po-role")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String], stdin: String) throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        #expect(
            try run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: "alice-passphrase-1\n").status
                == 0)
        #expect(
            try run(
                ["vault", "operator", "add", "erin", "--role", "operator", "--as", "alice", "--passphrase-stdin"],
                stdin: "alice-passphrase-1\nerin-passphrase-1\n"
            ).status == 0)
        for documents in ["supplier", "remittances"] {
            let result = try run(
                ["run", "--documents", documents, "--as", "erin", "--passphrase-stdin"], stdin: "erin-passphrase-1\n")
            #expect(result.status == 77)
            #expect(result.stderr.contains("run-integrations role"))
        }
        #expect(
            try run(
                [
                    "vault", "operator", "add", "fred", "--role", "run-integrations", "--as", "alice",
                    "--passphrase-stdin",
                ], stdin: "alice-passphrase-1\nfred-passphrase-1\n"
            ).status == 0)
        let allowed = try run(
            ["run", "--documents", "supplier", "--as", "fred", "--passphrase-stdin"], stdin: "fred-passphrase-1\n")
        #expect(allowed.status != 77)
        #expect(allowed.stderr.contains("no credentials in scope"))
    }
}

@Suite("nightjar po: invoice feeds", .serialized)
struct SupplierFeedTests {
    @Test func anInvoiceFeedByProfileBecomesPurchaseOrders() throws {
        let parent = BinaryRunner.temporaryFolder("po-feed")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String]) throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments)
        }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        try FileManager.default.copyItem(
            atPath: ScraperCommandTests.repository + "/docs/examples/distributor-invoices.profile",
            toPath: root + "/profiles/distributor-invoices.profile")
        try "supplier,name,their_code\nFAB,Sandbox Foods,FAB-001\n".write(
            toFile: parent + "/s.csv", atomically: true, encoding: .utf8)
        try "sku,name,supplier,reorder_number\nOAT-1,Oats,FAB,V-100\n".write(
            toFile: parent + "/p.csv", atomically: true, encoding: .utf8)
        #expect(try run(["catalog", "import", parent + "/s.csv", "--client", "store1"]).status == 0)
        #expect(try run(["catalog", "import", parent + "/p.csv", "--client", "store1"]).status == 0)
        try """
        Invoice,Date,Vendor,Ship To,Item,Qty,Unit Cost,Description
        90001,2026-11-02,FAB-001,ST-01,V-100,10,2.50,OATS
        90001,2026-11-02,FAB-001,ST-01,V-777,1,4.00,UNKNOWN THING
        90002,2026-11-03,FAB-001,ST-01,V-100,3,2.50,OATS

        """.write(toFile: parent + "/feed.csv", atomically: true, encoding: .utf8)
        var result = try run(["po", "import", parent + "/feed.csv", "--client", "store1"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("purchase order 90001 20261102 created from feed.csv: 2 lines, 1 not mapped"))
        #expect(result.stdout.contains("purchase order 90002 20261103 created"))
        result = try run(["po", "show", "90001 20261102", "--client", "store1", "--json"])
        #expect(result.stdout.contains("\"sku\" : \"OAT-1\"") && result.stdout.contains("\"total\" : \"29.00\""))
        // A feed without a matching profile is refused with its location and changes nothing.
        try "Something,Else\n1,2\n".write(toFile: parent + "/other.csv", atomically: true, encoding: .utf8)
        result = try run(["po", "import", parent + "/other.csv", "--client", "store1"])
        #expect(result.status == 65)
        #expect(result.stdout.contains("no supplier_invoices profile fits it"))
    }
}
