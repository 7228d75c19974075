public import NightjarCore

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

    static func money(_ money: Money) -> String {
        "{\"currency\":\(string(money.currency.code)),\"minorUnits\":\(money.minorUnits)}"
    }

    public static func deductions(_ list: [TypedDeduction]) -> String {
        if list.isEmpty { return "[]" }
        return "[" + list.map { deduction in
            var out = "{\"amount\":\(money(deduction.amount))"
            if let invoice = deduction.invoiceID { out += ",\"invoiceID\":\(invoice)" }
            out += ",\"reasonCode\":\(string(deduction.reasonCode))"
            if let reference = deduction.reference { out += ",\"reference\":\(string(reference))" }
            if let text = deduction.text { out += ",\"text\":\(string(text))" }
            return out + ",\"type\":\(string(deduction.type.rawValue)),\"unmapped\":\(deduction.unmapped)}"
        }.joined(separator: ",") + "]"
    }

    public static func suggestions(_ list: [Suggestion]) -> String {
        if list.isEmpty { return "[]" }
        return "[" + list.map {
            "{\"amountFit\":\(string($0.amountFit.rawValue)),\"invoiceID\":\($0.invoiceID),\"invoiceNumber\":\(string($0.invoiceNumber)),"
                + "\"kind\":\(string($0.kind.rawValue)),\"openAmount\":\(money($0.openAmount))}"
        }.joined(separator: ",") + "]"
    }
}
