import Foundation
import Testing
@testable import NightjarMatching
import NightjarCore

func usd(_ text: String) -> Money { try! Money.parse(text, currency: .usd) }
func day(_ text: String) -> CalendarDate { try! CalendarDate(iso: text) }

@Suite("Reference normalisation")
struct NormalisationTests {
    static let same: [(String, String)] = [
        ("INV-000123", "123"), ("inv 123", "123"), ("#123", "123"), ("000123", "123"), ("123-00", "123"), ("INV-000123-00", "123"),
        ("Invoice No. 123", "NO123"), ("A-17/B", "A17B"), ("  00042 ", "42"), ("INVERNESS-1", "INVERNESS1"), ("NORTH5", "NORTH5"),
        ("0", "0"), ("00-00", "0"), ("INV#77", "77"),
    ]

    @Test("documented forms normalise alike", arguments: same)
    func normalises(input: String, expected: String) {
        #expect(ReferenceNormalisation.standard.normalise(input) == expected)
    }
}

@Suite("Matching rules")
struct MatchingRuleTests {
    static let items = [
        OpenItem(id: 1, customerID: "C1", invoiceNumber: "INV-1001", amount: usd("1000.00"), openAmount: usd("1000.00"), invoiceDate: day("2026-11-01"),
                 purchaseOrderNumber: "PO-555", terms: DiscountTerms("2/10 NET 30")),
        OpenItem(id: 2, customerID: "C1", invoiceNumber: "INV-1002", amount: usd("500.00"), openAmount: usd("500.00"), invoiceDate: day("2026-10-01")),
        OpenItem(id: 3, customerID: "C1", invoiceNumber: "0042", amount: usd("80.00"), openAmount: usd("80.00"), invoiceDate: day("2026-10-01")),
        OpenItem(id: 4, customerID: "C1", invoiceNumber: "INV-42", amount: usd("90.00"), openAmount: usd("90.00"), invoiceDate: day("2026-10-01")),
        OpenItem(id: 5, customerID: "C2", invoiceNumber: "7001", amount: usd("250.00"), openAmount: usd("250.00"), invoiceDate: day("2026-10-15")),
        OpenItem(id: 6, customerID: "C2", invoiceNumber: "7002", amount: usd("333.33"), openAmount: usd("0.00"), invoiceDate: day("2026-09-15")),
        OpenItem(id: 7, customerID: "C1", invoiceNumber: "88123", amount: usd("64.10"), openAmount: usd("64.10"), invoiceDate: day("2026-10-20")),
    ]

    struct Case: Sendable, CustomStringConvertible {
        let reference: String
        let paid: String
        var discount: String? = nil
        var adjustments: [(String, String)] = []
        var date = "2026-11-08"
        let status: LineStatus
        let invoice: Int64?
        var rule: String? = nil
        var suggestion: Suggestion.Kind? = nil
        var description: String { "\(reference) \(paid)" }
    }

    /// Tricky lines with the exact status each must get.
    static let cases: [Case] = [
        Case(reference: "INV-1001", paid: "1000.00", status: .paidInFull, invoice: 1, rule: "reference.exact"),
        Case(reference: "inv-1001", paid: "1000.00", status: .paidInFull, invoice: 1, rule: "reference.exact"),
        Case(reference: "1001", paid: "1000.00", status: .paidInFull, invoice: 1, rule: "reference.normalised"),
        Case(reference: "#1001", paid: "1000.00", status: .paidInFull, invoice: 1),
        Case(reference: "INV 1001", paid: "1000.00", status: .paidInFull, invoice: 1),
        Case(reference: "INV-001001", paid: "1000.00", status: .paidInFull, invoice: 1),
        Case(reference: "INV-1001-00", paid: "1000.00", status: .paidInFull, invoice: 1),
        Case(reference: "Invoice 1001", paid: "1000.00", status: .paidInFull, invoice: 1),
        Case(reference: "INV-1001", paid: "980.00", discount: "20.00", status: .paidWithDiscount, invoice: 1),
        Case(reference: "INV-1001", paid: "980.00", status: .paidWithDiscount, invoice: 1, rule: "reference.exact+discount"),
        Case(reference: "INV-1001", paid: "980.00", date: "2026-12-20", status: .shortPaid, invoice: 1),
        Case(reference: "INV-1001", paid: "996.00", status: .paidInFull, invoice: 1, rule: "reference.exact+tolerance.write_off"),
        Case(reference: "INV-1001", paid: "994.99", status: .shortPaid, invoice: 1),
        Case(reference: "INV-1001", paid: "900.00", adjustments: [("-100.00", "06")], status: .shortPaid, invoice: 1, rule: "reference.exact+deductions"),
        Case(reference: "INV-1001", paid: "850.00", adjustments: [("-100.00", "RTV"), ("-50.00", "PROMO")], status: .shortPaid, invoice: 1),
        Case(reference: "INV-1001", paid: "1200.00", status: .overPaid, invoice: 1),
        Case(reference: "INV-1002", paid: "500.00", status: .paidInFull, invoice: 2),
        Case(reference: "INV-1002", paid: "250.00", status: .shortPaid, invoice: 2),
        Case(reference: "1002", paid: "499.99", status: .paidInFull, invoice: 2),
        Case(reference: "INV-1002", paid: "0.01", status: .shortPaid, invoice: 2),
        Case(reference: "0042", paid: "80.00", status: .paidInFull, invoice: 3, rule: "reference.exact"),
        Case(reference: "INV-42", paid: "90.00", status: .paidInFull, invoice: 4, rule: "reference.exact"),
        Case(reference: "42", paid: "80.00", status: .ambiguous, invoice: nil),
        Case(reference: "#42", paid: "90.00", status: .ambiguous, invoice: nil),
        Case(reference: "INV 0042", paid: "90.00", status: .ambiguous, invoice: nil),
        Case(reference: "7001", paid: "250.00", status: .unknownReference, invoice: nil),
        Case(reference: "7002", paid: "333.33", status: .unknownReference, invoice: nil),
        Case(reference: "INV-1011", paid: "1000.00", status: .unknownReference, invoice: nil, suggestion: .oneCharacterDifferent),
        Case(reference: "INV-1010", paid: "1000.00", status: .unknownReference, invoice: nil, suggestion: .transposed),
        Case(reference: "INV-0101", paid: "1000.00", status: .unknownReference, invoice: nil),
        Case(reference: "PO-555", paid: "1000.00", status: .unknownReference, invoice: nil, suggestion: .purchaseOrderNumber),
        Case(reference: "PO555", paid: "1000.00", status: .unknownReference, invoice: nil, suggestion: .purchaseOrderNumber),
        Case(reference: "LUMP SUM", paid: "64.10", status: .unknownReference, invoice: nil, suggestion: .amountMatches),
        Case(reference: "", paid: "12.00", status: .unknownReference, invoice: nil),
        Case(reference: "88132", paid: "64.10", status: .unknownReference, invoice: nil, suggestion: .transposed),
        Case(reference: "88124", paid: "64.10", status: .unknownReference, invoice: nil, suggestion: .oneCharacterDifferent),
        Case(reference: "88123", paid: "64.10", status: .paidInFull, invoice: 7),
        Case(reference: "088123", paid: "64.10", status: .paidInFull, invoice: 7),
        Case(reference: "88-123", paid: "64.10", status: .paidInFull, invoice: 7),
        Case(reference: "88123", paid: "64.00", status: .paidInFull, invoice: 7),
        Case(reference: "88123", paid: "63.00", status: .shortPaid, invoice: 7),
        Case(reference: "88123", paid: "70.00", status: .overPaid, invoice: 7),
        Case(reference: "88123", paid: "44.10", adjustments: [("-20.00", "04")], status: .shortPaid, invoice: 7),
        Case(reference: "88123", paid: "60.00", adjustments: [("-4.10", "ZZ")], status: .shortPaid, invoice: 7),
        Case(reference: "INV-1002", paid: "480.00", adjustments: [("-20.00", "01")], status: .shortPaid, invoice: 2),
        Case(reference: "INV-1002", paid: "510.00", status: .overPaid, invoice: 2),
        Case(reference: "INV-1002", paid: "500.00", date: "2029-01-01", status: .unknownReference, invoice: nil),
        Case(reference: "INV-9999", paid: "500.00", status: .unknownReference, invoice: nil, suggestion: .amountMatches),
        Case(reference: "ABC", paid: "1.00", status: .unknownReference, invoice: nil),
        Case(reference: "INV-1001", paid: "-50.00", status: .shortPaid, invoice: 1),
        Case(reference: "NO 1001", paid: "1000.00", status: .paidInFull, invoice: 1),
    ]

    @Test("hand-checked tricky lines", arguments: cases)
    func trickyLine(_ c: Case) {
        // Only customer C1 is who this payer is known as; C2's invoices are never candidates.
        var matcher = Matcher(items: MatchingRuleTests.items.filter { $0.customerID == "C1" })
        let line = LineToMatch(id: 1, reference: c.reference, amountPaid: usd(c.paid), discount: c.discount.map(usd),
                               adjustments: c.adjustments.map { (usd($0.0), $0.1) }, paymentDate: day(c.date))
        let decision = matcher.match(line)
        #expect(decision.status == c.status)
        #expect(decision.invoiceID == c.invoice)
        if let rule = c.rule { #expect(decision.rule == rule) }
        if let suggestion = c.suggestion { #expect(decision.suggestions.map(\.kind).contains(suggestion), "\(decision.suggestions)") }
        if decision.status == .unknownReference || decision.status == .ambiguous { #expect(decision.applied.isZero) }
    }

    @Test func deductionsAreTypedAndKeepTheirCodes() {
        var matcher = Matcher(items: MatchingRuleTests.items)
        let decision = matcher.match(LineToMatch(id: 1, reference: "INV-1001", amountPaid: usd("850.00"),
                                                 adjustments: [(usd("-100.00"), "RTV"), (usd("-50.00"), "PROMO")], paymentDate: day("2026-12-30")))
        #expect(decision.deductions.map(\.type) == [.return, .promotion])
        #expect(decision.deductions.map(\.reasonCode) == ["RTV", "PROMO"])
        #expect(decision.applied == usd("1000.00"))
    }

    @Test func aSecondPaymentOfTheSameInvoiceIsPaidTwice() {
        var matcher = Matcher(items: MatchingRuleTests.items)
        let first = matcher.match(LineToMatch(id: 1, reference: "INV-1002", amountPaid: usd("500.00")))
        let second = matcher.match(LineToMatch(id: 2, reference: "INV-1002", amountPaid: usd("500.00")))
        #expect(first.status == .paidInFull)
        #expect(second.status == .paidTwice)
        #expect(second.invoiceID == nil && second.unapplied == usd("500.00"))
        var later = Matcher(items: [], settledInvoiceNumbers: ["INV-7002"])
        #expect(later.match(LineToMatch(id: 3, reference: "7002", amountPaid: usd("333.33"))).status == .paidTwice)
    }

    @Test func aLineSplitAcrossInvoicesAndABatchThatBalances() {
        var matcher = Matcher(items: MatchingRuleTests.items)
        let lines = [LineToMatch(id: 1, reference: "INV-1001", amountPaid: usd("600.00")),
                     LineToMatch(id: 2, reference: "INV-1001", amountPaid: usd("400.00")),
                     LineToMatch(id: 3, reference: "INV-1002", amountPaid: usd("550.00")),
                     LineToMatch(id: 4, reference: "UNKNOWN-1", amountPaid: usd("10.00"))]
        let decisions = matcher.match(lines)
        #expect(decisions.map(\.status) == [.shortPaid, .paidInFull, .overPaid, .unknownReference])
        let balance = BatchBalance(total: usd("1600.00"), lines: lines, decisions: decisions)
        #expect(balance.appliedCash == usd("1500.00"))
        #expect(balance.unappliedCash == usd("100.00"))
        #expect(balance.appliedCash.minorUnits + balance.unappliedCash.minorUnits == balance.total.minorUnits)
    }

    @Test func discountTermsParse() {
        #expect(DiscountTerms("2/10 NET 30")?.basisPoints == 200)
        #expect(DiscountTerms("1.5% 15 NET 45")?.days == 15)
        #expect(DiscountTerms("NET 30") == nil)
    }
}

/// Known truth with a fixed catalogue of noise, on a fixed seed: the figures the product promises.
@Suite("Matching quality")
struct MatchingQualityTests {
    struct Truth {
        let line: LineToMatch
        let invoice: Int64?
        let shouldMatch: Bool
    }

    @Test func zeroWrongAutomaticMatchesAndAtLeast98PercentMatched() {
        var generator = SeededRandom(seed: 424242)
        let payers = 72
        var wrong = 0, shouldMatch = 0, matched = 0, total = 0
        var nextID: Int64 = 1
        for payer in 0..<payers {
            // Each payer is known as two customers; a third customer's numbers overlap theirs.
            var items: [OpenItem] = []
            var foreign: [String] = []
            var numbers = Set<String>()
            for customer in 0..<3 {
                for _ in 0..<700 {
                    var number: String
                    repeat { number = String(Int.random(in: 100_000...999_999, using: &generator)) } while customer < 2 && numbers.contains(number)
                    let cents = Int64.random(in: 1_000...500_000, using: &generator)
                    if customer == 2 { foreign.append(number); continue }
                    numbers.insert(number)
                    items.append(OpenItem(id: nextID, customerID: "P\(payer)-C\(customer)", invoiceNumber: "INV-\(number)",
                                          amount: Money(minorUnits: cents, currency: .usd), openAmount: Money(minorUnits: cents, currency: .usd),
                                          invoiceDate: day("2026-10-01"), terms: Bool.random(using: &generator) ? DiscountTerms("2/10 NET 30") : nil))
                    nextID += 1
                }
            }
            // Two invoices of one customer that normalise alike.
            items.append(OpenItem(id: nextID, customerID: "P\(payer)-C0", invoiceNumber: "0\(items[0].invoiceNumber.dropFirst(4))",
                                  amount: usd("10.00"), openAmount: usd("10.00"), invoiceDate: day("2026-10-01")))
            nextID += 1
            var truths: [Truth] = []
            let shuffled = items.dropLast().shuffled(using: &generator)
            for (index, item) in shuffled.prefix(2_000).enumerated() {
                let number = String(item.invoiceNumber.dropFirst(4))
                let roll = Int.random(in: 0..<100, using: &generator)
                let id = Int64(index)
                let amount = item.amount
                switch roll {
                case 0..<55:
                    truths.append(Truth(line: LineToMatch(id: id, reference: item.invoiceNumber, amountPaid: amount), invoice: item.id, shouldMatch: true))
                case 55..<75:
                    let variants = ["inv \(number)", "#\(number)", "INV-00\(number)", "\(number)-00", "INV\(number)", "Invoice \(number)"]
                    truths.append(Truth(line: LineToMatch(id: id, reference: variants.randomElement(using: &generator)!, amountPaid: amount),
                                        invoice: item.id, shouldMatch: true))
                case 75..<82:
                    let deduction = Money(minorUnits: amount.minorUnits / 10, currency: .usd)
                    truths.append(Truth(line: LineToMatch(id: id, reference: item.invoiceNumber,
                                                          amountPaid: Money(minorUnits: amount.minorUnits - deduction.minorUnits, currency: .usd),
                                                          adjustments: [(try! deduction.negated(), "06")]), invoice: item.id, shouldMatch: true))
                case 82..<88:
                    // A typo that hits no real invoice: must not match automatically.
                    var typo = Array(number)
                    let position = Int.random(in: 0..<typo.count, using: &generator)
                    typo[position] = typo[position] == "9" ? "1" : Character(String((Int(String(typo[position]))! + 1) % 10))
                    let text = String(typo)
                    if numbers.contains(text) { continue }
                    truths.append(Truth(line: LineToMatch(id: id, reference: "INV-\(text)", amountPaid: amount), invoice: nil, shouldMatch: false))
                case 88..<92:
                    // A number that exists only under a customer this payer is not.
                    let other = foreign[index % foreign.count]
                    if numbers.contains(other) { continue }
                    truths.append(Truth(line: LineToMatch(id: id, reference: "INV-\(other)", amountPaid: amount), invoice: nil, shouldMatch: false))
                case 92..<95:
                    truths.append(Truth(line: LineToMatch(id: id, reference: "LUMP SUM", amountPaid: amount), invoice: nil, shouldMatch: false))
                case 95..<97:
                    // The ambiguous pair.
                    truths.append(Truth(line: LineToMatch(id: id, reference: "#\(items[0].invoiceNumber.dropFirst(4))", amountPaid: usd("10.00")),
                                        invoice: nil, shouldMatch: false))
                default:
                    truths.append(Truth(line: LineToMatch(id: id, reference: "REF-\(Int.random(in: 1...999_999, using: &generator))", amountPaid: amount),
                                        invoice: nil, shouldMatch: false))
                }
            }
            var matcher = Matcher(items: items)
            for truth in truths {
                let decision = matcher.match(truth.line)
                total += 1
                if truth.shouldMatch { shouldMatch += 1 }
                if let invoice = decision.invoiceID {
                    if invoice == truth.invoice { matched += 1 } else { wrong += 1 }
                }
            }
        }
        #expect(total >= 95_000)
        #expect(wrong == 0, "\(wrong) wrong automatic matches")
        let rate = Double(matched) / Double(shouldMatch)
        #expect(rate >= 0.98, "matched \(matched) of \(shouldMatch) (\(rate))")
    }
}


@Suite("Rules files")
struct RulesFileTests {
    @Test func aClientsRulesOverrideTheDefaults() throws {
        let rules = try MatchingRules.parse("""
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
        for (text, line) in [("write_off_amount = lots", 1), ("\nreason.1 = gift", 2), ("\n\nspeed = fast", 3), ("strip_zero_suffix = maybe", 1), ("nonsense", 1)] {
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
        let deductions = [TypedDeduction(type: .shortage, reasonCode: "06", amount: Money(minorUnits: 21821, currency: .usd)),
                          TypedDeduction(type: .manual, reasonCode: "a\"b\\c\n\u{1}", amount: Money(minorUnits: -5, currency: .eur))]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(DecisionJSON.deductions(deductions) == String(decoding: try encoder.encode(deductions), as: UTF8.self))
        #expect(try JSONDecoder().decode([TypedDeduction].self, from: Data(DecisionJSON.deductions(deductions).utf8)) == deductions)
        let suggestions = [Suggestion(kind: .transposed, invoiceID: 42, invoiceNumber: "INV-2010")]
        #expect(try JSONDecoder().decode([Suggestion].self, from: Data(DecisionJSON.suggestions(suggestions).utf8)) == suggestions)
        #expect(DecisionJSON.deductions([]) == "[]")
    }
}
