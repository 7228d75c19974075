public import NightjarCore

extension DecisionJSON {
    /// Reads what `deductions(_:)` wrote, every field of it; nil when the text is not that shape.
    public static func readDeductions(_ text: String) -> [TypedDeduction]? {
        guard case .array(let items)? = try? JSONValue.parse(Array(text.utf8)) else { return nil }
        var result: [TypedDeduction] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let amount = money(item["amount"]), let code = item["reasonCode"]?.scalarText,
                let type = item["type"]?.scalarText.flatMap(DeductionType.init(rawValue:))
            else { return nil }
            var invoice: Int64?
            if let value = item["invoiceID"] {
                guard let number = value.scalarText.flatMap({ Int64($0) }) else { return nil }
                invoice = number
            }
            let unmapped: Bool
            switch item["unmapped"] {
            case .bool(let flag)?: unmapped = flag
            case nil: unmapped = false
            default: return nil
            }
            result.append(
                TypedDeduction(
                    type: type, reasonCode: code, amount: amount, text: item["text"]?.scalarText,
                    reference: item["reference"]?.scalarText, invoiceID: invoice, unmapped: unmapped))
        }
        return result
    }

    /// Reads what `suggestions(_:)` wrote; nil when the text is not that shape.
    public static func readSuggestions(_ text: String) -> [Suggestion]? {
        guard case .array(let items)? = try? JSONValue.parse(Array(text.utf8)) else { return nil }
        var result: [Suggestion] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let id = item["invoiceID"]?.scalarText.flatMap({ Int64($0) }),
                let number = item["invoiceNumber"]?.scalarText,
                let kind = item["kind"]?.scalarText.flatMap(Suggestion.Kind.init(rawValue:)),
                let open = money(item["openAmount"]),
                let fit = item["amountFit"]?.scalarText.flatMap(Suggestion.AmountFit.init(rawValue:))
            else { return nil }
            result.append(
                Suggestion(kind: kind, invoiceID: id, invoiceNumber: number, openAmount: open, amountFit: fit))
        }
        return result
    }

    /// `{"currency":"USD","minorUnits":1234}`.
    static func money(_ value: JSONValue?) -> Money? {
        guard let value, let code = value["currency"]?.scalarText, let currency = try? CurrencyCode(code),
            let minor = value["minorUnits"]?.scalarText.flatMap({ Int64($0) })
        else { return nil }
        return Money(minorUnits: minor, currency: currency)
    }
}
