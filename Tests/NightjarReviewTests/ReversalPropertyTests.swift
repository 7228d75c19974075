import Foundation
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarStore
import Testing

@testable import NightjarReview

/// Approving a batch and reversing it leaves the ledger's open amounts exactly as they were, on
/// a thousand random payments (exact, short with and without deductions, over, discounted,
/// unknown references, several lines on one invoice), and each reversal's journal entry undoes
/// the original account by account, dated the day of the reversal.
@Suite("approve then reverse")
struct ReversalPropertyTests {
    /// SplitMix64: the same thousand payments on every run.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    static func database() throws -> Database {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-reversal-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let database = try Database(path: folder + "/ledger.sqlite")
        try Migrator.migrate(
            database,
            LedgerSchema.statements.enumerated().map {
                Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
            })
        return database
    }

    /// An 820 with one payment of `lines` (reference, paid, extra segments).
    static func payment(_ lines: [(String, Int64, [String])], control: Int) -> [UInt8] {
        let number = String(format: "%09d", control)
        let total = lines.map(\.1).reduce(0, +)
        var segments = [
            "ST*820*0001", "BPR*C*\(Money.decimalString(total, digits: 2))*C*ACH*CTX*01*1*DA*1*1**01*2*DA*2*20261120",
            "TRN*1*T\(control)*1", "N1*PR*Retail One*92*V1", "ENT*1",
        ]
        for (reference, paid, extra) in lines {
            segments.append("RMR*IV*\(reference)*PI*\(Money.decimalString(paid, digits: 2))")
            segments += extra
        }
        segments.append("SE*\(segments.count + 1)*0001")
        let text =
            "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*\(number)*0*P*>~GS*RA*S*R*20261124*0100*\(control)*X*004010~"
            + segments.joined(separator: "~") + "~GE*1*\(control)~IEA*1*\(number)~"
        return Array(text.utf8)
    }

    static func openAmounts(_ database: Database) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try database.query("SELECT invoice_number, open_amount_minor FROM open_invoice") {
            result[try row.string("invoice_number")] = try row.int64("open_amount_minor")
        }
        return result
    }

    @Test func approvingThenReversingLeavesEveryOpenAmountAsItWas() throws {
        let database = try ReversalPropertyTests.database()
        let ledger = Ledger(database: database)
        var random = Random(state: 20_261_201)
        // Sixty invoices of one customer, some partly paid already.
        var rows = "customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms\n"
        for index in 1...60 {
            let amount = Int64(1_000 + random.below(500_000))
            let open = random.below(4) == 0 ? amount / 2 : amount
            rows +=
                "C1,INV-\(1000 + index),2026-11-01,2026-12-01,\(Money.decimalString(amount, digits: 2)),\(Money.decimalString(open, digits: 2)),USD,,\n"
        }
        let bytes = Array(rows.utf8)
        _ = try ledger.importOpenInvoices(
            try OpenInvoiceReader.read(bytes, defaultCurrency: .usd), bytes: bytes, name: "open.csv", client: "acme")
        try ledger.addCustomerAlias(client: "acme", alias: "V1", customerID: "C1")
        let initial = try ReversalPropertyTests.openAmounts(database)
        let reversalDay = try CalendarDate(iso: "2026-12-01")
        var settledSomething = 0
        var kinds: Set<String> = []
        for control in 1...1_000 {
            var lines: [(String, Int64, [String])] = []
            for _ in 0..<(1 + random.below(4)) {
                let number = 1001 + random.below(60)
                let open = initial["INV-\(number)"]!
                switch random.below(6) {
                case 0: lines.append(("INV-\(number)", open, []))
                case 1:
                    let short = Int64(1 + random.below(Int(max(1, open / 4))))
                    lines.append(
                        (
                            "INV-\(number)", open - short,
                            ["ADX*-\(Money.decimalString(short, digits: 2))*\(["06", "04", "Z7"][random.below(3)])"]
                        ))
                case 2: lines.append(("INV-\(number)", max(1, open - Int64(1 + random.below(5_000))), []))
                case 3: lines.append(("INV-\(number)", open + Int64(1 + random.below(9_000)), []))
                case 4: lines.append(("INV-\(number)", open * 98 / 100, []))
                default: lines.append(("NOPE-\(random.below(1_000_000))", Int64(1 + random.below(100_000)), []))
                }
            }
            let file = ReversalPropertyTests.payment(lines, control: control)
            _ = try ledger.importRemittances(
                try RemittanceAdviceReader.read(file, defaultCurrency: .usd, file: "p\(control).x12"), bytes: file,
                name: "p\(control).x12", client: "acme", format: "x12-820")
            let id = try #require(try database.scalar(Int64.self, "SELECT max(id) FROM remittance_batch"))
            _ = try ledger.match(client: "acme")
            for status in try database.query("SELECT m.status FROM line_match m WHERE m.batch_id = ?", [id]) {
                kinds.insert(try status.string("status"))
            }
            let before = try ReversalPropertyTests.openAmounts(database)
            #expect(before == initial, "payment \(control): the ledger did not start where it was")
            _ = try ledger.approve(batch: id, actor: "carol", acceptingExceptions: "property test")
            if try ReversalPropertyTests.openAmounts(database) != before { settledSomething += 1 }
            let settlement = try ledger.reverse(batch: id, actor: "alice", reason: "property test", on: reversalDay)
            let after = try ReversalPropertyTests.openAmounts(database)
            #expect(
                after == before,
                "payment \(control) (\(lines.map { "\($0.0) \($0.1)" })): approve then reverse changed \(after.filter { before[$0.key] != $0.value })"
            )
            if control % 25 == 0 {
                // The journal: the original and its reversal cancel account by account.
                let reversed = try ledger.settlement(batch: id)
                let entries = GLExport.entries(for: reversed, accounts: AccountMapping())
                #expect(entries.count == 2 && entries.allSatisfy(\.isBalanced))
                #expect(entries.last?.date == "2026-12-01" && entries.first?.date == "2026-11-20")
                var net: [String: Int64] = [:]
                for posting in entries.flatMap(\.postings) {
                    net[posting.account, default: 0] += posting.amount.minorUnits
                }
                #expect(net.values.allSatisfy { $0 == 0 }, "\(net)")
                #expect(settlement.batch == id)
            }
        }
        // The property was tested on payments that moved money, of every kind.
        #expect(settledSomething > 600, "only \(settledSomething) approvals changed an open amount")
        #expect(kinds.isSuperset(of: ["paid_in_full", "short_paid", "over_paid", "unknown_reference"]), "\(kinds)")
        #expect(try ReversalPropertyTests.openAmounts(database) == initial)
    }
}
