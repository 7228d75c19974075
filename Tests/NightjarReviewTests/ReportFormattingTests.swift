import NightjarCore
import Testing

@testable import NightjarReview

/// The morning report writes amounts digit by digit and labels byte by byte; both must give what
/// the general string handling gave.
@Suite struct ReportFormattingTests {
    /// Amounts as the report wrote them by splitting the plain decimal text.
    static func referenceAmount(_ money: Money) -> String {
        let plain = money.decimalString
        let negative = plain.hasPrefix("-")
        let digits = negative ? String(plain.dropFirst()) : plain
        let parts = digits.split(separator: ".", maxSplits: 1)
        var whole = String(parts.first ?? "0")
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        grouped = whole + grouped
        return (negative ? "-" : "") + grouped + (parts.count > 1 ? "." + parts[1] : "") + " "
            + money.currency.description
    }

    @Test func amountsAreWrittenAsSplittingTheDecimalTextWroteThem() throws {
        var values: [Int64] = [
            0, 1, -1, 9, 10, 99, 100, 999, 1_000, 99_999, 100_000, 123_456_789, Int64.max, Int64.min,
        ]
        var power: Int64 = 1
        for _ in 0..<18 {
            values += [power, power - 1, -power, -(power - 1), power + 7]
            power *= 10
        }
        let currencies = try ["USD", "JPY", "KWD", "CLF", "EUR"].map { try CurrencyCode($0) }
        for currency in currencies {
            for value in values {
                let money = Money(minorUnits: value, currency: currency)
                #expect(MorningReport.amount(money) == Self.referenceAmount(money), "\(value) \(currency)")
            }
        }
    }

    @Test func labelsReplaceUnderscoresAsTheCharacterMapDid() {
        let statuses: [String?] = [
            nil, "", "paid_in_full", "unknown_reference", "new", "_", "__a__", "caf\u{E9}_ok", "a_\u{301}b", "x_y_z",
        ]
        for status in statuses {
            let expected = String((status ?? "not matched").map { $0 == "_" ? " " : $0 })
            #expect(MorningReport.label(status) == expected, "\(status ?? "nil")")
        }
    }
}
