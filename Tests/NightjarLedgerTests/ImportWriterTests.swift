import Foundation
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarStore
import Testing

/// The import reads a file on one thread and stores it on another (or, for payments already in
/// memory, hands them over on the caller's thread): whichever side fails, the failure is what
/// the caller gets, nothing is stored, and neither side is left waiting.
@Suite("Import: reading beside storing")
struct ImportWriterTests {
    /// An 820 of `payments` payments of three lines each (REF*PO and one ADX on each line).
    static func x12(payments: Int) -> [UInt8] {
        var text =
            "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*000000001*0*P*>~"
            + "GS*RA*S*R*20261124*0100*1*X*004010~"
        for payment in 1...payments {
            text +=
                "ST*820*\(payment)~BPR*C*297.00*C*ACH*CTX*01*111000025*DA*123456789*1234567890**01*222000025*DA*987654321*20261124~"
            text += "TRN*1*T\(payment)*1234567890~N1*PR*RETAILER CO*92*V123~ENT*1~"
            for line in 1...3 { text += "RMR*IV*INV-\(payment)-\(line)*PI*99.00*100.00~REF*PO*PO\(line)~ADX*-1.00*01~" }
            text += "SE*15*\(payment)~"
        }
        return Array((text + "GE*\(payments)*1~IEA*1*000000001~").utf8)
    }

    static func counts(_ database: Database) throws -> [Int64] {
        try ["source_file", "remittance_batch", "remittance_line", "remittance_adjustment", "document_reference"].map {
            try database.scalar(Int64.self, "SELECT count(*) FROM \($0)") ?? -1
        }
    }

    @Test(arguments: [false, true])
    func aStoreFailureWhileTheReaderWaitsStopsBothAndStoresNothing(inMemory: Bool) throws {
        let database = try ledgerDatabase()
        // The 41st line fails, long after the reader has filled the hand-over and waits on it.
        try database.execute(
            "CREATE TRIGGER fail_late BEFORE INSERT ON remittance_line WHEN NEW.id = 41 BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        let bytes = ImportWriterTests.x12(payments: 200)
        #expect(throws: StoreError.self) {
            try Ledger(database: database).importRemittances(
                sha256: "a", size: bytes.count, name: "a.x12", client: "acme", format: "x12-820", inMemory: inMemory
            ) { writer in
                try RemittanceAdviceReader.forEach(MemorySource(bytes), defaultCurrency: .usd) {
                    try writer.write($0, position: nil)
                }
            }
        }
        #expect(try ImportWriterTests.counts(database) == [0, 0, 0, 0, 0])
    }

    @Test(arguments: [false, true])
    func aReadingFailureAfterPaymentsWereStoredIsThrownAndStoresNothing(inMemory: Bool) throws {
        let database = try ledgerDatabase()
        let bytes = ImportWriterTests.x12(payments: 50)
        struct Broken: Error {}
        var read = 0
        #expect(throws: Broken.self) {
            try Ledger(database: database).importRemittances(
                sha256: "b", size: bytes.count, name: "b.x12", client: "acme", format: "x12-820", inMemory: inMemory
            ) { writer in
                try RemittanceAdviceReader.forEach(MemorySource(bytes), defaultCurrency: .usd) {
                    read += 1
                    if read == 40 { throw Broken() }
                    try writer.write($0, position: nil)
                }
            }
        }
        #expect(read == 40)
        #expect(try ImportWriterTests.counts(database) == [0, 0, 0, 0, 0])
    }

    @Test func everyLineIsOneRowWithItsPOAndItsPlainAdjustmentAndTheAnswersSayTheSame() throws {
        let database = try ledgerDatabase()
        let ledger = Ledger(database: database)
        let bytes = ImportWriterTests.x12(payments: 70)
        let result = try ledger.importRemittances(
            try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd), bytes: bytes, name: "c.x12",
            client: "acme", format: "x12-820")
        #expect(result.batches == 70 && result.lines == 210)
        // 210 lines: 4 full statements of 50 and 10 written one by one, ids in file order.
        #expect(try ImportWriterTests.counts(database) == [1, 70, 210, 0, 0])
        #expect(
            try database.scalar(
                Int64.self,
                "SELECT count(*) FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id WHERE l.id = (b.id - 1) * 3 + l.position + 1"
            ) == 210)
        let view = try #require(try ledger.batchView(70))
        #expect(
            view.lines.map { $0.references.map { "\($0.qualifier) \($0.value)" } } == (1...3).map { ["PO PO\($0)"] })
        #expect(view.lines.map { $0.adjustments.map(\.amount) } == [["-1.00"], ["-1.00"], ["-1.00"]])
        #expect(try ledger.batch(70)?.lines.map(\.adjustments) == [["-1.00 01"], ["-1.00 01"], ["-1.00 01"]])
        let trace = try ledger.trace(reference: "PO2")
        #expect(trace.appearances.count == 70 && trace.appearances.allSatisfy { $0.foundAs == "PO" && $0.line == 2 })
        #expect(trace.appearances.map(\.batch) == Array(1...70))
    }

    /// Payments handed over in memory are stored exactly as those read beside the writes: every
    /// row of every table the import writes, ids included.
    @Test func paymentsHandedInMemoryAreStoredAsPaymentsReadBesideTheWrites() throws {
        let bytes = ImportWriterTests.x12(payments: 130)
        var dumps: [[String]] = []
        for inMemory in [false, true] {
            let database = try ledgerDatabase()
            let result = try Ledger(database: database).importRemittances(
                sha256: "c", size: bytes.count, name: "c.x12", client: "acme", format: "x12-820", inMemory: inMemory
            ) { writer in
                try RemittanceAdviceReader.forEach(MemorySource(bytes), defaultCurrency: .usd) {
                    try writer.write($0, position: nil)
                }
            }
            #expect(result.batches == 130 && result.lines == 390)
            var dump: [String] = []
            for table in ["remittance_batch", "remittance_line", "remittance_adjustment", "document_reference"] {
                for row in try database.query("SELECT * FROM \(table) ORDER BY id", []) {
                    dump.append(
                        table + ": " + zip(row.columns, row.values).map { "\($0)=\($1)" }.joined(separator: " "))
                }
            }
            dumps.append(dump)
        }
        #expect(dumps[0].count == 130 + 390)
        #expect(dumps[0] == dumps[1])
    }
}
