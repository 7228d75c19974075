import Foundation
import NightjarCore
import NightjarDocuments
import NightjarStore
import Testing

@testable import NightjarLedger

/// Imports and matching leave foreign-key checks on for a small file or a client's few new lines
/// (turning them off expires every prepared statement) and turn them off for large ones: the rows
/// stored and the decisions are the same either way, and the checks are on again afterwards.
@Suite("Foreign-key checks suspended or not")
struct ForeignKeySuspensionTests {
    static func lines(_ ledger: Ledger) throws -> String {
        try ledger.database.scalar(
            String.self,
            "SELECT json_group_array(json_array(\(RemittanceWriter.lineColumns))) FROM (SELECT * FROM remittance_line ORDER BY id)"
        ) ?? ""
    }

    static func batches(_ ledger: Ledger) throws -> String {
        try ledger.database.scalar(
            String.self,
            """
            SELECT json_group_array(json_array(id, client_id, position, control_number, payer_name, payer_id, trace_number,
                payment_date, total_minor, remitted_minor, difference_minor, currency, balanced, status))
            FROM (SELECT * FROM remittance_batch ORDER BY id)
            """) ?? ""
    }

    static func checksAreOn(_ ledger: Ledger) throws -> Bool {
        try ledger.database.scalar(Int64.self, "PRAGMA foreign_keys") == 1
    }

    @Test func aFileIsStoredAlikeWithChecksOnOrOff() throws {
        let x12 = Array(
            ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*000000001*0*P*>~"
                + "GS*RA*S*R*20261124*0100*1*X*004010~ST*820*0001~BPR*C*54.00*C*ACH*CTX*01*1*DA*1*1**01*2*DA*2*20261120~"
                + "TRN*1*T1*1~N1*PR*RETAILER CO*92*V123~ENT*1~RMR*IV*INV-1*PI*10.00~RMR*IV*INV-4*PI*39.00*40.00~ADX*-1.00*01~"
                + "RMR*IV*NOPE*PI*5.00~SE*10*0001~GE*1*1~IEA*1*000000001~").utf8)
        let advices = try RemittanceAdviceReader.read(x12, defaultCurrency: .usd)
        var stored: [String] = []
        for size in [x12.count, Ledger.bytesWorthSuspendingForeignKeys] {
            let ledger = Ledger(database: try ledgerDatabase())
            let result = try ledger.importRemittances(
                sha256: String(repeating: "ab", count: 32), size: size, name: "p.x12", client: "acme", format: "x12-820"
            ) { writer in
                for advice in advices { try writer.write(advice) }
            }
            #expect(result.lines == 3)
            #expect(try Self.checksAreOn(ledger))
            stored.append(try Self.lines(ledger) + "\n" + (try Self.batches(ledger)))
        }
        #expect(stored[0] == stored[1])
        #expect(stored[0].contains("INV-4"))
    }

    @Test func aClientsLinesAreDecidedAlikeWithChecksOnOrOff() throws {
        var outcomes: [[String]] = []
        for from: Int64 in [.max, 0] {
            let ledger = try MatchingConnectionTests.workspace(payments: 6)
            let run = try ledger.match(
                client: "acme", scope: .newBatches, rules: .standard, linesPerTransaction: 10,
                secondConnectionFrom: .max, suspendingForeignKeysFrom: from, beforeCommit: {}, afterCommit: { _ in })
            #expect(run.batches.count == 6)
            #expect(try Self.checksAreOn(ledger))
            outcomes.append(try MatchingConnectionTests.decisions(ledger) + [try Self.batches(ledger)])
        }
        #expect(outcomes[0] == outcomes[1])
        #expect(outcomes[0].count == 19)
    }
}
