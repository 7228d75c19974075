import Foundation
import NightjarCore
import NightjarCrypto

/// One audit record: who did what to which client and entry, when, in which run. Never a secret.
public struct AuditRecord: Codable, Sendable, Equatable {
    public var seq: Int
    public var at: String
    /// The acting principal's id and name.
    public var principalID: String
    public var principal: String
    /// `unlock`, `reveal`, `totp`, `use`, `grant`, `revoke`, `rotate`, `add`, `edit`, ...
    public var action: String
    public var client: String?
    public var entry: String?
    /// Every `CLIENT/PORTAL` an action covered when it covered several (a run loading its credentials).
    public var entries: [String]?
    public var run: String?
    public var detail: String?
    /// Hash of the previous record's payload (hex); the first record chains to the vault id.
    public var prev: String
    /// Ed25519 signature of the payload by the acting principal (base64); empty while signing.
    public var sig: String

    /// The signed bytes: the record without its signature, keys sorted.
    func payload() throws -> [UInt8] {
        var unsigned = self
        unsigned.sig = ""
        // A run's record names thousands of entries: when every name is printable ASCII without
        // `"` or `\` (which JSON writes as they are), the list is written here and the rest by
        // the encoder, for the same bytes the encoder would give.
        guard let entries, entries.count > 1, let list = AuditRecord.plainJSONStrings(entries) else {
            return Array(try VaultFile.encoder().encode(unsigned))
        }
        unsigned.entries = []
        let rest = Array(try VaultFile.encoder().encode(unsigned))
        guard let start = rest.firstOccurrence(of: AuditRecord.emptyEntries) else {
            unsigned.entries = entries
            return Array(try VaultFile.encoder().encode(unsigned))
        }
        // `"entries":[]` cannot occur inside an encoded string (its quotes would be escaped).
        let insertAt = start.upperBound - 1
        return Array(rest[..<insertAt]) + list + Array(rest[insertAt...])
    }

    static let emptyEntries = Array("\"entries\":[]".utf8)

    /// `"a","b",…` for strings JSON writes byte for byte; nil when one needs escaping.
    static func plainJSONStrings(_ strings: [String]) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(strings.count * 32)
        for (index, string) in strings.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            for byte in string.utf8 {
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else {
                    return nil
                }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        return bytes
    }
}

extension Array where Element == UInt8 {
    /// The range of the first occurrence of `pattern`.
    func firstOccurrence(of pattern: [UInt8]) -> Range<Int>? {
        guard count >= pattern.count, let first = pattern.first else { return nil }
        var index = 0
        while index <= count - pattern.count {
            if self[index] == first && self[index..<(index + pattern.count)].elementsEqual(pattern) {
                return index..<(index + pattern.count)
            }
            index += 1
        }
        return nil
    }
}

/// What a caller asks to record.
public struct AuditEvent: Sendable {
    public var action: String
    public var client: String?
    public var entry: String?
    public var entries: [String]?
    public var run: String?
    public var detail: String?

    public init(
        _ action: String, client: String? = nil, entry: String? = nil, entries: [String]? = nil, run: String? = nil,
        detail: String? = nil
    ) {
        self.action = action
        self.client = client
        self.entry = entry
        self.entries = entries
        self.run = run
        self.detail = detail
    }
}

/// The append-only, hash-chained, signed audit log. An append that cannot be made durable
/// throws, and the action it records must then not happen (fail closed).
enum AuditLog {
    static func genesis(vaultID: Data) -> String { SHA256.hash(Array(vaultID)).hexString }

    /// Appends records signed by `signer` with one write and one fsync; returns them and the
    /// log's new length and head (the caller moves the rollback state).
    /// `knownHead` is the log's length and last hash as the caller last saw them: used when the
    /// log still ends at that record, so a long last record is not read and hashed again.
    static func append(
        _ events: [AuditEvent], paths: VaultPaths, principalID: String, principalName: String,
        signer: Ed25519.SigningKey,
        vaultID: Data, knownHead: (count: Int, head: String)? = nil, now: Date = Date()
    ) throws(VaultError) -> (records: [AuditRecord], count: Int, head: String) {
        do {
            let descriptor = open(paths.audit, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw VaultError.auditWriteFailed("cannot open \(paths.audit)") }
            defer { close(descriptor) }
            guard flock(descriptor, LOCK_EX) == 0 else {
                throw VaultError.auditWriteFailed("cannot lock \(paths.audit)")
            }
            defer { flock(descriptor, LOCK_UN) }
            try repairTornTail(descriptor)
            var (seq, prev): (Int, String)
            if let knownHead, knownHead.count > 0, try lastSequenceNumber(paths.audit) == knownHead.count {
                (seq, prev) = knownHead
            } else {
                (seq, prev) = try lastLink(paths.audit) ?? (0, genesis(vaultID: vaultID))
            }
            var records: [AuditRecord] = []
            var bytes: [UInt8] = []
            let encoder = VaultFile.encoder()
            for event in events {
                seq += 1
                var record = AuditRecord(
                    seq: seq, at: Logger.timestamp(now), principalID: principalID, principal: principalName,
                    action: event.action, client: event.client, entry: event.entry, entries: event.entries,
                    run: event.run,
                    detail: event.detail, prev: prev, sig: "")
                let payload = try record.payload()
                record.sig = Data(signer.sign(payload)).base64EncodedString()
                prev = SHA256.hash(payload).hexString
                // The stored line is the payload with the signature in place of the empty "sig".
                if payload.count >= 3, let line = signedLine(payload, signature: record.sig) {
                    bytes += line + [10]
                } else {
                    bytes += Array(try encoder.encode(record)) + [10]
                }
                records.append(record)
            }
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
            guard written == bytes.count, fsync(descriptor) == 0 else {
                throw VaultError.auditWriteFailed("write to \(paths.audit) failed")
            }
            return (records, seq, prev)
        } catch let error as VaultError {
            throw error
        } catch {
            throw .auditWriteFailed("\(error)")
        }
    }

    /// A record cut short by a crash mid-write was never acknowledged (its action did not
    /// happen), so it is dropped: the file is truncated after its last complete line.
    static func repairTornTail(_ descriptor: Int32) throws {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw VaultError.auditWriteFailed("cannot stat the audit log") }
        var size = Int(info.st_size)
        guard size > 0 else { return }
        var byte: UInt8 = 0
        guard pread(descriptor, &byte, 1, off_t(size - 1)) == 1 else {
            throw VaultError.auditWriteFailed("cannot read the audit log")
        }
        if byte == 10 { return }
        let chunk = 64 * 1024
        while size > 0 {
            let start = max(0, size - chunk)
            var buffer = [UInt8](repeating: 0, count: size - start)
            guard pread(descriptor, &buffer, buffer.count, off_t(start)) == buffer.count else {
                throw VaultError.auditWriteFailed("cannot read the audit log")
            }
            if let newline = buffer.lastIndex(of: 10) {
                size = start + newline + 1
                break
            }
            size = start
        }
        guard ftruncate(descriptor, off_t(size)) == 0, fsync(descriptor) == 0 else {
            throw VaultError.auditWriteFailed("cannot repair the audit log's torn last line")
        }
    }

    static let emptySignatureTail = Array(",\"sig\":\"\"}".utf8)
    static let signatureKey = Array(",\"sig\":\"".utf8)

    /// The line for a signed payload: keys are sorted and `sig` is the last, so the payload ends
    /// with `,"sig":""}` and the line differs only inside those quotes.
    static func signedLine(_ payload: [UInt8], signature: String) -> [UInt8]? {
        guard payload.count > emptySignatureTail.count,
            payload.suffix(emptySignatureTail.count).elementsEqual(emptySignatureTail)
        else { return nil }
        return Array(payload.dropLast(2)) + Array(signature.utf8) + Array("\"}".utf8)
    }

    /// The last record's sequence number and the hash of its payload, read from its line
    /// without decoding it (a run's record can name thousands of entries); a line in another
    /// shape is decoded.
    static func lastLink(_ path: String) throws -> (seq: Int, head: String)? {
        guard let line = try lastLine(path) else { return nil }
        if let sigStart = line.lastRange(of: signatureKey)?.lowerBound, line.last == UInt8(ascii: "}"), line.count >= 2,
            line[line.count - 2] == UInt8(ascii: "\""),
            let seqRange = line[..<sigStart].lastRange(of: Array(",\"seq\":".utf8)),
            let seq = Int(String(decoding: line[seqRange.upperBound..<sigStart], as: UTF8.self))
        {
            let payload = Array(line[..<sigStart]) + emptySignatureTail
            return (seq, SHA256.hash(payload).hexString)
        }
        guard let record = try? JSONDecoder().decode(AuditRecord.self, from: Data(line)) else {
            throw VaultError.auditBroken("the last audit record does not parse")
        }
        return (record.seq, SHA256.hash(try record.payload()).hexString)
    }

    /// The last record's sequence number, from the end of its line alone (`…,"seq":N,"sig":"…"}`).
    static func lastSequenceNumber(_ path: String) throws -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size > 512 ? size - 512 : 0)
        var tail = Array(try handle.readToEnd() ?? Data())
        if tail.last == 10 { tail.removeLast() }
        guard let sigStart = tail.lastRange(of: signatureKey)?.lowerBound,
            let seqRange = tail[..<sigStart].lastRange(of: Array(",\"seq\":".utf8)),
            !tail[seqRange.upperBound..<sigStart].contains(10), !tail[sigStart...].contains(10)
        else { return nil }
        return Int(String(decoding: tail[seqRange.upperBound..<sigStart], as: UTF8.self))
    }

    static func lastRecord(_ path: String) throws -> AuditRecord? {
        guard let line = try lastLine(path) else { return nil }
        do {
            return try JSONDecoder().decode(AuditRecord.self, from: Data(line))
        } catch {
            throw VaultError.auditBroken("the last audit record does not parse")
        }
    }

    /// The log's last complete line.
    static func lastLine(_ path: String) throws -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        // The last line, read from the end in growing chunks (records are small, but a run's can name thousands of entries).
        var chunk: UInt64 = 16 * 1024
        var data = Data()
        while true {
            try handle.seek(toOffset: size > chunk ? size - chunk : 0)
            data = try handle.readToEnd() ?? Data()
            let body = data.last == 10 ? data.dropLast() : data[...]
            if size <= chunk || body.contains(10) { break }
            chunk *= 4
        }
        let body = data.last == 10 ? data.dropLast() : data[...]
        let start = body.lastIndex(of: 10).map { $0 + 1 } ?? body.startIndex
        let line = body[start...]
        return line.isEmpty ? nil : Array(line)
    }

    /// Reads every record (no verification).
    static func readAll(_ path: String) throws(VaultError) -> [AuditRecord] {
        guard var data = FileManager.default.contents(atPath: path) else { return [] }
        // A torn last line (a crash mid-write) was never acknowledged; it is not a record.
        if let last = data.last, last != 10 {
            data = data[..<(data.lastIndex(of: 10).map { $0 + 1 } ?? data.startIndex)]
        }
        var records: [AuditRecord] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            do {
                records.append(try JSONDecoder().decode(AuditRecord.self, from: Data(line)))
            } catch {
                throw .auditBroken("line \(index + 1) does not parse")
            }
        }
        return records
    }

    /// Checks every record's chain link and signature, and the head against the state file.
    static func verify(
        paths: VaultPaths, signingKeys keys: [String: Data], vaultID: Data,
        seen: (count: Int, head: String)?
    ) throws(VaultError) -> (count: Int, head: String) {
        let records = try readAll(paths.audit)
        var prev = genesis(vaultID: vaultID)
        for (index, record) in records.enumerated() {
            let line = index + 1
            guard record.seq == line else {
                throw .auditBroken(
                    "record \(line) has sequence number \(record.seq): a record was removed or reordered")
            }
            guard record.prev == prev else {
                throw .auditBroken(
                    "record \(line) does not chain to the record before it: a record was edited or removed")
            }
            guard let key = keys[record.principalID],
                let signature = Data(base64Encoded: record.sig), signature.base64EncodedString() == record.sig,
                let payload = try? record.payload(),
                (try? Ed25519.VerifyingKey(rawRepresentation: Array(key)).isValidSignature(
                    Array(signature), for: payload)) == true
            else { throw .auditBroken("record \(line) is not signed by \(record.principal): it was edited or forged") }
            prev = SHA256.hash(payload).hexString
        }
        if let seen {
            if records.count < seen.count {
                throw .auditBroken(
                    "the log holds \(records.count) records but \(seen.count) were written: it was cut off")
            }
            if seen.count > 0, records[seen.count - 1].seq == seen.count,
                let payload = try? records[seen.count - 1].payload(), SHA256.hash(payload).hexString != seen.head
            {
                throw .auditBroken("record \(seen.count) differs from the one recorded as the head")
            }
        }
        return (records.count, prev)
    }
}

extension Array where Element == UInt8 {
    /// The range of the last occurrence of `pattern`.
    func lastRange(of pattern: [UInt8]) -> Range<Int>? { self[...].lastRange(of: pattern) }
}

extension ArraySlice where Element == UInt8 {
    func lastRange(of pattern: [UInt8]) -> Range<Int>? {
        guard count >= pattern.count, let first = pattern.first else { return nil }
        var index = endIndex - pattern.count
        while index >= startIndex {
            if self[index] == first && self[index..<(index + pattern.count)].elementsEqual(pattern) {
                return index..<(index + pattern.count)
            }
            index -= 1
        }
        return nil
    }
}
