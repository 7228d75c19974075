import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

/// The values the 820 reader takes from bytes where they lie: amounts, codes and the elements the
/// scanner splits, each held to the general parser or a plain split of the same text.
@Suite("X12 values read in place")
struct X12ValueTests {
    /// A one-line 820 whose RMR04 is `paid` (and BPR02 the same, so it balances when it reads).
    static func remittance(paid: String, currency: String? = nil) -> [UInt8] {
        X12ErrorTests.file(
            (currency.map { ["CUR*PR*\($0)"] } ?? []) + ["BPR*C*\(paid)*C*ACH", "RMR*IV*INV-1*PI*\(paid)"])
    }

    static let amounts: [(text: String, currency: String?)] = [
        ("100", nil), ("100.5", nil), ("100.50", nil), ("-5.00", nil), ("-5", nil), ("0007.25", nil),
        ("000000000000.01", nil),
        (".5", nil), ("-.75", nil), ("5.", nil), ("0", nil), ("-0.00", nil), ("12345678901.23", nil),
        ("1234567890123.45", nil),
        ("92233720368547758.07", nil), ("99999999999999999999.99", nil), ("1.234", nil), ("1,000.00", nil),
        ("--1", nil), ("-", nil),
        (".", nil), ("1.2.3", nil), ("+5.00", nil), ("5.00-", nil), (" 5.00", nil), ("1e3", nil),
        ("100", "JPY"), ("100.5", "JPY"), ("1.234", "BHD"), ("1.2345", "BHD"), ("-0.001", "BHD"),
    ]

    /// Every amount gives what `Money.parse` gives for the same text, or is refused, naming the
    /// element, its text and the segment, as `Money.parse` refuses it.
    @Test("amounts read from bytes agree with the general parser", arguments: amounts)
    func amountsAgreeWithTheGeneralParser(text: String, currency: String?) {
        let code = (try? CurrencyCode(currency ?? "USD")) ?? .usd
        let expected = try? Money.parse(text, currency: code, style: X12Values.decimalStyle)
        do {
            let advice = try RemittanceAdviceReader.read(
                X12ValueTests.remittance(paid: text, currency: currency), defaultCurrency: .usd, file: "amounts.x12")[0]
            guard let money = expected else {
                Issue.record(
                    "\(text) was read as \(advice.lines[0].amountPaid.decimalString) but Money.parse refuses it")
                return
            }
            #expect(advice.total == money)
            #expect(advice.lines[0].amountPaid == money)
            #expect(advice.isBalanced)
        } catch {
            guard expected == nil else {
                Issue.record("\(text) was refused (\(error)) but Money.parse reads it")
                return
            }
            #expect(error.kind == .badAmount)
            // BPR02 is the first amount read: segment 4 (ISA, GS, ST, [CUR,] BPR), named with its text.
            #expect(error.location?.segment == (currency == nil ? 4 : 5))
            #expect(error.location?.file == "amounts.x12")
            #expect(error.message.contains("BPR02 \"\(text)\""))
        }
    }

    @Test func anOverlongLineAmountIsRefusedAtItsSegment() {
        let bytes = X12ErrorTests.file([
            "BPR*C*5.00*C*ACH", "RMR*IV*INV-1*PI*5.00", "RMR*IV*INV-2*PI*123456789012345678901234567890",
        ])
        do {
            _ = try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: "long.x12")
            Issue.record("a 30-digit amount was accepted")
        } catch {
            #expect(error.kind == .badAmount)
            #expect(error.location?.segment == 6)
            #expect(error.message.contains("RMR04 \"123456789012345678901234567890\""))
        }
    }

    /// Qualifiers and codes that change from line to line, come back, are blank or padded: each
    /// line keeps its own, as the element says.
    @Test func codesThatChangeFromLineToLineAreKeptPerLine() throws {
        let bytes = X12ErrorTests.file([
            "BPR*C*6.00*C*ACH", "RMR*IV*A*PI*1.00", "REF*PO*P1", "DTM*003*20261101", "ADX*-1.00*01*IV*A",
            "RMR*CR*B*PP*2.00", "REF*BM*P2", "DTM*004*20261102", "ADX*-1.00*02",
            "RMR*IV*C* PI *3.00", "REF*PO*P3", "DTM*003*20261103", "ADX*-1.00*01*CM*M1",
            "RMR*I*D**0.00", "REF*POX*P4", "ADX*-1.00*0123456*ZZ",
            "RMR*IVXXXXXXX*E*ABCDEFGH*0.00",
        ])
        let advice = try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd)[0]
        #expect(advice.lines.map(\.referenceQualifier) == ["IV", "CR", "IV", "I", "IVXXXXXXX"])
        #expect(advice.lines.map(\.paymentAction) == ["PI", "PP", "PI", nil, "ABCDEFGH"])
        #expect(advice.lines.map { $0.references.map(\.qualifier) } == [["PO"], ["BM"], ["PO"], ["POX"], []])
        #expect(advice.lines.map { $0.dates.map(\.qualifier) } == [["003"], ["004"], ["003"], [], []])
        #expect(advice.lines.map { $0.adjustments.map(\.reasonCode) } == [["01"], ["02"], ["01"], ["0123456"], []])
        #expect(advice.lines.map { $0.adjustments.map(\.referenceQualifier) } == [["IV"], [nil], ["CM"], ["ZZ"], []])
        #expect(advice.lines[2].dates.map(\.date.description) == ["2026-11-03"])
    }

    /// Segments of every length around the eight-byte steps the scanner takes, with empty
    /// elements, runs of separators and separators at either end, for separators the ISA names:
    /// the scanner's elements are exactly a plain split of each segment.
    @Test func elementsAreAPlainSplitOfEachSegment() throws {
        var generator = SeededRandom(seed: 820_1124)
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-/".utf8)
        for (element, component, terminator) in [
            ("*", ">", "~"), ("|", ":", "\n"), ("^", "\\", "'"), ("\u{1D}", "\u{1F}", "\u{1C}"),
        ] {
            var segments: [String] = []
            for _ in 0..<400 {
                var fields: [String] = []
                for _ in 0..<Int.random(in: 1...24, using: &generator) {
                    let length = Int.random(in: 0...19, using: &generator)
                    fields.append(
                        String(
                            decoding: (0..<length).map { _ in letters.randomElement(using: &generator)! }, as: UTF8.self
                        ))
                }
                segments.append((["NTE"] + fields).joined(separator: element))
            }
            let body =
                ["BPR*C*0*C*ACH", "RMR*IV*A*PI*0"].map { $0.replacingOccurrences(of: "*", with: element) } + segments
            var text = String(decoding: X12ErrorTests.file(body, terminator: terminator), as: UTF8.self)
            text = text.replacingOccurrences(of: "*", with: element).replacingOccurrences(
                of: "P\(element)>", with: "P\(element)\(component)")
            let interchanges = try X12Reader.read(Array(text.utf8))
            #expect(interchanges[0].separators.element == Array(element.utf8)[0])
            #expect(interchanges[0].separators.segment == Array(terminator.utf8)[0])
            let read = interchanges[0].groups[0].transactionSets[0].segments.filter { $0.id == "NTE" }
            #expect(read.count == segments.count)
            for (segment, written) in zip(read, segments) {
                let expected = written.split(separator: Character(element), omittingEmptySubsequences: false).map(
                    String.init)
                #expect(segment.elementCount == expected.count - 1, "\(written)")
                #expect((0..<expected.count).map { segment[$0] } == expected, "\(written)")
            }
            #expect(try RemittanceAdviceReader.read(interchanges, defaultCurrency: .usd)[0].lines.count == 1)
        }
    }
}
