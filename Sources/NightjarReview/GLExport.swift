import Foundation
public import NightjarCore
public import NightjarLedger

/// Account names for the journal, editable per workspace (`gl-accounts.conf`: `key = Account`).
public struct AccountMapping: Sendable, Equatable {
    /// Payments received but not yet seen in the bank: a remittance advice is not cash.
    public var clearing = "Assets:Clearing:Remittances"
    /// Receivables, one sub-account per customer.
    public var receivable = "Assets:Receivable"
    public var discount = "Expenses:Discounts-Allowed"
    public var writeOff = "Expenses:Write-Offs"
    public var unapplied = "Liabilities:Unapplied-Cash"
    /// Deduction expense accounts by type (`deduction.shortage = Expenses:Deductions:Shortage`).
    public var deductions: [String: String] = [:]

    public init() {}

    public func deduction(_ type: String) -> String {
        deductions[type] ?? "Expenses:Deductions:" + AccountMapping.component(type)
    }

    public func receivable(customer: String?) -> String {
        receivable + ":" + AccountMapping.component(customer ?? "Unknown")
    }

    /// An account name component both hledger and beancount accept: starts with a capital
    /// letter, then letters, digits and dashes.
    public static func component(_ text: String) -> String {
        var result = String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
        if let first = result.first, first.isLowercase { result = first.uppercased() + result.dropFirst() }
        if let first = result.first, !first.isLetter { result = "X" + result }
        return result.isEmpty ? "Unknown" : result
    }

    /// Reads `key = Account` lines (`#` comments); unknown keys are errors with their line.
    public static func parse(_ text: String, file: String) throws -> AccountMapping {
        if let location = NULByte.location(in: text, file: file) {
            throw GeneralError(
                code: "input.nul_byte", message: NULByteError(field: "GL account mapping").message, location: location,
                exitStatus: .config)
        }
        var mapping = AccountMapping()
        for (offset, raw) in text.textLines.enumerated() {
            let line =
                raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            guard parts.count == 2, !parts[1].isEmpty,
                parts[1].split(separator: ":").allSatisfy({ component(String($0)) == String($0) })
            else {
                throw GeneralError(
                    code: "gl.accounts",
                    message: "expected `key = Account:Name` (components start with a capital letter)",
                    location: SourceLocation(file: file, line: offset + 1, column: 1), exitStatus: .config)
            }
            switch parts[0] {
            case "clearing": mapping.clearing = parts[1]
            case "receivable": mapping.receivable = parts[1]
            case "discount": mapping.discount = parts[1]
            case "write_off": mapping.writeOff = parts[1]
            case "unapplied": mapping.unapplied = parts[1]
            case let key where key.hasPrefix("deduction."):
                mapping.deductions[String(key.dropFirst("deduction.".count))] = parts[1]
            default:
                throw GeneralError(
                    code: "gl.accounts",
                    message:
                        "unknown key `\(parts[0])` (clearing, receivable, discount, write_off, unapplied, deduction.TYPE)",
                    location: SourceLocation(file: file, line: offset + 1, column: 1), exitStatus: .config)
            }
        }
        return mapping
    }
}

/// One balanced journal entry.
public struct JournalEntry: Sendable, Codable {
    public struct Posting: Sendable, Codable {
        public let account: String
        /// Debit positive, credit negative.
        public let amount: Money
        public let memo: String?
    }

    public let date: String
    public let payee: String
    public let description: String
    public let postings: [Posting]

    /// Whether debits equal credits in every currency.
    public var isBalanced: Bool {
        var sums: [CurrencyCode: Int64] = [:]
        for posting in postings { sums[posting.amount.currency, default: 0] += posting.amount.minorUnits }
        return sums.values.allSatisfy { $0 == 0 }
    }
}

/// Journal entries for a batch, in the formats general ledgers take.
public enum GLExport {
    public enum Format: String, Sendable, CaseIterable {
        case csv, json, hledger, beancount
    }

    /// The batch's entry: the payment into clearing, each invoice's receivable settled, discounts,
    /// deductions by type, write-offs and unapplied cash. A reversed batch gets its reversal too.
    public static func entries(for settlement: BatchSettlement, accounts: AccountMapping) -> [JournalEntry] {
        let currency = settlement.total.currency
        func money(_ value: Int64) -> Money { Money(minorUnits: value, currency: currency) }
        var postings: [JournalEntry.Posting] = [
            .init(
                account: accounts.clearing, amount: settlement.total,
                memo: settlement.traceNumber.map { "payment \($0)" })
        ]
        var cash: Int64 = 0
        for line in settlement.lines {
            let deductions = line.deductions.map(\.amount.minorUnits).reduce(0, +)
            // `applied` closes the invoice; the cash in it is what is left after discount, deductions and write-off.
            let settled = line.applied.minorUnits
            if line.invoice != nil {
                // A debit memo settles nothing (its negative cash and its deduction cancel on the invoice) but still moves cash.
                if settled != 0 {
                    postings.append(
                        .init(
                            account: accounts.receivable(customer: line.customer), amount: money(-settled),
                            memo: "\(line.invoice ?? line.reference) (line \(line.position + 1))"))
                }
                cash += settled - line.discount.minorUnits - deductions - line.writeOff.minorUnits
            }
            if line.discount.minorUnits != 0 {
                postings.append(
                    .init(account: accounts.discount, amount: line.discount, memo: line.invoice ?? line.reference))
            }
            if line.writeOff.minorUnits != 0 {
                postings.append(
                    .init(account: accounts.writeOff, amount: line.writeOff, memo: line.invoice ?? line.reference))
            }
            for deduction in line.deductions where deduction.amount.minorUnits != 0 {
                postings.append(
                    .init(
                        account: accounts.deduction(deduction.type), amount: deduction.amount,
                        memo:
                            "\(line.invoice ?? line.reference) \(deduction.type)\(deduction.reasonCode.map { " (\($0))" } ?? "")"
                    ))
            }
        }
        // Whatever the payment carries beyond the cash applied to invoices is unapplied cash.
        let rest = settlement.total.minorUnits - cash
        if rest != 0 {
            postings.append(.init(account: accounts.unapplied, amount: money(-rest), memo: "unapplied cash"))
        }
        let payee = settlement.payer ?? "Unknown payer"
        let date = settlement.paymentDate ?? "1970-01-01"
        let entry = JournalEntry(
            date: date, payee: payee,
            description:
                "Remittance \(settlement.traceNumber ?? "-") (batch \(settlement.batch), \(settlement.client))",
            postings: postings)
        guard settlement.status == "reversed" else { return [entry] }
        // Dated the day it was reversed (an earlier period may be closed), never the payment's day.
        let reversal = JournalEntry(
            date: settlement.reversedOn ?? date, payee: payee, description: "Reversal of " + entry.description,
            postings: postings.map {
                .init(
                    account: $0.account, amount: Money(minorUnits: -$0.amount.minorUnits, currency: $0.amount.currency),
                    memo: $0.memo)
            })
        return [entry, reversal]
    }

    public static func render(_ entries: [JournalEntry], format: Format) -> String {
        switch format {
        case .csv: return csv(entries)
        case .json: return json(entries)
        case .hledger: return hledger(entries)
        case .beancount: return beancount(entries)
        }
    }

    /// A cell safe from spreadsheet formula injection: one starting with =, +, -, @ (or a tab or
    /// carriage return) is prefixed with a quote; quotes and separators are escaped.
    public static func cell(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        if value.contains(",") || value.contains("\"") || value.contains("\n") || value.hasPrefix("'") {
            value = "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }

    static func csv(_ entries: [JournalEntry]) -> String {
        var lines = ["date,entry,payee,account,debit,credit,currency,memo"]
        for (index, entry) in entries.enumerated() {
            for posting in entry.postings {
                let positive = Money(minorUnits: abs(posting.amount.minorUnits), currency: posting.amount.currency)
                    .decimalString
                lines.append(
                    [
                        entry.date, String(index + 1), cell(entry.payee), cell(posting.account),
                        posting.amount.minorUnits >= 0 ? positive : "", posting.amount.minorUnits < 0 ? positive : "",
                        posting.amount.currency.description, cell(posting.memo ?? ""),
                    ].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json(_ entries: [JournalEntry]) -> String {
        let object: [String: Any] = [
            "entries": entries.map { entry -> [String: Any] in
                [
                    "date": entry.date, "payee": entry.payee, "description": entry.description,
                    "postings": entry.postings.map {
                        [
                            "account": $0.account, "amount": $0.amount.decimalString,
                            "currency": $0.amount.currency.description,
                            "memo": $0.memo ?? "",
                        ]
                    },
                ]
            }
        ]
        let data =
            (try? JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func accounts(_ entries: [JournalEntry]) -> [String] {
        Array(Set(entries.flatMap { $0.postings.map(\.account) })).sorted()
    }
    static func currencies(_ entries: [JournalEntry]) -> [String] {
        Array(Set(entries.flatMap { $0.postings.map(\.amount.currency.description) })).sorted()
    }

    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: ";", with: ",")
    }

    static func hledger(_ entries: [JournalEntry]) -> String {
        var text = "; Nightjar remittance export\n"
        for currency in currencies(entries) { text += "commodity 1000.00 \(currency)\n" }
        for account in accounts(entries) { text += "account \(account)\n" }
        for entry in entries {
            text += "\n\(entry.date) \(oneLine(entry.payee)) | \(oneLine(entry.description))\n"
            for posting in entry.postings {
                text +=
                    "    \(posting.account)  \(posting.amount.decimalString) \(posting.amount.currency)"
                    + (posting.memo.map { "  ; \(oneLine($0))" } ?? "") + "\n"
            }
        }
        return text
    }

    static func beancount(_ entries: [JournalEntry]) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var text = "; Nightjar remittance export\n"
        for currency in currencies(entries) { text += "option \"operating_currency\" \"\(currency)\"\n" }
        text += "\n"
        for account in accounts(entries) { text += "1970-01-01 open \(account)\n" }
        for entry in entries {
            text += "\n\(entry.date) * \(quoted(oneLine(entry.payee))) \(quoted(oneLine(entry.description)))\n"
            for posting in entry.postings {
                text += "  \(posting.account)  \(posting.amount.decimalString) \(posting.amount.currency)\n"
                if let memo = posting.memo { text += "    memo: \(quoted(oneLine(memo)))\n" }
            }
        }
        return text
    }
}
