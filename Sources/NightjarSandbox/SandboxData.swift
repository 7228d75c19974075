import Foundation
import NightjarCore

/// Deterministic demo data for a seed: clients, their customers and open invoices, and the
/// payments each portal publishes, across several months. The files the portals serve match the
/// open invoices the demo loads.
public struct SandboxData: Sendable {
    public struct Invoice: Sendable, Equatable {
        public let customerID: String
        public let number: String
        public let date: String
        public let dueDate: String
        public let cents: Int64
        public let poNumber: String
    }

    public struct PaymentLine: Sendable, Equatable {
        /// The reference as the payer writes it (sometimes differently from the ERP).
        public let reference: String
        public let invoiceCents: Int64
        public let paidCents: Int64
        public let discountCents: Int64
        public let deductionCents: Int64
        public let deductionCode: String
        /// The payer's words and its debit memo for the deduction.
        public let deductionText: String
        public let deductionReference: String
    }

    public struct Payment: Sendable, Equatable {
        public let id: String
        public let client: String
        public let portal: String
        public let trace: String
        /// ISO date.
        public let date: String
        public let payer: String
        public let payerID: String
        public let lines: [PaymentLine]
        /// A deduction taken from the whole payment, naming no invoice (a co-op promotion).
        public let promotionCents: Int64
        public var promotionReference: String { "PR-\(id.uppercased())" }
        public var totalCents: Int64 { lines.reduce(0) { $0 + $1.paidCents } - promotionCents }
    }

    public struct Account: Sendable, Equatable {
        public let client: String
        public let portal: String
        public let username: String
        public let password: String
        /// Base32 TOTP secret (used by the two-step portal).
        public let totpSecret: String
    }

    public static let clients = ["acme", "globex", "initech"]

    /// The customer (in the client's ERP) that a portal's retailer is: sandbox-html-portal C1, sandbox-json-api C2,
    /// sandbox-totp-portal C3; C4 buys through no portal.
    public static func customer(client: String, portal: String) -> String {
        "\(client.uppercased())-C\((portals.firstIndex(of: portal) ?? 3) + 1)"
    }
    public static let portals = ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"]
    /// Each portal's short code, in its payment ids (`ht…`) and its payer ids (`HTMACM`).
    static func code(portal: String) -> String {
        ["sandbox-html-portal": "htm", "sandbox-json-api": "jsn", "sandbox-totp-portal": "tot"][portal]
            ?? String(portal.prefix(3))
    }
    /// The retailer that pays through `portal`, as its remittances name it.
    public static func payerName(portal: String) -> String {
        [
            "sandbox-html-portal": "HTML Portal Stores Inc", "sandbox-json-api": "JSON API Stores Inc",
            "sandbox-totp-portal": "TOTP Portal Stores Inc",
        ][portal] ?? "\(portal) Stores Inc"
    }
    /// The payer id that retailer writes for a client (`HTMACM`: the HTML portal's retailer paying acme).
    public static func payerID(portal: String, client: String) -> String {
        "\(code(portal: portal).uppercased())\(client.prefix(3).uppercased())"
    }
    /// The profiles (in docs/examples) that read what the portals serve: sandbox-html-portal's CSV advice,
    /// sandbox-totp-portal's workbook, sandbox-json-api's JSON (sandbox-json-api's X12 needs none).
    public static let remittanceProfiles = [
        "sandbox-html-portal-remittance", "sandbox-totp-portal-remittance", "sandbox-json-api-remittance",
    ]

    public let seed: UInt64
    public private(set) var invoices: [String: [Invoice]] = [:]
    public private(set) var payments: [Payment] = []
    public private(set) var accounts: [Account] = []

    public init(seed: UInt64 = 2026, paymentsPerPortal: Int = 24) {
        self.seed = seed
        var generator = SeededRandom(seed: seed)
        let start = SandboxData.day("2026-08-01")
        for client in SandboxData.clients {
            var list: [Invoice] = []
            for customer in 1...4 {
                for index in 0..<60 {
                    let number =
                        "INV-\(client.prefix(2).uppercased())\(customer)\(String(format: "%05d", 10_000 + index * 7 + customer))"
                    let issued = start + Int.random(in: 0..<100, using: &generator)
                    list.append(
                        Invoice(
                            customerID: "\(client.uppercased())-C\(customer)", number: number,
                            date: SandboxData.iso(issued),
                            dueDate: SandboxData.iso(issued + 30),
                            cents: Int64.random(in: 5_000...900_000, using: &generator),
                            poNumber: "PO\(Int.random(in: 100_000...999_999, using: &generator))"))
                }
            }
            invoices[client] = list
            for portal in SandboxData.portals {
                // sandbox-html-portal's logins are plain names (one can be spelled like a client id); the others are e-mail addresses.
                accounts.append(
                    Account(
                        client: client, portal: portal,
                        username: portal == "sandbox-html-portal" ? "\(client)-ar" : "ar@\(client).example",
                        password: "\(client)-\(portal)-Pw!\(seed % 97)",
                        totpSecret: SandboxData.base32(Array("\(client)\(portal)secret".utf8.prefix(20)))))
            }
        }
        var used = Set<String>()
        for portal in SandboxData.portals {
            for client in SandboxData.clients {
                // Each portal is one retailer, so it pays the invoices of the one customer it is.
                let pool = invoices[client]!.filter {
                    $0.customerID == SandboxData.customer(client: client, portal: portal)
                }
                for index in 0..<paymentsPerPortal {
                    let date = start + 15 + index * 4 + Int.random(in: 0..<3, using: &generator)
                    var lines: [PaymentLine] = []
                    for _ in 0..<Int.random(in: 1...6, using: &generator) {
                        guard let invoice = pool.randomElement(using: &generator), used.insert(invoice.number).inserted
                        else { continue }
                        let roll = Int.random(in: 0..<10, using: &generator)
                        let deduction: Int64 = roll == 0 ? invoice.cents / 20 : 0
                        let discount: Int64 = roll == 1 ? invoice.cents / 50 : 0
                        let variants = [
                            invoice.number, invoice.number.replacingOccurrences(of: "INV-", with: ""),
                            invoice.number.replacingOccurrences(of: "-", with: " "),
                        ]
                        lines.append(
                            PaymentLine(
                                reference: variants[Int.random(in: 0..<(roll < 7 ? 1 : 3), using: &generator)],
                                invoiceCents: invoice.cents, paidCents: invoice.cents - deduction - discount,
                                discountCents: discount, deductionCents: deduction,
                                deductionCode: deduction > 0 ? "06" : "",
                                deductionText: deduction > 0 ? "Shortage: quantity contested" : "",
                                deductionReference: deduction > 0 ? "DM-\(invoice.number.suffix(6))" : ""))
                    }
                    if lines.isEmpty { continue }
                    // One payment in seven takes a co-op promotion off the whole payment.
                    let promotion: Int64 = index % 7 == 3 ? 2_500 : 0
                    payments.append(
                        Payment(
                            id:
                                "\(SandboxData.code(portal: portal).prefix(2))\(client.prefix(2))\(String(format: "%04d", index))",
                            client: client, portal: portal,
                            trace: "\(10_000_000 + payments.count * 37)", date: SandboxData.iso(date),
                            payer: SandboxData.payerName(portal: portal),
                            payerID: SandboxData.payerID(portal: portal, client: client),
                            lines: lines, promotionCents: promotion))
                }
            }
        }
    }

    public func account(client: String, portal: String) -> Account? {
        accounts.first { $0.client == client && $0.portal == portal }
    }

    /// Payments a portal publishes for an account's client in an inclusive ISO date range.
    public func payments(portal: String, client: String, from: String, to: String) -> [Payment] {
        payments.filter { $0.portal == portal && $0.client == client && $0.date >= from && $0.date <= to }.sorted {
            $0.date < $1.date
        }
    }

    /// The open invoices of a client in Nightjar's default CSV layout.
    public func openInvoicesCSV(client: String) -> String {
        var text = "customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms\n"
        for invoice in invoices[client] ?? [] {
            let amount = SandboxData.decimal(invoice.cents)
            text +=
                "\(invoice.customerID),\(invoice.number),\(invoice.date),\(invoice.dueDate),\(amount),\(amount),USD,\(invoice.poNumber),2/10 NET 30\n"
        }
        return text
    }

    /// The sandbox-html-portal's remittance advice for one payment: the payment in a preamble, then
    /// one row per invoice (the amount before its deductions) and one per deduction, told apart by
    /// "Line Type"; a payment-level promotion names no invoice; a Total row closes it.
    public func htmlPortalCSV(_ payment: Payment) -> String {
        let date = payment.date.split(separator: "-")
        var text =
            "Sandbox HTML Portal - Remittance Advice,,,,,,,\n"
            + "Payment Number:,\(payment.trace),,,,,,\nPayment Date:,\(date[1])/\(date[2])/\(date[0]),,,,,,\n"
            + "Payer:,\(payment.payer),,,,,,\nPayer ID:,\(payment.payerID),,,,,,\n,,,,,,,\n"
            + "Line Type,Invoice Number,Invoice Amount,Discount,Amount,Reason Code,Reason,Reference\n"
        for line in payment.lines {
            text +=
                "INVOICE,\(line.reference),\(SandboxData.decimal(line.invoiceCents)),\(SandboxData.decimal(line.discountCents)),"
                + "\(SandboxData.decimal(line.invoiceCents - line.discountCents)),,,\n"
            if line.deductionCents > 0 {
                text +=
                    "DEDUCTION,\(line.reference),,,-\(SandboxData.decimal(line.deductionCents)),\(line.deductionCode),\"\(line.deductionText)\",\(line.deductionReference)\n"
            }
        }
        if payment.promotionCents > 0 {
            text +=
                "DEDUCTION,,,,-\(SandboxData.decimal(payment.promotionCents)),PROMO,Co-op promotion,\(payment.promotionReference)\n"
        }
        return text + "Total,,,,\(SandboxData.decimal(payment.totalCents)),,,\n"
    }

    /// The sandbox-totp-portal's remittance workbook for one payment: the payment above the table, the
    /// invoices as rows with their deductions beside them, dates as date cells, a total row.
    public func totpPortalWorkbook(_ payment: Payment) -> [UInt8] {
        var rows: [[SandboxWorkbook.Cell]] = [
            [.text("Sandbox TOTP Portal Remittance")],
            [.text("Remittance No."), .text(payment.trace)],
            [.text("Remittance Date"), .date(payment.date)],
            [.text("Paid By"), .text(payment.payer)],
            [.text("Payer ID"), .text(payment.payerID)],
            [],
            [
                .text("Invoice"), .text("Invoice Total"), .text("Cash Discount"), .text("Deduction"),
                .text("Deduction Reason"), .text("Net Paid"),
            ],
        ]
        for line in payment.lines {
            rows.append([
                .text(line.reference), .money(SandboxData.decimal(line.invoiceCents)),
                .money(SandboxData.decimal(line.discountCents)),
                line.deductionCents > 0 ? .money(SandboxData.decimal(line.deductionCents)) : .empty,
                line.deductionCents > 0 ? .text("\(line.deductionCode) \(line.deductionText)") : .empty,
                .money(SandboxData.decimal(line.paidCents)),
            ])
        }
        if payment.promotionCents > 0 {
            rows.append([
                .text("PROMOTION"), .empty, .empty, .money(SandboxData.decimal(payment.promotionCents)),
                .text("PROMO Co-op promotion"),
                .money("-" + SandboxData.decimal(payment.promotionCents)),
            ])
        }
        rows.append([.text("Total"), .empty, .empty, .empty, .empty, .money(SandboxData.decimal(payment.totalCents))])
        return SandboxWorkbook.xlsx(sheet: "Remittance", rows: rows)
    }

    /// The sandbox-json-api's JSON remittance for one payment (the API gives JSON to some accounts,
    /// X12 to others): lines with their adjustments, payment-level adjustments, amounts as text.
    public func jsonAPIRemittanceJSON(_ payment: Payment) -> String {
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        let lines = payment.lines.map { line -> String in
            let adjustments =
                line.deductionCents > 0
                ? "[{\"code\":\(quoted(line.deductionCode)),\"text\":\(quoted(line.deductionText)),\"amount\":\"-\(SandboxData.decimal(line.deductionCents))\",\"reference\":\(quoted(line.deductionReference))}]"
                : "[]"
            return
                "{\"invoice\":\(quoted(line.reference)),\"invoice_amount\":\"\(SandboxData.decimal(line.invoiceCents))\",\"discount\":\"\(SandboxData.decimal(line.discountCents))\","
                + "\"paid\":\"\(SandboxData.decimal(line.paidCents))\",\"adjustments\":\(adjustments)}"
        }
        let adjustments =
            payment.promotionCents > 0
            ? "[{\"code\":\"PROMO\",\"text\":\"Co-op promotion\",\"amount\":\"-\(SandboxData.decimal(payment.promotionCents))\",\"reference\":\(quoted(payment.promotionReference))}]"
            : "[]"
        return
            "{\"remittance\":{\"trace\":\(quoted(payment.trace)),\"paid_on\":\(quoted(payment.date)),\"payer\":{\"name\":\(quoted(payment.payer)),\"id\":\(quoted(payment.payerID))},"
            + "\"amount\":\"\(SandboxData.decimal(payment.totalCents))\",\"currency\":\"USD\",\"lines\":[\(lines.joined(separator: ","))],\"adjustments\":\(adjustments)}}\n"
    }

    /// Whether the sandbox-json-api gives this client JSON rather than X12.
    public static func jsonAPIGivesJSON(client: String) -> Bool { client == "initech" }

    /// One payment as an X12 820 (004010), balanced: RMR-level ADX for invoice deductions, an
    /// ENT-level ADX (with its NTE) for a promotion taken off the payment.
    public func x12(_ payment: Payment) -> String {
        let date = payment.date.replacingOccurrences(of: "-", with: "")
        var segments = [
            "ST*820*0001",
            "BPR*C*\(SandboxData.decimal(payment.totalCents))*C*ACH*CTX*01*111000025*DA*4455667788*1234567890**01*222000025*DA*9988776655*\(date)",
            "TRN*1*\(payment.trace)*1234567890", "N1*PR*\(payment.payer)*92*\(payment.payerID)",
            "N1*PE*\(payment.client.uppercased()) INC", "ENT*1",
        ]
        if payment.promotionCents > 0 {
            segments.append("ADX*-\(SandboxData.decimal(payment.promotionCents))*CS*ZZ*\(payment.promotionReference)")
            segments.append("NTE**CO-OP PROMOTION")
        }
        for line in payment.lines {
            segments.append(
                "RMR*IV*\(line.reference)*PI*\(SandboxData.decimal(line.paidCents))*\(SandboxData.decimal(line.invoiceCents))"
                    + (line.discountCents > 0 ? "*\(SandboxData.decimal(line.discountCents))" : ""))
            if line.deductionCents > 0 {
                segments.append(
                    "ADX*-\(SandboxData.decimal(line.deductionCents))*\(line.deductionCode)*ZZ*\(line.deductionReference)"
                )
                segments.append("NTE**\(line.deductionText.uppercased())")
            }
        }
        segments.append("SE*\(segments.count + 1)*0001")
        let control = String(format: "%09d", (Int(payment.trace) ?? 1) % 1_000_000_000)
        return
            ([
                "ISA*00*          *00*          *ZZ*\(payment.payerID.padding(toLength: 15, withPad: " ", startingAt: 0))*ZZ*NIGHTJARDEMO   *\(date.dropFirst(2))*0100*U*00401*\(control)*0*P*>",
                "GS*RA*\(payment.payerID)*NIGHTJARDEMO*\(date)*0100*1*X*004010",
            ] + segments + ["GE*1*1", "IEA*1*\(control)"]).joined(separator: "~\n") + "~\n"
    }

    /// Cents as `12.34` (`String(format: "%d.%02d", ...)`, written directly for amounts not below zero).
    static func decimal(_ cents: Int64) -> String {
        guard cents >= 0 else { return String(format: "%d.%02d", cents / 100, cents % 100) }
        let fraction = cents % 100
        return "\(cents / 100)." + (fraction < 10 ? "0\(fraction)" : "\(fraction)")
    }

    static let epochDay: Date = ISO8601DateFormatter().date(from: "1970-01-01T00:00:00Z")!
    static func day(_ iso: String) -> Int {
        Int(ISO8601DateFormatter().date(from: iso + "T00:00:00Z")!.timeIntervalSince1970 / 86_400)
    }
    /// Day `day` since 1970-01-01 as `YYYY-MM-DD` (the core's calendar date, written digit by digit).
    static func iso(_ day: Int) -> String { CalendarDate(daysSinceEpoch: day).description }

    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var out = ""
        var bits: UInt32 = 0
        var count = 0
        for byte in bytes {
            bits = bits << 8 | UInt32(byte)
            count += 8
            while count >= 5 {
                out.append(alphabet[Int(bits >> UInt32(count - 5) & 31)])
                count -= 5
            }
        }
        if count > 0 { out.append(alphabet[Int(bits << UInt32(5 - count) & 31)]) }
        return out
    }
}

// MARK: Supplier documents (a distributor's invoices to a client that is a store)

extension SandboxData {
    /// A distributor's invoice (X12 810) to a client, served by the sandbox-json-api.
    public struct DistributorInvoice: Sendable, Equatable {
        public let id: String
        public let client: String
        public let number: String
        public let date: String
        public let control: String
        /// (supplier item code, quantity, unit price in cents, description)
        public let lines: [(code: String, quantity: Int, priceCents: Int64, description: String)]

        public static func == (a: DistributorInvoice, b: DistributorInvoice) -> Bool { a.id == b.id }
    }

    /// The distributor's items: code, description, unit price in cents.
    static let distributorItems: [(code: String, description: String, cents: Int64)] = [
        ("SB-1001", "ROLLED OATS 1KG", 250), ("SB-1002", "LONG GRAIN RICE 5KG", 999),
        ("SB-1003", "BLACK TEA 50 BAGS", 310),
        ("SB-1004", "STRAWBERRY JAM 340G", 175), ("SB-1005", "OLIVE OIL 1L", 1_295), ("SB-1006", "SPAGHETTI 500G", 129),
        ("SB-1007", "TOMATO PASSATA 700G", 189), ("SB-1008", "GROUND COFFEE 250G", 549),
    ]

    /// Two invoices a week from 1 August per client; the last item is not in any catalogue.
    public var distributorInvoices: [DistributorInvoice] {
        var result: [DistributorInvoice] = []
        let start = SandboxData.day("2026-08-01")
        for (clientIndex, client) in SandboxData.clients.enumerated() {
            for index in 0..<24 {
                let day = start + index * 3 + clientIndex
                var lines: [(String, Int, Int64, String)] = []
                for offset in 0..<(2 + (index + clientIndex) % 4) {
                    let item = SandboxData.distributorItems[
                        (index + offset * 3 + clientIndex) % SandboxData.distributorItems.count]
                    lines.append((item.code, 1 + (index * 7 + offset * 5) % 12, item.cents, item.description))
                }
                if index % 5 == 4 { lines.append(("SB-9999", 1, 1_000, "NEW SEASONAL ITEM")) }
                result.append(
                    DistributorInvoice(
                        id: "si\(client.prefix(2))\(String(format: "%04d", index))", client: client,
                        number: "\(700_000 + clientIndex * 1_000 + index)", date: SandboxData.iso(day),
                        control: String(format: "%04d", index + 1), lines: lines))
            }
        }
        return result
    }

    /// One invoice as an X12 810 (004010) with TDS in implied decimals.
    public func x810(_ invoice: DistributorInvoice) -> String {
        let date = invoice.date.replacingOccurrences(of: "-", with: "")
        var segments = [
            "ST*810*\(invoice.control)", "BIG*\(date)*\(invoice.number)*\(date)*PO\(invoice.number)",
            "N1*VN*SANDBOX DISTRIBUTION*92*SBD-77",
            "N1*ST*\(invoice.client.uppercased()) STORE 1*92*\(invoice.client.uppercased())-ST1",
        ]
        var total: Int64 = 0
        for (index, line) in invoice.lines.enumerated() {
            segments.append(
                "IT1*\(index + 1)*\(line.quantity)*EA*\(SandboxData.decimal(line.priceCents))**VN*\(line.code)")
            segments.append("PID*F****\(line.description)")
            total += Int64(line.quantity) * line.priceCents
        }
        segments += ["TDS*\(total)", "CTT*\(invoice.lines.count)"]
        segments.append("SE*\(segments.count + 1)*\(invoice.control)")
        let control = String(format: "%09d", Int(invoice.number) ?? 1)
        return
            ([
                "ISA*00*          *00*          *ZZ*SANDBOXAPI     *ZZ*NIGHTJARDEMO   *\(date.dropFirst(2))*0900*U*00401*\(control)*0*P*>",
                "GS*IN*SANDBOXAPI*NIGHTJARDEMO*\(date)*0900*1*X*004010",
            ] + segments + ["GE*1*1", "IEA*1*\(control)"]).joined(separator: "~\n") + "~\n"
    }

    /// A client's catalogue files as its ERP would export them: suppliers, locations, products.
    public func catalogCSVs(client: String) -> [(name: String, text: String)] {
        let products = [
            "OAT-1,Rolled oats 1 kg,SBD,SB-1001", "RICE-5,Rice 5 kg,SBD,SB-1002",
            "TEA-50,Black tea 50 bags,SBD,SB-1003",
            "JAM-1,Strawberry jam,SBD,SB-1004", "OIL-1,Olive oil 1 l,SBD,SB-1005",
            "PASTA-5,Spaghetti 500 g,SBD,SB-1006",
            "PASS-7,Tomato passata,SBD,SB-1007", "COF-25,Ground coffee 250 g,SBD,SB-1008",
        ]
        return [
            ("\(client)-suppliers.csv", "supplier,name,their_code\nSBD,Sandbox Distribution,SBD-77\n"),
            (
                "\(client)-locations.csv",
                "location,name,their_code\nS1,\(client.capitalized) Store 1,\(client.uppercased())-ST1\n"
            ),
            ("\(client)-products.csv", "sku,name,supplier,reorder_number\n" + products.joined(separator: "\n") + "\n"),
        ]
    }
}
