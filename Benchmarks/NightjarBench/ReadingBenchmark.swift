import Foundation
import NightjarAgent
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarStore

/// Reading at memory speed: X12 parsing beside a byte scan of the same file, imports beside raw
/// SQLite inserts of the same rows, and a 1 GB delimited file in bounded memory.

/// Peak resident memory so far (VmHWM), in MiB.
func highWaterMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

/// Writes a generated 820 (`payments` sets of `lines` RMR lines with REF, DTM and ADX) to `path` a payment at a time.
func write820(to path: String, payments: Int, lines: Int) throws -> Int {
    FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var size = 0
    func emit(_ text: String) throws {
        let data = Data(text.utf8)
        size += data.count
        try handle.write(contentsOf: data)
    }
    try emit820(payments: payments, lines: lines, emit)
    return size
}

func migratedDatabase(_ path: String) throws -> Database {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let database = try Database(path: path)
    try Migrator.migrate(
        database,
        LedgerSchema.statements.enumerated().map {
            Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
        })
    return database
}

/// X12 820 parsing on one core, beside memchr counting the segment terminators of the same bytes.
func x12ParseThroughput() throws -> [Figure] {
    let bytes = generated820(payments: 2_000, lines: 250)
    var payments = 0
    let seconds = try timePerIteration(minimum: 3) {
        payments = 0
        try RemittanceAdviceReader.forEach(MemorySource(bytes), defaultCurrency: .usd) { _ in payments += 1 }
    }
    precondition(payments == 2_000)
    var summary = X12Reader.Summary()
    let structure = try timePerIteration(minimum: 3) { summary = try X12Reader.summary(MemorySource(bytes)) }
    precondition(summary.transactionSets["820"] == 2_000)
    var terminators = 0
    let scan = timePerIteration(minimum: 3) {
        terminators = 0
        bytes.withUnsafeBufferPointer { buffer in
            var cursor = UnsafeRawPointer(buffer.baseAddress!)
            var left = buffer.count
            while left > 0, let found = memchr(cursor, Int32(UInt8(ascii: "~")), left) {
                terminators += 1
                left -= cursor.distance(to: UnsafeRawPointer(found)) + 1
                cursor = UnsafeRawPointer(found) + 1
            }
        }
    }
    precondition(terminators > 2_000_000)
    let megabytes = Double(bytes.count) / 1e6
    return [
        Figure(
            benchmark: "x12 820 parse into payments (\(bytes.count / 1_000_000) MB, \(payments * 250) lines)",
            value: megabytes / seconds,
            unit: "MB/s", goal: ">= 300 MB/s"),
        Figure(benchmark: "x12 820 parse time / memchr scan time", value: seconds / scan, unit: "x", goal: "<= 3x"),
        Figure(
            benchmark:
                "x12 reader: every segment and element located, envelopes checked (\(summary.segments) segments)",
            value: megabytes / structure,
            unit: "MB/s", goal: ">= 300 MB/s"),
        Figure(benchmark: "x12 reader time / memchr scan time", value: structure / scan, unit: "x", goal: "<= 3x"),
        Figure(
            benchmark: "x12 baseline: memchr for each '~' of the same bytes", value: megabytes / scan, unit: "MB/s",
            goal: nil),
    ]
}

/// Importing 1,000,000 lines from a file (hash, parse, store), beside raw inserts of the same rows.
func importMillionLines() throws -> [Figure] {
    let folder = NSTemporaryDirectory() + "/nightjar-bench-import-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/big.x12"
    let size = try write820(to: path, payments: 4_000, lines: 250)
    let before = highWaterMiB()
    let database = try migratedDatabase(folder + "/import.sqlite")
    let importer = RemittanceFileImporter(defaultCurrency: .usd, profiles: [])
    var lines = 0
    let importCPU = cpuSeconds()
    let seconds = try measure {
        guard
            case .imported(let result) = try importer.importFile(
                try InputFile(path: path), name: "big.x12", client: "bench", portal: nil,
                into: Ledger(database: database))
        else { throw GeneralError(code: "bench", message: "not imported", exitStatus: .failure) }
        lines = result.lines
    }
    let importCPUSeconds = cpuSeconds() - importCPU
    let peak = highWaterMiB()
    precondition(lines == 1_000_000)

    // The baseline: the same rows, already in memory, through prepared statements in one transaction.
    let advices = try RemittanceAdviceReader.read(
        Array(try Data(contentsOf: URL(fileURLWithPath: path))), defaultCurrency: .usd)
    let raw = try migratedDatabase(folder + "/raw.sqlite")
    try raw.execute("INSERT INTO client (id, created_at) VALUES ('bench', '2026-01-01T00:00:00Z')")
    try raw.execute(
        "INSERT INTO source_file (client_id, sha256, original_name, kind, format, size, imported_at) VALUES ('bench', 'x', 'big.x12', 'remittance', 'x12-820', 0, 'now')"
    )
    try raw.execute("PRAGMA foreign_keys = OFF")
    // The page cache the ledger's import uses, so the two write alike.
    try raw.execute("PRAGMA cache_size = \(Ledger.importCacheKiB)")
    let rawCPU = cpuSeconds()
    let rawSeconds = try measure {
        try raw.transaction {
            let batch = try raw.prepared(
                """
                INSERT INTO remittance_batch (client_id, source_file_id, position, control_number, payer_name, payer_id_qualifier, payer_id,
                    trace_number, payment_date, payment_method, receiving_account_masked, total_minor, remitted_minor, difference_minor,
                    currency, balanced, source_location, currency_declared, findings)
                VALUES ('bench', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'USD', 1, ?, 1, '[]')
                """)
            // The rows the import writes (RemittanceWriter): one per line, its PO reference and its one
            // plain adjustment on it, the same number of lines to a statement; rows of their own
            // only for what a line adds.
            let perStatement = RemittanceWriter.linesPerStatement
            let lines = try raw.prepared(RemittanceWriter.insertLinesSQL(rows: perStatement))
            let line = try raw.prepared(RemittanceWriter.insertLinesSQL(rows: 1))
            let adjustment = try raw.prepared(
                """
                INSERT INTO remittance_adjustment (batch_id, line_id, amount_minor, reason_code, reference, source_location, reason_text,
                    reference_qualifier, invoice_reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let reference = try raw.prepared(
                "INSERT INTO document_reference (batch_id, line_id, adjustment_id, qualifier, value, source_location) VALUES (?, ?, NULL, ?, ?, ?)"
            )
            var lineID: Int64 = 0
            var waiting = 0
            for (position, advice) in advices.enumerated() {
                batch.bind(Int64(position), at: 1)
                batch.bind(advice.controlNumber, at: 2)
                batch.bind(advice.payer?.name, at: 3)
                batch.bind(advice.payer?.idQualifier, at: 4)
                batch.bind(advice.payer?.id, at: 5)
                batch.bind(advice.traceNumber, at: 6)
                batch.bind("2026-11-24", at: 7)
                batch.bind(advice.paymentMethod, at: 8)
                batch.bind("xxxx4321", at: 9)
                batch.bind(advice.total.minorUnits, at: 10)
                batch.bind(advice.total.minorUnits, at: 11)
                batch.bind(Int64(0), at: 12)
                batch.bind(Int64(advice.segment), at: 13)
                try batch.run()
                let batchID = raw.lastInsertRowID
                for (index, row) in advice.lines.enumerated() {
                    lineID += 1
                    let poReference = row.references.first?.qualifier == "PO"
                    let own = row.adjustments.count == 1 && RemittanceWriter.isPlain(row.adjustments[0])
                    let references = poReference ? row.references.dropFirst() : row.references[...]
                    let alone = !references.isEmpty || (!own && !row.adjustments.isEmpty)
                    let statement = alone ? line : lines
                    let base = alone ? 0 : Int32(waiting * 17)
                    statement.bind(lineID, at: base + 1)
                    statement.bind(batchID, at: base + 2)
                    statement.bind(Int64(index), at: base + 3)
                    statement.bind(row.referenceQualifier, at: base + 4)
                    statement.bind(row.reference, at: base + 5)
                    statement.bind(row.paymentAction, at: base + 6)
                    statement.bind(row.amountPaid.minorUnits, at: base + 7)
                    statement.bind(row.invoiceAmount?.minorUnits, at: base + 8)
                    statement.bind(row.discount?.minorUnits, at: base + 9)
                    statement.bind(row.references.first { $0.qualifier == "PO" }?.value, at: base + 10)
                    statement.bind(Int64(row.segment), at: base + 11)
                    statement.bind(String?.none, at: base + 12)
                    statement.bind("2026-11-01", at: base + 13)
                    statement.bind(poReference ? 1 : 0, at: base + 14)
                    statement.bind(own ? row.adjustments[0].amount.minorUnits : nil, at: base + 15)
                    statement.bind(own ? row.adjustments[0].reasonCode : nil, at: base + 16)
                    statement.bind(own ? Int64(row.adjustments[0].segment) : nil, at: base + 17)
                    if !alone {
                        waiting += 1
                        if waiting == perStatement {
                            try lines.run()
                            waiting = 0
                        }
                        continue
                    }
                    try line.run()
                    for item in references {
                        reference.bind(batchID, at: 1)
                        reference.bind(lineID, at: 2)
                        reference.bind(item.qualifier, at: 3)
                        reference.bind(item.value, at: 4)
                        reference.bind(Int64(row.segment), at: 5)
                        try reference.run()
                    }
                    for item in own ? [] : row.adjustments {
                        adjustment.bind(batchID, at: 1)
                        adjustment.bind(lineID, at: 2)
                        adjustment.bind(item.amount.minorUnits, at: 3)
                        adjustment.bind(item.reasonCode, at: 4)
                        adjustment.bind(item.reference, at: 5)
                        adjustment.bind(Int64(item.segment), at: 6)
                        adjustment.bind(item.reasonText, at: 7)
                        adjustment.bind(item.referenceQualifier, at: 8)
                        adjustment.bind(item.invoice, at: 9)
                        try adjustment.run()
                    }
                }
            }
            // The generated file's lines come in whole statements (250 to a payment).
            precondition(waiting == 0)
        }
    }
    let rawCPUSeconds = cpuSeconds() - rawCPU
    // An honest baseline writes what the import wrote: the same rows in every table.
    for table in ["remittance_batch", "remittance_line", "remittance_adjustment", "document_reference"] {
        let count = "SELECT count(*) FROM \(table)"
        let imported = try database.scalar(Int64.self, count)
        let inserted = try raw.scalar(Int64.self, count)
        precondition(imported == inserted, "\(table): not the same rows")
    }
    // Elapsed times on a shared machine depend on the neighbours; CPU times much less.
    return [
        Figure(
            benchmark: "import \(lines) remittance lines from a \(size / 1_000_000) MB 820 file (hash, parse, store)",
            value: seconds, unit: "s", goal: "< 3 s"),
        Figure(
            benchmark: "import baseline: raw inserts of the same rows, one transaction", value: rawSeconds, unit: "s",
            goal: nil),
        Figure(benchmark: "import time / raw inserts time", value: seconds / rawSeconds, unit: "x", goal: "<= 2x"),
        Figure(benchmark: "  import CPU time", value: importCPUSeconds, unit: "s", goal: nil),
        Figure(benchmark: "  raw inserts CPU time", value: rawCPUSeconds, unit: "s", goal: nil),
        Figure(
            benchmark: "  import CPU / raw inserts CPU", value: importCPUSeconds / rawCPUSeconds, unit: "x", goal: nil),
        Figure(
            benchmark: "import peak RSS (VmHWM after the import; \(String(format: "%.0f", before)) MiB before)",
            value: peak, unit: "MiB", goal: "< 400 MiB"),
    ]
}

/// Importing a 1 GB delimited file (a payments export) by profile, in bounded memory.
func importLargeDelimited(megabytes: Int) throws -> [Figure] {
    let folder = NSTemporaryDirectory() + "/nightjar-bench-csv-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/export.csv"
    FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    var size = 0
    var rows = 0
    var chunk = "Payment Number,Payment Date,Payer,Invoice Number,Invoice Amount,Amount Paid,Reason Code,Memo\n"
    var payment = 0
    while size < megabytes * 1_000_000 {
        payment += 1
        for line in 0..<500 {
            let cents = 10_000 + (payment * 7 + line * 13) % 90_000
            chunk +=
                "PAY\(payment),2026-11-\(String(format: "%02d", payment % 28 + 1)),\"Retailer \(payment % 97), Inc.\",INV\(payment)-\(line),"
                + "\(cents / 100).\(String(format: "%02d", cents % 100)),\(cents / 100).\(String(format: "%02d", cents % 100)),,paid in full as agreed on the portal\n"
            rows += 1
        }
        if chunk.utf8.count > 1 << 20 {
            size += chunk.utf8.count
            try handle.write(contentsOf: Data(chunk.utf8))
            chunk = ""
        }
    }
    size += chunk.utf8.count
    try handle.write(contentsOf: Data(chunk.utf8))
    try handle.close()
    let profile = try LayoutProfileParser.parse(
        """
        name = payments-export
        kind = remittance
        separator = ","
        date_format = "yyyy-MM-dd"
        currency = USD

        [columns]
        payment_reference = "Payment Number"
        payment_date = "Payment Date"
        payer = "Payer"
        reference = "Invoice Number"
        invoice_amount = "Invoice Amount"
        amount_paid = "Amount Paid"
        deduction_code = "Reason Code"
        """, file: "payments-export.profile")
    let before = highWaterMiB()
    let database = try migratedDatabase(folder + "/import.sqlite")
    var lines = 0
    var batches = 0
    let seconds = try measure {
        let importer = RemittanceFileImporter(defaultCurrency: .usd, profiles: [profile])
        guard
            case .imported(let result) = try importer.importFile(
                try InputFile(path: path), name: "export.csv", client: "bench", portal: nil,
                into: Ledger(database: database))
        else { throw GeneralError(code: "bench", message: "not imported", exitStatus: .failure) }
        lines = result.lines
        batches = result.batches
    }
    precondition(lines == rows)
    return [
        Figure(
            benchmark:
                "import a \(size / 1_000_000) MB delimited file (\(lines) lines, \(batches) payments), by profile",
            value: seconds, unit: "s", goal: nil),
        Figure(benchmark: "  its rate", value: Double(size) / 1e6 / seconds, unit: "MB/s", goal: nil),
        Figure(
            benchmark: "  peak RSS (VmHWM; \(String(format: "%.0f", before)) MiB before)", value: highWaterMiB(),
            unit: "MiB", goal: "< 200 MiB"),
    ]
}
