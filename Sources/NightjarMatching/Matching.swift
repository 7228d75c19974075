public import NightjarCore

/// The kinds of deduction finance tracks; payers' reason codes map to these.
public enum DeductionType: String, Sendable, Codable, CaseIterable {
    case manual, `return`, shortage, promotion, cancellation, pricing, damage, discount
}

/// Maps payers' reason codes (X12 ADX02, CSV reason columns) to deduction types. Editable per client.
public struct ReasonCodeTable: Sendable, Codable, Equatable {
    public var types: [String: DeductionType]

    public init(types: [String: DeductionType]) { self.types = types }

    /// A starting table; codes not listed are `manual` until someone maps them.
    public static let standard = ReasonCodeTable(types: [
        "01": .pricing, "PRICING": .pricing, "PRICE": .pricing,
        "04": .damage, "DAMAGE": .damage, "DAMAGED": .damage,
        "06": .shortage, "SHORTAGE": .shortage, "SHORT": .shortage, "STOCKOUT": .shortage,
        "11": .return, "12": .return, "72": .return, "RETURN": .return, "RTV": .return,
        "PROMO": .promotion, "PROMOTION": .promotion, "COOP": .promotion, "CASHBACK": .promotion,
        "CANCEL": .cancellation, "CANCELLATION": .cancellation,
        "DISCOUNT": .discount, "SKONTO": .discount,
    ])

    public func type(of code: String) -> DeductionType {
        types[code.uppercased().trimmingCharacters(in: .whitespaces)] ?? .manual
    }
}

/// Early-payment discount terms, e.g. `2/10 NET 30`: 2 % if paid within 10 days.
public struct DiscountTerms: Sendable, Codable, Equatable {
    /// Percent in basis points (2 % = 200).
    public let basisPoints: Int64
    public let days: Int

    /// Parses `2/10 NET 30`, `2% 10 NET 30`, `1.5/15 N45`; nil when there is no discount.
    public init?(_ text: String) {
        let cleaned = text.uppercased().replacingOccurrences(of: "%", with: "/").replacingOccurrences(of: " ", with: "/")
        let parts = cleaned.split(separator: "/").map(String.init).filter { !$0.isEmpty }
        guard parts.count >= 2, let days = Int(parts[1]), days > 0,
              let points = try? Money.parseMinorUnits(parts[0], digits: 2), points > 0, points < 10_000 else { return nil }
        self.basisPoints = points
        self.days = days
    }
}

/// The rules of one client, in the order they are tried. Every decision records which rule made it.
public struct MatchingRules: Sendable, Codable, Equatable {
    public var normalisation: ReferenceNormalisation
    /// A difference up to this many minor units is written off as paid in full.
    public var writeOffAmount: Int64
    /// ...or up to this share of the open amount, in basis points (whichever is smaller applies).
    public var writeOffBasisPoints: Int64
    /// Grace days after the discount period for a discount to still be accepted (payments travel).
    public var discountGraceDays: Int
    /// Open invoices older than this are not candidates.
    public var lookBackDays: Int
    public var reasonCodes: ReasonCodeTable

    public init(normalisation: ReferenceNormalisation = .standard, writeOffAmount: Int64 = 500, writeOffBasisPoints: Int64 = 50,
                discountGraceDays: Int = 5, lookBackDays: Int = 730, reasonCodes: ReasonCodeTable = .standard) {
        self.normalisation = normalisation
        self.writeOffAmount = writeOffAmount
        self.writeOffBasisPoints = writeOffBasisPoints
        self.discountGraceDays = discountGraceDays
        self.lookBackDays = lookBackDays
        self.reasonCodes = reasonCodes
    }

    /// The documented defaults: standard normalisation; write-offs up to 5.00 and 0.5 %;
    /// discounts accepted 5 days past their period; invoices up to two years old.
    public static let standard = MatchingRules()
}

/// A client's open invoice, as the matcher sees it.
public struct OpenItem: Sendable, Equatable {
    public let id: Int64
    public let customerID: String
    public let invoiceNumber: String
    public let amount: Money
    public var openAmount: Money
    public let invoiceDate: CalendarDate?
    public let purchaseOrderNumber: String?
    public let terms: DiscountTerms?

    public init(id: Int64, customerID: String, invoiceNumber: String, amount: Money, openAmount: Money, invoiceDate: CalendarDate?,
                purchaseOrderNumber: String? = nil, terms: DiscountTerms? = nil) {
        self.id = id
        self.customerID = customerID
        self.invoiceNumber = invoiceNumber
        self.amount = amount
        self.openAmount = openAmount
        self.invoiceDate = invoiceDate
        self.purchaseOrderNumber = purchaseOrderNumber
        self.terms = terms
    }
}

/// A remittance line to match.
public struct LineToMatch: Sendable, Equatable {
    public let id: Int64
    public let reference: String
    public let amountPaid: Money
    public let discount: Money?
    /// The payer's adjustments on this line: signed amounts (negative taken off) and reason codes.
    public let adjustments: [(amount: Money, reasonCode: String)]
    public let paymentDate: CalendarDate?

    public init(id: Int64, reference: String, amountPaid: Money, discount: Money? = nil,
                adjustments: [(amount: Money, reasonCode: String)] = [], paymentDate: CalendarDate? = nil) {
        self.id = id
        self.reference = reference
        self.amountPaid = amountPaid
        self.discount = discount
        self.adjustments = adjustments
        self.paymentDate = paymentDate
    }

    public static func == (lhs: LineToMatch, rhs: LineToMatch) -> Bool {
        lhs.id == rhs.id && lhs.reference == rhs.reference && lhs.amountPaid == rhs.amountPaid && lhs.discount == rhs.discount
            && lhs.paymentDate == rhs.paymentDate && lhs.adjustments.map(\.amount) == rhs.adjustments.map(\.amount)
            && lhs.adjustments.map(\.reasonCode) == rhs.adjustments.map(\.reasonCode)
    }
}

/// What happened to a line.
public enum LineStatus: String, Sendable, Codable {
    case paidInFull = "paid_in_full"
    case paidWithDiscount = "paid_with_discount"
    case shortPaid = "short_paid"
    case overPaid = "over_paid"
    case paidTwice = "paid_twice"
    case unknownReference = "unknown_reference"
    case ambiguous

    /// Whether the line needs a person.
    public var isException: Bool {
        switch self {
        case .paidInFull, .paidWithDiscount: false
        default: true
        }
    }
}

/// A deduction taken on an invoice, typed, with the payer's own code and amount (positive = taken off).
public struct TypedDeduction: Sendable, Equatable, Codable {
    public let type: DeductionType
    public let reasonCode: String
    public let amount: Money
}

/// A near miss a person may confirm; never applied automatically.
public struct Suggestion: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case oneCharacterDifferent = "one_character_different"
        case transposed
        case purchaseOrderNumber = "purchase_order_number"
        case amountMatches = "amount_matches"
    }

    public let kind: Kind
    public let invoiceID: Int64
    public let invoiceNumber: String
}

/// The decision for one line.
public struct MatchDecision: Sendable, Equatable, Codable {
    public let lineID: Int64
    public let status: LineStatus
    /// The invoice the line was applied to, when it was matched automatically.
    public let invoiceID: Int64?
    /// The rule that decided, e.g. `reference.exact`, `reference.normalised`, `tolerance.write_off`.
    public let rule: String
    /// What reduces the invoice's open amount: paid + discount + deductions + write-off.
    public let applied: Money
    public let discount: Money
    public let writeOff: Money
    public let deductions: [TypedDeduction]
    /// Paid beyond the invoice's open amount (over-payment, or a line with no invoice).
    public let unapplied: Money
    public let candidates: [Int64]
    public let suggestions: [Suggestion]
}

/// The matching rules as pure functions over values.
public struct Matcher: Sendable {
    public let rules: MatchingRules
    private var byExact: [String: [Int]] = [:]
    private var byNormalised: [String: [Int]] = [:]
    private let items: [OpenItem]
    /// Open amounts changed by the current payment's lines (the items themselves are shared and
    /// never copied, so one matcher serves many payments: see `startPayment()`).
    private var changedOpen: [Int: Money] = [:]
    private let settledEarlier: Set<String>
    /// Every character seen in a normalised reference, for generating near misses.
    private var alphabet: Set<Unicode.Scalar> = []
    private var byPurchaseOrder: [String: [Int]] = [:]
    private var byOpenAmount: [Money: [Int]] = [:]

    /// `items` are the open invoices of the customers the payer is known as — and only those:
    /// the same number under another customer is never a candidate. `settled` are references of
    /// invoices already closed by earlier payments (for paid-twice detection).
    public init(rules: MatchingRules = .standard, items: [OpenItem], settledInvoiceNumbers: Set<String> = []) {
        self.rules = rules
        self.items = items
        settledEarlier = Set(settledInvoiceNumbers.map { rules.normalisation.normalise($0) })
        for (index, item) in items.enumerated() {
            byExact[item.invoiceNumber.uppercased().trimmingCharacters(in: .whitespaces), default: []].append(index)
            let key = rules.normalisation.normalise(item.invoiceNumber)
            byNormalised[key, default: []].append(index)
            alphabet.formUnion(key.unicodeScalars)
            if let po = item.purchaseOrderNumber { byPurchaseOrder[rules.normalisation.normalise(po), default: []].append(index) }
            byOpenAmount[item.openAmount, default: []].append(index)
        }
    }

    /// The open items after the decisions so far (matched amounts taken off).
    public var openItems: [OpenItem] {
        items.enumerated().map { index, item in
            var copy = item
            if let changed = changedOpen[index] { copy.openAmount = changed }
            return copy
        }
    }

    /// Forgets what the previous payment's lines took off: each payment is matched against the
    /// stored open amounts, which change only when a person approves a batch.
    public mutating func startPayment() { changedOpen.removeAll(keepingCapacity: true) }

    func openAmount(_ index: Int) -> Money { changedOpen[index] ?? items[index].openAmount }

    /// Decides every line of a payment, in order, applying each match to the open amounts so a
    /// second line for the same invoice sees it already paid.
    public mutating func match(_ lines: [LineToMatch]) -> [MatchDecision] {
        lines.map { match($0) }
    }

    public mutating func match(_ line: LineToMatch) -> MatchDecision {
        let currency = line.amountPaid.currency
        let zero = Money.zero(currency)
        let exactKey = line.reference.uppercased().trimmingCharacters(in: .whitespaces)
        let normalisedKey = rules.normalisation.normalise(line.reference)
        var candidates = byExact[exactKey] ?? []
        var rule = "reference.exact"
        if candidates.isEmpty {
            candidates = byNormalised[normalisedKey] ?? []
            rule = "reference.normalised"
        }
        candidates = candidates.filter { items[$0].amount.currency == currency && isWithinLookBack(items[$0], line) }
        func decision(_ status: LineStatus, invoice: Int64? = nil, rule: String, applied: Money? = nil, discount: Money? = nil,
                      writeOff: Money? = nil, deductions: [TypedDeduction] = [], unapplied: Money? = nil,
                      candidates: [Int64] = [], suggestions: [Suggestion] = []) -> MatchDecision {
            MatchDecision(lineID: line.id, status: status, invoiceID: invoice, rule: rule, applied: applied ?? zero, discount: discount ?? zero,
                          writeOff: writeOff ?? zero, deductions: deductions, unapplied: unapplied ?? zero, candidates: candidates,
                          suggestions: suggestions)
        }
        if candidates.count > 1 {
            return decision(.ambiguous, rule: rule, unapplied: line.amountPaid, candidates: candidates.map { items[$0].id })
        }
        guard let index = candidates.first else {
            if settledEarlier.contains(normalisedKey) {
                return decision(.paidTwice, rule: "reference.settled_earlier", unapplied: line.amountPaid)
            }
            return decision(.unknownReference, rule: "reference.none", unapplied: line.amountPaid, suggestions: suggestions(for: line, key: normalisedKey))
        }
        let item = items[index]
        let open = openAmount(index).minorUnits
        if open <= 0 {
            return decision(.paidTwice, rule: "\(rule)+already_settled", unapplied: line.amountPaid, candidates: [item.id])
        }
        let paid = line.amountPaid.minorUnits
        let deductions = line.adjustments.filter { $0.amount.minorUnits < 0 }.map {
            TypedDeduction(type: rules.reasonCodes.type(of: $0.reasonCode), reasonCode: $0.reasonCode,
                           amount: Money(minorUnits: -$0.amount.minorUnits, currency: currency))
        }
        let deducted = deductions.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
        var discount = line.discount?.minorUnits ?? 0
        // A discount the payer took without saying so, within the invoice's terms.
        if discount == 0, let terms = item.terms, discountAllowed(item, line, terms) {
            let termsDiscount = (item.amount.minorUnits * terms.basisPoints + 5_000) / 10_000
            if paid + deducted + termsDiscount == open { discount = termsDiscount }
        }
        let covered = paid + deducted + discount
        func apply(_ status: LineStatus, rule: String, writeOff: Int64 = 0, extra: [TypedDeduction] = []) -> MatchDecision {
            let applied = min(open, covered + writeOff)
            changedOpen[index] = Money(minorUnits: open - applied, currency: currency)
            return decision(status, invoice: item.id, rule: rule, applied: Money(minorUnits: applied, currency: currency),
                            discount: Money(minorUnits: discount, currency: currency), writeOff: Money(minorUnits: writeOff, currency: currency),
                            deductions: deductions + extra, unapplied: Money(minorUnits: max(0, covered - open), currency: currency),
                            candidates: [item.id])
        }
        if covered == open {
            if discount > 0 && deducted == 0 { return apply(.paidWithDiscount, rule: "\(rule)+discount") }
            return apply(deducted > 0 ? .shortPaid : .paidInFull, rule: deducted > 0 ? "\(rule)+deductions" : rule)
        }
        if covered > open { return apply(.overPaid, rule: rule) }
        let shortfall = open - covered
        let tolerance = min(rules.writeOffAmount, open * rules.writeOffBasisPoints / 10_000)
        if shortfall <= tolerance && deducted == 0 {
            return apply(.paidInFull, rule: "\(rule)+tolerance.write_off", writeOff: shortfall)
        }
        // An unexplained short payment is a deduction of unknown type for a person to classify.
        let unexplained = TypedDeduction(type: .manual, reasonCode: "", amount: Money(minorUnits: shortfall, currency: currency))
        return apply(.shortPaid, rule: "\(rule)+short", extra: [unexplained])
    }

    func isWithinLookBack(_ item: OpenItem, _ line: LineToMatch) -> Bool {
        guard let invoiceDate = item.invoiceDate, let paymentDate = line.paymentDate else { return true }
        return paymentDate.days(since: invoiceDate) <= rules.lookBackDays
    }

    func discountAllowed(_ item: OpenItem, _ line: LineToMatch, _ terms: DiscountTerms) -> Bool {
        guard let invoiceDate = item.invoiceDate, let paymentDate = line.paymentDate else { return false }
        return paymentDate.days(since: invoiceDate) <= terms.days + rules.discountGraceDays
    }

    /// Near misses for a person to confirm.
    func suggestions(for line: LineToMatch, key: String) -> [Suggestion] {
        var result: [Suggestion] = []
        let scalars = Array(key.unicodeScalars)
        // Near misses are generated from the reference (one character changed, or two neighbours
        // swapped) and looked up, rather than compared with every open item.
        if scalars.count >= 3 {
            var seen = Set<Int>()
            func consider(_ variant: [Unicode.Scalar], _ kind: Suggestion.Kind) {
                var text = ""
                text.unicodeScalars.append(contentsOf: variant)
                for index in byNormalised[text] ?? [] where openAmount(index).minorUnits > 0 && seen.insert(index).inserted {
                    result.append(Suggestion(kind: kind, invoiceID: items[index].id, invoiceNumber: items[index].invoiceNumber))
                }
            }
            var variant = scalars
            for position in scalars.indices {
                for replacement in alphabet.sorted(by: { $0.value < $1.value }) where replacement != scalars[position] {
                    variant[position] = replacement
                    consider(variant, .oneCharacterDifferent)
                }
                variant[position] = scalars[position]
            }
            for position in 0..<(scalars.count - 1) where scalars[position] != scalars[position + 1] {
                variant.swapAt(position, position + 1)
                consider(variant, .transposed)
                variant.swapAt(position, position + 1)
            }
        }
        if !key.isEmpty {
            for index in byPurchaseOrder[key] ?? [] where openAmount(index).minorUnits > 0 && !result.contains(where: { $0.invoiceID == items[index].id }) {
                result.append(Suggestion(kind: .purchaseOrderNumber, invoiceID: items[index].id, invoiceNumber: items[index].invoiceNumber))
            }
        }
        // Open amounts change as lines are applied, so the index is checked against the current amount.
        let sameAmount = (byOpenAmount[line.amountPaid] ?? []).filter { openAmount($0) == line.amountPaid }
        if sameAmount.count == 1, !result.contains(where: { $0.invoiceID == items[sameAmount[0]].id }) {
            result.append(Suggestion(kind: .amountMatches, invoiceID: items[sameAmount[0]].id, invoiceNumber: items[sameAmount[0]].invoiceNumber))
        }
        return Array(result.prefix(5))
    }

    /// One character substituted, or two adjacent characters swapped.
    static func nearMiss(_ x: [Unicode.Scalar], _ y: [Unicode.Scalar]) -> Suggestion.Kind? {
        guard x.count == y.count, x.count >= 3 else { return nil }
        var differences: [Int] = []
        for index in 0..<x.count where x[index] != y[index] {
            differences.append(index)
            if differences.count > 2 { return nil }
        }
        if differences.count == 1 { return .oneCharacterDifferent }
        if differences.count == 2, differences[1] == differences[0] + 1, x[differences[0]] == y[differences[1]], x[differences[1]] == y[differences[0]] {
            return .transposed
        }
        return nil
    }
}

/// A payment's balance: payment total = Σ applied cash + unapplied cash.
public struct BatchBalance: Sendable, Equatable, Codable {
    public let total: Money
    /// Cash applied to invoices: what each matched line paid, up to the invoice's open amount.
    public let appliedCash: Money
    public let unappliedCash: Money

    /// Balances a payment's decisions against its total. Cash the lines did not account for
    /// (unlisted deductions, lump sums) is unapplied.
    public init(total: Money, lines: [LineToMatch], decisions: [MatchDecision]) {
        var applied: Int64 = 0
        for (line, decision) in zip(lines, decisions) where decision.invoiceID != nil {
            applied += line.amountPaid.minorUnits - decision.unapplied.minorUnits
        }
        self.total = total
        appliedCash = Money(minorUnits: applied, currency: total.currency)
        unappliedCash = Money(minorUnits: total.minorUnits - applied, currency: total.currency)
    }
}
