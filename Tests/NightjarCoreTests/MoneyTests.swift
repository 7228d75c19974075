import Foundation
import NightjarCore
import Testing

@Suite("Money")
struct MoneyTests {
    static let pointCases: [(String, Int64)] = [
        ("1234.5", 123450), ("-12.50", -1250), ("(12.50)", -1250), ("12.50-", -1250), ("+3", 300),
        ("0.01", 1), (".5", 50), ("7.", 700), ("1,234.56", 123456), ("1,234,567.00", 123_456_700),
        ("  42.10 ", 4210), ("0", 0), ("-0.00", 0), ("12.500", 1250), ("( 9.99 )", -999), ("1 234.56", 123456),
    ]

    @Test("exact parsing with a decimal point", arguments: pointCases)
    func parsesPointStyle(text: String, minor: Int64) throws {
        #expect(try Money.parse(text, currency: .usd).minorUnits == minor)
    }

    static let commaCases: [(String, Int64)] = [
        ("1.234,56", 123456), ("-12,50", -1250), ("(0,99)", -99), ("1.000.000", 100_000_000), ("3,1", 310),
    ]

    @Test("exact parsing under a decimal-comma profile", arguments: commaCases)
    func parsesCommaStyle(text: String, minor: Int64) throws {
        #expect(try Money.parse(text, currency: .eur, style: .comma).minorUnits == minor)
    }

    static let malformed = [
        "", "-", "()", "(12.50", "12.50.1", "1,23.45", "12,34", "abc", "1.2.3", "12a", "1,,234",
        "--5", "1,234 567.00", "\u{0661}\u{0662}",
    ]

    @Test("malformed amounts are refused with money.malformed", arguments: malformed)
    func refusesMalformed(text: String) {
        #expect(throws: MoneyError.self) { try Money.parse(text, currency: .usd) }
        do {
            _ = try Money.parse(text, currency: .usd)
        } catch {
            #expect(error.code == "money.malformed")
        }
    }

    @Test func refusesExtraPrecisionInsteadOfRounding() {
        #expect(throws: MoneyError.tooPrecise("12.345", digits: 2, currency: .usd)) {
            try Money.parse("12.345", currency: .usd)
        }
    }

    @Test func currencyDigitsFollowISO4217() throws {
        #expect(try Money.parse("1234", currency: CurrencyCode("JPY")).minorUnits == 1234)
        #expect(throws: MoneyError.self) { try Money.parse("12.5", currency: CurrencyCode("JPY")) }
        #expect(try Money.parse("1.234", currency: CurrencyCode("KWD")).minorUnits == 1234)
        #expect(throws: MoneyError.invalidCurrency("US")) { try CurrencyCode("US") }
        #expect(throws: MoneyError.invalidCurrency("U$D")) { try CurrencyCode("U$D") }
    }

    /// Every three-letter code, in either case, reads back as its upper-case letters, sorts as
    /// its text sorts, hashes and compares as its text, and round-trips through JSON.
    @Test func everyThreeLetterCodeIsItsLetters() throws {
        let letters = (65...90).map { Character(UnicodeScalar(UInt8($0))) }
        var codes: [CurrencyCode] = []
        for first in letters {
            for second in letters {
                for third in letters {
                    let text = String([first, second, third])
                    let code = try CurrencyCode(text)
                    #expect(code.code == text)
                    #expect(code.description == text)
                    if second == "Q" { #expect(try CurrencyCode(text.lowercased()) == code) }
                    codes.append(code)
                }
            }
        }
        #expect(codes.map(\.code) == codes.map(\.code).sorted())
        #expect(codes.shuffled().sorted() == codes)
        #expect(Set(codes).count == 26 * 26 * 26)
        #expect(try CurrencyCode("uSd") == .usd && CurrencyCode.usd.code == "USD")
        #expect([CurrencyCode.usd, .eur, .cad, .gbp].map(\.code) == ["USD", "EUR", "CAD", "GBP"])
        #expect([CurrencyCode.usd, .eur, .cad, .gbp].map(\.minorUnitDigits) == [2, 2, 2, 2])
        let json = try JSONEncoder().encode([CurrencyCode.usd, try CurrencyCode("JPY")])
        #expect(String(decoding: json, as: UTF8.self) == #"["USD","JPY"]"#)
        #expect(
            try JSONDecoder().decode([CurrencyCode].self, from: Data(#"["usd","Kwd"]"#.utf8)).map(\.code) == [
                "USD", "KWD",
            ])
        #expect(throws: MoneyError.invalidCurrency("US")) {
            try JSONDecoder().decode([CurrencyCode].self, from: Data(#"["US"]"#.utf8))
        }
    }

    @Test(
        "anything but three ASCII letters is refused with the text it was given",
        arguments: [
            "", "U", "US", "USDX", "US1", "1SD", "U D", " USD", "USD ", "US\u{0}", "ÜSD", "uß", "U$D", "usd\n", "ＵＳＤ",
        ])
    func malformedCurrencyCodesAreRefused(_ text: String) {
        #expect(throws: MoneyError.invalidCurrency(text)) { try CurrencyCode(text) }
    }

    @Test func minorUnitDigitsByCode() throws {
        let expected: [String: Int] = [
            "USD": 2, "EUR": 2, "CAD": 2, "GBP": 2, "JPY": 0, "KRW": 0, "XOF": 0, "KWD": 3, "BHD": 3, "TND": 3,
            "CLF": 4, "UYW": 4, "CHF": 2, "AUD": 2, "ZZZ": 2,
        ]
        for (text, digits) in expected { #expect(try CurrencyCode(text).minorUnitDigits == digits, "\(text)") }
    }

    @Test func overflowIsAnErrorNeverAWrap() throws {
        #expect(try Money.parse("92233720368547758.07", currency: .usd).minorUnits == Int64.max)
        #expect(throws: MoneyError.overflow) { try Money.parse("92233720368547758.08", currency: .usd) }
        #expect(throws: MoneyError.overflow) { try Money.parse("99999999999999999999999", currency: .usd) }
        let big = Money(minorUnits: .max, currency: .usd)
        #expect(throws: MoneyError.overflow) { try big.adding(Money(minorUnits: 1, currency: .usd)) }
        #expect(throws: MoneyError.overflow) { try Money(minorUnits: .min, currency: .usd).negated() }
        #expect(throws: MoneyError.overflow) {
            try Money(minorUnits: .min, currency: .usd).subtracting(Money(minorUnits: 1, currency: .usd))
        }
    }

    @Test func arithmeticChecksCurrency() {
        #expect(throws: MoneyError.currencyMismatch(.usd, .cad)) {
            try Money(minorUnits: 1, currency: .usd).adding(Money(minorUnits: 1, currency: .cad))
        }
    }

    @Test func formatsPlainDecimalText() throws {
        #expect(Money(minorUnits: -123450, currency: .usd).description == "-1234.50 USD")
        #expect(Money(minorUnits: 5, currency: .usd).decimalString == "0.05")
        #expect(Money(minorUnits: -5, currency: .usd).decimalString == "-0.05")
        #expect(Money(minorUnits: 1234, currency: try CurrencyCode("JPY")).decimalString == "1234")
        #expect(Money(minorUnits: .min, currency: .usd).decimalString == "-92233720368547758.08")
        let total = try Money.sum(
            [Money(minorUnits: 150, currency: .usd), Money(minorUnits: -50, currency: .usd)], currency: .usd)
        #expect(total.minorUnits == 100)
    }

    @Test func parsingAndFormattingRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let value = Int64.random(in: Int64.min / 2...Int64.max / 2, using: &generator)
            let money = Money(minorUnits: value, currency: .usd)
            #expect(try Money.parse(money.decimalString, currency: .usd) == money)
        }
    }
}
