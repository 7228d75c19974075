public import NightjarCore

/// A party named in a document (N1 loop): payer, payee, ship-to...
public struct Party: Sendable, Equatable, Codable {
    /// N101 entity code: PR payer, PE payee, ST ship-to, VN vendor, RI remit-to, BT/BY buyer...
    public let role: String
    public let name: String
    /// N103/N104: identification qualifier and code (DUNS, vendor number...).
    public let idQualifier: String?
    public let id: String?
    public var address: [String]
    public var references: [DocumentReference]
}

/// A REF segment: qualifier and value.
public struct DocumentReference: Sendable, Equatable, Codable {
    public let qualifier: String
    public let value: String
}

/// A DTM segment: qualifier and date.
public struct DocumentDate: Sendable, Equatable, Codable {
    public let qualifier: String
    public let date: CalendarDate
}

/// A deduction or other adjustment (X12 ADX, a CSV deduction row or column): a signed amount
/// (negative reduces what is paid), the payer's reason code and text, and its references.
public struct Adjustment: Sendable, Equatable, Codable {
    public let amount: Money
    public let reasonCode: String
    /// The payer's words: the NTE after an ADX, a reason column (`Damaged in transit`).
    public var reasonText: String?
    /// ADX03 as written: IV invoice, RZ return authorisation, CM credit memo, ZZ mutually defined...
    public var referenceQualifier: String?
    /// The adjustment's own reference (debit memo, return authorisation, promotion number).
    public var reference: String?
    /// The invoice it reduces, when it names one and does not sit in that invoice's line
    /// (ADX03 = IV at the ENT level; a deduction row naming an invoice the payment does not pay).
    public var invoice: String?
    /// Segment number of the ADX, or the file's line (provenance).
    public let segment: Int

    public init(
        amount: Money, reasonCode: String, reasonText: String? = nil, referenceQualifier: String? = nil,
        reference: String? = nil,
        invoice: String? = nil, segment: Int
    ) {
        self.amount = amount
        self.reasonCode = reasonCode
        self.reasonText = reasonText
        self.referenceQualifier = referenceQualifier
        self.reference = reference
        self.invoice = invoice
        self.segment = segment
    }
}

/// Something a reader noticed that does not refuse the document but must not go unseen: a
/// total or count the file states that its contents do not add up to.
public struct DocumentFinding: Sendable, Equatable, Codable {
    /// e.g. `layout.total_mismatch`, `layout.count_mismatch`, `invoice.totals_mismatch`.
    public let code: String
    public let message: String
    /// The X12 segment number or the file's line.
    public let segment: Int?

    public init(code: String, message: String, segment: Int?) {
        self.code = code
        self.message = message
        self.segment = segment
    }
}

/// One remitted line (RMR): the reference the payer wrote, what was paid, and its adjustments.
public struct RemittanceLine: Sendable, Equatable, Codable {
    /// Index of the ENT loop it sits in (0-based), if any.
    public let entity: Int?
    /// RMR01: IV invoice, PO purchase order, CR credit memo...
    public let referenceQualifier: String
    /// RMR02 as written.
    public let reference: String
    /// RMR03: PI pay item, PP partial, ER evaluated receipts...
    public let paymentAction: String?
    /// RMR04, net of the line's own adjustments.
    public let amountPaid: Money
    /// RMR05.
    public let invoiceAmount: Money?
    /// RMR06: discount taken.
    public let discount: Money?
    /// REF segments inside this RMR loop (usually one: kept without a heap allocation).
    public var references: SmallArray<DocumentReference>
    /// DTM segments inside this RMR loop.
    public var dates: SmallArray<DocumentDate>
    /// ADX segments inside this RMR loop.
    public var adjustments: SmallArray<Adjustment>
    /// Segment number of the RMR, or the CSV line (provenance).
    public let segment: Int
}

/// An ENT loop: the entity a group of lines belongs to.
public struct RemittanceEntity: Sendable, Equatable, Codable {
    public let assignedNumber: String?
    public let qualifier: String?
    public let idQualifier: String?
    public let id: String?
    /// ADX segments at the ENT level: adjustments not netted against any line.
    public var adjustments: [Adjustment]
    public let segment: Int
}

/// One payment's remittance advice: an 820 transaction set.
public struct RemittanceAdvice: Sendable, Equatable, Codable {
    public let controlNumber: String
    /// Segment number of the ST.
    public let segment: Int
    /// BPR01: C payment with remittance, I remittance only, H notification...
    public let handlingCode: String
    /// BPR02, signed: a debit (BPR03 = D) is negative. For a CSV without a payment-total
    /// column, the sum of its lines.
    public internal(set) var total: Money
    /// Whether the file stated the payment total (X12 always does; a CSV may not).
    public internal(set) var totalDeclared = true
    public let creditDebit: String
    /// BPR04: ACH, CHK, FWT, NON...
    public let paymentMethod: String?
    /// BPR05: CTX, CCP, PBC...
    public let paymentFormat: String?
    public let originatingBankID: String?
    public let originatingAccount: String?
    public let receivingBankID: String?
    public let receivingAccount: String?
    /// BPR16, the effective (payment) date.
    public let effectiveDate: CalendarDate?
    /// TRN02: the check or EFT trace number.
    public let traceNumber: String?
    public let traceOriginator: String?
    public let currency: CurrencyCode
    /// Whether the file named the currency (CUR, a currency column or the profile's); when not,
    /// `currency` is the default and matching takes the customer's ledger currency instead.
    public internal(set) var currencyDeclared = true
    public var references: [DocumentReference]
    public var dates: [DocumentDate]
    public var parties: [Party]
    public var entities: [RemittanceEntity]
    public var lines: [RemittanceLine]
    /// Totals and counts the file states that its contents do not match (never silent).
    public var findings: [DocumentFinding] = []

    public var payer: Party? { parties.first { $0.role == "PR" } }
    public var payee: Party? { parties.first { $0.role == "PE" } }

    /// What the lines and payment-level adjustments account for: Σ RMR04 + Σ ENT-level ADX01, the
    /// X12 standard's rule (a negative ADX01 reduces the payment). An ADX inside an RMR loop is
    /// already in that line's RMR04 and is not added again.
    public var remittedTotal: Money {
        var total = Int64(0)
        for line in lines { total &+= line.amountPaid.minorUnits }
        for entity in entities { for adjustment in entity.adjustments { total &+= adjustment.amount.minorUnits } }
        return Money(minorUnits: total, currency: currency)
    }

    /// Payment-level adjustments: those not inside any line.
    public var paymentAdjustments: [Adjustment] { entities.flatMap(\.adjustments) }

    /// BPR02 minus what the lines account for. Not zero when the payer took deductions it did not list.
    public var difference: Money { Money(minorUnits: total.minorUnits &- remittedTotal.minorUnits, currency: currency) }

    /// Whether the payment equals what its lines account for and the file's own totals agree.
    public var isBalanced: Bool { difference.isZero && findings.isEmpty }
}

/// Where readers put the payments they read, one at a time (the ledger stores each as a batch
/// in the import's transaction; tests collect them).
public protocol RemittanceSink: AnyObject {
    /// The payment at `position` in the file (the next one when nil).
    func write(_ advice: RemittanceAdvice, position: Int?) throws
    /// The payment at `position`, already written, has these findings after all (a total row
    /// further down covered it).
    func amend(position: Int, findings: [DocumentFinding], isBalanced: Bool) throws
}

/// Reads 820 transaction sets into `RemittanceAdvice` values.
///
/// The balance rule: BPR02 (negated when BPR03 is D) should equal the sum of RMR04 (amount paid,
/// already net of the RMR's own ADX adjustments) plus the sum of ENT-level ADX01 amounts (a
/// negative ADX01 reduces the payment), as the standard says. A difference is not an error: the
/// advice is returned with `isBalanced == false` and `difference` set, for the batch to be flagged.
/// 003010 files that use BPS/RMT instead of BPR/RMR are read the same way.
public enum RemittanceAdviceReader {
    /// Every 820 in the interchanges.
    public static func read(_ interchanges: [X12Interchange], defaultCurrency: CurrencyCode, file: String? = nil)
        throws(X12Error) -> [RemittanceAdvice]
    {
        var result: [RemittanceAdvice] = []
        for interchange in interchanges {
            for group in interchange.groups {
                for set in group.transactionSets where set.identifier == "820" {
                    result.append(
                        try set.storage.withView { (view) throws(X12Error) in
                            try advice(view, defaultCurrency: defaultCurrency, file: file)
                        })
                }
            }
        }
        return result
    }

    /// Reads the bytes of a file and returns its 820s, one transaction set at a time.
    public static func read(_ bytes: [UInt8], defaultCurrency: CurrencyCode, file: String? = nil) throws(X12Error)
        -> [RemittanceAdvice]
    {
        var result: [RemittanceAdvice] = []
        var visitor = Visitor(defaultCurrency: defaultCurrency, file: file) { result.append($0) }
        try X12Reader.scan(MemorySource(bytes, name: file), file: file, &visitor)
        return result
    }

    /// Reads a file in chunks and hands each 820 to `each` as soon as its SE is read: only one
    /// transaction set is in memory at a time. An error `each` throws stops the reading and is
    /// rethrown; a structural defect later in the file throws after earlier sets were handed over.
    public static func forEach(
        _ source: any ByteSource, defaultCurrency: CurrencyCode, file: String? = nil,
        _ each: (RemittanceAdvice) throws -> Void
    ) throws {
        try X12Reader.forEach(source, file: file, each) { Visitor(defaultCurrency: defaultCurrency, file: file, $0) }
    }

    struct Visitor: X12Visitor {
        let defaultCurrency: CurrencyCode
        let file: String?
        let each: (RemittanceAdvice) -> Bool

        init(defaultCurrency: CurrencyCode, file: String?, _ each: @escaping (RemittanceAdvice) -> Bool) {
            self.defaultCurrency = defaultCurrency
            self.file = file
            self.each = each
        }

        init(defaultCurrency: CurrencyCode, file: String?, _ each: @escaping (RemittanceAdvice) -> Void) {
            self.init(defaultCurrency: defaultCurrency, file: file) { (advice: RemittanceAdvice) -> Bool in
                each(advice)
                return true
            }
        }

        mutating func transactionSet(_ set: X12SetView, length: Int, functionalID: String) throws(X12Error) {
            guard set.header.element(1, is: "820") else { return }
            let advice = try RemittanceAdviceReader.advice(set, defaultCurrency: defaultCurrency, file: file)
            guard each(advice) else { throw X12Error(.unsupported, "reading stopped", segment: nil, file: file) }
        }
    }

    static func amount(_ segment: X12SegmentView, _ element: Int, _ currency: CurrencyCode, digits: Int, file: String?)
        throws(X12Error) -> Money
    {
        if let minor = X12Values.plainDecimal(segment.element(element), digits: digits) {
            return Money(minorUnits: minor, currency: currency)
        }
        return try amount(segment[element], currency, segment: segment, element: element, file: file)
    }

    static func amount(_ text: String, _ currency: CurrencyCode, segment: X12SegmentView, element: Int, file: String?)
        throws(X12Error) -> Money
    {
        do {
            return try Money.parse(text, currency: currency, style: X12Values.decimalStyle)
        } catch {
            throw X12Error(
                .badAmount,
                "\(segment.id)\(String(format: "%02d", element)) \"\(text)\" is not an amount: \(error.message)",
                segment: segment.number, file: file)
        }
    }

    static func optionalAmount(
        _ segment: X12SegmentView, _ element: Int, _ currency: CurrencyCode, digits: Int, file: String?
    ) throws(X12Error) -> Money? {
        let bytes = X12Text.trimmed(segment.element(element))
        guard !bytes.isEmpty else { return nil }
        if let minor = X12Values.plainDecimal(bytes, digits: digits) {
            return Money(minorUnits: minor, currency: currency)
        }
        return try amount(X12Text.text(bytes), currency, segment: segment, element: element, file: file)
    }

    /// The ADX whose loop a segment is in (its NTE and REF belong to it): in a line, or at the ENT level.
    enum AdjustmentPlace { case line(Int, Int), entity(Int, Int) }

    static func update(
        _ advice: inout RemittanceAdvice, _ place: AdjustmentPlace?, _ change: (inout Adjustment) -> Void
    ) {
        switch place {
        case .line(let line, let index): change(&advice.lines[line].adjustments[index])
        case .entity(let entity, let index): change(&advice.entities[entity].adjustments[index])
        case nil: break
        }
    }

    static func advice(_ set: X12SetView, defaultCurrency: CurrencyCode, file: String?) throws(X12Error)
        -> RemittanceAdvice
    {
        // The currency can come after BPR, so find it first.
        var currency = defaultCurrency
        var currencyDeclared = false
        if let cur = set.first(.cur), let code = cur.optional(2) {
            currencyDeclared = true
            do {
                currency = try CurrencyCode(code)
            } catch {
                throw X12Error(.badAmount, "CUR02 \"\(code)\" is not a currency code", segment: cur.number, file: file)
            }
        }
        var found: X12SegmentView?
        for index in 0..<set.segmentCount where set.records[index + 1].tag == .bpr || set.records[index + 1].tag == .bps
        {
            found = set.segment(index)
            break
        }
        guard let bpr = found else {
            throw X12Error(
                .missingSegment, "transaction set \(set.controlNumber) has no BPR segment", segment: set.header.number,
                file: file)
        }
        let isOld = bpr.tag == .bps
        let digits = currency.minorUnitDigits
        // BPS (003010): 01 method, 02 amount, 03 credit/debit ... 12 date (YYMMDD). BPR: 01 handling, 02 amount, 03 C/D ...
        let creditDebit = bpr.optional(3) ?? "C"
        var total = try amount(bpr, 2, currency, digits: digits, file: file)
        if creditDebit == "D" { total = Money(minorUnits: 0 &- total.minorUnits, currency: currency) }
        let effective = try X12Values.optionalDate(bpr, isOld ? 12 : 16, file: file)
        let trn = set.first(.trn)
        let control = set.controlNumber
        var advice = RemittanceAdvice(
            controlNumber: control, segment: set.header.number, handlingCode: isOld ? "C" : bpr[1], total: total,
            creditDebit: creditDebit, paymentMethod: isOld ? bpr.optional(1) : bpr.optional(4),
            paymentFormat: isOld ? nil : bpr.optional(5),
            originatingBankID: isOld ? nil : bpr.optional(7), originatingAccount: isOld ? nil : bpr.optional(9),
            receivingBankID: isOld ? nil : bpr.optional(13), receivingAccount: isOld ? nil : bpr.optional(15),
            effectiveDate: effective, traceNumber: trn?.optional(2), traceOriginator: trn?.optional(3),
            currency: currency,
            references: [], dates: [], parties: [], entities: [], lines: [])
        advice.currencyDeclared = currencyDeclared
        advice.lines.reserveCapacity(set.segmentCount / 4)
        enum Place { case heading, party, entity, line, itemDetail }
        var place = Place.heading
        var adjustmentPlace: AdjustmentPlace?
        // Qualifiers and codes repeat on every line: each is decoded once while it stays the same.
        var lineQualifiers = X12CodeCache()
        var paymentActions = X12CodeCache()
        var referenceQualifiers = X12CodeCache()
        var dateQualifiers = X12CodeCache()
        var reasonCodes = X12CodeCache()
        var adjustmentQualifiers = X12CodeCache()
        var dates = X12DateCache()
        // (No nested function captures `advice`: a captured variable lives in a box that every access must check.)
        for index in 0..<set.segmentCount {
            let segment = set.segment(index)
            let tag = segment.tag
            if tag != .nte && tag != .ref && tag != .dtm && tag != .per { adjustmentPlace = nil }
            switch tag {
            case .n1 where segment.element(1, is: "LI"):
                // 003010 line-item loop: RMT segments under it are item detail, not remitted invoices.
                place = .itemDetail
            case .n1:
                advice.parties.append(
                    Party(
                        role: segment[1], name: segment[2], idQualifier: segment.optional(3), id: segment.optional(4),
                        address: [], references: []))
                if place == .heading || place == .party { place = .party }
                if place == .itemDetail || place == .line { place = .entity }
            case .n2, .n3, .n4:
                if place == .party, !advice.parties.isEmpty {
                    advice.parties[advice.parties.count - 1].address.append(
                        (1...max(1, segment.elementCount)).compactMap { segment.optional($0) }.joined(separator: " "))
                }
            case .ent:
                advice.entities.append(
                    RemittanceEntity(
                        assignedNumber: segment.optional(1), qualifier: segment.optional(2),
                        idQualifier: segment.optional(3), id: segment.optional(4), adjustments: [],
                        segment: segment.number))
                place = .entity
            case .rmt where place == .itemDetail:
                continue
            case .rmr, .rmt:
                // RMT (003010): 01 qualifier, 02 reference, 03 amount paid, 04 invoice amount.
                let old = tag == .rmt
                let paid = try amount(segment, old ? 3 : 4, currency, digits: digits, file: file)
                advice.lines.append(
                    RemittanceLine(
                        entity: advice.entities.isEmpty ? nil : advice.entities.count - 1,
                        referenceQualifier: lineQualifiers.text(segment.element(1)),
                        reference: segment[2], paymentAction: old ? nil : paymentActions.optional(segment.element(3)),
                        amountPaid: paid,
                        invoiceAmount: try optionalAmount(segment, old ? 4 : 5, currency, digits: digits, file: file),
                        discount: old ? nil : try optionalAmount(segment, 6, currency, digits: digits, file: file),
                        references: SmallArray(), dates: SmallArray(), adjustments: SmallArray(),
                        segment: segment.number))
                place = .line
            case .adx:
                let qualifier = adjustmentQualifiers.optional(segment.element(3))
                let adjusted = try amount(segment, 1, currency, digits: digits, file: file)
                // Made where it is stored: a local copy would be copied in and destroyed, string by string.
                if place == .line, !advice.lines.isEmpty {
                    let line = advice.lines.count - 1
                    let adjustment = Adjustment(
                        amount: adjusted, reasonCode: reasonCodes.text(segment.element(2)),
                        referenceQualifier: qualifier, reference: segment.optional(4), segment: segment.number)
                    let position = advice.lines[line].adjustments.appendReturningIndex(consume adjustment)
                    adjustmentPlace = .line(line, position)
                } else {
                    // At the ENT level an ADX is a payment-level adjustment; ADX03 = IV names the invoice it reduces.
                    let reference = segment.optional(4)
                    let adjustment = Adjustment(
                        amount: adjusted, reasonCode: reasonCodes.text(segment.element(2)),
                        referenceQualifier: qualifier,
                        reference: reference, invoice: qualifier == "IV" ? reference : nil, segment: segment.number)
                    if advice.entities.isEmpty {
                        advice.entities.append(
                            RemittanceEntity(
                                assignedNumber: nil, qualifier: nil, idQualifier: nil, id: nil,
                                adjustments: [], segment: segment.number))
                        place = .entity
                    }
                    let entity = advice.entities.count - 1
                    advice.entities[entity].adjustments.append(adjustment)
                    adjustmentPlace = .entity(entity, advice.entities[entity].adjustments.count - 1)
                }
            case .nte:
                // The payer's words about the adjustment before it ("DEBIT MEMO DM-4471 DAMAGED").
                guard let text = segment.optional(2) ?? segment.optional(1), adjustmentPlace != nil else { continue }
                RemittanceAdviceReader.update(&advice, adjustmentPlace) {
                    $0.reasonText = $0.reasonText.map { $0 + " " + text } ?? text
                }
            case .ref where adjustmentPlace != nil:
                let value = segment.optional(2) ?? segment.optional(3)
                RemittanceAdviceReader.update(&advice, adjustmentPlace) { adjustment in
                    if adjustment.reference == nil {
                        adjustment.reference = value
                        adjustment.referenceQualifier = adjustment.referenceQualifier ?? segment.optional(1)
                    }
                }
            case .ref:
                let reference = DocumentReference(
                    qualifier: referenceQualifiers.text(segment.element(1)), value: segment.optional(2) ?? segment[3])
                switch place {
                case .itemDetail: continue
                case .line: advice.lines[advice.lines.count - 1].references.append(reference)
                case .party: advice.parties[advice.parties.count - 1].references.append(reference)
                default: advice.references.append(reference)
                }
            case .dtm:
                guard let date = try dates.date(segment, 2, file: file) else { continue }
                let entry = DocumentDate(qualifier: dateQualifiers.text(segment.element(1)), date: date)
                if place == .line {
                    advice.lines[advice.lines.count - 1].dates.append(entry)
                } else if place != .itemDetail {
                    advice.dates.append(entry)
                }
            default:
                continue
            }
        }
        return advice
    }
}

/// The text of the last short element (a qualifier, a code) it decoded: the same bytes again give
/// the same String without decoding them again. Files repeat `IV`, `PI`, `PO`, `003` on every line.
struct X12CodeCache {
    /// The bytes (up to eight, see `pack`) and their count; a count of -1 before the first.
    private var key: UInt64 = 0
    private var keyCount = -1
    private var cached = ""

    /// Up to eight bytes as one integer, read with loads that stay inside them: for a given
    /// count, different bytes give different integers (the loads overlap when the count is not
    /// a power of two, and each byte is in one of them).
    @inline(__always)
    static func pack(_ base: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        let raw = UnsafeRawPointer(base)
        switch count {
        case 8: return raw.loadUnaligned(as: UInt64.self)
        case 4...7:
            return UInt64(raw.loadUnaligned(as: UInt32.self))
                | UInt64(raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)) << 32
        case 2...3:
            return UInt64(raw.loadUnaligned(as: UInt16.self))
                | UInt64(raw.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self)) << 16
        case 1: return UInt64(base[0])
        default: return 0
        }
    }

    /// The element's text, exactly as `X12SegmentView`'s subscript gives it.
    @inline(__always)
    mutating func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.count <= 8, let base = bytes.baseAddress else { return X12Text.text(bytes) }
        let packed = X12CodeCache.pack(base, count: bytes.count)
        if packed != key || bytes.count != keyCount {
            key = packed
            keyCount = bytes.count
            cached = X12Text.text(bytes)
        }
        return cached
    }

    /// The element's text without surrounding spaces, nil when that is empty (as `optional`).
    @inline(__always)
    mutating func optional(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let trimmed = X12Text.trimmed(bytes)
        return trimmed.isEmpty ? nil : text(trimmed)
    }
}

/// The last date it read: the same bytes again give the same date without parsing them again
/// (a file's lines mostly share their invoice dates).
struct X12DateCache {
    /// The eight bytes of the last date read (a YYMMDD date padded with zeros) and their count.
    private var key = UInt64.max
    private var count = 0
    private var cached: CalendarDate?

    /// Element `index` of `segment` as a date, exactly as `X12Values.optionalDate` reads it.
    @inline(__always)
    mutating func date(_ segment: X12SegmentView, _ index: Int, file: String?) throws(X12Error) -> CalendarDate? {
        let bytes = X12Text.trimmed(segment.element(index))
        guard let base = bytes.baseAddress, bytes.count == 8 || bytes.count == 6 else {
            return try X12Values.optionalDate(segment, index, file: file)
        }
        var packed: UInt64 = 0
        if bytes.count == 8 {
            packed = UInt64(littleEndian: UnsafeRawPointer(base).loadUnaligned(as: UInt64.self))
        } else {
            for offset in 0..<6 { packed |= UInt64(base[offset]) << (8 * UInt64(offset)) }
        }
        if packed == key && bytes.count == count, let cached { return cached }
        let date = try X12Values.optionalDate(segment, index, file: file)
        key = packed
        count = bytes.count
        cached = date
        return date
    }
}

/// Value formats shared by the X12 readers.
enum X12Values {
    /// X12 R-type decimals: explicit point, no grouping.
    static let decimalStyle = DecimalStyle(decimalSeparator: ".", groupingSeparators: [])

    /// The common decimal, read where it lies: an optional leading `-`, digits, at most one
    /// point and no more fractional digits than `digits`. nil means "not that simple": the
    /// general parser then gives the value or the exact error (the same rule as `Money.parse`).
    @inline(__always)
    static func plainDecimal(_ bytes: UnsafeBufferPointer<UInt8>, digits: Int) -> Int64? {
        // 14 characters cannot overflow, even scaled by 10^4.
        guard let base = bytes.baseAddress, bytes.count > 0, bytes.count <= 14, digits <= 4 else { return nil }
        var value: Int64 = 0
        var index = 0
        let negative = base[0] == 45
        if negative { index = 1 }
        var seenDigit = false
        var fraction = -1
        while index < bytes.count {
            let byte = base[index]
            if byte >= 48 && byte <= 57 {
                if fraction >= 0 {
                    guard fraction < digits else { return nil }
                    fraction += 1
                }
                value = value &* 10 &+ Int64(byte &- 48)
                seenDigit = true
            } else if byte == 46 && fraction < 0 {
                fraction = 0
            } else {
                return nil
            }
            index += 1
        }
        guard seenDigit else { return nil }
        var scale = digits - max(fraction, 0)
        while scale > 0 {
            value = value &* 10
            scale -= 1
        }
        return negative ? -value : value
    }

    /// Element `index` as a date (CCYYMMDD or YYMMDD), nil when absent or empty.
    static func optionalDate(_ segment: X12SegmentView, _ index: Int, file: String?) throws(X12Error) -> CalendarDate? {
        let bytes = X12Text.trimmed(segment.element(index))
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
        if bytes.count == 8 || bytes.count == 6, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            func number(_ from: Int, _ count: Int) -> Int {
                var value = 0
                for offset in from..<(from + count) { value = value * 10 + Int(base[offset] - 48) }
                return value
            }
            var year = number(0, bytes.count == 8 ? 4 : 2)
            if bytes.count == 6 { year = year < 70 ? 2000 + year : 1900 + year }
            let tail = bytes.count == 8 ? 4 : 2
            if let date = try? CalendarDate(year: year, month: number(tail, 2), day: number(tail + 2, 2)) {
                return date
            }
            throw X12Error(
                .badDate, "\(segment.id) date \"\(X12Text.text(bytes))\" is not CCYYMMDD or YYMMDD",
                segment: segment.number, file: file)
        }
        return try date(X12Text.text(bytes), segment: segment, file: file)
    }

    /// CCYYMMDD or YYMMDD.
    static func date(_ text: String, segment: X12SegmentView, file: String?) throws(X12Error) -> CalendarDate {
        do {
            switch text.count {
            case 8: return try CalendarDate.parse(text, format: "yyyyMMdd")
            case 6: return try CalendarDate.parse(text, format: "yyMMdd")
            default: break
            }
        } catch {}
        throw X12Error(
            .badDate, "\(segment.id) date \"\(text)\" is not CCYYMMDD or YYMMDD", segment: segment.number, file: file)
    }
}
