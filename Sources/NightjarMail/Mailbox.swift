import Foundation
public import NightjarCore
public import NightjarHTTP

/// What a mailbox reader asks of a server: the live one over IMAP, or a recorded Maildir.
public protocol MailboxTransport: Sendable {
    /// Connects and signs in (the first contact that carries the credential).
    func signIn() async throws
    /// The folder's UIDVALIDITY: UIDs are only comparable while it stays the same.
    func uidValidity(of folder: String) async throws -> UInt64
    /// UIDs of the messages that match, ascending.
    func search(_ folder: String, _ criteria: MailSearch) async throws -> [UInt64]
    /// Flags, size and arrival of each message.
    func summaries(_ folder: String, uids: [UInt64]) async throws -> [UInt64: MessageSummary]
    /// The whole message.
    func fetch(_ folder: String, uidValidity: UInt64, uid: UInt64, maximumBytes: Int) async throws -> [UInt8]
    /// Sets or clears `\Seen`.
    func setSeen(_ folder: String, uid: UInt64, _ seen: Bool) async throws
    /// Moves a message into another folder.
    func move(_ folder: String, uid: UInt64, to target: String) async throws
    /// The conversation so far, secrets masked.
    var trace: [String] { get }
}

/// What a message search asks for: arrival in the range, and the query's texts.
public struct MailSearch: Sendable, Equatable {
    /// First day of arrival (inclusive) and the day after the last.
    public var since: CalendarDate
    public var before: CalendarDate
    public var from: String?
    public var to: String?
    public var subject: String?

    public init(
        since: CalendarDate, before: CalendarDate, from: String? = nil, to: String? = nil, subject: String? = nil
    ) {
        self.since = since
        self.before = before
        self.from = from
        self.to = to
        self.subject = subject
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `1-Nov-2026`, as IMAP dates are written.
    static func imapDate(_ date: CalendarDate) -> String { "\(date.day)-\(months[date.month - 1])-\(date.year)" }

    /// The IMAP command: `UID SEARCH SINCE 1-Nov-2026 BEFORE 4-Nov-2026 FROM "x"`.
    var command: String {
        var parts = ["UID SEARCH", "SINCE", MailSearch.imapDate(since), "BEFORE", MailSearch.imapDate(before)]
        if let from { parts += ["FROM", MailSearch.quoted(from)] }
        if let to { parts += ["TO", MailSearch.quoted(to)] }
        if let subject { parts += ["SUBJECT", MailSearch.quoted(subject)] }
        return parts.joined(separator: " ")
    }

    /// An IMAP quoted string (the parser admits no quote, backslash or line break in it).
    static func quoted(_ text: String) -> String {
        "\"" + text.filter { $0 != "\"" && $0 != "\\" && !$0.isNewline } + "\""
    }

    /// The same test on a message read here (the server's search is a first cut; this decides).
    func matches(_ message: MailMessage, arrival: Int64?) -> Bool {
        if let from, !message.from.contains(where: { $0.localizedCaseInsensitiveContains(from) }) { return false }
        if let to, !message.recipients.localizedCaseInsensitiveContains(to) { return false }
        if let subject, !(message.subject ?? "").localizedCaseInsensitiveContains(subject) { return false }
        return true
    }
}

/// What the server says of a message before it is fetched.
public struct MessageSummary: Sendable, Equatable {
    public var seen: Bool
    public var size: Int
    /// When it arrived (INTERNALDATE), seconds since 1970.
    public var arrival: Int64?

    public init(seen: Bool, size: Int, arrival: Int64?) {
        self.seen = seen
        self.size = size
        self.arrival = arrival
    }
}

/// A live mailbox over IMAP (imaps://, or imap:// upgraded with STARTTLS) through libcurl, on
/// one connection that signs in once.
public final class IMAPMailbox: MailboxTransport {
    let connection: CurlConnection
    /// `imaps://host:port`
    let base: String

    public init(server: String, connection: CurlConnection) {
        base = server.withoutTrailingSlashes
        self.connection = connection
    }

    public var trace: [String] { connection.trace }

    func url(_ folder: String?) -> String {
        guard let folder else { return base + "/" }
        return base + "/" + IMAPMailbox.escape(folder)
    }

    /// A folder name as a URL path segment.
    static func escape(_ folder: String) -> String {
        folder.addingPercentEncoding(
            withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? folder
    }

    func lines(_ response: CurlConnection.Response) -> [String] {
        String(decoding: response.body, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
    }

    public func signIn() async throws {
        _ = try await connection.perform(CurlConnection.Request(url: url(nil), command: "NOOP"))
    }

    public func uidValidity(of folder: String) async throws -> UInt64 {
        let response = try await connection.perform(
            CurlConnection.Request(url: url(nil), command: "STATUS \(MailSearch.quoted(folder)) (UIDVALIDITY)"))
        for line in lines(response) where line.uppercased().hasPrefix("* STATUS") {
            if let value = IMAPMailbox.number(after: "UIDVALIDITY", in: line) { return value }
        }
        throw TransferError.notFound("the server gave no UIDVALIDITY for folder \(folder)")
    }

    public func search(_ folder: String, _ criteria: MailSearch) async throws -> [UInt64] {
        let response = try await connection.perform(CurlConnection.Request(url: url(folder), command: criteria.command))
        var uids: [UInt64] = []
        for line in lines(response) where line.uppercased().hasPrefix("* SEARCH") {
            uids += line.dropFirst(8).split(separator: " ").compactMap { UInt64($0) }
        }
        return Array(Set(uids)).sorted()
    }

    public func summaries(_ folder: String, uids: [UInt64]) async throws -> [UInt64: MessageSummary] {
        var result: [UInt64: MessageSummary] = [:]
        var start = 0
        while start < uids.count {
            let chunk = uids[start..<min(uids.count, start + 200)]
            start += 200
            let command =
                "UID FETCH \(chunk.map(String.init).joined(separator: ",")) (UID FLAGS RFC822.SIZE INTERNALDATE)"
            let response = try await connection.perform(CurlConnection.Request(url: url(folder), command: command))
            for line in lines(response) where line.uppercased().contains(" FETCH (") {
                guard let uid = IMAPMailbox.number(after: "UID", in: line) else { continue }
                let upper = line.uppercased()
                let flags = upper.range(of: "FLAGS (").map { upper[$0.upperBound...].prefix { $0 != ")" } } ?? ""
                let size = IMAPMailbox.number(after: "RFC822.SIZE", in: line).map { Int($0) } ?? 0
                var arrival: Int64?
                if let range = line.range(of: "INTERNALDATE \"") {
                    arrival = IMAPMailbox.internalDate(String(line[range.upperBound...].prefix { $0 != "\"" }))
                }
                result[uid] = MessageSummary(seen: flags.contains("\\SEEN"), size: size, arrival: arrival)
            }
        }
        return result
    }

    public func fetch(_ folder: String, uidValidity: UInt64, uid: UInt64, maximumBytes: Int) async throws -> [UInt8] {
        var request = CurlConnection.Request(url: url(folder) + ";UIDVALIDITY=\(uidValidity)/;UID=\(uid)")
        request.maximumBytes = maximumBytes
        return try await connection.perform(request).body
    }

    public func setSeen(_ folder: String, uid: UInt64, _ seen: Bool) async throws {
        _ = try await connection.perform(
            CurlConnection.Request(
                url: url(folder), command: "UID STORE \(uid) \(seen ? "+" : "-")FLAGS.SILENT (\\Seen)"))
    }

    public func move(_ folder: String, uid: UInt64, to target: String) async throws {
        _ = try await connection.perform(
            CurlConnection.Request(url: url(folder), command: "UID MOVE \(uid) \(MailSearch.quoted(target))"))
    }

    /// The number after a word in an IMAP answer (`UIDVALIDITY 1796128143`).
    static func number(after word: String, in line: String) -> UInt64? {
        let tokens = line.uppercased().replacingOccurrences(of: "(", with: " ").replacingOccurrences(of: ")", with: " ")
            .split(separator: " ")
        guard let index = tokens.firstIndex(where: { $0 == word }), index + 1 < tokens.count else { return nil }
        return UInt64(tokens[index + 1])
    }

    /// `01-Dec-2026 12:27:19 +0000` → seconds since 1970.
    static func internalDate(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd-MMM-yyyy HH:mm:ss Z"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard
            let date = formatter.date(
                from: trimmed.count >= 2 && trimmed.dropFirst().first == "-" ? "0" + trimmed : trimmed)
        else { return nil }
        return Int64(date.timeIntervalSince1970)
    }
}
