import Foundation
import NightjarCore
import Testing

@testable import NightjarMatching

func usd(_ text: String) -> Money { try! Money.parse(text, currency: .usd) }
func day(_ text: String) -> CalendarDate { try! CalendarDate(iso: text) }

@Suite("Reference normalisation")
struct NormalisationTests {
    static let same: [(String, String)] = [
        ("INV-000123", "123"), ("inv 123", "123"), ("#123", "123"), ("000123", "123"), ("123-00", "123"),
        ("INV-000123-00", "123"),
        ("Invoice No. 123", "NO123"), ("A-17/B", "A17B"), ("  00042 ", "42"), ("INVERNESS-1", "INVERNESS1"),
        ("NORTH5", "NORTH5"),
        ("0", "0"), ("00-00", "0"), ("INV#77", "77"),
    ]

    @Test("documented forms normalise alike", arguments: same)
    func normalises(input: String, expected: String) {
        #expect(ReferenceNormalisation.standard.normalise(input) == expected)
    }
}

@Suite("Matching rules")
struct MatchingRuleTests {
    static func item(
        _ id: Int64, _ number: String, _ amount: String, open: String? = nil, customer: String = "C1",
        date: String = "2026-10-01",
        po: String? = nil, terms: String? = nil, currency: CurrencyCode = .usd
    ) -> OpenItem {
        let total = try! Money.parse(amount, currency: currency)
        return OpenItem(
            id: id, customerID: customer, invoiceNumber: number, amount: total,
            openAmount: open.map { try! Money.parse($0, currency: currency) } ?? total,
            invoiceDate: day(date), purchaseOrderNumber: po, terms: terms.flatMap { DiscountTerms($0) })
    }

    static let items = [
        item(1, "INV-1001", "1000.00", date: "2026-11-01", po: "PO-555", terms: "2/10 NET 30"),
        item(2, "INV-1002", "500.00"),
        item(3, "0042", "80.00"), item(4, "INV-42", "90.00"),
        item(5, "7001", "250.00", customer: "C2"), item(6, "7002", "333.33", open: "0.00", customer: "C2"),
        item(7, "88123", "64.10", date: "2026-10-20"),
        // Twins: two open invoices that normalise alike.
        item(8, "1035209", "120.00"), item(9, "01035209", "130.00"),
        // Glued prefixes: one answers, or two do.
        item(10, "203614", "410.00"), item(11, "EX217869", "55.00"), item(12, "217869", "60.00"),
        // References naming several invoices.
        item(13, "1108191", "300.00"), item(14, "1040066", "200.00"),
        item(15, "1106113", "150.00", date: "2026-11-01", terms: "2/10 NET 30"),
        item(16, "1004553", "100.00", date: "2026-11-01", terms: "2/10 NET 30"),
        item(17, "1144235", "10.00"), item(18, "1119972", "20.00"), item(19, "1047406", "30.00"),
        item(20, "1038132", "44.44"), item(21, "1157054", "55.55"),
        // A real number with a slash and a dash in it.
        item(22, "RE-2026/0042", "700.00"),
        // Settled before, an open credit memo, an invoice in euros.
        item(25, "INV-3001", "100.00", open: "0.00"),
        item(26, "CM-77", "-50.00"),
        item(27, "E-5001", "100.00", currency: .eur),
        // An open invoice and a settled one that normalise alike.
        item(28, "INV-5555", "100.00", open: "0.00"), item(29, "INV-05555", "100.00"),
    ]

    struct Case: Sendable, CustomStringConvertible {
        let reference: String
        let paid: String
        var discount: String? = nil
        var adjustments: [LineAdjustment] = []
        var named: String? = nil
        var date = "2026-11-08"
        let status: LineStatus
        var invoices: [Int64] = []
        var rule: String? = nil
        var suggestion: Suggestion.Kind? = nil
        /// Invoices that must be among the suggestions (twins, parts).
        var suggested: [Int64] = []
        var deduction: DeductionType? = nil
        var description: String { "\(reference) \(paid)" }
    }

    static func adjustment(_ amount: String, _ code: String, text: String? = nil, invoice: String? = nil)
        -> LineAdjustment
    {
        LineAdjustment(amount: usd(amount), reasonCode: code, text: text, invoiceReference: invoice)
    }

    /// Tricky lines with the exact status each must get.
    static let cases: [Case] = [
        Case(reference: "INV-1001", paid: "1000.00", status: .paidInFull, invoices: [1], rule: "reference.exact"),
        Case(reference: "inv-1001", paid: "1000.00", status: .paidInFull, invoices: [1], rule: "reference.exact"),
        Case(reference: "1001", paid: "1000.00", status: .paidInFull, invoices: [1], rule: "reference.normalised"),
        Case(reference: "#1001", paid: "1000.00", status: .paidInFull, invoices: [1]),
        Case(reference: "INV 1001", paid: "1000.00", status: .paidInFull, invoices: [1]),
        Case(reference: "INV-001001", paid: "1000.00", status: .paidInFull, invoices: [1]),
        Case(reference: "INV-1001-00", paid: "1000.00", status: .paidInFull, invoices: [1]),
        Case(reference: "Invoice 1001", paid: "1000.00", status: .paidInFull, invoices: [1]),
        Case(reference: "NO 1001", paid: "1000.00", status: .paidInFull, invoices: [1]),
        Case(reference: "inv1001", paid: "1000.00", status: .paidInFull, invoices: [1], rule: "reference.normalised"),
        Case(reference: "1001 ", paid: "1000.00", status: .paidInFull, invoices: [1]),
        Case(reference: "INV-1001", paid: "980.00", discount: "20.00", status: .paidWithDiscount, invoices: [1]),
        Case(
            reference: "INV-1001", paid: "980.00", status: .paidWithDiscount, invoices: [1],
            rule: "reference.exact+discount"),
        Case(reference: "INV-1001", paid: "980.00", date: "2026-12-20", status: .shortPaid, invoices: [1]),
        Case(
            reference: "INV-1001", paid: "980.00", discount: "20.00", date: "2026-12-20", status: .shortPaid,
            invoices: [1],
            rule: "reference.exact+unearned_discount+short"),
        Case(
            reference: "INV-1001", paid: "970.00", discount: "30.00", status: .shortPaid, invoices: [1],
            rule: "reference.exact+unearned_discount+short"),
        Case(
            reference: "INV-1001", paid: "996.00", status: .paidInFull, invoices: [1],
            rule: "reference.exact+tolerance.write_off"),
        Case(reference: "INV-1001", paid: "994.99", status: .shortPaid, invoices: [1]),
        Case(
            reference: "INV-1001", paid: "900.00", adjustments: [adjustment("-100.00", "06")], status: .shortPaid,
            invoices: [1],
            rule: "reference.exact+deductions", deduction: .shortage),
        Case(
            reference: "INV-1001", paid: "850.00",
            adjustments: [adjustment("-100.00", "RTV"), adjustment("-50.00", "PROMO")], status: .shortPaid,
            invoices: [1],
            deduction: .return),
        Case(reference: "INV-1001", paid: "1200.00", status: .overPaid, invoices: [1], rule: "reference.exact+over"),
        Case(reference: "INV-1001", paid: "1000.00", date: "2029-01-01", status: .unknownReference),
        Case(reference: "INV-1002", paid: "500.00", status: .paidInFull, invoices: [2]),
        Case(reference: "INV-1002", paid: "500.00", discount: "0.00", status: .paidInFull, invoices: [2]),
        Case(reference: "INV-1002", paid: "490.00", discount: "10.00", status: .paidWithDiscount, invoices: [2]),
        Case(reference: "INV-1002", paid: "250.00", status: .shortPaid, invoices: [2], rule: "reference.exact+short"),
        Case(reference: "1002", paid: "499.99", status: .paidInFull, invoices: [2]),
        Case(reference: "INV-1002", paid: "0.01", status: .shortPaid, invoices: [2]),
        Case(
            reference: "INV-1002", paid: "480.00", adjustments: [adjustment("-20.00", "01")], status: .shortPaid,
            invoices: [2], deduction: .pricing),
        Case(reference: "INV-1002", paid: "510.00", status: .overPaid, invoices: [2]),
        Case(reference: "INV-1002", paid: "500.00", date: "2029-01-01", status: .unknownReference),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "rtn")], status: .shortPaid,
            invoices: [2], deduction: .return),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", " OOS ")], status: .shortPaid,
            invoices: [2], deduction: .shortage),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "CASHBK")], status: .shortPaid,
            invoices: [2], deduction: .promotion),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "CANC")], status: .shortPaid,
            invoices: [2], deduction: .cancellation),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "DMG")], status: .shortPaid,
            invoices: [2], deduction: .damage),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "PRICE")], status: .shortPaid,
            invoices: [2], deduction: .pricing),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "SHORT")], status: .shortPaid,
            invoices: [2], deduction: .shortage),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "RETURN")], status: .shortPaid,
            invoices: [2], deduction: .return),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "11")], status: .shortPaid,
            invoices: [2], deduction: .return),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "56")], status: .shortPaid,
            invoices: [2], deduction: .promotion),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "26")], status: .shortPaid,
            invoices: [2], deduction: .cancellation),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "04")], status: .shortPaid,
            invoices: [2], deduction: .damage),
        Case(
            reference: "INV-1002", paid: "450.00", adjustments: [adjustment("-50.00", "XYZ", text: "scan allowance")],
            status: .shortPaid, invoices: [2],
            deduction: .manual),
        // Twins, whatever the spelling.
        Case(reference: "0042", paid: "80.00", status: .ambiguous, suggested: [3, 4]),
        Case(reference: "INV-42", paid: "90.00", status: .ambiguous, suggested: [3, 4]),
        Case(reference: "42", paid: "80.00", status: .ambiguous, suggested: [3, 4]),
        Case(reference: "#42", paid: "90.00", status: .ambiguous, suggested: [3, 4]),
        Case(reference: "INV 0042", paid: "90.00", status: .ambiguous, suggested: [3, 4]),
        Case(
            reference: "1035209", paid: "120.00", status: .ambiguous, rule: "reference.several_invoices",
            suggestion: .sameNormalisedReference, suggested: [8, 9]),
        Case(reference: "01035209", paid: "130.00", status: .ambiguous, suggested: [8, 9]),
        Case(reference: "INV-1035209", paid: "120.00", status: .ambiguous, suggested: [8, 9]),
        Case(reference: "#01035209", paid: "250.00", status: .ambiguous, suggested: [8, 9]),
        Case(reference: "1035209-00", paid: "1.00", status: .ambiguous, suggested: [8, 9]),
        // Glued prefixes.
        Case(
            reference: "INVEX203614-00", paid: "410.00", status: .paidInFull, invoices: [10],
            rule: "reference.prefix_variant"),
        Case(reference: "invex203614", paid: "410.00", status: .paidInFull, invoices: [10]),
        Case(reference: "INVEX203614", paid: "400.00", status: .shortPaid, invoices: [10]),
        Case(reference: "INVOICEX203614", paid: "410.00", status: .paidInFull, invoices: [10]),
        Case(
            reference: "invex217869", paid: "55.00", status: .ambiguous,
            rule: "reference.prefix_variant.several_invoices", suggested: [11, 12]),
        Case(
            reference: "INVEX217869-00", paid: "60.00", status: .ambiguous, suggestion: .prefixVariant,
            suggested: [11, 12]),
        Case(reference: "EX217869", paid: "55.00", status: .paidInFull, invoices: [11], rule: "reference.exact"),
        Case(reference: "NOVA203614", paid: "410.00", status: .unknownReference),
        // References naming several invoices.
        Case(
            reference: "INV 1108191 & 1040066", paid: "500.00", status: .paidInFull, invoices: [13, 14],
            rule: "reference.split"),
        Case(reference: "1108191,1040066", paid: "500.00", status: .paidInFull, invoices: [13, 14]),
        Case(reference: "1108191/1040066", paid: "500.00", status: .paidInFull, invoices: [13, 14]),
        Case(reference: "1108191; 1040066", paid: "500.00", status: .paidInFull, invoices: [13, 14]),
        Case(
            reference: "1108191 & 1040066", paid: "499.00", status: .ambiguous,
            rule: "reference.split+amounts_do_not_allocate",
            suggestion: .referencePart, suggested: [13, 14]),
        Case(
            reference: "1108191 & 9999999", paid: "300.00", status: .ambiguous,
            rule: "reference.split+part_not_one_invoice", suggested: [13]),
        Case(reference: "1108191 & 1108191", paid: "600.00", status: .ambiguous, suggested: [13]),
        Case(
            reference: "1106113,1004553", paid: "245.00", status: .paidWithDiscount, invoices: [15, 16],
            rule: "reference.split+discount"),
        Case(reference: "1106113,1004553", paid: "250.00", status: .paidInFull, invoices: [15, 16]),
        Case(reference: "1106113,1004553", paid: "248.00", status: .paidWithDiscount, invoices: [15, 16]),
        Case(
            reference: "1106113,1004553", paid: "245.00", date: "2026-12-30", status: .ambiguous, suggested: [15, 16]),
        Case(reference: "1144235/1119972/1047406", paid: "60.00", status: .paidInFull, invoices: [17, 18, 19]),
        Case(reference: "1144235/1119972/1047406", paid: "50.00", status: .ambiguous, suggested: [17, 18, 19]),
        Case(reference: "#1038132 & 1157054", paid: "99.99", status: .paidInFull, invoices: [20, 21]),
        Case(reference: "1038132 & 1157054 & 0042", paid: "179.99", status: .ambiguous, suggested: [20, 21, 3, 4]),
        Case(reference: "INV-1001 & INV-1002", paid: "1500.00", status: .paidInFull, invoices: [1, 2]),
        Case(reference: "INV-1001 & INV-1002", paid: "1480.00", status: .paidWithDiscount, invoices: [1, 2]),
        Case(
            reference: "1108191 & 1040066", paid: "470.00",
            adjustments: [adjustment("-30.00", "06", invoice: "1040066")], status: .shortPaid,
            invoices: [13, 14], rule: "reference.split+deductions", deduction: .shortage),
        Case(
            reference: "1108191 & 1040066", paid: "470.00", adjustments: [adjustment("-30.00", "06")],
            status: .ambiguous,
            rule: "reference.split+deduction_names_no_part"),
        Case(reference: "9999998 & 9999997", paid: "10.00", status: .unknownReference),
        // Never split a real number: the whole reference first.
        Case(reference: "RE-2026/0042", paid: "700.00", status: .paidInFull, invoices: [22], rule: "reference.exact"),
        Case(reference: "re-2026/0042", paid: "700.00", status: .paidInFull, invoices: [22], rule: "reference.exact"),
        Case(
            reference: "RE 2026 0042", paid: "700.00", status: .paidInFull, invoices: [22], rule: "reference.normalised"
        ),
        // Paid before.
        Case(reference: "INV-3001", paid: "100.00", status: .paidTwice, rule: "reference.settled_earlier"),
        Case(reference: "3001", paid: "100.00", status: .paidTwice),
        Case(
            reference: "INV-5555", paid: "100.00", status: .ambiguous, rule: "reference.open_and_settled_invoice",
            suggested: [29]),
        Case(reference: "INV-05555", paid: "100.00", status: .paidInFull, invoices: [29], rule: "reference.exact"),
        // Other customers, other currencies.
        Case(reference: "7001", paid: "250.00", status: .unknownReference),
        Case(reference: "7002", paid: "333.33", status: .unknownReference),
        Case(reference: "E-5001", paid: "100.00", status: .unknownReference),
        // Credits and debit memos.
        Case(reference: "CM-77", paid: "-50.00", status: .paidInFull, invoices: [26], rule: "reference.credit"),
        Case(
            reference: "INV-1001", paid: "-50.00", status: .debitMemo, invoices: [1], rule: "debit_memo.reference",
            deduction: .manual),
        Case(
            reference: "DM-9001", paid: "-25.00", adjustments: [adjustment("-25.00", "56")], named: "INV-1002",
            status: .debitMemo, invoices: [2],
            rule: "debit_memo.named_invoice", deduction: .promotion),
        Case(
            reference: "DM-9002", paid: "-30.00", adjustments: [adjustment("-30.00", "04", invoice: "88123")],
            status: .debitMemo, invoices: [7],
            deduction: .damage),
        Case(
            reference: "DM-9003", paid: "-10.00", status: .unknownReference, rule: "debit_memo.no_invoice",
            deduction: .manual),
        Case(
            reference: "DM-9004", paid: "-10.00", named: "42", status: .ambiguous, rule: "debit_memo.several_invoices"),
        Case(
            reference: "DM-9005", paid: "-15.00", adjustments: [adjustment("-15.00", "RTN")], named: "INV-3001",
            status: .debitMemo, invoices: [25],
            deduction: .return),
        // Near misses become suggestions, never matches.
        Case(
            reference: "INV-1011", paid: "1000.00", status: .unknownReference, suggestion: .oneCharacterDifferent,
            suggested: [1]),
        Case(
            reference: "INV-1010", paid: "1000.00", status: .unknownReference, suggestion: .transposed, suggested: [1]),
        Case(reference: "INV-0101", paid: "1000.00", status: .unknownReference),
        Case(
            reference: "PO-555", paid: "1000.00", status: .unknownReference, suggestion: .purchaseOrderNumber,
            suggested: [1]),
        Case(reference: "PO555", paid: "1000.00", status: .unknownReference, suggestion: .purchaseOrderNumber),
        Case(
            reference: "LUMP SUM", paid: "64.10", status: .unknownReference, suggestion: .amountMatches, suggested: [7]),
        Case(reference: "", paid: "12.00", status: .unknownReference),
        Case(reference: "88132", paid: "64.10", status: .unknownReference, suggestion: .transposed),
        Case(reference: "88124", paid: "64.10", status: .unknownReference, suggestion: .oneCharacterDifferent),
        Case(
            reference: "INV-9999", paid: "500.00", status: .unknownReference, suggestion: .amountMatches, suggested: [2]
        ),
        Case(reference: "ABC", paid: "1.00", status: .unknownReference),
        Case(reference: "1035290", paid: "120.00", status: .unknownReference, suggestion: .transposed, suggested: [8]),
        // Plain lines in other spellings.
        Case(reference: "88123", paid: "64.10", status: .paidInFull, invoices: [7]),
        Case(reference: "088123", paid: "64.10", status: .paidInFull, invoices: [7]),
        Case(reference: "88-123", paid: "64.10", status: .paidInFull, invoices: [7]),
        Case(reference: "88123/00", paid: "64.10", status: .paidInFull, invoices: [7]),
        Case(reference: "  #88123  ", paid: "64.10", status: .paidInFull, invoices: [7]),
        Case(
            reference: "88123", paid: "64.00", status: .paidInFull, invoices: [7],
            rule: "reference.exact+tolerance.write_off"),
        Case(reference: "88123", paid: "63.00", status: .shortPaid, invoices: [7]),
        Case(reference: "88123", paid: "70.00", status: .overPaid, invoices: [7]),
        Case(
            reference: "88123", paid: "44.10", adjustments: [adjustment("-20.00", "04")], status: .shortPaid,
            invoices: [7], deduction: .damage),
        Case(
            reference: "88123", paid: "60.00", adjustments: [adjustment("-4.10", "ZZ")], status: .shortPaid,
            invoices: [7], deduction: .manual),
    ]

    static func matcher() -> (Matcher, CustomerSet) {
        let matcher = Matcher(items: items)
        // Only customer C1 is who this payer is known as; C2's invoices are never candidates.
        return (matcher, matcher.invoices.customerSet(["C1"]))
    }

    @Test func theTableHasAHundredTrickyLines() { #expect(MatchingRuleTests.cases.count >= 100) }

    @Test("hand-checked tricky lines", arguments: cases)
    func trickyLine(_ c: Case) throws {
        var (matcher, customers) = MatchingRuleTests.matcher()
        let line = LineToMatch(
            id: 1, reference: c.reference, amountPaid: usd(c.paid), discount: c.discount.map(usd),
            adjustments: c.adjustments,
            paymentDate: day(c.date), namedInvoice: c.named)
        let decision = matcher.match(line, customers: customers)
        #expect(decision.status == c.status, "\(decision.rule)")
        #expect(decision.applications.map(\.invoiceID) == c.invoices, "\(decision.rule)")
        if let rule = c.rule { #expect(decision.rule == rule) }
        if let suggestion = c.suggestion {
            #expect(decision.suggestions.map(\.kind).contains(suggestion), "\(decision.suggestions)")
        }
        for invoice in c.suggested {
            #expect(decision.suggestions.map(\.invoiceID).contains(invoice), "\(decision.suggestions)")
        }
        if let type = c.deduction { #expect(decision.deductions.first?.type == type, "\(decision.deductions)") }
        // Never an invoice of another customer or another currency, applied or suggested.
        let foreign: Set<Int64> = [5, 6, 27]
        #expect(
            !decision.suggestions.contains { foreign.contains($0.invoiceID) }
                && !decision.applications.contains { foreign.contains($0.invoiceID) })
        if !decision.status.applies { #expect(decision.applications.isEmpty && decision.unapplied == line.amountPaid) }
        // What a line applies adds up: cash + discount + deductions + write-off, and the cash is what was paid.
        if decision.status.applies {
            let cash = decision.applications.map(\.cash.minorUnits).reduce(0, +)
            #expect(cash + decision.unapplied.minorUnits == line.amountPaid.minorUnits, "\(decision.applications)")
        }
    }

    @Test func deductionsAreTypedAndKeepTheirCodesTextAndReferences() {
        var (matcher, customers) = MatchingRuleTests.matcher()
        let decision = matcher.match(
            LineToMatch(
                id: 1, reference: "INV-1001", amountPaid: usd("850.00"),
                adjustments: [
                    LineAdjustment(
                        amount: usd("-100.00"), reasonCode: "RTV", text: "returned 4 cases", referenceQualifier: "RA",
                        reference: "RA-7781"),
                    LineAdjustment(amount: usd("-50.00"), reasonCode: "Q7", text: "scan-down June"),
                ], paymentDate: day("2026-12-30")), customers: customers)
        #expect(decision.deductions.map(\.type) == [.return, .manual])
        #expect(decision.deductions.map(\.reasonCode) == ["RTV", "Q7"])
        #expect(decision.deductions.map(\.text) == ["returned 4 cases", "scan-down June"])
        #expect(decision.deductions.map(\.reference) == ["RA-7781", nil])
        #expect(decision.deductions.map(\.unmapped) == [false, true])
        #expect(decision.deductions.allSatisfy { $0.invoiceID == 1 })
        #expect(decision.applied == usd("1000.00"))
        // A client maps the code: no longer unmapped.
        var rules = MatchingRules.standard
        rules.reasonCodes.types["Q7"] = .promotion
        var mapped = Matcher(rules: rules, items: MatchingRuleTests.items)
        let again = mapped.match(
            LineToMatch(
                id: 1, reference: "INV-1001", amountPaid: usd("950.00"),
                adjustments: [
                    LineAdjustment(amount: usd("-50.00"), reasonCode: "q7")
                ], paymentDate: day("2026-12-30")), customers: mapped.invoices.customerSet(["C1"]))
        #expect(again.deductions.map(\.type) == [.promotion] && again.deductions.map(\.unmapped) == [false])
    }

    @Test func aSecondPaymentOfTheSameInvoiceIsPaidTwicePointingAtTheFirst() {
        var (matcher, customers) = MatchingRuleTests.matcher()
        let first = matcher.match(
            LineToMatch(id: 11, reference: "INV-1002", amountPaid: usd("500.00")), customers: customers)
        let second = matcher.match(
            LineToMatch(id: 12, reference: "1002", amountPaid: usd("500.00")), customers: customers)
        #expect(first.status == .paidInFull)
        #expect(
            second.status == .paidTwice && second.paidBy == 11 && second.rule == "reference.normalised+already_paid")
        #expect(second.applications.isEmpty && second.unapplied == usd("500.00"))
        // Decisions stored earlier (another batch not yet approved) count the same way.
        var later = MatchingRuleTests.matcher().0
        let recorded = later.recordEarlier(invoiceID: 7, applied: 6_410, lineID: 99)
        #expect(recorded)
        let third = later.match(LineToMatch(id: 13, reference: "88123", amountPaid: usd("64.10")), customers: customers)
        #expect(third.status == .paidTwice && third.paidBy == 99)
        let again = later.recordEarlier(invoiceID: 7, applied: 6_410, lineID: 100)
        #expect(!again)
        // Part of an invoice, then the rest: both apply.
        var parts = MatchingRuleTests.matcher().0
        let statuses = (1...3).map {
            parts.match(
                LineToMatch(id: $0, reference: "INV-1002", amountPaid: usd($0 == 1 ? "300.00" : "200.00")),
                customers: customers)
        }
        #expect(statuses.map(\.status) == [.shortPaid, .paidInFull, .paidTwice])
        #expect(statuses[2].paidBy == 1)
    }

    @Test func amongSimilarReferencesAnExactAmountComesFirst() {
        let items = [
            MatchingRuleTests.item(1, "INV-2020", "500.00"), MatchingRuleTests.item(2, "INV-2011", "275.00"),
            MatchingRuleTests.item(3, "INV-2001", "300.00"), MatchingRuleTests.item(4, "INV-7777", "300.00"),
        ]
        var matcher = Matcher(items: items)
        let decision = matcher.match(LineToMatch(id: 1, reference: "INV-2010", amountPaid: usd("300.00")))
        #expect(decision.status == .unknownReference)
        #expect(decision.suggestions.first?.invoiceNumber == "INV-2001", "\(decision.suggestions)")
        #expect(decision.suggestions.first?.kind == .transposed && decision.suggestions.first?.amountFit == .exact)
        #expect(decision.suggestions.first?.openAmount == usd("300.00"))
        #expect(
            Set(decision.suggestions.map(\.invoiceNumber)) == ["INV-2001", "INV-2011", "INV-2020"],
            "\(decision.suggestions)")
        #expect(decision.suggestions.map(\.amountFit) == [.exact, .short, .over])
        // An invoice found by amount alone comes after every one found by reference.
        let ranked = Suggestion.ranked([
            Suggestion(
                kind: .amountMatches, invoiceID: 4, invoiceNumber: "INV-7777", openAmount: usd("300.00"),
                amountFit: .exact),
            Suggestion(
                kind: .oneCharacterDifferent, invoiceID: 2, invoiceNumber: "INV-2011", openAmount: usd("275.00"),
                amountFit: .over),
            Suggestion(
                kind: .oneCharacterDifferent, invoiceID: 5, invoiceNumber: "INV-2015", openAmount: usd("302.00"),
                amountFit: .withinWriteOff),
        ])
        #expect(ranked.map(\.invoiceID) == [5, 2, 4])
    }

    @Test func aLineWithoutItsCurrencyNeverMeetsAnInvoiceInAnother() {
        var (matcher, customers) = MatchingRuleTests.matcher()
        let euros = matcher.match(
            LineToMatch(id: 1, reference: "E-5001", amountPaid: try! Money.parse("100.00", currency: .eur)),
            customers: customers)
        #expect(euros.status == .paidInFull && euros.invoiceID == 27)
        let dollars = matcher.match(
            LineToMatch(id: 2, reference: "E-5002", amountPaid: usd("100.00")), customers: customers)
        #expect(!dollars.suggestions.contains { $0.invoiceID == 27 })
        #expect(matcher.invoices.ledgerCurrency(of: customers) == nil)
        #expect(matcher.invoices.ledgerCurrency(of: matcher.invoices.customerSet(["C2"])) == .usd)
    }

    @Test func aLineSplitAcrossLinesAndABatchThatBalances() {
        var matcher = Matcher(items: MatchingRuleTests.items)
        let lines = [
            LineToMatch(id: 1, reference: "INV-1001", amountPaid: usd("600.00")),
            LineToMatch(id: 2, reference: "INV-1001", amountPaid: usd("400.00")),
            LineToMatch(id: 3, reference: "INV-1002", amountPaid: usd("550.00")),
            LineToMatch(id: 4, reference: "UNKNOWN-1", amountPaid: usd("10.00")),
            LineToMatch(id: 5, reference: "DM-1", amountPaid: usd("-20.00"), namedInvoice: "INV-1002"),
        ]
        let decisions = matcher.match(lines)
        #expect(decisions.map(\.status) == [.shortPaid, .paidInFull, .overPaid, .unknownReference, .debitMemo])
        let balance = BatchBalance(total: usd("1580.00"), lines: lines, decisions: decisions)
        #expect(balance.appliedCash == usd("1480.00"))
        #expect(balance.unappliedCash == usd("100.00"))
        #expect(balance.appliedCash.minorUnits + balance.unappliedCash.minorUnits == balance.total.minorUnits)
    }

    @Test func discountTermsParse() {
        #expect(DiscountTerms("2/10 NET 30")?.basisPoints == 200)
        #expect(DiscountTerms("1.5% 15 NET 45")?.days == 15)
        #expect(DiscountTerms("NET 30") == nil)
    }

    @Test func theReasonCodeTableKnowsRetailersCodes() {
        let table = ReasonCodeTable.standard
        for (code, type) in [
            ("01", DeductionType.pricing), ("04", .damage), ("06", .shortage), ("11", .return), ("26", .cancellation),
            ("56", .promotion),
            ("RTN", .return), ("OOS", .shortage), ("CASHBK", .promotion), ("CANC", .cancellation), ("DMG", .damage),
            ("SHORT", .shortage),
            ("PRICE", .pricing), ("RETURN", .return), ("disc", .discount),
        ] {
            #expect(table.type(of: code) == type, "\(code)")
            #expect(ReasonCodeTable.wording(of: code) != nil, "\(code)")
        }
        #expect(!table.maps("Q7") && table.type(of: "Q7") == .manual)
        #expect(ReasonCodeTable.wording(of: "06") == "quantity contested")
    }
}

/// The shapes a reference can take, read the documented way.
@Suite("Reference shapes")
struct ReferenceShapeTests {
    @Test func gluedPrefixesAndSeveralInvoices() {
        let normalisation = ReferenceNormalisation.standard
        #expect(normalisation.gluedPrefixVariants("INVEX203614-00") == ["EX203614", "203614"])
        #expect(normalisation.gluedPrefixVariants("invex217869") == ["EX217869", "217869"])
        #expect(normalisation.gluedPrefixVariants("INV-203614").isEmpty)
        #expect(normalisation.gluedPrefixVariants("NOVA123").isEmpty)
        #expect(normalisation.parts("INV 1108191 & 1040066") == ["INV 1108191", "1040066"])
        #expect(normalisation.parts("1144235/1119972/1047406")?.count == 3)
        #expect(normalisation.parts("INV-1001") == nil)
        #expect(normalisation.parts("1001,") == nil)
    }

    @Test func normalisationIsTheSameForAsciiAndOtherText() {
        let normalisation = ReferenceNormalisation.standard
        for text in ["Inv-0012ä", "ÄB-001", "#0", "00ß"] {
            #expect(normalisation.normalise(text) == normalisation.normaliseUnicode(text), "\(text)")
        }
        var generator = SeededRandom(seed: 7)
        let alphabet = Array("0123456789INVOabc #-/._:,;&".unicodeScalars)
        for _ in 0..<5_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...14, using: &generator) {
                text.unicodeScalars.append(alphabet.randomElement(using: &generator)!)
            }
            #expect(normalisation.normalise(text) == normalisation.normaliseUnicode(text), "\(text)")
        }
    }
}

@Suite("Rules files")
struct RulesFileTests {
    @Test func aClientsRulesOverrideTheDefaults() throws {
        let rules = try MatchingRules.parse(
            """
            # acme's rules
            write_off_amount = 0.00
            write_off_percent = 1
            look_back_days = 365
            strip_prefixes = INV #
            strip_zero_suffix = no
            reason.99 = promotion
            reason.sh = shortage
            """, file: "acme.rules")
        #expect(rules.writeOffAmount == 0)
        #expect(rules.writeOffBasisPoints == 100)
        #expect(rules.lookBackDays == 365)
        #expect(rules.discountGraceDays == MatchingRules.standard.discountGraceDays)
        #expect(rules.normalisation.prefixes == ["INV", "#"])
        #expect(!rules.normalisation.stripZeroSuffix)
        #expect(rules.reasonCodes.type(of: "99") == .promotion)
        #expect(rules.reasonCodes.type(of: "sh") == .shortage)
        #expect(rules.reasonCodes.type(of: "06") == .shortage)
    }

    @Test func mistakesNameTheirLine() {
        for (text, line) in [
            ("write_off_amount = lots", 1), ("\nreason.1 = gift", 2), ("\n\nspeed = fast", 3),
            ("strip_zero_suffix = maybe", 1), ("nonsense", 1),
        ] {
            do {
                _ = try MatchingRules.parse(text, file: "r")
                Issue.record("no error for \(text)")
            } catch {
                #expect(error.location?.line == line, "\(text): \(error.message)")
            }
        }
    }
}

@Suite("Stored decisions")
struct DecisionJSONTests {
    @Test func theHandWrittenJSONIsWhatTheEncoderWouldWriteAndReadsBack() throws {
        let deductions = [
            TypedDeduction(type: .shortage, reasonCode: "06", amount: Money(minorUnits: 21821, currency: .usd)),
            TypedDeduction(
                type: .manual, reasonCode: "a\"b\\c\n\u{1}", amount: Money(minorUnits: -5, currency: .eur),
                text: "t/ä\t",
                reference: "DM-1", invoiceID: 7, unmapped: true),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(DecisionJSON.deductions(deductions) == String(decoding: try encoder.encode(deductions), as: UTF8.self))
        #expect(
            try JSONDecoder().decode([TypedDeduction].self, from: Data(DecisionJSON.deductions(deductions).utf8))
                == deductions)
        let suggestions = [
            Suggestion(
                kind: .transposed, invoiceID: 42, invoiceNumber: "INV-2010", openAmount: usd("300.00"),
                amountFit: .exact),
            Suggestion(
                kind: .amountMatches, invoiceID: 43, invoiceNumber: "a\"/b", openAmount: usd("-1.00"), amountFit: .over),
        ]
        #expect(
            DecisionJSON.suggestions(suggestions) == String(decoding: try encoder.encode(suggestions), as: UTF8.self))
        #expect(
            try JSONDecoder().decode([Suggestion].self, from: Data(DecisionJSON.suggestions(suggestions).utf8))
                == suggestions)
        #expect(DecisionJSON.deductions([]) == "[]")
    }
}

@Suite("Rules files: bounded input")
struct RulesFileBoundsTests {
    @Test func aNulByteOrAFileOverOneMebibyteIsRefused() throws {
        #expect {
            try MatchingRules.parse("write_off_amount = 1.00\nreason.99 = promo\u{0}tion\n", file: "acme.rules")
        } throws: { error in
            let error = error as? GeneralError
            return error?.code == "input.nul_byte" && error?.location?.line == 2 && error?.location?.column == 18
        }
        let big = String(repeating: "# a comment line of forty bytes or so.\n", count: 27_000)
        #expect(big.utf8.count > MatchingRules.maximumFileBytes)
        #expect { try MatchingRules.parse(big, file: "acme.rules") } throws: {
            ($0 as? GeneralError)?.code == "input.too_large"
        }
        // Nearly a mebibyte of rules under the cap is read without trouble.
        let many = String(repeating: "reason.A = promotion\n", count: 40_000)
        #expect(try MatchingRules.parse(many, file: "acme.rules").reasonCodes.type(of: "A") == .promotion)
    }
}
