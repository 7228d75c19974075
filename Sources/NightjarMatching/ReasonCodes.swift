import NightjarCore

/// The kinds of deduction finance tracks; payers' reason codes map to these.
public enum DeductionType: String, Sendable, Codable, CaseIterable {
    case manual, `return`, shortage, promotion, cancellation, pricing, damage, discount
}

/// Maps payers' reason codes (X12 ADX02, CSV reason columns) to deduction types. Editable per
/// client (`reason.CODE = TYPE` in rules/CLIENT.rules); a code not in the table is `manual`, kept
/// with its text and listed as an unmapped reason code for someone to map.
public struct ReasonCodeTable: Sendable, Codable, Equatable {
    public var types: [String: DeductionType]

    public init(types: [String: DeductionType]) { self.types = types }

    /// The shipped table: the X12 adjustment reason codes retailers use in 820s, and the codes
    /// common in retailers' remittance spreadsheets.
    public static let standard = ReasonCodeTable(types: ReasonCodeTable.shipped.mapValues(\.type))

    /// A code as the table keys it: upper case, no surrounding spaces.
    public static func key(_ code: String) -> String {
        var text = code
        if text.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7A || $0 == 0x20 || $0 >= 0x80 }) {
            text = text.uppercased().trimmingWhitespace()
        }
        return text
    }

    /// The type the table maps a code to, or nil when it does not know the code.
    public func lookup(_ code: String) -> DeductionType? { types[ReasonCodeTable.key(code)] }

    /// The type a code stands for; `manual` when the table does not know it.
    public func type(of code: String) -> DeductionType { types[ReasonCodeTable.key(code)] ?? .manual }

    /// Whether the table maps this code (an empty code is no code, not an unmapped one).
    public func maps(_ code: String) -> Bool { types[ReasonCodeTable.key(code)] != nil }

    /// What a shipped code means, in a few words ("quantity contested"), for reports.
    public static func wording(of code: String) -> String? { shipped[key(code)]?.wording }

    struct Entry: Sendable {
        let type: DeductionType
        let wording: String
    }

    /// The shipped codes with their type and what they mean, in our words.
    static let shipped: [String: Entry] = {
        var table: [String: Entry] = [:]
        func add(_ codes: [String], _ type: DeductionType, _ wording: String) {
            for code in codes { table[code] = Entry(type: type, wording: wording) }
        }
        // X12 element 426 (ADX02), the codes retailers send.
        add(["01"], .pricing, "price differs from the agreed price")
        add(["02"], .pricing, "allowance or charge in dispute")
        add(["03"], .pricing, "quantity times price does not add up")
        add(["04"], .damage, "goods refused as damaged")
        add(["05"], .damage, "goods refused for quality")
        add(["06"], .shortage, "quantity contested")
        add(["07"], .return, "wrong product delivered")
        add(["08"], .pricing, "substitute product priced differently")
        add(["09"], .discount, "payment terms in dispute")
        add(["10"], .pricing, "pallet or container charge in dispute")
        add(["11"], .return, "returned, damaged")
        add(["12"], .return, "returned for quality")
        add(["13"], .return, "returned, out of date")
        add(["14"], .return, "returned after a promotion")
        add(["15"], .return, "returned under a recall")
        add(["16"], .promotion, "allowance not tied to an invoice")
        add(["19"], .cancellation, "billed twice")
        add(["22"], .pricing, "weight in dispute")
        add(["23"], .pricing, "charge not authorised")
        add(["24"], .discount, "discount in dispute")
        add(["25"], .return, "goods not accepted")
        add(["26"], .cancellation, "invoice cancelled")
        add(["28"], .promotion, "rebate on shipments")
        add(["41"], .cancellation, "refused for late delivery")
        add(["42"], .shortage, "goods lost before receipt")
        add(["43"], .discount, "discount missing from the invoice")
        add(["54"], .pricing, "freight taken off")
        add(["55"], .pricing, "tax taken off")
        add(["56"], .promotion, "advertising allowance taken")
        add(["57"], .promotion, "volume rebate taken")
        add(["59"], .shortage, "goods not received")
        add(["71"], .promotion, "advertising allowance")
        add(["72"], .return, "return authorised")
        add(["74"], .cancellation, "earlier invoice cancelled or adjusted")
        // Retailers' spreadsheet codes.
        add(["RTN", "RETURN", "RETURNS", "RTV", "RA", "RMA"], .return, "returned goods")
        add(
            ["OOS", "SHORT", "SHORTAGE", "SHT", "STOCKOUT", "NOTRCVD", "NRCV"], .shortage,
            "short shipped or not received")
        add(
            [
                "CASHBK", "CASHBACK", "PROMO", "PROMOTION", "COOP", "CO-OP", "MDF", "ADV", "ALLOW", "ALLOWANCE", "SCAN",
                "SCANBACK", "REBATE",
            ],
            .promotion, "promotion, co-op or allowance")
        add(["CANC", "CANCEL", "CANCELLED", "CANCELLATION", "CXL", "DUP"], .cancellation, "cancelled or billed twice")
        add(["DMG", "DAMAGE", "DAMAGED", "DEF", "DEFECT", "DEFECTIVE"], .damage, "damaged or defective goods")
        add(["PRICE", "PRICING", "PRC", "PD", "PRICEDIFF"], .pricing, "price difference")
        add(["DISC", "DISCOUNT", "SKONTO", "TERMS", "CD"], .discount, "early-payment discount")
        return table
    }()
}
