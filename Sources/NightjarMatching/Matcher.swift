public import NightjarCore

/// A client's invoices, open and settled, stored column by column so that a million of them
/// load quickly and take little memory. Built once, then shared by every payment matched.
public struct InvoiceTable: Sendable {
    var ids: [Int64] = []
    var numbers: [String] = []
    var customers: [Int32] = []
    var amounts: [Int64] = []
    var opens: [Int64] = []
    var currencies: [UInt16] = []
    /// Days since 1970-01-01, or `Int32.min` when the invoice has no date.
    var days: [Int32] = []
    var purchaseOrders: [String] = []
    var termsBasisPoints: [Int16] = []
    var termsDays: [Int16] = []
    var customerIDs: [String] = []
    var customerIndex: [String: Int32] = [:]
    /// Each customer's one currency, or `mixedCurrencies` when its invoices are in several.
    var customerCurrencies: [UInt16] = []
    static let mixedCurrencies = UInt16.max
    var currencyCodes: [CurrencyCode] = []
    var currencyIndex: [CurrencyCode: UInt16] = [:]

    public init() {}

    public init(_ items: [OpenItem]) {
        reserve(items.count)
        for item in items { append(item) }
    }

    public var count: Int { ids.count }

    public mutating func reserve(_ capacity: Int) {
        ids.reserveCapacity(capacity)
        numbers.reserveCapacity(capacity)
        customers.reserveCapacity(capacity)
        amounts.reserveCapacity(capacity)
        opens.reserveCapacity(capacity)
        currencies.reserveCapacity(capacity)
        days.reserveCapacity(capacity)
        purchaseOrders.reserveCapacity(capacity)
        termsBasisPoints.reserveCapacity(capacity)
        termsDays.reserveCapacity(capacity)
    }

    public mutating func append(_ item: OpenItem) {
        append(
            id: item.id, customerID: item.customerID, invoiceNumber: item.invoiceNumber, amount: item.amount.minorUnits,
            openAmount: item.openAmount.minorUnits, currency: item.amount.currency,
            invoiceDay: item.invoiceDate?.daysSinceEpoch,
            purchaseOrderNumber: item.purchaseOrderNumber, terms: item.terms)
    }

    /// Adds an invoice; an open amount of zero makes it a settled one (never paid again, but
    /// found when a payer pays it twice or names it in a debit memo).
    public mutating func append(
        id: Int64, customerID: String, invoiceNumber: String, amount: Int64, openAmount: Int64, currency: CurrencyCode,
        invoiceDay: Int?, purchaseOrderNumber: String?, terms: DiscountTerms?
    ) {
        let customer = InvoiceTable.number(of: customerID, index: &customerIndex, keys: &customerIDs)
        if Int(customer) == customerCurrencies.count { customerCurrencies.append(UInt16.max - 1) }
        let currencyNumber = InvoiceTable.number(of: currency, index: &currencyIndex, keys: &currencyCodes)
        let known = customerCurrencies[Int(customer)]
        if known == UInt16.max - 1 {
            customerCurrencies[Int(customer)] = currencyNumber
        } else if known != currencyNumber {
            customerCurrencies[Int(customer)] = InvoiceTable.mixedCurrencies
        }
        ids.append(id)
        numbers.append(invoiceNumber)
        customers.append(customer)
        amounts.append(amount)
        opens.append(openAmount)
        currencies.append(currencyNumber)
        days.append(invoiceDay.map { Int32(clamping: $0) } ?? Int32.min)
        purchaseOrders.append(purchaseOrderNumber ?? "")
        termsBasisPoints.append(Int16(clamping: terms?.basisPoints ?? 0))
        termsDays.append(Int16(clamping: terms?.days ?? 0))
    }

    /// The number a column stores for `key`: its place in `keys` (found through `index`), or,
    /// for a key not seen before, the next place, where it is added. Customers and currencies
    /// are stored this way, each once.
    @inline(__always)
    static func number<Key: Hashable, Number: FixedWidthInteger>(
        of key: Key, index: inout [Key: Number], keys: inout [Key]
    ) -> Number {
        if let known = index[key] { return known }
        let number = Number(keys.count)
        keys.append(key)
        index[key] = number
        return number
    }

    /// The customers a payer is known as, as the matcher filters by them.
    public func customerSet(_ customerIDs: [String]) -> CustomerSet {
        CustomerSet(members: customerIDs.compactMap { customerIndex[$0] })
    }

    /// The currency a set of customers keeps its account in: the one currency of all their
    /// invoices, or nil when they have none or several.
    public func ledgerCurrency(of set: CustomerSet) -> CurrencyCode? {
        let members = set.everyone ? Array(customerCurrencies.indices) : set.members.map { Int($0) }
        var found: UInt16?
        for customer in members {
            let currency = customerCurrencies[customer]
            if currency == InvoiceTable.mixedCurrencies || (found != nil && found != currency) { return nil }
            found = currency
        }
        return found.map { currencyCodes[Int($0)] }
    }
}

/// The customers whose invoices a line may be matched to.
public struct CustomerSet: Sendable, Equatable {
    let members: [Int32]
    let everyone: Bool

    init(members: [Int32]) {
        self.members = members
        everyone = false
    }

    init(everyone: Bool) {
        members = []
        self.everyone = everyone
    }

    /// Every customer in the table (tests and single-customer tools).
    public static let all = CustomerSet(everyone: true)
    public var isEmpty: Bool { !everyone && members.isEmpty }

    @inline(__always) func contains(_ customer: Int32) -> Bool {
        if everyone { return true }
        for member in members where member == customer { return true }
        return false
    }
}

/// The matching rules as pure functions over values: a line in, a decision out, never a
/// guess. A line is applied automatically only when exactly one invoice of the payer's
/// customers, in the line's currency, answers to its reference; everything else becomes an
/// exception with suggestions a person may confirm.
///
/// One matcher serves all of a client's pending payments in import order: what a line takes
/// off an invoice is taken off for every later line too, so a second payment of the same
/// invoice is `paid_twice`, pointing at the first.
public struct Matcher: Sendable {
    public let rules: MatchingRules
    let table: InvoiceTable
    var heads: [String: Int32] = [:]
    var nextSame: [Int32]
    /// Open amounts after the lines decided so far.
    var open: [Int64]
    /// The line that first applied to each invoice (0: none yet).
    var firstLine: [Int64]
    var lookups: Lookups?

    /// Indexes built the first time a line needs suggestions or an invoice is named by id.
    struct Lookups: Sendable {
        var alphabet: [UInt8] = []
        var byPurchaseOrder: [String: [Int32]] = [:]
        var byOpenAmount: [Int64: [Int32]] = [:]
    }

    var byID: [Int64: Int32]?

    public init(rules: MatchingRules = .standard, table: InvoiceTable) {
        self.rules = rules
        self.table = table
        nextSame = [Int32](repeating: -1, count: table.count)
        open = table.opens
        firstLine = [Int64](repeating: 0, count: table.count)
        heads.reserveCapacity(table.count)
        // Chained in reverse so each chain lists invoices in table order.
        for index in stride(from: table.count - 1, through: 0, by: -1) {
            let key = rules.normalisation.normalise(table.numbers[index])
            if let head = heads[key] { nextSame[index] = head }
            heads[key] = Int32(index)
        }
    }

    /// A matcher over `items` (an open amount of zero marks a settled invoice).
    public init(rules: MatchingRules = .standard, items: [OpenItem]) {
        self.init(rules: rules, table: InvoiceTable(items))
    }

    public var invoices: InvoiceTable { table }

    // MARK: Earlier decisions

    mutating func index(of invoiceID: Int64) -> Int32? {
        if byID == nil {
            var map: [Int64: Int32] = [:]
            map.reserveCapacity(table.count)
            for (index, id) in table.ids.enumerated() { map[id] = Int32(index) }
            byID = map
        }
        return byID![invoiceID]
    }

    /// The open amount of an invoice after the lines decided so far.
    public mutating func openAmount(invoiceID: Int64) -> Money? {
        guard let index = index(of: invoiceID) else { return nil }
        return Money(minorUnits: open[Int(index)], currency: table.currencyCodes[Int(table.currencies[Int(index)])])
    }

    /// Takes what an earlier decision (stored, or made by a person) applied off an invoice, as if
    /// the matcher had decided it. False when the invoice is unknown or was already fully paid
    /// when this line came: the decision no longer fits.
    @discardableResult
    public mutating func recordEarlier(invoiceID: Int64, applied: Int64, lineID: Int64) -> Bool {
        guard let found = index(of: invoiceID) else { return false }
        let index = Int(found)
        let fits = applied == 0 || !isSettled(index)
        if applied != 0 {
            open[index] -= applied
            if firstLine[index] == 0 { firstLine[index] = lineID }
        }
        return fits
    }

    /// Nothing more to pay: a positive invoice at or below zero, a credit at or above.
    func isSettled(_ index: Int) -> Bool { table.amounts[index] >= 0 ? open[index] <= 0 : open[index] >= 0 }

    // MARK: Deciding

    /// Decides every line in order, against every customer in the table.
    public mutating func match(_ lines: [LineToMatch]) -> [MatchDecision] {
        lines.map { match($0, customers: .all) }
    }

    public mutating func match(_ line: LineToMatch) -> MatchDecision { match(line, customers: .all) }

    /// Decides one line against the invoices of `customers`, and takes what it applies off
    /// their open amounts for the lines after it.
    public mutating func match(_ line: LineToMatch, customers: CustomerSet) -> MatchDecision {
        let context = LineContext(
            line: line, currency: table.currencyIndex[line.amountPaid.currency], customers: customers,
            paymentDay: line.paymentDate.map { Int32(clamping: $0.daysSinceEpoch) })
        let key = rules.normalisation.normalise(line.reference)
        if line.amountPaid.minorUnits < 0 { return debitMemo(context, key: key) }
        let whole = hits(key, context)
        if let decision = decide(whole, context, stage: .whole) { return decision }
        var variants = Hits()
        for variant in rules.normalisation.gluedPrefixVariants(line.reference) where variant != key {
            variants.merge(hits(variant, context))
        }
        if let decision = decide(variants, context, stage: .prefixVariant) { return decision }
        if let parts = rules.normalisation.parts(line.reference), let decision = split(parts, context) {
            return decision
        }
        return unknown(context, key: key)
    }

    struct LineContext {
        let line: LineToMatch
        let currency: UInt16?
        let customers: CustomerSet
        let paymentDay: Int32?

        var zero: Money { Money.zero(line.amountPaid.currency) }
        func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: line.amountPaid.currency) }
    }

    /// The invoices answering to a normalised reference, split into those open when matching
    /// began and those settled before.
    /// A few invoice indexes, the first two kept inline: most references answer to one invoice,
    /// and a million lookups should not mean a million allocations.
    struct IndexList: RandomAccessCollection {
        var inline: (Int32, Int32) = (-1, -1)
        var more: [Int32] = []
        private(set) var count = 0

        var startIndex: Int { 0 }
        var endIndex: Int { count }

        subscript(position: Int) -> Int32 {
            switch position {
            case 0: inline.0
            case 1: inline.1
            default: more[position - 2]
            }
        }

        mutating func append(_ index: Int32) {
            switch count {
            case 0: inline.0 = index
            case 1: inline.1 = index
            default: more.append(index)
            }
            count += 1
        }
    }

    struct Hits {
        var open = IndexList()
        var settled = IndexList()
        var isEmpty: Bool { open.isEmpty && settled.isEmpty }

        mutating func merge(_ other: Hits) {
            for index in other.open where !open.contains(index) { open.append(index) }
            for index in other.settled where !settled.contains(index) { settled.append(index) }
        }
    }

    func eligible(_ index: Int, _ context: LineContext) -> Bool {
        guard table.currencies[index] == context.currency, context.customers.contains(table.customers[index]) else {
            return false
        }
        if let paymentDay = context.paymentDay, table.days[index] != Int32.min,
            Int(paymentDay) - Int(table.days[index]) > rules.lookBackDays
        {
            return false
        }
        return true
    }

    func hits(_ key: String, _ context: LineContext) -> Hits {
        var result = Hits()
        guard context.currency != nil, !key.isEmpty, var index = heads[key] else { return result }
        while index >= 0 {
            let position = Int(index)
            if eligible(position, context) {
                if table.opens[position] != 0 { result.open.append(index) } else { result.settled.append(index) }
            }
            index = nextSame[position]
        }
        return result
    }

    enum Stage {
        case whole, prefixVariant

        var rule: String { self == .whole ? "reference" : "reference.prefix_variant" }
        var suggestion: Suggestion.Kind { self == .whole ? .sameNormalisedReference : .prefixVariant }
    }

    static func exactKey(_ text: String) -> String {
        var copy = text
        return copy.withUTF8 { bytes in
            if bytes.allSatisfy({ $0 < 0x80 }) {
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(bytes.count, 1)) { buffer in
                    let count = ReferenceNormalisation.upperTrimmed(bytes, into: buffer)
                    return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
                }
            }
            return text.uppercased().trimmingWhitespace()
        }
    }

    /// A decision from the invoices a reference answers to, or nil when none does.
    mutating func decide(_ hits: Hits, _ context: LineContext, stage: Stage) -> MatchDecision? {
        let line = context.line
        if hits.open.count > 1 {
            // Twins: never pick one. Every twin is a suggestion.
            return MatchDecision(
                lineID: line.id, status: .ambiguous, rule: "\(stage.rule).several_invoices", unapplied: line.amountPaid,
                candidates: hits.open.map { table.ids[Int($0)] },
                suggestions: Suggestion.ranked(hits.open.map { suggestion(Int($0), stage.suggestion, context) }))
        }
        if let only = hits.open.first {
            let index = Int(only)
            let exact =
                stage == .whole
                && (line.reference == table.numbers[index]
                    || Matcher.exactKey(line.reference) == Matcher.exactKey(table.numbers[index]))
            if !hits.settled.isEmpty && !exact {
                // An open and a settled invoice answer alike: the payer may be paying the settled one again.
                return MatchDecision(
                    lineID: line.id, status: .ambiguous, rule: "\(stage.rule).open_and_settled_invoice",
                    unapplied: line.amountPaid,
                    candidates: ([only] + Array(hits.settled)).map { table.ids[Int($0)] },
                    suggestions: [suggestion(index, stage.suggestion, context)])
            }
            return apply(
                index, context,
                rule: stage == .whole ? (exact ? "reference.exact" : "reference.normalised") : stage.rule)
        }
        if !hits.settled.isEmpty {
            let settled = hits.settled.map { table.ids[Int($0)] }
            return MatchDecision(
                lineID: line.id, status: .paidTwice, rule: "\(stage.rule).settled_earlier", unapplied: line.amountPaid,
                candidates: settled, paidBy: hits.settled.count == 1 ? nonZero(firstLine[Int(hits.settled[0])]) : nil)
        }
        return nil
    }

    func nonZero(_ value: Int64) -> Int64? { value == 0 ? nil : value }

    func termsDiscount(_ index: Int, _ context: LineContext) -> Int64? {
        let points = table.termsBasisPoints[index]
        guard points > 0, table.days[index] != Int32.min, let paymentDay = context.paymentDay,
            Int(paymentDay) - Int(table.days[index]) <= Int(table.termsDays[index]) + rules.discountGraceDays
        else { return nil }
        return (table.amounts[index] * Int64(points) + 5_000) / 10_000
    }

    func hasTerms(_ index: Int) -> Bool { table.termsBasisPoints[index] > 0 }

    func tolerance(_ open: Int64) -> Int64 { min(rules.writeOffAmount, abs(open) * rules.writeOffBasisPoints / 10_000) }

    func deductions(_ context: LineContext, invoice: Int64?) -> [TypedDeduction] {
        var result: [TypedDeduction] = []
        for adjustment in context.line.adjustments where adjustment.amount.minorUnits < 0 {
            result.append(
                typed(
                    adjustment, amount: -adjustment.amount.minorUnits, context, invoice: invoice,
                    reference: adjustment.reference))
        }
        return result
    }

    func typed(_ adjustment: LineAdjustment, amount: Int64, _ context: LineContext, invoice: Int64?, reference: String?)
        -> TypedDeduction
    {
        let code = adjustment.reasonCode
        let found = rules.reasonCodes.lookup(code)
        let mapped = found != nil
        return TypedDeduction(
            type: found ?? .manual, reasonCode: code, amount: context.money(amount),
            text: adjustment.text, reference: reference, invoiceID: invoice,
            unmapped: !mapped && !code.trimmingWhitespace().isEmpty)
    }

    /// The rules lines are decided by most, as literals: a million decisions then share strings
    /// that need no allocation and no reference counting.
    static func rule(_ base: String, _ suffix: String) -> String {
        switch (base, suffix) {
        case ("reference.exact", "+deductions"): "reference.exact+deductions"
        case ("reference.exact", "+discount"): "reference.exact+discount"
        case ("reference.exact", "+over"): "reference.exact+over"
        case ("reference.exact", "+tolerance.write_off"): "reference.exact+tolerance.write_off"
        case ("reference.exact", "+short"): "reference.exact+short"
        case ("reference.normalised", "+deductions"): "reference.normalised+deductions"
        case ("reference.normalised", "+discount"): "reference.normalised+discount"
        case ("reference.normalised", "+over"): "reference.normalised+over"
        case ("reference.normalised", "+tolerance.write_off"): "reference.normalised+tolerance.write_off"
        case ("reference.normalised", "+short"): "reference.normalised+short"
        default: base + suffix
        }
    }

    /// Applies a line to the one invoice its reference names, classifying the amounts.
    mutating func apply(_ index: Int, _ context: LineContext, rule: String) -> MatchDecision {
        let line = context.line
        let id = table.ids[index]
        if isSettled(index) {
            return MatchDecision(
                lineID: line.id, status: .paidTwice, rule: "\(rule)+already_paid", unapplied: line.amountPaid,
                candidates: [id],
                paidBy: nonZero(firstLine[index]))
        }
        let open = self.open[index]
        let paid = line.amountPaid.minorUnits
        let deductions = self.deductions(context, invoice: id)
        let deducted = deductions.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
        var discount = line.discount?.minorUnits ?? 0
        var rule = rule
        let allowed = termsDiscount(index, context)
        if discount != 0, hasTerms(index), allowed.map({ discount > $0 + 1 }) ?? true {
            // A discount the invoice's terms do not give (too late, or too much): not taken off.
            discount = 0
            rule += "+unearned_discount"
        } else if discount == 0, let allowed, paid + deducted + allowed == open {
            // A discount the payer took without saying so, within the invoice's terms.
            discount = allowed
        }
        let covered = paid + deducted + discount
        func finish(_ status: LineStatus, _ rule: String, writeOff: Int64 = 0) -> MatchDecision {
            let applied = min(open, covered + writeOff)
            self.open[index] = open - applied
            if firstLine[index] == 0 { firstLine[index] = line.id }
            let application = Application(
                invoiceID: id, openAmount: context.money(open), applied: context.money(applied),
                discount: context.money(discount), writeOff: context.money(writeOff), deducted: context.money(deducted))
            return MatchDecision(
                lineID: line.id, status: status, rule: rule, applications: [application], deductions: deductions,
                unapplied: context.money(max(0, covered - open)))
        }
        if covered == open {
            if deducted > 0 { return finish(.shortPaid, Matcher.rule(rule, "+deductions")) }
            if discount > 0 { return finish(.paidWithDiscount, Matcher.rule(rule, "+discount")) }
            return finish(.paidInFull, rule)
        }
        if covered > open { return finish(.overPaid, Matcher.rule(rule, "+over")) }
        let shortfall = open - covered
        if shortfall <= tolerance(open) && deducted == 0 && !rule.hasSuffix("+unearned_discount") {
            return finish(.paidInFull, Matcher.rule(rule, "+tolerance.write_off"), writeOff: shortfall)
        }
        return finish(.shortPaid, Matcher.rule(rule, deducted > 0 ? "+deductions" : "+short"))
    }

    // MARK: References naming several invoices

    mutating func split(_ parts: [String], _ context: LineContext) -> MatchDecision? {
        let line = context.line
        var resolved: [Int?] = []
        var offered: [Int32] = []
        for part in parts {
            let key = rules.normalisation.normalise(part)
            var found = hits(key, context)
            if found.open.isEmpty {
                for variant in rules.normalisation.gluedPrefixVariants(part) where variant != key {
                    found.merge(hits(variant, context))
                }
            }
            resolved.append(
                found.open.count == 1 && found.settled.isEmpty && !isSettled(Int(found.open[0]))
                    ? Int(found.open[0]) : nil)
            for index in found.open where !offered.contains(index) { offered.append(index) }
        }
        guard !offered.isEmpty else { return nil }
        func ambiguous(_ why: String) -> MatchDecision {
            MatchDecision(
                lineID: line.id, status: .ambiguous, rule: "reference.split+\(why)", unapplied: line.amountPaid,
                candidates: offered.map { table.ids[Int($0)] },
                suggestions: Suggestion.ranked(offered.map { suggestion(Int($0), .referencePart, context) }))
        }
        let invoices = resolved.compactMap { $0 }
        guard invoices.count == parts.count, Set(invoices).count == invoices.count else {
            return ambiguous("part_not_one_invoice")
        }
        // Deductions go to the invoice they name; one that names none cannot be placed.
        var deductedPer = [Int64](repeating: 0, count: invoices.count)
        var deductions: [TypedDeduction] = []
        for adjustment in line.adjustments where adjustment.amount.minorUnits < 0 {
            guard let named = adjustment.invoiceReference.map({ rules.normalisation.normalise($0) }),
                let slot = invoices.firstIndex(where: { rules.normalisation.normalise(table.numbers[$0]) == named })
            else {
                return ambiguous("deduction_names_no_part")
            }
            deductedPer[slot] += -adjustment.amount.minorUnits
            deductions.append(
                typed(
                    adjustment, amount: -adjustment.amount.minorUnits, context, invoice: table.ids[invoices[slot]],
                    reference: adjustment.reference))
        }
        let opens = invoices.map { open[$0] }
        let discounts = invoices.map { termsDiscount($0, context) ?? 0 }
        let explicit = line.discount?.minorUnits ?? 0
        let gross = zip(opens, deductedPer).reduce(Int64(0)) { $0 + $1.0 - $1.1 }
        let eligible = discounts.indices.filter { discounts[$0] > 0 }
        var solutions: [[Bool]] = []
        for mask in 0..<(1 << eligible.count) {
            var taken = [Bool](repeating: false, count: invoices.count)
            var total: Int64 = 0
            for (bit, slot) in eligible.enumerated() where mask & (1 << bit) != 0 {
                taken[slot] = true
                total += discounts[slot]
            }
            if gross - total == line.amountPaid.minorUnits && (explicit == 0 || explicit == total) {
                solutions.append(taken)
            }
            if solutions.count > 1 { break }
        }
        guard solutions.count == 1, let taken = solutions.first else { return ambiguous("amounts_do_not_allocate") }
        var applications: [Application] = []
        for (slot, index) in invoices.enumerated() {
            let discount = taken[slot] ? discounts[slot] : 0
            applications.append(
                Application(
                    invoiceID: table.ids[index], openAmount: context.money(opens[slot]),
                    applied: context.money(opens[slot]),
                    discount: context.money(discount), writeOff: context.zero,
                    deducted: context.money(deductedPer[slot])))
            open[index] = 0
            if firstLine[index] == 0 { firstLine[index] = line.id }
        }
        let anyDiscount = taken.contains(true)
        let anyDeduction = !deductions.isEmpty
        let status: LineStatus = anyDeduction ? .shortPaid : anyDiscount ? .paidWithDiscount : .paidInFull
        return MatchDecision(
            lineID: line.id, status: status,
            rule: "reference.split" + (anyDeduction ? "+deductions" : "") + (anyDiscount ? "+discount" : ""),
            applications: applications, deductions: deductions, unapplied: context.zero)
    }

    // MARK: Debit memos

    /// A negative line: an open credit it takes, or a deduction applied as a debit to the invoice
    /// it names (an adjustment's invoice reference, the line's REF, or its own reference).
    mutating func debitMemo(_ context: LineContext, key: String) -> MatchDecision {
        let line = context.line
        let whole = hits(key, context)
        if whole.open.count == 1, whole.settled.isEmpty, table.amounts[Int(whole.open[0])] < 0 {
            return apply(Int(whole.open[0]), context, rule: "reference.credit")
        }
        let total = -line.amountPaid.minorUnits
        var named: [(reference: String, ownReference: Bool)] = line.adjustments.compactMap { $0.invoiceReference }.map {
            ($0, false)
        }
        if let invoice = line.namedInvoice { named.append((invoice, false)) }
        named.append((line.reference, true))
        for (reference, isOwn) in named {
            let normalised = rules.normalisation.normalise(reference)
            var found = hits(normalised, context)
            if found.isEmpty {
                for variant in rules.normalisation.gluedPrefixVariants(reference) where variant != normalised {
                    found.merge(hits(variant, context))
                }
            }
            let all = Array(found.open) + Array(found.settled)
            if all.count > 1 {
                return MatchDecision(
                    lineID: line.id, status: .ambiguous, rule: "debit_memo.several_invoices",
                    deductions: memoDeductions(context, total: total, invoice: nil, own: isOwn ? nil : line.reference),
                    unapplied: line.amountPaid, candidates: all.map { table.ids[Int($0)] },
                    suggestions: Suggestion.ranked(
                        found.open.map { suggestion(Int($0), .sameNormalisedReference, context) }))
            }
            if let only = all.first {
                let index = Int(only)
                let id = table.ids[index]
                let application = Application(
                    invoiceID: id, openAmount: context.money(open[index]), applied: context.zero,
                    discount: context.zero,
                    writeOff: context.zero, deducted: context.money(total))
                return MatchDecision(
                    lineID: line.id, status: .debitMemo,
                    rule: isOwn ? "debit_memo.reference" : "debit_memo.named_invoice",
                    applications: [application],
                    deductions: memoDeductions(context, total: total, invoice: id, own: isOwn ? nil : line.reference),
                    unapplied: context.zero)
            }
        }
        return MatchDecision(
            lineID: line.id, status: .unknownReference, rule: "debit_memo.no_invoice",
            deductions: memoDeductions(context, total: total, invoice: nil, own: line.reference),
            unapplied: line.amountPaid)
    }

    /// A debit memo's deductions: its typed adjustments, and whatever they leave unexplained as manual.
    func memoDeductions(_ context: LineContext, total: Int64, invoice: Int64?, own: String?) -> [TypedDeduction] {
        var result: [TypedDeduction] = []
        var left = total
        for adjustment in context.line.adjustments where adjustment.amount.minorUnits < 0 && left > 0 {
            let amount = min(left, -adjustment.amount.minorUnits)
            result.append(
                typed(adjustment, amount: amount, context, invoice: invoice, reference: adjustment.reference ?? own))
            left -= amount
        }
        if left > 0 {
            result.append(
                TypedDeduction(
                    type: .manual, reasonCode: "", amount: context.money(left), reference: own, invoiceID: invoice))
        }
        return result
    }

    // MARK: Lines that cannot be looked up

    /// A decision for a line nothing is looked up for (its payer is unknown, its payment was sent
    /// before): applied to nothing, its deductions still typed.
    public func undecided(_ line: LineToMatch, status: LineStatus, rule: String, paidBy: Int64? = nil) -> MatchDecision
    {
        let context = LineContext(
            line: line, currency: table.currencyIndex[line.amountPaid.currency], customers: .all, paymentDay: nil)
        let deductions =
            line.amountPaid.minorUnits < 0
            ? memoDeductions(context, total: -line.amountPaid.minorUnits, invoice: nil, own: line.reference)
            : self.deductions(context, invoice: nil)
        return MatchDecision(
            lineID: line.id, status: status, rule: rule, deductions: deductions, unapplied: line.amountPaid,
            paidBy: paidBy)
    }

    /// The customers (of every customer in the table) with an open invoice answering to this
    /// reference: who an unknown payer probably is.
    public func customersAnswering(_ reference: String, currency: CurrencyCode) -> [String] {
        let context = LineContext(
            line: LineToMatch(id: 0, reference: reference, amountPaid: .zero(currency)),
            currency: table.currencyIndex[currency],
            customers: .all, paymentDay: nil)
        let found = hits(rules.normalisation.normalise(reference), context).open
        var result: [String] = []
        for index in found {
            let customer = table.customerIDs[Int(table.customers[Int(index)])]
            if !result.contains(customer) { result.append(customer) }
        }
        return result
    }

    // MARK: Suggestions

    func fit(_ index: Int, _ context: LineContext) -> Suggestion.AmountFit {
        let line = context.line
        let open = self.open[index]
        let deducted = line.adjustments.reduce(Int64(0)) { $0 + ($1.amount.minorUnits < 0 ? -$1.amount.minorUnits : 0) }
        let covered = line.amountPaid.minorUnits + deducted + (line.discount?.minorUnits ?? 0)
        if covered == open { return .exact }
        if let discount = termsDiscount(index, context), covered + discount == open { return .withinDiscountTerms }
        let shortfall = open - covered
        if shortfall > 0 && shortfall <= tolerance(open) { return .withinWriteOff }
        return covered < open ? .short : .over
    }

    func suggestion(_ index: Int, _ kind: Suggestion.Kind, _ context: LineContext) -> Suggestion {
        Suggestion(
            kind: kind, invoiceID: table.ids[index], invoiceNumber: table.numbers[index],
            openAmount: Money(minorUnits: open[index], currency: table.currencyCodes[Int(table.currencies[index])]),
            amountFit: fit(index, context))
    }

    mutating func buildLookups() -> Lookups {
        if let lookups { return lookups }
        var built = Lookups()
        var seen = [Bool](repeating: false, count: 256)
        for (key, _) in heads { for byte in key.utf8 { seen[Int(byte)] = true } }
        built.alphabet = (0..<256).filter { seen[$0] }.map { UInt8($0) }
        for index in 0..<table.count where table.opens[index] != 0 {
            if !table.purchaseOrders[index].isEmpty {
                built.byPurchaseOrder[rules.normalisation.normalise(table.purchaseOrders[index]), default: []].append(
                    Int32(index))
            }
            built.byOpenAmount[table.opens[index], default: []].append(Int32(index))
        }
        lookups = built
        return built
    }

    /// A line no invoice answers to: near misses (one character changed, two neighbours swapped),
    /// an invoice whose purchase order it names, an invoice whose open amount it pays exactly.
    mutating func unknown(_ context: LineContext, key: String) -> MatchDecision {
        let line = context.line
        let lookups = buildLookups()
        var found: [(Int, Suggestion.Kind)] = []
        func consider(_ index: Int, _ kind: Suggestion.Kind) {
            guard table.opens[index] != 0, !isSettled(index), eligible(index, context),
                !found.contains(where: { $0.0 == index })
            else { return }
            found.append((index, kind))
        }
        var bytes = Array(key.utf8)
        if bytes.count >= 3 {
            func lookup(_ kind: Suggestion.Kind) {
                guard var index = heads[String(decoding: bytes, as: UTF8.self)] else { return }
                while index >= 0 {
                    consider(Int(index), kind)
                    index = nextSame[Int(index)]
                }
            }
            for position in bytes.indices where position + 1 < bytes.count && bytes[position] != bytes[position + 1] {
                bytes.swapAt(position, position + 1)
                lookup(.transposed)
                bytes.swapAt(position, position + 1)
            }
            for position in bytes.indices {
                let original = bytes[position]
                for replacement in lookups.alphabet where replacement != original {
                    bytes[position] = replacement
                    lookup(.oneCharacterDifferent)
                }
                bytes[position] = original
            }
        }
        if !key.isEmpty {
            for index in lookups.byPurchaseOrder[key] ?? [] { consider(Int(index), .purchaseOrderNumber) }
        }
        let sameAmount = (lookups.byOpenAmount[line.amountPaid.minorUnits] ?? []).filter {
            open[Int($0)] == line.amountPaid.minorUnits && eligible(Int($0), context)
        }
        if sameAmount.count == 1 { consider(Int(sameAmount[0]), .amountMatches) }
        let suggestions = Suggestion.ranked(found.map { suggestion($0.0, $0.1, context) })
        return MatchDecision(
            lineID: line.id, status: .unknownReference,
            rule: context.currency == nil ? "reference.no_invoice_in_currency" : "reference.none",
            deductions: deductions(context, invoice: nil), unapplied: line.amountPaid,
            suggestions: Array(suggestions.prefix(5)))
    }
}
