public import NightjarCore

/// Early-payment discount terms, e.g. `2/10 NET 30`: 2 % if paid within 10 days.
public struct DiscountTerms: Sendable, Codable, Equatable {
    /// Percent in basis points (2 % = 200).
    public let basisPoints: Int64
    public let days: Int

    /// Parses `2/10 NET 30`, `2% 10 NET 30`, `1.5/15 N45`; nil when there is no discount.
    public init?(_ text: String) {
        let cleaned = text.uppercased().replacingOccurrences(of: "%", with: "/").replacingOccurrences(
            of: " ", with: "/")
        let parts = cleaned.split(separator: "/").map(String.init).filter { !$0.isEmpty }
        guard parts.count >= 2, let days = Int(parts[1]), days > 0,
            let points = try? Money.parseMinorUnits(parts[0], digits: 2), points > 0, points < 10_000
        else { return nil }
        self.basisPoints = points
        self.days = days
    }

    /// The discount these terms give on `amount` minor units, rounded half up.
    public func discount(on amount: Int64) -> Int64 { (amount * basisPoints + 5_000) / 10_000 }
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
    /// A payer id that equals one of the client's customer ids means that customer (opt-in).
    public var payerIDIsCustomerID: Bool

    public init(
        normalisation: ReferenceNormalisation = .standard, writeOffAmount: Int64 = 500, writeOffBasisPoints: Int64 = 50,
        discountGraceDays: Int = 5, lookBackDays: Int = 730, reasonCodes: ReasonCodeTable = .standard,
        payerIDIsCustomerID: Bool = false
    ) {
        self.normalisation = normalisation
        self.writeOffAmount = writeOffAmount
        self.writeOffBasisPoints = writeOffBasisPoints
        self.discountGraceDays = discountGraceDays
        self.lookBackDays = lookBackDays
        self.reasonCodes = reasonCodes
        self.payerIDIsCustomerID = payerIDIsCustomerID
    }

    /// The documented defaults: standard normalisation; write-offs up to 5.00 and 0.5 %;
    /// discounts accepted 5 days past their period; invoices up to two years old; payer ids
    /// mapped to customers only by alias.
    public static let standard = MatchingRules()

    enum CodingKeys: String, CodingKey {
        case normalisation, writeOffAmount, writeOffBasisPoints, discountGraceDays, lookBackDays, reasonCodes,
            payerIDIsCustomerID
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        normalisation = try container.decode(ReferenceNormalisation.self, forKey: .normalisation)
        writeOffAmount = try container.decode(Int64.self, forKey: .writeOffAmount)
        writeOffBasisPoints = try container.decode(Int64.self, forKey: .writeOffBasisPoints)
        discountGraceDays = try container.decode(Int.self, forKey: .discountGraceDays)
        lookBackDays = try container.decode(Int.self, forKey: .lookBackDays)
        reasonCodes = try container.decode(ReasonCodeTable.self, forKey: .reasonCodes)
        payerIDIsCustomerID = try container.decodeIfPresent(Bool.self, forKey: .payerIDIsCustomerID) ?? false
    }
}

/// A client's invoice as the matcher sees it: open, or already settled (for paid-twice and
/// debit memos naming it).
public struct OpenItem: Sendable, Equatable {
    public let id: Int64
    public let customerID: String
    public let invoiceNumber: String
    public let amount: Money
    public var openAmount: Money
    public let invoiceDate: CalendarDate?
    public let purchaseOrderNumber: String?
    public let terms: DiscountTerms?

    public init(
        id: Int64, customerID: String, invoiceNumber: String, amount: Money, openAmount: Money,
        invoiceDate: CalendarDate?,
        purchaseOrderNumber: String? = nil, terms: DiscountTerms? = nil
    ) {
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

/// One of the payer's adjustments on a line (X12 ADX, a CSV deduction): a signed amount
/// (negative = taken off), the payer's reason code and what else it says.
public struct LineAdjustment: Sendable, Equatable {
    public var amount: Money
    public var reasonCode: String
    /// The payer's own wording of the reason.
    public var text: String?
    /// What `reference` is: a debit memo, a return authorisation, a promotion number...
    public var referenceQualifier: String?
    public var reference: String?
    /// The invoice the adjustment is taken against, when the payer names one.
    public var invoiceReference: String?

    public init(
        amount: Money, reasonCode: String, text: String? = nil, referenceQualifier: String? = nil,
        reference: String? = nil,
        invoiceReference: String? = nil
    ) {
        self.amount = amount
        self.reasonCode = reasonCode
        self.text = text
        self.referenceQualifier = referenceQualifier
        self.reference = reference
        self.invoiceReference = invoiceReference
    }
}

/// A remittance line to match.
public struct LineToMatch: Sendable, Equatable {
    public let id: Int64
    public let reference: String
    /// What the payer paid on this line, in the line's currency (the batch's, or the customer's
    /// ledger currency when the file named none).
    public let amountPaid: Money
    public let discount: Money?
    public let adjustments: [LineAdjustment]
    public let paymentDate: CalendarDate?
    /// An invoice the line names besides its own reference (a debit memo's REF*IV).
    public let namedInvoice: String?

    public init(
        id: Int64, reference: String, amountPaid: Money, discount: Money? = nil, adjustments: [LineAdjustment] = [],
        paymentDate: CalendarDate? = nil, namedInvoice: String? = nil
    ) {
        self.id = id
        self.reference = reference
        self.amountPaid = amountPaid
        self.discount = discount
        self.adjustments = adjustments
        self.paymentDate = paymentDate
        self.namedInvoice = namedInvoice
    }
}

/// What happened to a line.
public enum LineStatus: String, Sendable, Codable, CaseIterable {
    case paidInFull = "paid_in_full"
    case paidWithDiscount = "paid_with_discount"
    case shortPaid = "short_paid"
    case overPaid = "over_paid"
    /// The invoice was paid already, by an earlier line (import order, then position) or before.
    case paidTwice = "paid_twice"
    /// A negative line: a deduction taken as its own line, applied as a debit to the invoice it names.
    case debitMemo = "debit_memo"
    case unknownReference = "unknown_reference"
    /// The payer is not known as any of the client's customers, so nothing could be looked up.
    case unknownPayer = "unknown_payer"
    case ambiguous
    /// The line belongs to a payment sent again in another file; it is not matched again.
    case duplicatePayment = "duplicate_payment"

    /// Whether the line needs a person.
    public var isException: Bool {
        switch self {
        case .paidInFull, .paidWithDiscount: false
        default: true
        }
    }

    /// Whether the status applies the line to an invoice.
    public var applies: Bool {
        switch self {
        case .paidInFull, .paidWithDiscount, .shortPaid, .overPaid, .debitMemo: true
        default: false
        }
    }
}

/// A deduction taken on a line, typed, with the payer's own code, words and reference
/// (amount positive = taken off).
public struct TypedDeduction: Sendable, Equatable, Codable {
    public let type: DeductionType
    public let reasonCode: String
    public let amount: Money
    /// The payer's wording of the reason.
    public let text: String?
    /// The payer's reference for the deduction: a debit memo, return authorisation or promotion number.
    public let reference: String?
    /// The invoice it was taken against (nil: the payment as a whole).
    public let invoiceID: Int64?
    /// The code is not in the client's reason-code table (so the type is `manual` until mapped).
    public let unmapped: Bool

    public init(
        type: DeductionType, reasonCode: String, amount: Money, text: String? = nil, reference: String? = nil,
        invoiceID: Int64? = nil,
        unmapped: Bool = false
    ) {
        self.type = type
        self.reasonCode = reasonCode
        self.amount = amount
        self.text = text
        self.reference = reference
        self.invoiceID = invoiceID
        self.unmapped = unmapped
    }

    enum CodingKeys: String, CodingKey { case type, reasonCode, amount, text, reference, invoiceID, unmapped }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(DeductionType.self, forKey: .type)
        reasonCode = try container.decode(String.self, forKey: .reasonCode)
        amount = try container.decode(Money.self, forKey: .amount)
        text = try container.decodeIfPresent(String.self, forKey: .text)
        reference = try container.decodeIfPresent(String.self, forKey: .reference)
        invoiceID = try container.decodeIfPresent(Int64.self, forKey: .invoiceID)
        unmapped = try container.decodeIfPresent(Bool.self, forKey: .unmapped) ?? false
    }
}

/// A candidate a person may confirm; never applied automatically.
public struct Suggestion: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Several open invoices normalise to the same number as the reference.
        case sameNormalisedReference = "same_normalised_reference"
        /// The reference with a glued prefix read another way.
        case prefixVariant = "prefix_variant"
        /// One of the invoices a reference naming several lists.
        case referencePart = "reference_part"
        case transposed
        case oneCharacterDifferent = "one_character_different"
        case purchaseOrderNumber = "purchase_order_number"
        case amountMatches = "amount_matches"

        /// Whether the candidate was found through its reference (within the similarity threshold).
        public var byReference: Bool { self != .amountMatches }
    }

    /// How the line's amount fits the candidate's open amount.
    public enum AmountFit: String, Sendable, Codable, CaseIterable {
        case exact
        /// Exact once the early-payment discount the invoice's terms allow is taken off.
        case withinDiscountTerms = "within_discount_terms"
        /// Within the write-off tolerance.
        case withinWriteOff = "within_write_off"
        case short
        case over
    }

    public let kind: Kind
    public let invoiceID: Int64
    public let invoiceNumber: String
    public let openAmount: Money
    public let amountFit: AmountFit

    public init(kind: Kind, invoiceID: Int64, invoiceNumber: String, openAmount: Money, amountFit: AmountFit) {
        self.kind = kind
        self.invoiceID = invoiceID
        self.invoiceNumber = invoiceNumber
        self.openAmount = openAmount
        self.amountFit = amountFit
    }

    /// The order suggestions are listed in: candidates found by reference before those found by
    /// amount alone; among them an exact amount fit first, then a fit within discount terms or
    /// the write-off; then by kind and number.
    public static func ranked(_ list: [Suggestion]) -> [Suggestion] {
        func fitRank(_ fit: AmountFit) -> Int { AmountFit.allCases.firstIndex(of: fit)! }
        func kindRank(_ kind: Kind) -> Int { Kind.allCases.firstIndex(of: kind)! }
        return list.sorted { a, b in
            if a.kind.byReference != b.kind.byReference { return a.kind.byReference }
            if fitRank(a.amountFit) != fitRank(b.amountFit) { return fitRank(a.amountFit) < fitRank(b.amountFit) }
            if kindRank(a.kind) != kindRank(b.kind) { return kindRank(a.kind) < kindRank(b.kind) }
            return a.invoiceNumber < b.invoiceNumber
        }
    }
}

/// What one line does to one invoice.
public struct Application: Sendable, Equatable, Codable {
    public let invoiceID: Int64
    /// The invoice's open amount before this line.
    public let openAmount: Money
    /// What reduces the invoice's open amount: the cash, discount, deductions and write-off together.
    public let applied: Money
    public let discount: Money
    public let writeOff: Money
    /// The deductions taken against this invoice.
    public let deducted: Money

    public init(invoiceID: Int64, openAmount: Money, applied: Money, discount: Money, writeOff: Money, deducted: Money)
    {
        self.invoiceID = invoiceID
        self.openAmount = openAmount
        self.applied = applied
        self.discount = discount
        self.writeOff = writeOff
        self.deducted = deducted
    }

    /// The cash this line puts on the invoice (negative for a debit memo).
    public var cash: Money {
        Money(
            minorUnits: applied.minorUnits - discount.minorUnits - writeOff.minorUnits - deducted.minorUnits,
            currency: applied.currency)
    }
}

/// The decision for one line.
public struct MatchDecision: Sendable, Equatable {
    public let lineID: Int64
    public let status: LineStatus
    /// The rule that decided, e.g. `reference.exact`, `reference.split`, `tolerance.write_off`.
    public let rule: String
    /// One per invoice the line was applied to automatically (several for a reference naming several).
    public let applications: [Application]
    public let deductions: [TypedDeduction]
    /// Paid beyond what the invoices took (over-payment, or a line applied to nothing).
    public let unapplied: Money
    /// The invoices the reference could mean, when it was applied to none (ambiguous, paid twice).
    public let candidates: [Int64]
    public let suggestions: [Suggestion]
    /// For a line paid twice: the line that paid the invoice first, when it is known.
    public let paidBy: Int64?

    public init(
        lineID: Int64, status: LineStatus, rule: String, applications: [Application] = [],
        deductions: [TypedDeduction] = [],
        unapplied: Money, candidates: [Int64] = [], suggestions: [Suggestion] = [], paidBy: Int64? = nil
    ) {
        self.lineID = lineID
        self.status = status
        self.rule = rule
        self.applications = applications
        self.deductions = deductions
        self.unapplied = unapplied
        self.candidates = candidates
        self.suggestions = suggestions
        self.paidBy = paidBy
    }

    /// The invoice, when the line was applied to exactly one.
    public var invoiceID: Int64? { applications.count == 1 ? applications[0].invoiceID : nil }

    func total(_ part: (Application) -> Money) -> Money {
        Money(minorUnits: applications.reduce(0) { $0 + part($1).minorUnits }, currency: unapplied.currency)
    }

    /// What the line takes off its invoices in all.
    public var applied: Money { total(\.applied) }
    public var discount: Money { total(\.discount) }
    public var writeOff: Money { total(\.writeOff) }
}

/// A payment's balance: payment total = Σ applied cash + unapplied cash.
public struct BatchBalance: Sendable, Equatable, Codable {
    public let total: Money
    /// Cash applied to invoices: what each applied line paid, up to the invoices' open amounts.
    public let appliedCash: Money
    public let unappliedCash: Money

    /// Balances a payment's decisions against its total. Cash the lines did not account for
    /// (unlisted deductions, lump sums) is unapplied.
    public init(total: Money, lines: [LineToMatch], decisions: [MatchDecision]) {
        var applied: Int64 = 0
        for (line, decision) in zip(lines, decisions) where !decision.applications.isEmpty {
            applied += line.amountPaid.minorUnits - decision.unapplied.minorUnits
        }
        self.total = total
        appliedCash = Money(minorUnits: applied, currency: total.currency)
        unappliedCash = Money(minorUnits: total.minorUnits - applied, currency: total.currency)
    }

    /// The same from stored figures: cash each applied line put on its invoices.
    public init(total: Money, appliedCash: Int64) {
        self.total = total
        self.appliedCash = Money(minorUnits: appliedCash, currency: total.currency)
        unappliedCash = Money(minorUnits: total.minorUnits - appliedCash, currency: total.currency)
    }
}
