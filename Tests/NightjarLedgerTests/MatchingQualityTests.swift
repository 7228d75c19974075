import Foundation
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarMatching
import NightjarStore
import Testing

/// A client's world with a known truth, drawn from a seed: 500 customers, their invoices
/// (twins, glued prefixes, numbers with slashes, settled ones, a few in euros), 250 payers each
/// known as two customers, and X12 820 files written the ways retailers write them, each line
/// with the status it must get. Every case of the matching table occurs many times.
struct RemittanceWorld {
    struct Invoice {
        let customer: Int
        let number: String
        let amount: Int64
        /// Open when the client's ERP exported it.
        let exported: Int64
        /// Open after the lines generated so far.
        var open: Int64
        let day: CalendarDate
        let terms: Bool
        let currency: String
    }

    struct Truth {
        var status: LineStatus
        /// The invoices the line must be applied to, automatically (empty: applied to none).
        var invoices: [String] = []
        var deductions: [DeductionType] = []
        /// Paid twice: the line that paid first (file, payment, line).
        var paidBy: LineKey?
        /// Invoices that must be among the suggestions.
        var suggested: [String] = []
        var kind: String
    }

    struct LineKey: Hashable {
        let file: Int
        let payment: Int
        let line: Int
    }

    struct Line {
        var reference: String
        var paid: Int64
        var discount: Int64?
        var adjustments: [(Int64, String)] = []
        var namedInvoice: String?
        var truth: Truth
    }

    struct Payment {
        let payer: Int
        let payerID: String
        let payerName: String
        let trace: String
        let day: CalendarDate
        let declaresCurrency: Bool
        var lines: [Line]
    }

    struct File {
        let name: String
        var payments: [Payment]
        var duplicate: Bool
    }

    static let customers = 500, payers = 250
    static let mappedCodes: [(String, DeductionType)] = [
        ("01", .pricing), ("04", .damage), ("06", .shortage), ("11", .return), ("12", .return), ("19", .cancellation),
        ("26", .cancellation),
        ("56", .promotion), ("59", .shortage), ("72", .return), ("RTN", .return), ("rtn", .return), ("OOS", .shortage),
        ("CASHBK", .promotion),
        ("CANC", .cancellation), ("DMG", .damage), ("dmg", .damage), ("SHORT", .shortage), ("PRICE", .pricing),
        ("RETURN", .return), ("Promo", .promotion),
    ]
    static let unmappedCodes = ["Z9", "MISC", "ADJ", "77", "QX"]

    var random: SeededRandom
    var invoices: [Invoice] = []
    /// Per payer: invoices not used yet, by index; the regular ones any case may take.
    var fresh: [[Int]] = Array(repeating: [], count: payers)
    var twins: [[(Int, Int)]] = Array(repeating: [], count: payers)
    var gluedSingle: [[Int]] = Array(repeating: [], count: payers)
    var gluedPairs: [[(Int, Int)]] = Array(repeating: [], count: payers)
    var slashed: [[Int]] = Array(repeating: [], count: payers)
    var settled: [[Int]] = Array(repeating: [], count: payers)
    var euroInvoices: [[Int]] = Array(repeating: [], count: payers)
    /// Invoices a line paid in full, with that line: candidates for paying twice.
    var paidOff: [[(Int, LineKey, Int64)]] = Array(repeating: [], count: payers)
    /// Invoices paid in part, with what is left.
    var partlyPaid: [[(Int, LineKey)]] = Array(repeating: [], count: payers)
    var numbers: Set<String> = []
    var files: [File] = []
    var nextNumber = 0

    init(seed: UInt64) {
        random = SeededRandom(seed: seed)
        makeInvoices()
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    static func payer(of customer: Int) -> Int { customer / 2 }
    static func isEuroCustomer(_ customer: Int) -> Bool { customer < 10 }

    mutating func uniqueDigits(_ count: Int) -> String {
        while true {
            var text = String(int(1...9))
            for _ in 1..<count { text += String(int(0...9)) }
            if !numbers.contains(text) {
                numbers.insert(text)
                return text
            }
        }
    }

    mutating func add(_ customer: Int, _ number: String, open: Bool = true, currency: String? = nil) -> Int {
        let amount = Int64(int(1_000...500_000))
        let day = try! CalendarDate(iso: "2026-09-01").adding(days: int(0...75))
        let terms = chance(30)
        invoices.append(
            Invoice(
                customer: customer, number: number, amount: amount, exported: open ? amount : 0,
                open: open ? amount : 0, day: day, terms: terms,
                currency: currency ?? (RemittanceWorld.isEuroCustomer(customer) ? "EUR" : "USD")))
        return invoices.count - 1
    }

    mutating func makeInvoices() {
        for customer in 0..<RemittanceWorld.customers {
            let payer = RemittanceWorld.payer(of: customer)
            for _ in 0..<300 {
                let digits = uniqueDigits(7)
                fresh[payer].append(add(customer, chance(40) ? "INV-\(digits)" : digits))
            }
            if chance(50) {
                let base = uniqueDigits(7)
                numbers.insert("0" + base)
                twins[payer].append((add(customer, base), add(customer, "0" + base)))
            }
            let glued = uniqueDigits(6)
            gluedSingle[payer].append(add(customer, "EX\(glued)"))
            if chance(25) {
                let pair = uniqueDigits(6)
                gluedPairs[payer].append((add(customer, "EX\(pair)"), add(customer, pair)))
            }
            for _ in 0..<2 { slashed[payer].append(add(customer, "RE-2026/\(uniqueDigits(4))")) }
            for _ in 0..<4 { settled[payer].append(add(customer, uniqueDigits(7), open: false)) }
            if (10..<20).contains(customer) {
                for _ in 0..<3 { euroInvoices[payer].append(add(customer, uniqueDigits(7), currency: "EUR")) }
            }
        }
        for payer in 0..<RemittanceWorld.payers { fresh[payer].shuffle(using: &random) }
    }

    /// The open invoices the client's ERP would export.
    func openInvoices() -> [OpenInvoice] {
        invoices.enumerated().map { line, invoice in
            let currency = try! CurrencyCode(invoice.currency)
            return OpenInvoice(
                customerID: "C\(invoice.customer)", invoiceNumber: invoice.number, invoiceDate: invoice.day,
                dueDate: nil,
                amount: Money(minorUnits: invoice.amount, currency: currency),
                openAmount: Money(minorUnits: invoice.exported, currency: currency),
                purchaseOrderNumber: nil, terms: invoice.terms ? "2/10 NET 30" : "NET 30", line: line + 2)
        }
    }

    static func decimal(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let value = abs(cents)
        return "\(sign)\(value / 100).\(String(format: "%02lld", value % 100))"
    }

    static func termsDiscount(_ invoice: Invoice) -> Int64 { (invoice.amount * 200 + 5_000) / 10_000 }

    static func discountAllowed(_ invoice: Invoice, on day: CalendarDate) -> Bool {
        invoice.terms && day.days(since: invoice.day) <= 15
    }

    mutating func spell(_ number: String) -> String {
        let bare = number.hasPrefix("INV-") ? String(number.dropFirst(4)) : number
        switch int(0...9) {
        case 0: return "inv-\(bare)"
        case 1: return "#\(bare)"
        case 2: return "INV-00\(bare)"
        case 3: return "\(bare)-00"
        case 4: return "Invoice \(bare)"
        case 5: return "INV \(bare)"
        case 6: return " \(bare) "
        case 7: return "INV#\(bare)"
        case 8: return "000\(bare)"
        default: return bare
        }
    }

    mutating func deduction(_ open: Int64) -> (Int64, String, DeductionType) {
        let amount = max(100, Int64(int(1...20)) * open / 100)
        if chance(8) {
            return (amount, RemittanceWorld.unmappedCodes[int(0...(RemittanceWorld.unmappedCodes.count - 1))], .manual)
        }
        let (code, type) = RemittanceWorld.mappedCodes[int(0...(RemittanceWorld.mappedCodes.count - 1))]
        return (amount, code, type)
    }

    mutating func takeFresh(_ payer: Int, where predicate: (Invoice) -> Bool = { _ in true }) -> Int? {
        guard let slot = fresh[payer].lastIndex(where: { predicate(invoices[$0]) && invoices[$0].open > 0 }) else {
            return nil
        }
        return fresh[payer].remove(at: slot)
    }

    /// One line of a payment by `payer` on `day`, at `key`.
    mutating func line(payer: Int, day: CalendarDate, key: LineKey) -> Line {
        let roll = int(0...999)
        func settle(_ index: Int, _ line: Line) -> Line {
            invoices[index].open = 0
            paidOff[payer].append((index, key, line.paid))
            return line
        }
        switch roll {
        case 0..<330:
            guard let index = takeFresh(payer) else { break }
            let invoice = invoices[index]
            return settle(
                index,
                Line(
                    reference: invoice.number, paid: invoice.open,
                    truth: Truth(status: .paidInFull, invoices: [invoice.number], kind: "exact")))
        case 330..<460:
            guard let index = takeFresh(payer) else { break }
            let invoice = invoices[index]
            return settle(
                index,
                Line(
                    reference: spell(invoice.number), paid: invoice.open,
                    truth: Truth(status: .paidInFull, invoices: [invoice.number], kind: "spelling")))
        case 460..<520:
            guard
                let index = takeFresh(
                    payer, where: { RemittanceWorld.discountAllowed($0, on: day) && $0.open == $0.amount })
            else { break }
            let invoice = invoices[index]
            let discount = RemittanceWorld.termsDiscount(invoice)
            let explicit = chance(50)
            return settle(
                index,
                Line(
                    reference: invoice.number, paid: invoice.open - discount, discount: explicit ? discount : nil,
                    truth: Truth(
                        status: .paidWithDiscount, invoices: [invoice.number],
                        kind: explicit ? "discount" : "silent_discount")))
        case 520..<600:
            guard let index = takeFresh(payer) else { break }
            let invoice = invoices[index]
            var adjustments: [(Int64, String)] = []
            var types: [DeductionType] = []
            for _ in 0..<(chance(25) ? 2 : 1) {
                let (amount, code, type) = deduction(invoice.open)
                adjustments.append((amount, code))
                types.append(type)
            }
            let deducted = adjustments.map(\.0).reduce(0, +)
            let partly = chance(20)
            let paid = partly ? (invoice.open - deducted) * 60 / 100 : invoice.open - deducted
            if partly { invoices[index].open -= paid + deducted } else { invoices[index].open = 0 }
            if !partly { paidOff[payer].append((index, key, paid)) }
            return Line(
                reference: spell(invoice.number), paid: paid, adjustments: adjustments.map { (-$0.0, $0.1) },
                truth: Truth(status: .shortPaid, invoices: [invoice.number], deductions: types, kind: "deductions"))
        case 600..<620:
            guard let index = takeFresh(payer, where: { !RemittanceWorld.discountAllowed($0, on: day) }) else { break }
            let invoice = invoices[index]
            let paid = invoice.open * Int64(int(20...80)) / 100
            invoices[index].open -= paid
            partlyPaid[payer].append((index, key))
            return Line(
                reference: invoice.number, paid: paid,
                truth: Truth(status: .shortPaid, invoices: [invoice.number], kind: "partial"))
        case 620..<635:
            guard let slot = partlyPaid[payer].indices.last else { break }
            let (index, first) = partlyPaid[payer].remove(at: slot)
            let invoice = invoices[index]
            invoices[index].open = 0
            // Paid twice later points at the line that paid first: the partial one.
            paidOff[payer].append((index, first, invoice.open))
            return Line(
                reference: spell(invoice.number), paid: invoice.open,
                truth: Truth(status: .paidInFull, invoices: [invoice.number], kind: "rest_of_partial"))
        case 635..<645:
            guard let index = takeFresh(payer, where: { $0.open >= 100_000 }) else { break }
            let invoice = invoices[index]
            let short = Int64(int(1...Int(min(500, invoice.open * 50 / 10_000))))
            return settle(
                index,
                Line(
                    reference: invoice.number, paid: invoice.open - short,
                    truth: Truth(status: .paidInFull, invoices: [invoice.number], kind: "write_off")))
        case 645..<655:
            guard let index = takeFresh(payer) else { break }
            let invoice = invoices[index]
            return settle(
                index,
                Line(
                    reference: invoice.number, paid: invoice.open + Int64(int(100...10_000)),
                    truth: Truth(status: .overPaid, invoices: [invoice.number], kind: "over")))
        case 655..<675:
            guard let pair = twins[payer].randomElement(using: &random) else { break }
            let (first, second) = pair
            let chosen = chance(50) ? invoices[first] : invoices[second]
            let spellings = [
                invoices[first].number, invoices[second].number, "INV-\(invoices[first].number)",
                "#\(invoices[second].number)",
            ]
            return Line(
                reference: spellings[int(0...3)], paid: chosen.amount,
                truth: Truth(
                    status: .ambiguous, suggested: [invoices[first].number, invoices[second].number], kind: "twins"))
        case 675..<695:
            guard let slot = gluedSingle[payer].indices.last else { break }
            let index = gluedSingle[payer].remove(at: slot)
            let invoice = invoices[index]
            let digits = invoice.number.dropFirst(2)
            let reference = ["INVEX\(digits)-00", "invex\(digits)", "INVEX\(digits)", "InvEx\(digits)"][int(0...3)]
            return settle(
                index,
                Line(
                    reference: reference, paid: invoice.open,
                    truth: Truth(status: .paidInFull, invoices: [invoice.number], kind: "glued_prefix")))
        case 695..<705:
            guard let pair = gluedPairs[payer].randomElement(using: &random) else { break }
            let digits = invoices[pair.1].number
            return Line(
                reference: ["invex\(digits)", "INVEX\(digits)-00"][int(0...1)], paid: invoices[pair.0].amount,
                truth: Truth(
                    status: .ambiguous, suggested: [invoices[pair.0].number, invoices[pair.1].number],
                    kind: "glued_prefix_several"))
        case 705..<730:
            let count = chance(30) ? 3 : 2
            var parts: [Int] = []
            for _ in 0..<count {
                guard let index = takeFresh(payer, where: { $0.open == $0.amount }) else { break }
                parts.append(index)
            }
            guard parts.count == count else {
                fresh[payer] += parts
                break
            }
            let bare = parts.map {
                invoices[$0].number.hasPrefix("INV-") ? String(invoices[$0].number.dropFirst(4)) : invoices[$0].number
            }
            let reference: String
            switch int(0...3) {
            case 0: reference = "INV " + bare.joined(separator: " & ")
            case 1: reference = bare.joined(separator: ",")
            case 2: reference = bare.joined(separator: "/")
            default: reference = "#" + bare.joined(separator: " & ")
            }
            let total = parts.map { invoices[$0].open }.reduce(0, +)
            let eligible = parts.filter { RemittanceWorld.discountAllowed(invoices[$0], on: day) }
            if chance(25) {
                // Amounts that do not allocate: ambiguous, the parts suggested.
                var paid = total - Int64(int(1...5_000))
                let discounts = eligible.map { RemittanceWorld.termsDiscount(invoices[$0]) }
                var sums: Set<Int64> = [0]
                for discount in discounts { sums.formUnion(sums.map { $0 + discount }) }
                while sums.contains(total - paid) { paid -= 1 }
                fresh[payer] += parts
                return Line(
                    reference: reference, paid: paid,
                    truth: Truth(
                        status: .ambiguous, suggested: parts.map { invoices[$0].number },
                        kind: "several_invoices_not_allocating"))
            }
            let takeDiscount = !eligible.isEmpty && chance(40)
            let paid =
                total - (takeDiscount ? eligible.map { RemittanceWorld.termsDiscount(invoices[$0]) }.reduce(0, +) : 0)
            let line = Line(
                reference: reference, paid: paid,
                truth: Truth(
                    status: takeDiscount ? .paidWithDiscount : .paidInFull,
                    invoices: parts.map { invoices[$0].number }, kind: "several_invoices"))
            for index in parts { invoices[index].open = 0 }
            return line
        case 730..<755:
            guard !paidOff[payer].isEmpty else { break }
            let (index, first, amount) = paidOff[payer][int(0...(paidOff[payer].count - 1))]
            return Line(
                reference: spell(invoices[index].number), paid: amount,
                truth: Truth(
                    status: .paidTwice, paidBy: first,
                    kind: first.file == key.file && first.payment == key.payment
                        ? "paid_twice_same_batch" : "paid_twice"))
        case 755..<762:
            guard let index = settled[payer].randomElement(using: &random) else { break }
            return Line(
                reference: invoices[index].number, paid: invoices[index].amount,
                truth: Truth(status: .paidTwice, kind: "paid_before"))
        case 762..<780:
            let all = fresh[payer] + paidOff[payer].map(\.0)
            guard let index = all.randomElement(using: &random) else { break }
            let (amount, code, type) = deduction(invoices[index].amount)
            return Line(
                reference: "DM\(uniqueDigits(6))", paid: -amount, adjustments: [(-amount, code)],
                namedInvoice: invoices[index].number,
                truth: Truth(
                    status: .debitMemo, invoices: [invoices[index].number], deductions: [type], kind: "debit_memo"))
        case 780..<810:
            guard let index = fresh[payer].last else { break }
            let bare = Array(
                invoices[index].number.hasPrefix("INV-")
                    ? String(invoices[index].number.dropFirst(4)) : invoices[index].number)
            var typo = bare
            for _ in 0..<20 {
                typo = bare
                if chance(50) {
                    let position = int(1...(bare.count - 1))
                    typo[position] = Character(String((Int(String(bare[position]))! + int(1...9)) % 10))
                } else {
                    let position = int(0...(bare.count - 2))
                    typo.swapAt(position, position + 1)
                }
                if typo != bare && !numbers.contains(String(typo)) && typo.first != "0" { break }
            }
            guard typo != bare, !numbers.contains(String(typo)), typo.first != "0" else { break }
            return Line(
                reference: String(typo), paid: invoices[index].open,
                truth: Truth(status: .unknownReference, suggested: [invoices[index].number], kind: "near_miss"))
        case 810..<825:
            let other = (payer + 1 + int(0...(RemittanceWorld.payers - 2))) % RemittanceWorld.payers
            guard let index = fresh[other].first else { break }
            return Line(
                reference: invoices[index].number, paid: invoices[index].open,
                truth: Truth(status: .unknownReference, kind: "other_customer"))
        case 825..<835:
            guard let index = euroInvoices[payer].randomElement(using: &random) else { break }
            return Line(
                reference: invoices[index].number, paid: invoices[index].amount,
                truth: Truth(status: .unknownReference, kind: "other_currency"))
        case 835..<850:
            let reference = [
                "LUMP SUM", "ADJUSTMENT", "REF-\(int(10_000...99_999))", "ON ACCOUNT", "PAYMENT ON ACCOUNT",
            ][int(0...4)]
            return Line(
                reference: reference, paid: Int64(int(100...100_000)),
                truth: Truth(status: .unknownReference, kind: "no_reference"))
        case 850..<870:
            guard let slot = slashed[payer].indices.last else { break }
            let index = slashed[payer].remove(at: slot)
            let invoice = invoices[index]
            return settle(
                index,
                Line(
                    reference: chance(50) ? invoice.number : invoice.number.lowercased(), paid: invoice.open,
                    truth: Truth(status: .paidInFull, invoices: [invoice.number], kind: "slash_number")))
        default:
            break
        }
        guard let index = takeFresh(payer) else {
            return Line(
                reference: "LUMP SUM", paid: 1_000, truth: Truth(status: .unknownReference, kind: "no_reference"))
        }
        let invoice = invoices[index]
        return settle(
            index,
            Line(
                reference: invoice.number, paid: invoice.open,
                truth: Truth(status: .paidInFull, invoices: [invoice.number], kind: "exact")))
    }

    /// Payments until there are at least `lines` lines, in files of one to three payments; a
    /// few payments are sent again later in files of their own (other bytes, same payment).
    mutating func makePayments(lines wanted: Int) {
        var total = 0
        var trace = 0
        var resend: [(due: Int, payment: Payment)] = []
        while total < wanted {
            let fileIndex = files.count
            var file = File(name: String(format: "f%05d.x12", fileIndex), payments: [], duplicate: false)
            for paymentIndex in 0..<int(1...3) {
                let unknownPayer = chance(1)
                let payer = int(0...(RemittanceWorld.payers - 1))
                let day = try! CalendarDate(iso: "2026-11-10").adding(days: int(0...15))
                trace += 1
                var payment = Payment(
                    payer: payer,
                    payerID: unknownPayer ? "X\(int(100_000...999_999))" : "V\(String(format: "%04d", payer))",
                    payerName: unknownPayer ? "UNKNOWN STORES \(trace)" : "RETAILER \(payer)",
                    trace: "TRN\(String(format: "%07d", trace))", day: day,
                    declaresCurrency: !(payer < 5) && chance(30), lines: [])
                for position in 0..<int(20...70) {
                    if unknownPayer, let index = fresh[payer].randomElement(using: &random) {
                        // A payer no alias names: its lines match nothing, whatever they say.
                        payment.lines.append(
                            Line(
                                reference: invoices[index].number, paid: invoices[index].open,
                                truth: Truth(status: .unknownPayer, kind: "unknown_payer")))
                        continue
                    }
                    payment.lines.append(
                        self.line(
                            payer: payer, day: day, key: LineKey(file: fileIndex, payment: paymentIndex, line: position)
                        ))
                }
                total += payment.lines.count
                file.payments.append(payment)
                if chance(2) { resend.append((fileIndex + int(1...40), payment)) }
            }
            files.append(file)
            while let next = resend.firstIndex(where: { $0.due <= files.count }) {
                var payment = resend.remove(at: next).payment
                for index in payment.lines.indices {
                    payment.lines[index].truth = Truth(status: .duplicatePayment, kind: "duplicate_payment")
                }
                files.append(File(name: String(format: "f%05d.x12", files.count), payments: [payment], duplicate: true))
                total += payment.lines.count
            }
        }
    }

    /// A file's bytes: an interchange with one 820 per payment.
    func x12(_ file: File, index: Int) -> String {
        let control = String(format: "%09d", index + 1)
        var text =
            "ISA*00*          *00*          *ZZ*RETAILER       *ZZ*SUPPLIER       *261124*0100*U*00401*\(control)*0*P*>~\n"
        text += "GS*RA*RETAILER*SUPPLIER*20261124*0100*\(index + 1)*X*004010~\n"
        for (number, payment) in file.payments.enumerated() {
            let st = String(format: "%04d", number + 1)
            var segments = ["ST*820*\(st)"]
            let total = payment.lines.map(\.paid).reduce(0, +)
            let date = payment.day.description.replacingOccurrences(of: "-", with: "")
            segments.append(
                "BPR*C*\(RemittanceWorld.decimal(total))*C*ACH*CTX*01*111000025*DA*123456789*1234567890**01*222000025*DA*987654321*\(date)"
            )
            segments.append("TRN*1*\(payment.trace)*1234567890")
            if payment.declaresCurrency { segments.append("CUR*PR*USD") }
            segments.append("N1*PR*\(payment.payerName)*92*\(payment.payerID)")
            segments.append("N1*PE*SUPPLIER INC")
            segments.append("ENT*1")
            for line in payment.lines {
                var rmr = "RMR*IV*\(line.reference)*PI*\(RemittanceWorld.decimal(line.paid))"
                if let discount = line.discount { rmr += "**\(RemittanceWorld.decimal(discount))" }
                segments.append(rmr)
                if let named = line.namedInvoice { segments.append("REF*IV*\(named)") }
                for (amount, code) in line.adjustments {
                    segments.append("ADX*\(RemittanceWorld.decimal(amount))*\(code)")
                }
            }
            segments.append("SE*\(segments.count + 1)*\(st)")
            text += segments.joined(separator: "~\n") + "~\n"
        }
        return text + "GE*\(file.payments.count)*\(index + 1)~\nIEA*1*\(control)~\n"
    }
}

@Suite("Matching quality")
struct MatchingQualityTests {
    @Test func aHundredThousandLinesWithAKnownTruth() throws {
        let started = Date()
        var world = RemittanceWorld(seed: 20_261_201)
        world.makePayments(lines: Int(ProcessInfo.processInfo.environment["QUALITY_LINES"] ?? "100000")!)
        let generated = Date()
        let database = try ledgerDatabase()
        let ledger = Ledger(database: database)
        let client: ClientID = "quality"
        // The ERP export's values (the CSV reader has its own tests): 170,000 invoices.
        let csv = Array("open invoices of seed 20261201".utf8)
        _ = try ledger.importOpenInvoices(world.openInvoices(), bytes: csv, name: "open.csv", client: client)
        // Each payer is known by its id as one customer and by its name as another.
        let aliases = (0..<RemittanceWorld.payers).flatMap { payer in
            [
                CustomerAliasEntry(
                    alias: "V\(String(format: "%04d", payer))", customerID: "C\(2 * payer)", line: 2 * payer + 2),
                CustomerAliasEntry(alias: "RETAILER \(payer)", customerID: "C\(2 * payer + 1)", line: 2 * payer + 3),
            ]
        }
        #expect(
            try ledger.importCustomerAliases(aliases, client: client, file: "aliases.csv").added == 2
                * RemittanceWorld.payers)
        for (index, file) in world.files.enumerated() {
            let bytes = Array(world.x12(file, index: index).utf8)
            _ = try ledger.importRemittances(
                try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: file.name), bytes: bytes,
                name: file.name,
                client: client, format: "x12-820")
        }
        let imported = Date()
        let run = try ledger.match(client: client, scope: .newBatches)
        let matchedAt = Date()

        // What each stored line is in the world.
        var keys: [Int64: RemittanceWorld.LineKey] = [:]
        var truths: [RemittanceWorld.LineKey: RemittanceWorld.Truth] = [:]
        for (fileIndex, file) in world.files.enumerated() {
            for (paymentIndex, payment) in file.payments.enumerated() {
                for (position, line) in payment.lines.enumerated() {
                    truths[.init(file: fileIndex, payment: paymentIndex, line: position)] = line.truth
                }
            }
        }
        var lineIDs: [RemittanceWorld.LineKey: Int64] = [:]
        for row in try database.query(
            """
            SELECT l.id, l.position, b.position AS payment, f.original_name FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id
            JOIN source_file f ON f.id = b.source_file_id
            """)
        {
            let key = RemittanceWorld.LineKey(
                file: Int(try row.string("original_name").dropFirst().prefix(5))!,
                payment: Int(try row.int64("payment")),
                line: Int(try row.int64("position")))
            keys[try row.int64("id")] = key
            lineIDs[key] = try row.int64("id")
        }
        var numbers: [Int64: String] = [:]
        for row in try database.query("SELECT id, invoice_number FROM open_invoice") {
            numbers[try row.int64("id")] = try row.string("invoice_number")
        }
        var applied: [Int64: [String]] = [:]
        for row in try database.query("SELECT line_id, invoice_id FROM line_application ORDER BY id") {
            applied[try row.int64("line_id"), default: []].append(numbers[try row.int64("invoice_id")]!)
        }
        var total = 0
        var wrong = 0
        var shouldMatch = 0
        var matched = 0
        var exceptions = 0
        var exceptionsRight = 0
        var deductions = 0
        var deductionsRight = 0
        var suggestionsExpected = 0
        var suggestionsFound = 0
        var paidTwice = 0
        var pointersRight = 0
        var byKind: [String: (Int, Int)] = [:]
        var wrongExamples: [String] = []
        var confusion: [String: Int] = [:]
        try database.prepared(
            """
            SELECT line_id, status, invoice_id, deductions, suggestions, paid_by_line_id FROM line_match
            """
        ).forEachRow { row in
            let lineID = row.int64(0)
            guard let key = keys[lineID], let truth = truths[key] else { return }
            total += 1
            let status = LineStatus(rawValue: row.string(1))!
            let invoices = row.isNull(2) ? applied[lineID] ?? [] : [numbers[row.int64(2)]!]
            if !invoices.isEmpty && Set(invoices) != Set(truth.invoices) {
                wrong += 1
                if wrongExamples.count < 10 { wrongExamples.append("\(truth.kind): \(invoices) for \(truth.invoices)") }
            }
            if !truth.invoices.isEmpty {
                shouldMatch += 1
                if Set(invoices) == Set(truth.invoices) { matched += 1 }
            }
            var right = status == truth.status
            if truth.status.isException {
                exceptions += 1
                if status == .paidTwice, truth.status == .paidTwice {
                    paidTwice += 1
                    let expected = truth.paidBy.flatMap { lineIDs[$0] }
                    if row.optionalInt64(5) == expected { pointersRight += 1 } else { right = false }
                }
                if right { exceptionsRight += 1 }
            }
            byKind[truth.kind, default: (0, 0)].0 += 1
            if !right { confusion["\(truth.kind)->\(status.rawValue)", default: 0] += 1 }
            if right { byKind[truth.kind, default: (0, 0)].1 += 1 }
            let stored = (try? JSONDecoder().decode([TypedDeduction].self, from: Data(row.string(3).utf8))) ?? []
            for (index, type) in truth.deductions.enumerated() {
                deductions += 1
                if index < stored.count && stored[index].type == type { deductionsRight += 1 }
            }
            if !truth.suggested.isEmpty {
                let suggestions = (try? JSONDecoder().decode([Suggestion].self, from: Data(row.string(4).utf8))) ?? []
                suggestionsExpected += truth.suggested.count
                suggestionsFound +=
                    truth.suggested.filter { number in suggestions.contains { $0.invoiceNumber == number } }.count
            }
        }
        let duplicateFiles = Set(
            world.files.indices.filter { world.files[$0].duplicate }.map { String(format: "f%05d.x12", $0) })
        let flagged = try database.query(
            """
            SELECT f.original_name, b.status FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id
            """
        ).filter { duplicateFiles.contains(try $0.string("original_name")) }
        let summary = byKind.keys.sorted().map { "\($0) \(byKind[$0]!.1)/\(byKind[$0]!.0)" }.joined(separator: ", ")
        #expect(total >= 100_000, "\(total) lines")
        #expect(confusion.isEmpty, "\(confusion.sorted { $0.value > $1.value }.prefix(20))")
        #expect(
            Set(byKind.keys).isSuperset(of: [
                "twins", "glued_prefix", "glued_prefix_several", "several_invoices", "several_invoices_not_allocating",
                "paid_twice", "paid_twice_same_batch", "duplicate_payment", "debit_memo", "unknown_payer",
                "other_currency",
                "slash_number", "near_miss", "deductions", "discount", "silent_discount",
            ]), "\(summary)")
        #expect(wrong == 0, "\(wrong) wrong automatic matches: \(wrongExamples)")
        #expect(Double(matched) >= 0.99 * Double(shouldMatch), "matched \(matched) of \(shouldMatch): \(summary)")
        #expect(
            Double(exceptionsRight) >= 0.95 * Double(exceptions),
            "exceptions right \(exceptionsRight) of \(exceptions): \(summary)")
        #expect(
            paidTwice > 0 && pointersRight == paidTwice,
            "paid twice pointing at the first line: \(pointersRight) of \(paidTwice)")
        #expect(
            !flagged.isEmpty && flagged.allSatisfy { (try? $0.string("status")) == "duplicate_payment" },
            "duplicates flagged")
        #expect(run.duplicates == flagged.count)
        #expect(
            Double(deductionsRight) >= 0.90 * Double(deductions),
            "deductions typed right: \(deductionsRight) of \(deductions)")
        #expect(
            Double(suggestionsFound) >= 0.95 * Double(suggestionsExpected),
            "suggested \(suggestionsFound) of \(suggestionsExpected)")
        #expect(run.unknownPayerLines == byKind["unknown_payer"]?.0)
        print(
            "matching quality: \(total) lines, \(wrong) wrong, matched \(matched)/\(shouldMatch), exceptions \(exceptionsRight)/\(exceptions), "
                + "generate \(generated.timeIntervalSince(started)) s, import \(imported.timeIntervalSince(generated)) s, match \(matchedAt.timeIntervalSince(imported)) s, "
                + "check \(Date().timeIntervalSince(matchedAt)) s; "
                + "deductions \(deductionsRight)/\(deductions), suggestions \(suggestionsFound)/\(suggestionsExpected), duplicates \(flagged.count); \(summary)"
        )
    }
}
