import Foundation
import NightjarCore
import Testing

/// Payers mapped in bulk, batches decided again after a change, and the decisions as other
/// systems read them, from the command line.
@Suite("nightjar match", .serialized)
struct MatchCommandTests {
    static func x12(
        trace: String, payerID: String, payer: String, lines: [(String, String)], extra: [String: [String]] = [:],
        control: Int = 1
    ) -> String {
        let number = String(format: "%09d", control)
        let total = lines.map { try! Money.parseMinorUnits($0.1, digits: 2) }.reduce(0, +)
        var segments = [
            "ST*820*0001", "BPR*C*\(Money.decimalString(total, digits: 2))*C*ACH*CTX*01*1*DA*1*1**01*2*DA*2*20261120",
            "TRN*1*\(trace)*1",
            "N1*PR*\(payer)*92*\(payerID)", "ENT*1",
        ]
        for (reference, paid) in lines {
            segments.append("RMR*IV*\(reference)*PI*\(paid)")
            segments += extra[reference] ?? []
        }
        segments.append("SE*\(segments.count + 1)*0001")
        return
            "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*\(number)*0*P*>~GS*RA*S*R*20261124*0100*1*X*004010~"
            + segments.joined(separator: "~") + "~GE*1*1~IEA*1*\(number)~"
    }

    @Test func aliasesLoadInBulkAndMatchDecidesWaitingBatchesAgain() throws {
        let parent = BinaryRunner.temporaryFolder("match")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String]) throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments)
        }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        try """
        customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms
        ACME-C1,INV-1001,2026-11-15,2026-12-15,1000.00,1000.00,USD,,
        ACME-C1,INV-2001,2026-11-01,2026-12-01,300.00,300.00,USD,,
        ACME-C1,1035209,2026-11-01,2026-12-01,120.00,120.00,USD,,
        ACME-C1,01035209,2026-11-01,2026-12-01,130.00,130.00,USD,,
        ACME-C2,INV-5001,2026-11-01,2026-12-01,75.00,75.00,USD,,

        """.write(toFile: parent + "/open.csv", atomically: true, encoding: .utf8)
        #expect(try run(["invoices", "import", parent + "/open.csv", "--client", "acme"]).status == 0)
        try MatchCommandTests.x12(
            trace: "T1", payerID: "V1", payer: "RETAILER CO",
            lines: [
                ("INV-1001", "950.00"), ("INV-2010", "300.00"), ("1035209", "120.00"),
                ("DM-1", "-25.00"), ("INV-5001", "75.00"),
            ],
            extra: ["INV-1001": ["ADX*-50.00*OOS"], "DM-1": ["REF*IV*INV-1001", "ADX*-25.00*Q7"]]
        )
        .write(toFile: parent + "/a.x12", atomically: true, encoding: .utf8)
        try MatchCommandTests.x12(
            trace: "T2", payerID: "V2", payer: "Retailer Co", lines: [("INV-1001", "1000.00")], control: 2
        )
        .write(toFile: parent + "/b.x12", atomically: true, encoding: .utf8)
        #expect(try run(["import", parent + "/a.x12", parent + "/b.x12", "--client", "acme"]).status == 0)

        // Nobody is mapped yet: the lines say whose they might be and how to map them.
        var result = try run(["match"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("nightjar customers alias add V1 ACME-C1 --client acme"), "\(result.stdout)")
        #expect(result.stdout.contains("unknown payer"))

        // A name two payer ids share is refused, with the line; ids load in one go.
        try "alias,customer_id\nV1,ACME-C1\nRetailer Co,ACME-C2\n".write(
            toFile: parent + "/aliases.csv", atomically: true, encoding: .utf8)
        result = try run(["customers", "alias", "import", parent + "/aliases.csv", "--client", "acme"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("V1, V2") && result.stderr.contains("aliases.csv"), "\(result.stderr)")
        try "alias,customer_id\nV1,ACME-C1\nV2,ACME-C1\n".write(
            toFile: parent + "/aliases.csv", atomically: true, encoding: .utf8)
        result = try run(["customers", "alias", "import", parent + "/aliases.csv", "--client", "acme"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2 alias(es) added, 0 changed, 0 unchanged"))
        #expect(try run(["customers", "alias", "add", "RETAILER CO", "ACME-C2", "--client", "acme"]).status == 65)

        result = try run(["match", "--client", "acme"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains("Decided 2 waiting batch(es) of acme again (2 had been decided before)"),
            "\(result.stdout)")

        // The decisions, as other systems read them.
        result = try run(["batch", "show", "1", "--json"])
        #expect(result.status == 0)
        let batch = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let lines = try #require(batch["lines"] as? [[String: Any]])
        func decision(_ line: Int) -> [String: Any] { lines[line - 1]["decision"] as? [String: Any] ?? [:] }
        #expect(lines.map { $0["line"] as? Int } == [1, 2, 3, 4, 5])
        #expect(decision(1)["status"] as? String == "short_paid")
        let application = (decision(1)["applications"] as? [[String: Any]])?.first
        #expect(
            application?["invoice"] as? String == "INV-1001" && application?["applied"] as? String == "1000.00"
                && application?["cash"] as? String == "950.00")
        let deduction = (decision(1)["deductions"] as? [[String: Any]])?.first
        #expect(
            deduction?["type"] as? String == "shortage" && deduction?["code"] as? String == "OOS"
                && deduction?["currency"] as? String == "USD")
        // A transposed number with the exact amount comes first among the suggestions.
        let suggestion = (decision(2)["suggestions"] as? [[String: Any]])?.first
        #expect(decision(2)["status"] as? String == "unknown_reference")
        #expect(
            suggestion?["invoice"] as? String == "INV-2001" && suggestion?["reason"] as? String == "transposed"
                && suggestion?["amount_fit"] as? String == "exact" && suggestion?["open_amount"] as? String == "300.00"
                && suggestion?["number"] as? Int == 1)
        // Twins.
        #expect(decision(3)["status"] as? String == "ambiguous")
        #expect(
            Set((decision(3)["suggestions"] as? [[String: Any]] ?? []).compactMap { $0["invoice"] as? String }) == [
                "1035209", "01035209",
            ])
        // A debit memo with an unmapped code, against the invoice it names.
        #expect(decision(4)["status"] as? String == "debit_memo")
        let memo = (decision(4)["deductions"] as? [[String: Any]])?.first
        #expect(
            memo?["unmapped"] as? Bool == true && memo?["invoice"] as? String == "INV-1001"
                && memo?["reference"] as? String == "DM-1" && memo?["type"] as? String == "manual")
        // Another customer's invoice is not this payer's.
        #expect(decision(5)["status"] as? String == "unknown_reference")
        let origin = lines[3]["origin"] as? [String: Any]
        #expect(
            origin?["file"] as? String == "a.x12" && origin?["control_number"] as? String == "0001"
                && origin?["segment"] as? Int == 12)
        #expect(origin?.keys.contains("row") == true && origin?["row"] is NSNull)
        // The second payment of INV-1001 points at the first.
        result = try run(["batch", "show", "2", "--json"])
        let second = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let paidBy =
            ((second["lines"] as? [[String: Any]])?.first?["decision"] as? [String: Any])?["paid_by"] as? [String: Any]
        #expect(paidBy?["batch"] as? Int == 1 && paidBy?["line"] as? Int == 1)
        result = try run(["batch", "show", "1"])
        #expect(
            result.stdout.contains("suggestion 1: INV-2001 open 300.00, transposed, amount exact"), "\(result.stdout)")
        #expect(result.stdout.contains("unmapped reason code"))
        result = try run(["batch", "show", "2"])
        #expect(result.stdout.contains("paid first by batch 1 line 1"), "\(result.stdout)")

        // The rule that maps payer ids that are customer ids shows in the rules.
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try "payer_id_is_customer_id = yes\nreason.Q7 = promotion\n".write(
            toFile: root + "/rules/acme.rules", atomically: true, encoding: .utf8)
        #expect(try run(["rules", "show", "--client", "acme"]).stdout.contains("payer_id_is_customer_id = yes"))
        #expect(try run(["match", "--client", "acme"]).status == 0)
        result = try run(["batch", "show", "1", "--json"])
        #expect(result.stdout.contains("\"type\" : \"promotion\""), "\(result.stdout)")
        #expect(try run(["match", "--batch", "99"]).status == 66)
    }
}
