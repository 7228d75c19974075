/// The stored JSON of a decision's deductions and suggestions, written by hand: the same
/// sorted-key shape `JSONEncoder` gives (and that `JSONDecoder` reads back), at a fraction of
/// the cost, since a night may store a million of them.
public enum DecisionJSON {
    /// A JSON string literal.
    public static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    public static func deductions(_ list: [TypedDeduction]) -> String {
        if list.isEmpty { return "[]" }
        return "[" + list.map {
            "{\"amount\":{\"currency\":\(string($0.amount.currency.description)),\"minorUnits\":\($0.amount.minorUnits)},"
                + "\"reasonCode\":\(string($0.reasonCode)),\"type\":\(string($0.type.rawValue))}"
        }.joined(separator: ",") + "]"
    }

    public static func suggestions(_ list: [Suggestion]) -> String {
        if list.isEmpty { return "[]" }
        return "[" + list.map {
            "{\"invoiceID\":\($0.invoiceID),\"invoiceNumber\":\(string($0.invoiceNumber)),\"kind\":\(string($0.kind.rawValue))}"
        }.joined(separator: ",") + "]"
    }
}
