import Foundation
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarMatching
import NightjarStore
import Testing

/// An 820 interchange: one payment per entry, each line an RMR with optional extra segments.
func x12Payment(
    _ payments: [(payerID: String, payer: String, trace: String, lines: [(String, String, [String])])],
    control: Int = 1,
    currency: String? = nil, date: String = "20261120"
) -> [UInt8] {
    let number = String(format: "%09d", control)
    var text =
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*\(number)*0*P*>~GS*RA*S*R*20261124*0100*1*X*004010~"
    for (index, payment) in payments.enumerated() {
        let st = String(format: "%04d", index + 1)
        let total = payment.lines.map { try! Money.parseMinorUnits($0.1, digits: 2) }.reduce(0, +)
        var segments = [
            "ST*820*\(st)", "BPR*C*\(Money.decimalString(total, digits: 2))*C*ACH*CTX*01*1*DA*1*1**01*2*DA*2*\(date)",
            "TRN*1*\(payment.trace)*1",
        ]
        if let currency { segments.append("CUR*PR*\(currency)") }
        segments += ["N1*PR*\(payment.payer)*92*\(payment.payerID)", "ENT*1"]
        for (reference, paid, extra) in payment.lines {
            segments.append("RMR*IV*\(reference)*PI*\(paid)")
            segments += extra
        }
        segments.append("SE*\(segments.count + 1)*\(st)")
        text += segments.joined(separator: "~") + "~"
    }
    return Array((text + "GE*\(payments.count)*1~IEA*1*\(number)~").utf8)
}

struct MatchingWorkspace {
    let database: Database
    let ledger: Ledger

    init() throws {
        database = try ledgerDatabase()
        ledger = Ledger(database: database)
    }

    func invoices(_ client: ClientID, _ rows: String, name: String = "open.csv") throws {
        let bytes = Array(
            ("customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms\n" + rows)
                .utf8)
        _ = try ledger.importOpenInvoices(
            try OpenInvoiceReader.read(bytes, defaultCurrency: .usd), bytes: bytes, name: name, client: client)
    }

    @discardableResult
    func remit(_ client: ClientID, _ bytes: [UInt8], name: String) throws -> [Int64] {
        _ = try ledger.importRemittances(
            try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: name), bytes: bytes, name: name,
            client: client,
            format: "x12-820")
        return try database.query(
            "SELECT b.id FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE f.original_name = ? ORDER BY b.id",
            [name]
        ).map { try $0.int64("id") }
    }

    func line(_ batch: Int64, _ line: Int) throws -> BatchView.Line {
        try #require(try ledger.batchView(batch)).lines[line - 1]
    }

    /// A client's decisions as text, without the moment they were made.
    func decisions(_ client: ClientID) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = ""
        for summary in try ledger.batches(client: client).reversed() {
            text += String(decoding: try encoder.encode(try ledger.batchView(summary.id)!), as: UTF8.self) + "\n"
        }
        return text.replacingOccurrences(of: #""matched_at":"[^"]*""#, with: "", options: .regularExpression)
    }
}

@Suite("Matching through the store")
struct MatchingBehaviourTests {
    static let open =
        "C1,INV-1,2026-11-01,,100.00,100.00,USD,,\nC1,INV-2,2026-11-01,,50.00,50.00,USD,,\nC9,INV-9,2026-11-01,,75.00,75.00,USD,,\n"

    @Test func anAliasOfOneClientNeverChangesAnothersDecisions() throws {
        func world(extraAlias: Bool) throws -> (MatchingWorkspace, String) {
            let workspace = try MatchingWorkspace()
            for client: ClientID in ["alpha", "beta"] {
                try workspace.invoices(client, MatchingBehaviourTests.open)
                try workspace.ledger.addCustomerAlias(client: client, alias: "V123", customerID: "C1")
                try workspace.remit(
                    client,
                    x12Payment([
                        (
                            "V123", "RETAILER CO", "T1",
                            [("INV-1", "100.00", []), ("INV-9", "75.00", []), ("INV-2", "50.00", [])]
                        )
                    ]),
                    name: "p.x12")
            }
            // Only beta knows RETAILER CO as customer C9 too.
            if extraAlias {
                try workspace.ledger.addCustomerAlias(client: "beta", alias: "RETAILER CO", customerID: "C9")
            }
            for client: ClientID in ["alpha", "beta"] { _ = try workspace.ledger.match(client: client) }
            return (workspace, try workspace.decisions("alpha"))
        }
        let (with, alphaWith) = try world(extraAlias: true)
        let (_, alphaWithout) = try world(extraAlias: false)
        #expect(alphaWith == alphaWithout)
        #expect(alphaWith.contains("unknown_reference"))
        let beta = try #require(try with.ledger.batches(client: "beta").first)
        #expect(try with.line(beta.id, 2).decision?.status == "paid_in_full")
        let alpha = try #require(try with.ledger.batches(client: "alpha").first)
        #expect(try with.line(alpha.id, 2).decision?.status == "unknown_reference")
        #expect(try with.ledger.customers(client: "alpha", payerID: "V123", name: "RETAILER CO").customers == ["C1"])
    }

    @Test func aPaymentOfAnInvoiceAnotherWaitingBatchPaidIsPaidTwicePointingAtIt() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices("acme", MatchingBehaviourTests.open)
        try workspace.ledger.addCustomerAlias(client: "acme", alias: "V1", customerID: "C1")
        let first = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T1", [("INV-2", "20.00", []), ("INV-1", "100.00", [])])]), name: "a.x12")[
                0]
        _ = try workspace.ledger.match(client: "acme")
        let second = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T2", [("inv 1", "100.00", []), ("INV-2", "30.00", [])])], control: 2),
            name: "b.x12")[0]
        let run = try workspace.ledger.match(client: "acme")
        // Only the new batch is decided; the earlier one's lines count.
        #expect(run.batches.map(\.batchID) == [second])
        let twice = try workspace.line(second, 1).decision
        #expect(twice?.status == "paid_twice" && twice?.paidBy == BatchView.LineReference(batch: first, line: 2))
        #expect(twice?.candidates == ["INV-1"])
        // Part, then the rest: both apply.
        #expect(try workspace.line(second, 2).decision?.status == "paid_in_full")
        #expect(try workspace.line(second, 2).decision?.applications.first?.openAmount == "30.00")
    }

    @Test func aPersonsDecisionIsKeptAndListedWhenItNoLongerFits() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices("acme", MatchingBehaviourTests.open)
        try workspace.ledger.addCustomerAlias(client: "acme", alias: "V1", customerID: "C1")
        let first = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T1", [("LUMP", "50.00", [])])]), name: "a.x12")[0]
        let second = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T2", [("ZZZ", "100.00", [])])], control: 2), name: "b.x12")[0]
        _ = try workspace.ledger.match(client: "acme")
        // A person points the second batch's line at INV-1, then the first's at INV-2.
        #expect(
            try workspace.ledger.reassign(batch: second, line: 1, invoice: "INV-1", actor: "bob").after.status
                == "paid_in_full")
        var run = try workspace.ledger.redecide(client: "acme")
        #expect(run.redecided == 2 && run.keptDecisions.count == 1 && run.noLongerFitting.isEmpty)
        // Now an earlier line pays INV-1 itself: the person's decision no longer fits, and is kept.
        try workspace.database.execute(
            "UPDATE remittance_line SET reference = 'INV-1', amount_paid_minor = 10000 WHERE batch_id = ?", [first])
        run = try workspace.ledger.redecide(client: "acme")
        #expect(run.noLongerFitting.map(\.line) == [1])
        #expect(run.noLongerFitting.first?.problem?.contains("INV-1") == true)
        #expect(try workspace.line(second, 1).decision?.rule == "manual.reassign by bob")
        #expect(try workspace.line(first, 1).decision?.status == "paid_in_full")
    }

    @Test func matchingNeverChangesAnApprovedBatchAndAReversalDecidesTheRestAgain() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices("acme", MatchingBehaviourTests.open)
        try workspace.ledger.addCustomerAlias(client: "acme", alias: "V1", customerID: "C1")
        let first = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T1", [("INV-1", "100.00", [])])]), name: "a.x12")[0]
        _ = try workspace.ledger.match(client: "acme")
        _ = try workspace.ledger.approve(batch: first, actor: "carol")
        let before = try workspace.decisions("acme")
        #expect(throws: ReviewError.self) { try workspace.ledger.match(batch: first) }
        #expect(try workspace.ledger.redecide(client: "acme").batches.isEmpty)
        #expect(try workspace.decisions("acme") == before)
        // A later payment of the same invoice is paid twice, pointing at the approved line.
        let second = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T2", [("INV-1", "100.00", [])])], control: 2), name: "b.x12")[0]
        _ = try workspace.ledger.match(client: "acme")
        #expect(try workspace.line(second, 1).decision?.status == "paid_twice")
        #expect(try workspace.line(second, 1).decision?.paidBy == BatchView.LineReference(batch: first, line: 1))
        // Reversed: the line that pointed at it is decided again and pays the invoice.
        _ = try workspace.ledger.reverse(
            batch: first, actor: "alice", reason: "wrong payer", on: try CalendarDate(iso: "2026-12-01"))
        let run = try workspace.ledger.redecideAfterChange(batch: first, rules: { _ in .standard })
        #expect(run.batches.map(\.batchID) == [second])
        #expect(try workspace.line(second, 1).decision?.status == "paid_in_full")
        #expect(throws: ReviewError.self) { try workspace.ledger.match(batches: [first, second]) }
    }

    @Test func theSamePaymentSentAgainIsADuplicateAndIsNotMatchedAgain() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices("acme", MatchingBehaviourTests.open)
        try workspace.ledger.addCustomerAlias(client: "acme", alias: "V1", customerID: "C1")
        let payment = [
            (payerID: "V1", payer: "R", trace: "T1", lines: [("INV-1", "100.00", [String]()), ("INV-2", "50.00", [])])
        ]
        let first = try workspace.remit("acme", x12Payment(payment, control: 1), name: "a.x12")[0]
        let again = try workspace.remit("acme", x12Payment(payment, control: 2), name: "a-resent.x12")[0]
        let run = try workspace.ledger.match(client: "acme")
        #expect(run.duplicates == 1 && run.batches.last?.duplicateOf == first)
        let view = try #require(try workspace.ledger.batchView(again))
        #expect(view.status == "duplicate_payment" && view.duplicateOf == first)
        #expect(
            view.lines.allSatisfy {
                $0.decision?.status == "duplicate_payment" && $0.decision?.applications.isEmpty == true
            })
        #expect(view.lines[1].decision?.paidBy == BatchView.LineReference(batch: first, line: 2))
        #expect(try workspace.line(first, 1).decision?.status == "paid_in_full")
        // Another trace number is another payment.
        let other = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T9", [("INV-1", "100.00", [])])], control: 3), name: "c.x12")[0]
        _ = try workspace.ledger.match(client: "acme")
        #expect(try workspace.ledger.batchView(other)?.status == "new")
        #expect(try workspace.line(other, 1).decision?.status == "paid_twice")
        #expect(throws: ReviewError.self) { try workspace.ledger.approve(batch: again, actor: "carol") }
    }

    @Test func aNameSeveralPayerIdsShareIsRefusedUnlessForced() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices("acme", MatchingBehaviourTests.open)
        try workspace.remit(
            "acme",
            x12Payment([
                ("V1", "RETAILER CO", "T1", [("INV-1", "100.00", [])]),
                ("V2", "Retailer Co", "T2", [("INV-2", "50.00", [])]),
            ]),
            name: "a.x12")
        #expect(throws: AliasError.self) {
            try workspace.ledger.addCustomerAlias(client: "acme", alias: "RETAILER CO", customerID: "C1")
        }
        let file = Array("alias,customer_id\nV1,C1\nretailer co,C1\n".utf8)
        let entries = try CustomerAliasFile.read(file, file: "aliases.csv")
        do {
            _ = try workspace.ledger.importCustomerAliases(entries, client: "acme", file: "aliases.csv")
            Issue.record("imported a shared name")
        } catch let error as AliasError {
            #expect(error.location?.line == 3 && error.message.contains("V1, V2"))
        }
        #expect(try workspace.ledger.customerAliases(client: "acme").isEmpty)
        #expect(
            try workspace.ledger.importCustomerAliases(entries, client: "acme", file: "aliases.csv", force: true)
                == AliasImportResult(added: 2, changed: 0, unchanged: 0))
        #expect(
            try workspace.ledger.importCustomerAliases(entries, client: "acme", file: "aliases.csv", force: true)
                .unchanged == 2)
        // An id is never refused; nor a name only one payer uses.
        try workspace.ledger.addCustomerAlias(client: "acme", alias: "V2", customerID: "C9")
        for (text, line) in [
            ("alias\nV1\n", 1), ("alias,customer_id\nV1,\n", 2), ("alias,customer_id\nV1,C1\nv1,C2\n", 3), ("", 1),
        ] {
            #expect(throws: (any Error).self, "\(text)") { try CustomerAliasFile.read(Array(text.utf8), file: "a.csv") }
            do { _ = try CustomerAliasFile.read(Array(text.utf8), file: "a.csv") } catch let error as GeneralError {
                #expect(error.location?.line == line, "\(text)")
            }
        }
    }

    @Test func anUnknownPayerSaysSoWithTheCommandAndAPayerIDThatIsACustomerIDIsHinted() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices("acme", MatchingBehaviourTests.open)
        let batch = try workspace.remit(
            "acme", x12Payment([("V999", "NEW STORES", "T1", [("INV-9", "75.00", []), ("INV-1", "1.00", [])])]),
            name: "a.x12")[0]
        let run = try workspace.ledger.match(client: "acme")
        #expect(run.unknownPayerLines == 2 && run.statuses == ["unknown_payer": 2])
        let note = try #require(try workspace.line(batch, 1).decision?.note)
        #expect(note.contains("nightjar customers alias add V999 CUSTOMER --client acme"), "\(note)")
        // A payer id that is a customer id: hinted while the rule is off, used when it is on.
        let own = try workspace.remit(
            "acme", x12Payment([("C9", "NINE", "T2", [("INV-9", "75.00", [])])], control: 2), name: "b.x12")[0]
        let off = try workspace.ledger.match(batch: own)
        #expect(off.statuses == ["unknown_payer": 1])
        #expect(
            off.hints.contains {
                $0.contains("nightjar customers alias add C9 C9 --client acme")
                    && $0.contains("payer_id_is_customer_id")
            })
        var rules = MatchingRules.standard
        rules.payerIDIsCustomerID = true
        #expect(
            try workspace.ledger.match(client: "acme", scope: .from(own), rules: rules).statuses == ["paid_in_full": 1])
    }

    @Test func aLineWithoutACurrencyTakesTheCustomersAndNeverMeetsAnotherCurrency() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices(
            "acme", "E1,RE-1,2026-11-01,,100.00,100.00,EUR,,\nE1,RE-2,2026-11-01,,40.00,40.00,EUR,,\n")
        try workspace.ledger.addCustomerAlias(client: "acme", alias: "V1", customerID: "E1")
        let plain = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T1", [("RE-1", "100.00", [])])]), name: "a.x12")[0]
        let dollars = try workspace.remit(
            "acme", x12Payment([("V1", "R", "T2", [("RE-2", "40.00", [])])], control: 2, currency: "USD"), name: "b.x12"
        )[0]
        _ = try workspace.ledger.match(client: "acme")
        let view = try #require(try workspace.ledger.batchView(plain))
        #expect(view.currency == "EUR" && !view.currencyDeclared && view.lines[0].decision?.status == "paid_in_full")
        let declared = try workspace.line(dollars, 1).decision
        #expect(
            declared?.status == "unknown_reference" && declared?.rule == "reference.no_invoice_in_currency"
                && declared?.suggestions.isEmpty == true)
    }

    @Test func severalInvoicesAndDebitMemosSettlePerInvoice() throws {
        let workspace = try MatchingWorkspace()
        try workspace.invoices("acme", MatchingBehaviourTests.open)
        try workspace.ledger.addCustomerAlias(client: "acme", alias: "V1", customerID: "C1")
        let batch = try workspace.remit(
            "acme",
            x12Payment([
                (
                    "V1", "R", "T1",
                    [
                        ("INV-1 & INV-2", "150.00", []),
                        ("DM-77", "-10.00", ["REF*IV*INV-1", "ADX*-10.00*56*DM*DM-77"]),
                        ("INV-3", "5.00", ["ADX*-2.00*Z7"]),
                    ]
                )
            ]), name: "a.x12")[0]
        _ = try workspace.ledger.match(client: "acme")
        let view = try #require(try workspace.ledger.batchView(batch))
        let several = try #require(view.lines[0].decision)
        #expect(several.status == "paid_in_full" && several.rule == "reference.split")
        #expect(
            several.applications.map(\.invoice) == ["INV-1", "INV-2"]
                && several.applications.map(\.applied) == ["100.00", "50.00"])
        let memo = try #require(view.lines[1].decision)
        #expect(
            memo.status == "debit_memo" && memo.applications.map(\.invoice) == ["INV-1"]
                && memo.applications[0].cash == "-10.00")
        #expect(
            memo.deductions.first.map { [$0.type, $0.code, $0.reference ?? "", $0.invoice ?? "", $0.amount] } == [
                "promotion", "56", "DM-77", "INV-1", "10.00",
            ])
        #expect(
            view.lines[1].origin.segment == 9 && view.lines[1].origin.controlNumber == "0001"
                && view.lines[1].origin.file == "a.x12")
        let unmapped = try #require(view.lines[2].decision?.deductions.first)
        #expect(unmapped.type == "manual" && unmapped.unmapped && unmapped.code == "Z7")
        // Approval settles each invoice; the cash adds up to the payment.
        let settlement = try workspace.ledger.approve(
            batch: batch, actor: "carol", acceptingExceptions: "the debit memo and code Z7 are checked")
        #expect(settlement.lines.filter { $0.position == 0 }.map(\.invoice) == ["INV-1", "INV-2"])
        let cash = settlement.lines.filter { $0.invoice != nil }.map {
            $0.applied.minorUnits - $0.discount.minorUnits - $0.writeOff.minorUnits
                - $0.deductions.map(\.amount.minorUnits).reduce(0, +)
        }.reduce(0, +)
        #expect(cash == 14_000)
        #expect(
            try workspace.ledger.openInvoices(client: "acme").filter { $0.customerID == "C1" }.map(
                \.openAmount.minorUnits) == [0, 0])
        #expect(
            try workspace.ledger.invoiceHistory(client: "acme", invoice: "INV-2").applications.first?.amount.minorUnits
                == 5_000)
        // The JSON is snake_case with amounts beside their currency.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(view), as: UTF8.self)
        for key in [
            "\"amount_paid\"", "\"applications\"", "\"open_amount\"", "\"write_off\"", "\"paid_by\"",
            "\"control_number\"", "\"currency\":\"USD\"",
            "\"reference_qualifier\"", "\"unmapped\":true",
        ] {
            #expect(json.contains(key), "\(key)")
        }
        #expect(!json.contains("minorUnits") && !json.contains("invoiceID"))
    }
}
