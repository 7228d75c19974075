import Foundation
import NightjarCore
import Testing

@testable import NightjarMatching

/// The hand reader of stored decisions agrees with `JSONDecoder` on everything `DecisionJSON`
/// writes, and refuses (so the caller falls back) what it does not.
@Suite struct DecisionJSONReaderTests {
    @Test func readsBackWhatIsWrittenLikeJSONDecoder() throws {
        var random = SeededRandom(seed: 820)
        let euro = try CurrencyCode("EUR")
        let texts = ["06", "", "a\"b\\c", "line\nbreak\ttab", "é€😀", "\u{1}\u{1f}", "PROMO/COOP"]
        for _ in 0..<2_000 {
            let deductions = (0..<Int(random.next() % 4)).map { _ -> TypedDeduction in
                TypedDeduction(
                    type: DeductionType.allCases[Int(random.next() % UInt64(DeductionType.allCases.count))],
                    reasonCode: texts[Int(random.next() % UInt64(texts.count))],
                    amount: Money(
                        minorUnits: Int64(bitPattern: random.next()) % 10_000_000_000,
                        currency: random.next() % 2 == 0 ? .usd : euro),
                    text: random.next() % 2 == 0 ? texts[Int(random.next() % UInt64(texts.count))] : nil,
                    reference: random.next() % 2 == 0 ? "DM-\(random.next() % 1000)" : nil,
                    invoiceID: random.next() % 2 == 0 ? Int64(random.next() % 1_000_000) : nil,
                    unmapped: random.next() % 2 == 0)
            }
            let written = DecisionJSON.deductions(deductions)
            #expect(DecisionJSON.readDeductions(written) == deductions)
            #expect(try JSONDecoder().decode([TypedDeduction].self, from: Data(written.utf8)) == deductions)
            let kinds: [Suggestion.Kind] = [.oneCharacterDifferent, .transposed, .purchaseOrderNumber, .amountMatches]
            let suggestions = (0..<Int(random.next() % 4)).map { index in
                Suggestion(
                    kind: kinds[Int(random.next() % 4)], invoiceID: Int64(random.next() % 1_000_000),
                    invoiceNumber: "INV-\(index)\(texts[index % texts.count])",
                    openAmount: Money(minorUnits: Int64(random.next() % 1_000_000), currency: .usd),
                    amountFit: Suggestion.AmountFit.allCases[
                        Int(random.next() % UInt64(Suggestion.AmountFit.allCases.count))])
            }
            #expect(DecisionJSON.readSuggestions(DecisionJSON.suggestions(suggestions)) == suggestions)
        }
    }

    @Test(arguments: [
        "", "[", "[{]", "{}", "[1]", "[{\"invoiceID\":1.5,\"invoiceNumber\":\"a\",\"kind\":\"transposed\"}]",
        "[{\"invoiceID\":99999999999999999999,\"invoiceNumber\":\"a\",\"kind\":\"transposed\"}]",
        "[{\"invoiceID\":1,\"invoiceNumber\":\"a\",\"kind\":\"unheard_of\"}]",
        "[{\"invoiceID\":1,\"invoiceNumber\":\"a\\q\",\"kind\":\"transposed\"}] ",
        "[] x", String(repeating: "[", count: 5_000),
    ])
    func refusesWhatItDoesNotKnow(_ text: String) {
        #expect(DecisionJSON.readSuggestions(text) == nil)
        #expect(DecisionJSON.readDeductions(text) == nil || text == "[]")
    }

    @Test func acceptsSpacesAndAnyKeyOrder() {
        let text =
            " [ { \"kind\" : \"transposed\" , \"openAmount\" : { \"minorUnits\" : 500, \"currency\" : \"USD\" }, \"amountFit\" : \"exact\" ,"
            + " \"invoiceNumber\" : \"INV-\\u00e9\" , \"invoiceID\" : -7 } ] "
        #expect(
            DecisionJSON.readSuggestions(text) == [
                Suggestion(
                    kind: .transposed, invoiceID: -7, invoiceNumber: "INV-é",
                    openAmount: Money(minorUnits: 500, currency: .usd), amountFit: .exact)
            ])
    }
}
