public import NightjarCore

extension DecisionJSON {
    /// Reads what `deductions(_:)` wrote, without `JSONDecoder` (a review page reads a thousand at
    /// once). nil when the text is not that shape; the caller then falls back to `JSONDecoder`.
    public static func readDeductions(_ text: String) -> [TypedDeduction]? {
        guard case .array(let items)? = JSONValue.parse(text) else { return nil }
        var result: [TypedDeduction] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case .object(let fields) = item, case .object(let money)? = fields["amount"],
                  case .string(let currencyText)? = money["currency"], case .integer(let minor)? = money["minorUnits"],
                  case .string(let code)? = fields["reasonCode"], case .string(let typeText)? = fields["type"],
                  let type = DeductionType(rawValue: typeText), let currency = try? CurrencyCode(currencyText) else { return nil }
            result.append(TypedDeduction(type: type, reasonCode: code, amount: Money(minorUnits: minor, currency: currency)))
        }
        return result
    }

    /// Reads what `suggestions(_:)` wrote; nil when the text is not that shape.
    public static func readSuggestions(_ text: String) -> [Suggestion]? {
        guard case .array(let items)? = JSONValue.parse(text) else { return nil }
        var result: [Suggestion] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case .object(let fields) = item, case .integer(let id)? = fields["invoiceID"], case .string(let number)? = fields["invoiceNumber"],
                  case .string(let kindText)? = fields["kind"], let kind = Suggestion.Kind(rawValue: kindText) else { return nil }
            result.append(Suggestion(kind: kind, invoiceID: id, invoiceNumber: number))
        }
        return result
    }
}

/// The little JSON the decision columns hold: arrays, objects, strings and integers.
enum JSONValue {
    case array([JSONValue])
    case object([String: JSONValue])
    case string(String)
    case integer(Int64)

    static func parse(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { bytes -> JSONValue? in
            var index = 0
            guard let value = parseValue(bytes, &index, depth: 0) else { return nil }
            skipSpace(bytes, &index)
            return index == bytes.count ? value : nil
        }
    }

    static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) {
        while index < bytes.count, bytes[index] == 32 || bytes[index] == 10 || bytes[index] == 13 || bytes[index] == 9 { index += 1 }
    }

    static func parseValue(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int, depth: Int) -> JSONValue? {
        guard depth < 8 else { return nil }
        skipSpace(bytes, &index)
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            skipSpace(bytes, &index)
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                guard let item = parseValue(bytes, &index, depth: depth + 1) else { return nil }
                items.append(item)
                skipSpace(bytes, &index)
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "]") else { return nil }
                index += 1
                return .array(items)
            }
        case UInt8(ascii: "{"):
            index += 1
            var fields: [String: JSONValue] = [:]
            skipSpace(bytes, &index)
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(fields) }
            while true {
                skipSpace(bytes, &index)
                guard case .string(let key)? = parseString(bytes, &index) else { return nil }
                skipSpace(bytes, &index)
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                guard let value = parseValue(bytes, &index, depth: depth + 1) else { return nil }
                fields[key] = value
                skipSpace(bytes, &index)
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "}") else { return nil }
                index += 1
                return .object(fields)
            }
        case UInt8(ascii: "\""):
            return parseString(bytes, &index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            var value: Int64 = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = times.addingReportingOverflow(Int64(bytes[index] - 48))
                guard !overflowA, !overflowB else { return nil }
                value = sum
                digits += 1
                index += 1
            }
            // Fractions and exponents are not in these columns: refuse them rather than guess.
            guard digits > 0, index >= bytes.count || (bytes[index] != UInt8(ascii: ".") && bytes[index] != UInt8(ascii: "e")
                                                       && bytes[index] != UInt8(ascii: "E")) else { return nil }
            return .integer(negative ? -value : value)
        default:
            return nil
        }
    }

    /// A string with the escapes `DecisionJSON.string` writes (and `\/`, `\b`, `\f`, `\uXXXX`).
    static func parseString(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> JSONValue? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            defer { index += 1 }
            return String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).map { .string($0) }
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(validating: out, as: UTF8.self).map { .string($0) }
            }
            guard byte >= 0x20 else { return nil }
            if byte != UInt8(ascii: "\\") { out.append(byte); index += 1; continue }
            index += 1
            guard index < bytes.count else { return nil }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count, let code = UInt32(String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<(index + 4)]), as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(code) else { return nil }
                index += 4
                out += Array(String(Character(scalar)).utf8)
            default:
                return nil
            }
        }
        return nil
    }
}
