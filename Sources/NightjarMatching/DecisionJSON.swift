public import NightjarCore

/// The stored JSON of a decision's deductions and suggestions, written by hand: the same
/// sorted-key shape `JSONEncoder` gives (and that `JSONDecoder` reads back), at a fraction of
/// the cost, since a night may store a million of them.
public enum DecisionJSON {
    /// Bytes of JSON being written.
    struct Writer {
        var bytes: [UInt8] = []

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        mutating func raw(_ text: StaticString) {
            text.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }

        mutating func integer(_ value: Int64) {
            if value < 0 { bytes.append(0x2D) }
            var magnitude = value.magnitude
            var digits:
                (
                    UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                    UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
                ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            withUnsafeMutableBytes(of: &digits) { buffer in
                repeat {
                    buffer[count] = UInt8(48 + magnitude % 10)
                    magnitude /= 10
                    count += 1
                } while magnitude > 0
                for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
            }
        }

        /// A JSON string literal, escaped as `JSONEncoder` escapes it.
        mutating func string(_ text: String) {
            bytes.append(0x22)
            for byte in text.utf8 {
                switch byte {
                case 0x22:
                    bytes.append(0x5C)
                    bytes.append(0x22)
                case 0x5C:
                    bytes.append(0x5C)
                    bytes.append(0x5C)
                case 0x0A:
                    bytes.append(0x5C)
                    bytes.append(0x6E)
                case 0x0D:
                    bytes.append(0x5C)
                    bytes.append(0x72)
                case 0x09:
                    bytes.append(0x5C)
                    bytes.append(0x74)
                case 0..<0x20:
                    raw("\\u00")
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0xF)])
                default: bytes.append(byte)
                }
            }
            bytes.append(0x22)
        }

        mutating func money(_ money: Money) {
            raw("{\"currency\":")
            string(money.currency.code)
            raw(",\"minorUnits\":")
            integer(money.minorUnits)
            raw("}")
        }

        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// A JSON string literal.
    public static func string(_ text: String) -> String {
        var writer = Writer(capacity: text.utf8.count + 2)
        writer.string(text)
        return writer.text
    }

    public static func deductions(_ list: [TypedDeduction]) -> String {
        if list.isEmpty { return "[]" }
        var writer = Writer(capacity: 128 * list.count)
        writer.raw("[")
        for (index, deduction) in list.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"amount\":")
            writer.money(deduction.amount)
            if let invoice = deduction.invoiceID {
                writer.raw(",\"invoiceID\":")
                writer.integer(invoice)
            }
            writer.raw(",\"reasonCode\":")
            writer.string(deduction.reasonCode)
            if let reference = deduction.reference {
                writer.raw(",\"reference\":")
                writer.string(reference)
            }
            if let text = deduction.text {
                writer.raw(",\"text\":")
                writer.string(text)
            }
            writer.raw(",\"type\":")
            writer.string(deduction.type.rawValue)
            writer.raw(deduction.unmapped ? ",\"unmapped\":true}" : ",\"unmapped\":false}")
        }
        writer.raw("]")
        return writer.text
    }

    public static func suggestions(_ list: [Suggestion]) -> String {
        if list.isEmpty { return "[]" }
        var writer = Writer(capacity: 128 * list.count)
        writer.raw("[")
        for (index, suggestion) in list.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"amountFit\":")
            writer.string(suggestion.amountFit.rawValue)
            writer.raw(",\"invoiceID\":")
            writer.integer(suggestion.invoiceID)
            writer.raw(",\"invoiceNumber\":")
            writer.string(suggestion.invoiceNumber)
            writer.raw(",\"kind\":")
            writer.string(suggestion.kind.rawValue)
            writer.raw(",\"openAmount\":")
            writer.money(suggestion.openAmount)
            writer.raw("}")
        }
        writer.raw("]")
        return writer.text
    }
}
