/// An ISO 4217 currency code, with the number of minor-unit digits it uses.
///
/// Held as its three letters packed in one integer (the first in the highest byte, so integer
/// order is the codes' alphabetical order): a `Money` is then plain bits, copied and dropped
/// without reference counting wherever amounts travel.
public struct CurrencyCode: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The three letters' ASCII codes, first letter in bits 16–23.
    private let letters: UInt32

    /// Three upper-case letters, e.g. `USD`.
    public var code: String {
        String(unsafeUninitializedCapacity: 3) { buffer in
            buffer[0] = UInt8(truncatingIfNeeded: letters >> 16)
            buffer[1] = UInt8(truncatingIfNeeded: letters >> 8)
            buffer[2] = UInt8(truncatingIfNeeded: letters)
            return 3
        }
    }

    /// Validates the shape of `code` (three ASCII letters; upper-cased).
    public init(_ code: String) throws(MoneyError) {
        var packed: UInt32 = 0
        var count = 0
        for byte in code.utf8 {
            count += 1
            guard count <= 3 else { break }
            let upper = byte >= 97 && byte <= 122 ? byte - 32 : byte
            guard upper >= 65 && upper <= 90 else { break }
            packed = packed << 8 | UInt32(upper)
        }
        // Anything but exactly three ASCII letters (in either case) is refused, as before.
        guard count == 3, packed > 0xFFFF else { throw MoneyError.invalidCurrency(code) }
        self.letters = packed
    }

    private init(packed: UInt32) { letters = packed }

    public static let usd = CurrencyCode(packed: 0x55_53_44)
    public static let cad = CurrencyCode(packed: 0x43_41_44)
    public static let eur = CurrencyCode(packed: 0x45_55_52)
    public static let gbp = CurrencyCode(packed: 0x47_42_50)

    /// Digits after the decimal point (ISO 4217 minor unit); 2 unless the code is listed otherwise.
    public var minorUnitDigits: Int {
        switch letters {
        case CurrencyCode.usd.letters, CurrencyCode.eur.letters, CurrencyCode.cad.letters, CurrencyCode.gbp.letters:
            return 2
        default: break
        }
        return switch code {
        case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
            "VUV", "XAF", "XOF", "XPF":
            0
        case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
            3
        case "CLF", "UYW":
            4
        default:
            2
        }
    }

    public var description: String { code }
    public static func < (lhs: CurrencyCode, rhs: CurrencyCode) -> Bool { lhs.letters < rhs.letters }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try CurrencyCode(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}

/// How a document writes decimal numbers.
public struct DecimalStyle: Sendable, Hashable {
    /// The character between whole and fractional part.
    public var decimalSeparator: Character
    /// Characters allowed between groups of three digits.
    public var groupingSeparators: Set<Character>

    public init(decimalSeparator: Character, groupingSeparators: Set<Character>) {
        self.decimalSeparator = decimalSeparator
        self.groupingSeparators = groupingSeparators
    }

    /// `1,234.56`
    public static let point = DecimalStyle(
        decimalSeparator: ".", groupingSeparators: [",", "'", " ", "\u{00A0}", "\u{202F}"])
    /// `1.234,56`
    public static let comma = DecimalStyle(
        decimalSeparator: ",", groupingSeparators: [".", "'", " ", "\u{00A0}", "\u{202F}"])
}

/// Problems with money values. Each has a stable code.
public enum MoneyError: NightjarError, Equatable {
    case invalidCurrency(String)
    case malformed(String, reason: String)
    case tooPrecise(String, digits: Int, currency: CurrencyCode)
    case overflow
    case currencyMismatch(CurrencyCode, CurrencyCode)

    public var code: String {
        switch self {
        case .invalidCurrency: "money.invalid_currency"
        case .malformed: "money.malformed"
        case .tooPrecise: "money.too_precise"
        case .overflow: "money.overflow"
        case .currencyMismatch: "money.currency_mismatch"
        }
    }

    public var message: String {
        switch self {
        case .invalidCurrency(let text): "\"\(text)\" is not an ISO 4217 currency code"
        case .malformed(let text, let reason): "\"\(text)\" is not an amount: \(reason)"
        case .tooPrecise(let text, let digits, let currency):
            "\"\(text)\" has more than \(digits) decimal digits, which \(currency) does not allow"
        case .overflow: "amount is too large"
        case .currencyMismatch(let a, let b): "cannot combine \(a) and \(b) amounts"
        }
    }
}

/// An amount of money: a whole number of minor units (cents) and a currency. Never a float.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Amount in minor units, e.g. 1250 for 12.50 USD.
    public let minorUnits: Int64
    public let currency: CurrencyCode

    public init(minorUnits: Int64, currency: CurrencyCode) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Zero in `currency`.
    public static func zero(_ currency: CurrencyCode) -> Money { Money(minorUnits: 0, currency: currency) }

    public var isZero: Bool { minorUnits == 0 }
    public var isNegative: Bool { minorUnits < 0 }

    /// Parses decimal text exactly: `1234.5`, `-12.50`, `+3`, `(12.50)`, `12.50-`, `1,234.56`, and
    /// `1.234,56` with `style: .comma`. Grouping separators must sit between groups of three digits.
    /// Extra fractional digits are accepted only when they are zeros; nothing is rounded.
    public static func parse(_ text: String, currency: CurrencyCode, style: DecimalStyle = .point) throws(MoneyError)
        -> Money
    {
        try Money(
            minorUnits: parseMinorUnits(text, digits: currency.minorUnitDigits, style: style, currency: currency),
            currency: currency)
    }

    /// Parses decimal text into an integer scaled by 10^digits (shared with quantities and prices).
    public static func parseMinorUnits(
        _ text: String, digits: Int, style: DecimalStyle = .point,
        currency: CurrencyCode? = nil
    ) throws(MoneyError) -> Int64 {
        if let value = parsePlainASCII(text, digits: digits, decimalSeparator: style.decimalSeparator) { return value }
        return try parseGeneral(text, digits: digits, style: style, currency: currency)
    }

    /// The common case, fast: optional '-', ASCII digits, at most one decimal separator, no
    /// grouping, no more fractional digits than `digits`. nil means "use the general parser",
    /// which gives the exact error when the text is wrong.
    static func parsePlainASCII(_ text: String, digits: Int, decimalSeparator: Character) -> Int64? {
        guard let separator = decimalSeparator.asciiValue else { return nil }
        var value: Int64 = 0
        var negative = false
        var seenDigit = false
        var fraction = -1
        var index = 0
        for byte in text.utf8 {
            if byte >= 48 && byte <= 57 {
                if fraction >= 0 {
                    guard fraction < digits else { return nil }
                    fraction += 1
                }
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(Int64(byte - 48))
                guard !o1, !o2 else { return nil }
                value = plus
                seenDigit = true
            } else if byte == separator && fraction < 0 {
                fraction = 0
            } else if byte == 45 && index == 0 {
                negative = true
            } else {
                return nil
            }
            index += 1
        }
        guard seenDigit else { return nil }
        for _ in 0..<(digits - max(fraction, 0)) {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = times
        }
        return negative ? -value : value
    }

    static func parseGeneral(_ text: String, digits: Int, style: DecimalStyle, currency: CurrencyCode?)
        throws(MoneyError) -> Int64
    {
        var body = Substring(text).trimmingSpaces()
        guard !body.isEmpty else { throw .malformed(text, reason: "it is empty") }
        var negative = false
        if body.first == "(" {
            guard body.last == ")" else { throw .malformed(text, reason: "unbalanced parenthesis") }
            negative = true
            body = body.dropFirst().dropLast().trimmingSpaces()
        }
        if body.first == "-" || body.first == "+" {
            if body.first == "-" { negative.toggle() }
            body = body.dropFirst()
        } else if body.last == "-" {
            negative.toggle()
            body = body.dropLast()
        }
        guard !body.isEmpty else { throw .malformed(text, reason: "no digits") }

        var whole = Substring(body)
        var fraction = Substring("")
        if let separatorIndex = body.lastIndex(of: style.decimalSeparator) {
            whole = body[..<separatorIndex]
            fraction = body[body.index(after: separatorIndex)...]
        }
        // Whole part: digits, optionally grouped by threes.
        var wholeDigits: [UInt8] = []
        var groupLengths: [Int] = [0]
        var groupSeparator: Character?
        for character in whole {
            if let digit = character.asciiDigit {
                wholeDigits.append(digit)
                groupLengths[groupLengths.count - 1] += 1
            } else if style.groupingSeparators.contains(character) {
                if let groupSeparator, groupSeparator != character {
                    throw .malformed(text, reason: "mixed grouping separators")
                }
                groupSeparator = character
                groupLengths.append(0)
            } else if character == style.decimalSeparator {
                throw .malformed(text, reason: "more than one decimal separator")
            } else {
                throw .malformed(text, reason: "unexpected character \"\(character)\"")
            }
        }
        if groupLengths.count > 1 {
            let first = groupLengths[0]
            guard first >= 1, first <= 3, groupLengths.dropFirst().allSatisfy({ $0 == 3 }) else {
                throw .malformed(text, reason: "digit grouping is not in threes (wrong decimal separator?)")
            }
        }
        var fractionDigits: [UInt8] = []
        for character in fraction {
            guard let digit = character.asciiDigit else {
                throw .malformed(text, reason: "unexpected character \"\(character)\" after the decimal separator")
            }
            fractionDigits.append(digit)
        }
        guard !wholeDigits.isEmpty || !fractionDigits.isEmpty else { throw .malformed(text, reason: "no digits") }
        while fractionDigits.count > digits {
            guard fractionDigits.last == 0 else {
                throw .tooPrecise(text, digits: digits, currency: currency ?? .usd)
            }
            fractionDigits.removeLast()
        }
        while fractionDigits.count < digits { fractionDigits.append(0) }

        var value: Int64 = 0
        for digit in wholeDigits + fractionDigits {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int64(digit))
            if o1 || o2 { throw .overflow }
            value = plus
        }
        return negative ? -value : value
    }

    /// Plain decimal text with the currency's digits, e.g. `-1234.50` (no grouping, point separator).
    public var decimalString: String { Money.decimalString(minorUnits, digits: currency.minorUnitDigits) }

    /// `1234.50 USD`
    public var description: String { "\(decimalString) \(currency)" }

    /// Formats an integer scaled by 10^digits as plain decimal text.
    public static func decimalString(_ value: Int64, digits: Int) -> String {
        let negative = value < 0
        let magnitude = value.magnitude
        var text = String(magnitude)
        if digits > 0 {
            if text.count <= digits { text = String(repeating: "0", count: digits - text.count + 1) + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
        }
        return negative ? "-" + text : text
    }

    /// Sum, with currency and overflow checked.
    public func adding(_ other: Money) throws(MoneyError) -> Money {
        guard currency == other.currency else { throw .currencyMismatch(currency, other.currency) }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        if overflow { throw .overflow }
        return Money(minorUnits: sum, currency: currency)
    }

    /// Difference, with currency and overflow checked.
    public func subtracting(_ other: Money) throws(MoneyError) -> Money {
        guard currency == other.currency else { throw .currencyMismatch(currency, other.currency) }
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        if overflow { throw .overflow }
        return Money(minorUnits: difference, currency: currency)
    }

    /// The same amount with the opposite sign.
    public func negated() throws(MoneyError) -> Money {
        guard minorUnits != .min else { throw .overflow }
        return Money(minorUnits: -minorUnits, currency: currency)
    }

    /// Sum of `amounts`, all in `currency`.
    public static func sum<S: Sequence>(_ amounts: S, currency: CurrencyCode) throws(MoneyError) -> Money
    where S.Element == Money {
        var total = Money.zero(currency)
        for amount in amounts { total = try total.adding(amount) }
        return total
    }
}

extension Character {
    /// 0...9 for ASCII digits, nil otherwise.
    var asciiDigit: UInt8? {
        guard let ascii = asciiValue, ascii >= 48, ascii <= 57 else { return nil }
        return ascii - 48
    }
}

extension Substring {
    /// Without leading and trailing whitespace.
    public func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result = result.dropFirst() }
        while let last = result.last, last.isWhitespace { result = result.dropLast() }
        return result
    }
}
