import Foundation
public import NightjarCore
public import NightjarHTTP
import Synchronization

/// A recorded mailbox replayed offline (`nightjar scraper test`): the messages of a Maildir
/// (`cur/` and `new/`), each file named `ARRIVAL.UID.nightjar:2,` as `scraper record` writes
/// them (other names get UIDs in name order and their file time as arrival). The search runs
/// here on the messages' headers, as the server would; flags and moves are only noted.
public final class MaildirMailbox: MailboxTransport {
    struct Stored {
        let uid: UInt64
        let arrival: Int64
        let path: String
    }

    let messages: [Stored]
    private let notes = Mutex<[String]>([])

    public init(path: String) throws {
        var found: [(name: String, path: String)] = []
        for sub in ["cur", "new"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path + "/" + sub)) ?? []
            where !name.hasPrefix(".") {
                found.append((name, path + "/" + sub + "/" + name))
            }
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw GeneralError(code: "maildir.missing", message: "no recorded mailbox at \(path)", exitStatus: .noInput)
        }
        var stored: [Stored] = []
        for (offset, entry) in found.sorted(by: { $0.name < $1.name }).enumerated() {
            let pieces = entry.name.split(separator: ".")
            let recorded = pieces.count >= 3 && pieces[2].hasPrefix("nightjar")
            let uid = recorded ? UInt64(pieces[1]) ?? UInt64(offset + 1) : UInt64(offset + 1)
            let modified =
                (try? FileManager.default.attributesOfItem(atPath: entry.path)[.modificationDate] as? Date) ?? nil
            let arrival = recorded ? Int64(pieces[0]) ?? 0 : Int64(modified?.timeIntervalSince1970 ?? 0)
            stored.append(Stored(uid: uid, arrival: arrival, path: entry.path))
        }
        messages = stored.sorted { $0.uid < $1.uid }
    }

    public var trace: [String] { notes.withLock { $0 } }

    func note(_ line: String) { notes.withLock { $0.append("* replay: " + line) } }

    public func signIn() async throws { note("\(messages.count) recorded message(s)") }

    public func uidValidity(of folder: String) async throws -> UInt64 { 1 }

    public func search(_ folder: String, _ criteria: MailSearch) async throws -> [UInt64] {
        let since = criteria.since.startInstant(in: .gmt).timeIntervalSince1970
        let before = criteria.before.startInstant(in: .gmt).timeIntervalSince1970
        var result: [UInt64] = []
        for message in messages where Double(message.arrival) >= since && Double(message.arrival) < before {
            guard let bytes = FileManager.default.contents(atPath: message.path).map(Array.init) else { continue }
            // A message whose headers cannot be read is offered anyway: reading it reports it.
            if let headers = try? MailMessage.headers(bytes), !criteria.matches(headers, arrival: message.arrival) {
                continue
            }
            result.append(message.uid)
        }
        note("search \(criteria.command): \(result.count) message(s)")
        return result
    }

    public func summaries(_ folder: String, uids: [UInt64]) async throws -> [UInt64: MessageSummary] {
        var result: [UInt64: MessageSummary] = [:]
        for message in messages where uids.contains(message.uid) {
            let size = ((try? FileManager.default.attributesOfItem(atPath: message.path)[.size]) as? Int) ?? 0
            result[message.uid] = MessageSummary(seen: false, size: size, arrival: message.arrival)
        }
        return result
    }

    public func fetch(_ folder: String, uidValidity: UInt64, uid: UInt64, maximumBytes: Int) async throws -> [UInt8] {
        guard let message = messages.first(where: { $0.uid == uid }),
            let data = FileManager.default.contents(atPath: message.path)
        else {
            throw TransferError.notFound("no recorded message \(uid)")
        }
        guard data.count <= maximumBytes else { throw TransferError.tooLarge(maximumBytes) }
        return Array(data)
    }

    public func setSeen(_ folder: String, uid: UInt64, _ seen: Bool) async throws {
        note("would \(seen ? "set" : "clear") \\Seen on \(uid)")
    }

    public func move(_ folder: String, uid: UInt64, to target: String) async throws {
        note("would move \(uid) to \(target)")
    }

    /// Writes `messages` (UID, arrival, bytes) as a Maildir this type replays.
    public static func write(_ messages: [(uid: UInt64, arrival: Int64, bytes: [UInt8])], to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(atPath: path + "/" + sub, withIntermediateDirectories: true)
        }
        for message in messages {
            try SecureFile.writeAtomically(
                Redactor.shared.redact(bytes: message.bytes),
                to: path + "/cur/\(message.arrival).\(message.uid).nightjar:2,", mode: 0o644)
        }
    }
}

/// Keeps what a live mailbox gave, to write it as a recorded Maildir (`scraper record`).
public final class RecordingMailbox: MailboxTransport {
    let inner: any MailboxTransport
    private let kept = Mutex<(arrivals: [UInt64: Int64], messages: [(uid: UInt64, arrival: Int64, bytes: [UInt8])])>(
        ([:], []))

    public init(_ inner: any MailboxTransport) { self.inner = inner }

    public var trace: [String] { inner.trace }
    public func signIn() async throws { try await inner.signIn() }
    public func uidValidity(of folder: String) async throws -> UInt64 { try await inner.uidValidity(of: folder) }
    public func search(_ folder: String, _ criteria: MailSearch) async throws -> [UInt64] {
        try await inner.search(folder, criteria)
    }

    public func summaries(_ folder: String, uids: [UInt64]) async throws -> [UInt64: MessageSummary] {
        let result = try await inner.summaries(folder, uids: uids)
        kept.withLock { for (uid, summary) in result { $0.arrivals[uid] = summary.arrival ?? 0 } }
        return result
    }

    public func fetch(_ folder: String, uidValidity: UInt64, uid: UInt64, maximumBytes: Int) async throws -> [UInt8] {
        let bytes = try await inner.fetch(folder, uidValidity: uidValidity, uid: uid, maximumBytes: maximumBytes)
        kept.withLock { $0.messages.append((uid, $0.arrivals[uid] ?? 0, bytes)) }
        return bytes
    }

    public func setSeen(_ folder: String, uid: UInt64, _ seen: Bool) async throws {
        try await inner.setSeen(folder, uid: uid, seen)
    }
    public func move(_ folder: String, uid: UInt64, to target: String) async throws {
        try await inner.move(folder, uid: uid, to: target)
    }

    /// Writes the messages fetched so far as a Maildir.
    public func write(to path: String) throws { try MaildirMailbox.write(kept.withLock { $0.messages }, to: path) }
}
