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

    public init(amount: Money, reasonCode: String, reasonText: String? = nil, referenceQualifier: String? = nil, reference: String? = nil,
                invoice: String? = nil, segment: Int) {
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
    public var references: [DocumentReference]
    public var dates: [DocumentDate]
    /// ADX segments inside this RMR loop.
    public var adjustments: [Adjustment]
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

/// Reads 820 transaction sets into `RemittanceAdvice` values.
///
/// The balance rule: BPR02 (negated when BPR03 is D) should equal the sum of RMR04 (amount paid,
/// already net of the RMR's own ADX adjustments) plus the sum of ENT-level ADX01 amounts (a
/// negative ADX01 reduces the payment), as the standard says. A difference is not an error: the
/// advice is returned with `isBalanced == false` and `difference` set, for the batch to be flagged.
/// 003010 files that use BPS/RMT instead of BPR/RMR are read the same way.
public enum RemittanceAdviceReader {
    /// Every 820 in the interchanges.
    public static func read(_ interchanges: [X12Interchange], defaultCurrency: CurrencyCode, file: String? = nil) throws(X12Error) -> [RemittanceAdvice] {
        var result: [RemittanceAdvice] = []
        for interchange in interchanges {
            for group in interchange.groups {
                for set in group.transactionSets where set.identifier == "820" {
                    result.append(try advice(set, defaultCurrency: defaultCurrency, file: file))
                }
            }
        }
        return result
    }

    /// Reads the bytes of a file and returns its 820s, one transaction set at a time.
    public static func read(_ bytes: [UInt8], defaultCurrency: CurrencyCode, file: String? = nil) throws(X12Error) -> [RemittanceAdvice] {
        var result: [RemittanceAdvice] = []
        try X12Reader.forEachTransactionSet(bytes, file: file) { (set, _) throws(X12Error) in
            if set.identifier == "820" { result.append(try advice(set, defaultCurrency: defaultCurrency, file: file)) }
        }
        return result
    }

    static func amount(_ text: String, _ currency: CurrencyCode, segment: X12Segment, element: Int, file: String?) throws(X12Error) -> Money {
        do {
            return try Money.parse(text, currency: currency, style: X12Values.decimalStyle)
        } catch {
            throw X12Error(.badAmount, "\(segment.id)\(String(format: "%02d", element)) \"\(text)\" is not an amount: \(error.message)",
                           segment: segment.number, file: file)
        }
    }

    static func optionalAmount(_ segment: X12Segment, _ element: Int, _ currency: CurrencyCode, file: String?) throws(X12Error) -> Money? {
        guard let text = segment.optional(element) else { return nil }
        return try amount(text, currency, segment: segment, element: element, file: file)
    }

    static func advice(_ set: X12TransactionSet, defaultCurrency: CurrencyCode, file: String?) throws(X12Error) -> RemittanceAdvice {
        // The currency can come after BPR, so find it first.
        var currency = defaultCurrency
        var currencyDeclared = false
        if let cur = set.segments.first(where: { $0.id == "CUR" }), let code = cur.optional(2) {
            currencyDeclared = true
            do {
                currency = try CurrencyCode(code)
            } catch {
                throw X12Error(.badAmount, "CUR02 \"\(code)\" is not a currency code", segment: cur.number, file: file)
            }
        }
        guard let bpr = set.segments.first(where: { $0.id == "BPR" || $0.id == "BPS" }) else {
            throw X12Error(.missingSegment, "transaction set \(set.controlNumber) has no BPR segment", segment: set.header.number, file: file)
        }
        let isOld = bpr.id == "BPS"
        // BPS (003010): 01 method, 02 amount, 03 credit/debit ... 12 date (YYMMDD). BPR: 01 handling, 02 amount, 03 C/D ...
        let creditDebit = bpr.optional(3) ?? "C"
        var total = try amount(bpr[2], currency, segment: bpr, element: 2, file: file)
        if creditDebit == "D" { total = Money(minorUnits: 0 &- total.minorUnits, currency: currency) }
        let dateText = isOld ? bpr.optional(12) : bpr.optional(16)
        let effective = try dateText.map { (text) throws(X12Error) in try X12Values.date(text, segment: bpr, file: file) }
        let trn = set.segments.first { $0.id == "TRN" }
        var advice = RemittanceAdvice(
            controlNumber: set.controlNumber, segment: set.header.number, handlingCode: isOld ? "C" : bpr[1], total: total,
            creditDebit: creditDebit, paymentMethod: isOld ? bpr.optional(1) : bpr.optional(4), paymentFormat: isOld ? nil : bpr.optional(5),
            originatingBankID: isOld ? nil : bpr.optional(7), originatingAccount: isOld ? nil : bpr.optional(9),
            receivingBankID: isOld ? nil : bpr.optional(13), receivingAccount: isOld ? nil : bpr.optional(15),
            effectiveDate: effective, traceNumber: trn?.optional(2), traceOriginator: trn?.optional(3), currency: currency,
            references: [], dates: [], parties: [], entities: [], lines: [])
        advice.currencyDeclared = currencyDeclared
        enum Place { case heading, party, entity, line, itemDetail }
        var place = Place.heading
        /// The ADX whose loop we are in (its NTE and REF belong to it): in a line, or at the ENT level.
        enum AdjustmentPlace { case line(Int, Int), entity(Int, Int) }
        var adjustmentPlace: AdjustmentPlace?
        func updateAdjustment(_ change: (inout Adjustment) -> Void) {
            switch adjustmentPlace {
            case .line(let line, let index): change(&advice.lines[line].adjustments[index])
            case .entity(let entity, let index): change(&advice.entities[entity].adjustments[index])
            case nil: break
            }
        }
        for segment in set.segments {
            if segment.id != "NTE" && segment.id != "REF" && segment.id != "DTM" && segment.id != "PER" { adjustmentPlace = nil }
            switch segment.id {
            case "N1" where segment[1] == "LI":
                // 003010 line-item loop: RMT segments under it are item detail, not remitted invoices.
                place = .itemDetail
            case "N1":
                advice.parties.append(Party(role: segment[1], name: segment[2], idQualifier: segment.optional(3), id: segment.optional(4),
                                            address: [], references: []))
                if place == .heading || place == .party { place = .party }
                if place == .itemDetail || place == .line { place = .entity }
            case "N2", "N3", "N4":
                if place == .party, !advice.parties.isEmpty {
                    advice.parties[advice.parties.count - 1].address.append(
                        (1...max(1, segment.elementCount)).compactMap { segment.optional($0) }.joined(separator: " "))
                }
            case "ENT":
                advice.entities.append(RemittanceEntity(assignedNumber: segment.optional(1), qualifier: segment.optional(2),
                                                        idQualifier: segment.optional(3), id: segment.optional(4), adjustments: [],
                                                        segment: segment.number))
                place = .entity
            case "RMT" where place == .itemDetail:
                continue
            case "RMR", "RMT":
                // RMT (003010): 01 qualifier, 02 reference, 03 amount paid, 04 invoice amount.
                let old = segment.id == "RMT"
                let paid = try amount(segment[old ? 3 : 4], currency, segment: segment, element: old ? 3 : 4, file: file)
                advice.lines.append(RemittanceLine(
                    entity: advice.entities.isEmpty ? nil : advice.entities.count - 1, referenceQualifier: segment[1],
                    reference: segment[2], paymentAction: old ? nil : segment.optional(3), amountPaid: paid,
                    invoiceAmount: try optionalAmount(segment, old ? 4 : 5, currency, file: file),
                    discount: old ? nil : try optionalAmount(segment, 6, currency, file: file),
                    references: [], dates: [], adjustments: [], segment: segment.number))
                place = .line
            case "ADX":
                let qualifier = segment.optional(3)
                var adjustment = Adjustment(amount: try amount(segment[1], currency, segment: segment, element: 1, file: file),
                                            reasonCode: segment[2], referenceQualifier: qualifier, reference: segment.optional(4),
                                            segment: segment.number)
                if place == .line, !advice.lines.isEmpty {
                    let line = advice.lines.count - 1
                    advice.lines[line].adjustments.append(adjustment)
                    adjustmentPlace = .line(line, advice.lines[line].adjustments.count - 1)
                } else {
                    // At the ENT level an ADX is a payment-level adjustment; ADX03 = IV names the invoice it reduces.
                    if qualifier == "IV" { adjustment.invoice = adjustment.reference }
                    if advice.entities.isEmpty {
                        advice.entities.append(RemittanceEntity(assignedNumber: nil, qualifier: nil, idQualifier: nil, id: nil,
                                                                adjustments: [], segment: segment.number))
                        place = .entity
                    }
                    let entity = advice.entities.count - 1
                    advice.entities[entity].adjustments.append(adjustment)
                    adjustmentPlace = .entity(entity, advice.entities[entity].adjustments.count - 1)
                }
            case "NTE":
                // The payer's words about the adjustment before it ("DEBIT MEMO DM-4471 DAMAGED").
                guard let text = segment.optional(2) ?? segment.optional(1), adjustmentPlace != nil else { continue }
                updateAdjustment { $0.reasonText = $0.reasonText.map { $0 + " " + text } ?? text }
            case "REF" where adjustmentPlace != nil:
                let value = segment.optional(2) ?? segment.optional(3)
                updateAdjustment { adjustment in
                    if adjustment.reference == nil {
                        adjustment.reference = value
                        adjustment.referenceQualifier = adjustment.referenceQualifier ?? segment.optional(1)
                    }
                }
            case "REF":
                let reference = DocumentReference(qualifier: segment[1], value: segment.optional(2) ?? segment[3])
                switch place {
                case .itemDetail: continue
                case .line: advice.lines[advice.lines.count - 1].references.append(reference)
                case .party: advice.parties[advice.parties.count - 1].references.append(reference)
                default: advice.references.append(reference)
                }
            case "DTM":
                guard let text = segment.optional(2) else { continue }
                let date = DocumentDate(qualifier: segment[1], date: try X12Values.date(text, segment: segment, file: file))
                if place == .line { advice.lines[advice.lines.count - 1].dates.append(date) } else if place != .itemDetail { advice.dates.append(date) }
            default:
                continue
            }
        }
        return advice
    }
}

/// Value formats shared by the X12 readers.
enum X12Values {
    /// X12 R-type decimals: explicit point, no grouping.
    static let decimalStyle = DecimalStyle(decimalSeparator: ".", groupingSeparators: [])

    /// CCYYMMDD or YYMMDD.
    static func date(_ text: String, segment: X12Segment, file: String?) throws(X12Error) -> CalendarDate {
        do {
            switch text.count {
            case 8: return try CalendarDate.parse(text, format: "yyyyMMdd")
            case 6: return try CalendarDate.parse(text, format: "yyMMdd")
            default: break
            }
        } catch {}
        throw X12Error(.badDate, "\(segment.id) date \"\(text)\" is not CCYYMMDD or YYMMDD", segment: segment.number, file: file)
    }
}
