public import Foundation
public import NightjarCore
import NightjarCrypto
import NightjarDocuments
public import NightjarHTTP
import NightjarMarkup

/// What a mailbox or SFTP reader remembers between nights, so that a message or file is read
/// once however often the night runs (the workspace database implements it).
public protocol SourceMemory: Sendable {
    /// Whether `key` (a message's folder, UIDVALIDITY and UID; a file's path) was read for this
    /// source, with the `identity` it had then (a file's size and time).
    func wasRead(client: String, source: String, key: String) async -> SourceItemRecord?
    /// Whether a message with this identity (its Message-ID) was already read from this source.
    func wasRead(client: String, source: String, identity: String) async -> SourceItemRecord?
    /// Records what became of an item: `read`, `duplicate` or `refused` (a bad message).
    func record(client: String, source: String, key: String, identity: String?, status: String, message: String?) async
}

/// What a source read, for one process only (a replay, a try): nothing survives it.
public actor TransientSourceMemory: SourceMemory {
    var items: [String: SourceItemRecord] = [:]

    public init() {}

    public func wasRead(client: String, source: String, key: String) -> SourceItemRecord? {
        items["\(client)/\(source)/\(key)"]
    }

    public func wasRead(client: String, source: String, identity: String) -> SourceItemRecord? {
        items.first {
            $0.key.hasPrefix("\(client)/\(source)/") && $0.value.identity == identity && $0.value.status != "duplicate"
        }?.value
    }

    public func record(client: String, source: String, key: String, identity: String?, status: String, message: String?)
    {
        items["\(client)/\(source)/\(key)"] = SourceItemRecord(
            key: key, identity: identity, status: status, readAt: Logger.timestamp())
    }
}

/// A remembered item.
public struct SourceItemRecord: Sendable, Equatable {
    public let key: String
    public let identity: String?
    public let status: String
    public let readAt: String

    public init(key: String, identity: String?, status: String, readAt: String) {
        self.key = key
        self.identity = identity
        self.status = status
        self.readAt = readAt
    }
}

/// A file name pattern: `*` any run of characters, `?` one; letters compared without case.
public enum NamePattern {
    public static func matches(_ pattern: String?, _ name: String) -> Bool {
        guard let pattern else { return true }
        return Glob.matches(
            pattern: Array(pattern.lowercased().unicodeScalars), Array(name.lowercased().unicodeScalars))
    }
}

/// A date written in a file name, by a pattern of `yyyy`, `yy`, `MM`, `dd` and separators.
public enum FileNameDate {
    /// Whether a pattern names a year, a month and a day and nothing else but separators.
    public static func isUsable(_ format: String) -> Bool {
        var rest = Substring(format)
        var seen = Set<String>()
        while !rest.isEmpty {
            if let token = ["yyyy", "yy", "MM", "dd"].first(where: { rest.hasPrefix($0) }) {
                seen.insert(token == "yy" ? "yyyy" : token)
                rest = rest.dropFirst(token.count)
            } else if let first = rest.first, "-_. ".contains(first) {
                rest = rest.dropFirst()
            } else {
                return false
            }
        }
        return seen == ["yyyy", "MM", "dd"]
    }

    /// The first run of `name` that reads as a valid date in `format`.
    public static func date(in name: String, format: String) -> CalendarDate? {
        let characters = Array(name)
        let width = format.count
        guard width > 0, characters.count >= width else { return nil }
        for start in 0...(characters.count - width) {
            let piece = String(characters[start..<(start + width)])
            guard zip(piece, format).allSatisfy({ "yMd".contains($0.1) ? $0.0.isASCII && $0.0.isNumber : $0.0 == $0.1 })
            else { continue }
            // Digits must not continue on either side (20261103 inside 120261103 is not a date).
            if start > 0, characters[start - 1].isNumber { continue }
            if start + width < characters.count, characters[start + width].isNumber { continue }
            if let date = try? CalendarDate.parse(piece, format: format) { return date }
        }
        return nil
    }
}

/// The checks every document must pass before it is kept, whatever brought it: a web page where
/// a document was expected, an empty file, or bytes of another type than `expect type` says.
public enum DocumentCheck {
    /// Why `bytes` are not the document expected, or nil.
    public static func problem(_ bytes: [UInt8], expected: DownloadType?, allowPages: Bool) -> String? {
        guard !bytes.isEmpty else { return "it is empty" }
        let detected = DocumentFormat.detect(bytes)
        if detected == .html, expected != .html, !allowPages {
            let title = MarkupDocument.htmlTitle(bytes).map { " (\"\($0)\")" } ?? ""
            return "it is a web page\(title)"
        }
        guard let expected else { return nil }
        return typeMismatch(bytes, detected: detected, expected: expected)
    }

    /// Why bytes that `DocumentFormat.detect` found to be `detected` are not what `expect type`
    /// says, or nil when they are: the one rule of which formats fit which type, for portal
    /// downloads and source documents alike.
    static func typeMismatch(_ bytes: [UInt8], detected: DocumentFormat, expected: DownloadType) -> String? {
        let fits: Bool =
            switch expected {
            case .x12: { if case .x12 = detected { true } else { false } }()
            case .xlsx: detected == .xlsx
            case .pdf: detected == .pdf
            case .json: detected == .json
            case .html: detected == .html
            case .xml: detected == .text && bytes.starts(with: Array("<?xml".utf8)) || detected == .html
            case .csv, .text: detected == .text
            }
        return fits ? nil : "`expect type \(expected.rawValue)`, but it is \(detected.description)"
    }
}

/// Saves documents in the staging folder a reader writes to: sanitised names, mode 0600,
/// written atomically, a name taken by other bytes gets `-2`, `-3`...
public struct StagingFolder: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Writes `bytes` under (a sanitised) `name` and describes the file for the inbox.
    public func save(_ bytes: [UInt8], name: String, kind: DocumentKind, metadata: [String: String]) throws
        -> DownloadRecord
    {
        // Only the staging folder itself is made private: its parent may be shared (the temporary directory).
        try SecureFile.createPrivateDirectory(path)
        let clean = HTTPSession.sanitise(name)
        let sha = SHA256.hash(bytes).hexString
        var target = path + "/" + clean
        var counter = 1
        while FileManager.default.fileExists(atPath: target) {
            if let data = FileManager.default.contents(atPath: target), SHA256.hash(Array(data)).hexString == sha {
                break
            }
            counter += 1
            let base = (clean as NSString).deletingPathExtension
            let ext = (clean as NSString).pathExtension
            target = path + "/" + base + "-\(counter)" + (ext.isEmpty ? "" : "." + ext)
        }
        try SecureFile.writeAtomically(bytes, to: target, mode: 0o600)
        return DownloadRecord(
            kind: kind, fileName: (target as NSString).lastPathComponent, path: target, size: bytes.count, sha256: sha,
            metadata: metadata)
    }
}

/// How to run a mailbox or SFTP definition for one credential.
public struct SourceRunOptions: Sendable {
    public var range: DateRange
    public var kinds: [DocumentKind]
    /// The server, when not the definition's origin (`[origins]` in nightjar.conf, `--origin`).
    public var originOverride: String?
    /// Where documents are written before they move into the inbox.
    public var downloadDirectory: String
    /// The zone a modification time is read in (the workspace's).
    public var timeZone: TimeZone
    /// CA certificates to trust instead of the system's (a server's private CA).
    public var tls: TLSSettings
    /// Read only: no memory written, no flag or move (`scraper try`, `scraper record`).
    public var readOnly: Bool

    public init(
        range: DateRange, kinds: [DocumentKind] = [.remittance], originOverride: String? = nil,
        downloadDirectory: String,
        timeZone: TimeZone = .gmt, tls: TLSSettings = TLSSettings(), readOnly: Bool = false
    ) {
        self.range = range
        self.kinds = kinds
        self.originOverride = originOverride
        self.downloadDirectory = downloadDirectory
        self.timeZone = timeZone
        self.tls = tls
        self.readOnly = readOnly
    }

    /// The server a mailbox or SFTP reader talks to: `originOverride`, else the definition's
    /// origin, without trailing slashes.
    public func server(of definition: ScraperDefinition) -> String {
        (originOverride ?? definition.origins.first?.url ?? "").withoutTrailingSlashes
    }
}

extension ScriptCredential {
    /// The value of a vault field, or a `login_refused`-free failure naming the missing field.
    public func requiredField(_ name: String, for definition: ScraperDefinition) throws -> String {
        guard let value = fields[name], !value.isEmpty else {
            throw ScraperFailure(
                .authFailed,
                "the credential \(self.name) has no `\(name)` field, which `sign in \(definition.signInMethod.rawValue)` needs (nightjar vault edit \(self.name) --field \(name))",
                location: definition.sourceSettings.signInLocation)
        }
        return value
    }

    /// Whether the credential allows its values to go to `origin` (`scheme://host:port`).
    public func allows(origin: String) -> Bool { allowedOrigins.contains(SourceOrigin.canonical(origin)) }
}

/// `scheme://host:port` for the schemes sources use, default ports filled in.
public enum SourceOrigin {
    public static let defaultPorts = [
        "https": 443, "http": 80, "imaps": 993, "imap": 143, "sftp": 22, "smtps": 465, "smtp": 587,
    ]

    /// The canonical origin of a URL: lower-cased scheme and host, the port spelled out.
    public static func canonical(_ url: String) -> String {
        guard let parts = parse(url) else { return url.lowercased() }
        return "\(parts.scheme)://\(parts.host):\(parts.port)"
    }

    /// Scheme, host (brackets kept for IPv6) and port of `scheme://[user@]host[:port][/...]`.
    public static func parse(_ url: String) -> (scheme: String, host: String, port: Int)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = String(authority).lowercased()
        var port = defaultPorts[scheme] ?? 0
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            if rest.hasPrefix(":") { port = Int(rest.dropFirst()) ?? -1 }
            host = String(host[...close])
        } else if let colon = host.lastIndex(of: ":") {
            port = Int(host[host.index(after: colon)...]) ?? -1
            host = String(host[..<colon])
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return (scheme, host, port)
    }
}
