import Foundation
public import NightjarCore
public import NightjarCrypto

/// A scheme, host and port that a credential's values may be sent to, e.g. `https://portal.example:443`.
public struct Origin: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let scheme: String
    public let host: String
    public let port: Int

    /// Default ports of the schemes an origin may have: web portals, mailboxes, SFTP drops, SMTP.
    public static let defaultPorts = [
        "https": 443, "http": 80, "imaps": 993, "imap": 143, "sftp": 22, "smtps": 465, "smtp": 587,
    ]

    /// Parses `https://host[:port]` (a path, if any, is ignored). Schemes: http, https, and
    /// imaps, imap, sftp, smtps, smtp for mailbox, drop and mail servers.
    public init(_ text: String) throws(VaultError) {
        let invalid = VaultError.invalidInput(
            "\"\(text)\" is not an origin like https://portal.example.com", location: nil)
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard
            let scheme = Origin.defaultPorts.keys.sorted(by: { $0.count > $1.count }).first(where: {
                trimmed.hasPrefix($0 + "://")
            })
        else { throw invalid }
        var authority = trimmed.dropFirst(scheme.count + 3)
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            authority = authority[..<end]
        }
        guard !authority.contains("@") else { throw invalid }
        var host = Substring(authority)
        var port = Origin.defaultPorts[scheme]!
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw invalid }
            let rest = host[host.index(after: close)...]
            host = host[...close]
            if !rest.isEmpty {
                guard rest.first == ":", let value = Int(rest.dropFirst()), (1...65535).contains(value) else {
                    throw invalid
                }
                port = value
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let value = Int(host[host.index(after: colon)...]), (1...65535).contains(value) else { throw invalid }
            port = value
            host = host[..<colon]
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-._[]:".contains($0) }) else {
            throw invalid
        }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
    }

    init(scheme: String, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    public var description: String { "\(scheme)://\(host):\(port)" }

    public static func < (lhs: Origin, rhs: Origin) -> Bool { lhs.description < rhs.description }
}

/// The TOTP settings of a credential (RFC 6238), from a base32 secret or an `otpauth://` URI.
public struct TOTPSettings: Sendable {
    public let secret: SecretBytes
    public let algorithm: HMACAlgorithm
    public let digits: Int
    public let period: Int

    public init(secret: SecretBytes, algorithm: HMACAlgorithm = .sha1, digits: Int = 6, period: Int = 30) {
        self.secret = secret
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
    }

    /// The longest TOTP secret or `otpauth://` URI read, in bytes (a 512-bit secret in base32 is
    /// 103 characters; a URI with its label and issuer a few hundred).
    public static let maximumTextBytes = 2048

    /// Parses a base32 secret (spaces, dashes and case ignored) or an `otpauth://totp/...` URI,
    /// at most `maximumTextBytes` long.
    public static func parse(_ text: SecretBytes) throws(VaultError) -> TOTPSettings {
        guard text.count <= maximumTextBytes else {
            throw .tooLarge(
                "the TOTP secret is \(text.count) bytes; a secret or otpauth URI is at most \(maximumTextBytes)",
                location: nil)
        }
        if let stored = try storedForm(text) { return stored }
        return try parseAnyForm(text)
    }

    /// What `parse` does with text not in the stored form (the size already checked).
    static func parseAnyForm(_ text: SecretBytes) throws(VaultError) -> TOTPSettings {
        guard let string = text.unsafeUTF8String() else {
            throw .invalidInput("the TOTP secret is not text", location: nil)
        }
        let trimmed = string.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.lowercased().hasPrefix("otpauth://") {
            guard let components = URLComponents(string: trimmed), components.host?.lowercased() == "totp" else {
                throw .invalidInput("only otpauth://totp/ URIs are supported", location: nil)
            }
            var values: [String: String] = [:]
            for item in components.queryItems ?? [] { values[item.name.lowercased()] = item.value }
            guard let secretText = values["secret"] else {
                throw .invalidInput("the otpauth URI has no secret", location: nil)
            }
            let algorithm: HMACAlgorithm
            switch (values["algorithm"] ?? "SHA1").uppercased() {
            case "SHA1": algorithm = .sha1
            case "SHA256": algorithm = .sha256
            case "SHA512": algorithm = .sha512
            default: throw .invalidInput("unsupported TOTP algorithm \(values["algorithm"] ?? "")", location: nil)
            }
            let digits = Int(values["digits"] ?? "6") ?? -1
            let period = Int(values["period"] ?? "30") ?? -1
            guard (6...8).contains(digits) else { throw .invalidInput("TOTP digits must be 6 to 8", location: nil) }
            guard (10...300).contains(period) else {
                throw .invalidInput("TOTP period must be 10 to 300 seconds", location: nil)
            }
            return TOTPSettings(secret: try decode(secretText), algorithm: algorithm, digits: digits, period: period)
        }
        return TOTPSettings(secret: try decode(trimmed))
    }

    private static let storedPrefix = Array("otpauth://totp/nightjar?secret=".utf8)
    private static let storedKeys = ["algorithm", "digits", "period"].map { Array("&\($0)=".utf8) }

    /// The form `uri()` writes (what the vault stores), read without a URL parser: the same
    /// settings, and the same refusals, the general path gives for it. nil for any other text.
    static func storedForm(_ text: SecretBytes) throws(VaultError) -> TOTPSettings? {
        let parts = text.withUnsafeBytes { bytes -> (secret: String, algorithm: String, digits: Int, period: Int)? in
            guard bytes.starts(with: storedPrefix) else { return nil }
            var values: [Slice<UnsafeRawBufferPointer>] = []
            var rest = bytes[storedPrefix.count...]
            for key in storedKeys {
                guard let end = rest.indices.first(where: { rest[$0...].starts(with: key) }) else { return nil }
                values.append(rest[..<end])
                rest = rest[(end + key.count)...]
            }
            values.append(rest)
            let isBase32 = { (byte: UInt8) in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "2")...UInt8(ascii: "7")).contains(byte)
            }
            let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
            guard !values[0].isEmpty, values[0].allSatisfy(isBase32),
                ["SHA1", "SHA256", "SHA512"].contains(where: { $0.utf8.elementsEqual(values[1]) }),
                (1...3).contains(values[2].count), values[2].allSatisfy(isDigit),
                (1...3).contains(values[3].count), values[3].allSatisfy(isDigit)
            else { return nil }
            let number = { (digits: Slice<UnsafeRawBufferPointer>) in
                digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            }
            return (
                String(decoding: values[0], as: UTF8.self), String(decoding: values[1], as: UTF8.self),
                number(values[2]), number(values[3])
            )
        }
        guard let parts else { return nil }
        let algorithm: HMACAlgorithm =
            switch parts.algorithm {
            case "SHA256": .sha256
            case "SHA512": .sha512
            default: .sha1
            }
        guard (6...8).contains(parts.digits) else { throw .invalidInput("TOTP digits must be 6 to 8", location: nil) }
        guard (10...300).contains(parts.period) else {
            throw .invalidInput("TOTP period must be 10 to 300 seconds", location: nil)
        }
        return TOTPSettings(
            secret: try decode(parts.secret), algorithm: algorithm, digits: parts.digits, period: parts.period)
    }

    private static func decode(_ base32: String) throws(VaultError) -> SecretBytes {
        do {
            let secret = try Base32.decode(base32)
            guard secret.count >= 10 else {
                throw VaultError.invalidInput("the TOTP secret is too short (under 80 bits)", location: nil)
            }
            return secret
        } catch let error as VaultError {
            throw error
        } catch {
            throw .invalidInput("the TOTP secret is not valid base32", location: nil)
        }
    }

    /// The `otpauth://` form stored in the vault.
    func uri() -> SecretBytes {
        let name: String
        switch algorithm {
        case .sha1: name = "SHA1"
        case .sha256: name = "SHA256"
        case .sha512: name = "SHA512"
        }
        return SecretBytes(
            utf8:
                "otpauth://totp/nightjar?secret=\(Base32.encode(secret))&algorithm=\(name)&digits=\(digits)&period=\(period)"
        )
    }

    /// Registers the seed with the redactor in the forms a page, a header or a log could show it
    /// apart from the `otpauth://` text: its base32 text in upper and lower case (the redactor
    /// adds each one's URL, JSON, HTML, base64 and hex forms) and its raw bytes (their base64
    /// and hex forms, as a portal's enrolment page or API might print them).
    public func registerSeed() {
        let text = Base32.encode(secret)
        Redactor.shared.register(text: text)
        Redactor.shared.register(text: text.lowercased())
        Redactor.shared.register(secret)
    }

    /// The code for `time` (seconds since 1970). The code is registered with the redactor.
    public func code(at time: UInt64) -> String {
        let code = TOTP.code(secret: secret, time: time, digits: digits, period: UInt64(period), algorithm: algorithm)
        Redactor.shared.register(text: code)
        return code
    }
}

/// A decrypted credential, handed to a run or shown (masked) to an operator. Its secret values
/// are registered with the redactor when it is made.
public struct Credential: Sendable {
    public let client: String
    public let portal: String
    /// Tells two logins of one client at one portal apart; nil for the only one.
    public let label: String?
    public let username: SecretBytes?
    public let password: SecretBytes?
    public let totp: TOTPSettings?
    /// Extra named fields: customer number, PIN, security answers, bot tokens.
    public let extra: [String: SecretBytes]
    /// Where the values may be sent. Empty allows nothing.
    public let allowedOrigins: [Origin]
    public let notes: String?
    public let expires: CalendarDate?
    /// Whether the user name is a secret too (by default user names are identifiers).
    public let usernameIsSecret: Bool
    /// `allow-http`: the values may travel to the credential's `http://` origins unencrypted
    /// (loopback origins need no such permission).
    public var allowsPlainHTTP = false

    /// `CLIENT/PORTAL[/LABEL]`
    public var name: String { credentialName.description }
    public var credentialName: CredentialName { CredentialName(client: client, portal: portal, label: label) }

    /// The value of `field`: `username`, `password`, or an extra field's name.
    public func value(of field: String) -> SecretBytes? {
        switch field {
        case "username": username
        case "password": password
        default: extra[field]
        }
    }
}

/// What an operator gives to add or change an entry. nil leaves a field as it is (on edit).
public struct CredentialInput: Sendable {
    public var username: SecretBytes?
    public var password: SecretBytes?
    public var totp: TOTPSettings?
    public var extra: [String: SecretBytes]
    public var allowedOrigins: [Origin]?
    public var notes: String?
    public var expires: CalendarDate?
    /// Extra fields to delete (on edit).
    public var removeExtra: [String]
    /// Whether the user name is a secret (nil: unchanged on edit, false on add).
    public var usernameIsSecret: Bool?
    /// Whether the values may go to a plain `http://` origin (nil: unchanged on edit, false on add).
    public var allowsPlainHTTP: Bool?

    public init(
        username: SecretBytes? = nil, password: SecretBytes? = nil, totp: TOTPSettings? = nil,
        extra: [String: SecretBytes] = [:], allowedOrigins: [Origin]? = nil, notes: String? = nil,
        expires: CalendarDate? = nil, removeExtra: [String] = [], usernameIsSecret: Bool? = nil
    ) {
        self.username = username
        self.password = password
        self.totp = totp
        self.extra = extra
        self.allowedOrigins = allowedOrigins
        self.notes = notes
        self.expires = expires
        self.removeExtra = removeExtra
        self.usernameIsSecret = usernameIsSecret
    }

    /// Refuses NUL bytes in every value and names breaking the identifier rule, naming the field.
    func validate(location: SourceLocation? = nil) throws(VaultError) {
        if let username { try VaultNames.refuseNUL(username, field: "username", location: location) }
        if let password { try VaultNames.refuseNUL(password, field: "password", location: location) }
        // The seed is bytes (a zero among them is as valid as any other): its stored text form is checked.
        if let totp { try VaultNames.refuseNUL(totp.uri(), field: "TOTP secret", location: location) }
        for (name, value) in extra {
            try VaultNames.check(name, field: "extra field name", location: location)
            try VaultNames.refuseNUL(value, field: "extra field \(name)", location: location)
        }
        for name in removeExtra { try VaultNames.check(name, field: "extra field name", location: location) }
        if let notes { try VaultNames.refuseNUL(notes, field: "notes", location: location) }
    }
}

/// An entry as `vault list` shows it: never a secret.
public struct EntrySummary: Sendable, Codable, Equatable {
    public let client: String
    public let portal: String
    public let label: String?
    public let fields: [String]
    public let expires: String?
    public let updatedAt: String
    public let markedForRotation: Bool
    public let usernameIsSecret: Bool

    /// `CLIENT/PORTAL[/LABEL]`
    public var name: CredentialName { CredentialName(client: client, portal: portal, label: label) }

    enum CodingKeys: String, CodingKey {
        case client, portal, label, fields, expires
        case updatedAt = "updated_at", markedForRotation = "marked_for_rotation", usernameIsSecret =
            "username_is_secret"
    }
}

extension Origin {
    /// The schemes an origin may have, as bytes, for reading stored origins.
    private static let schemeBytes: [(scheme: String, bytes: [UInt8])] = defaultPorts.keys.sorted().map {
        ($0, Array($0.utf8))
    }

    /// Reads what the vault stores for a credential's origins (one canonical origin a line,
    /// `scheme://host:port`, as `description` prints them), empty lines skipped. A line in any
    /// other form goes through the full parser.
    static func storedList(_ text: String) throws -> [Origin] {
        var text = text
        return try text.withUTF8 { utf8 in
            var origins: [Origin] = []
            var start = 0
            while start < utf8.count {
                let end = utf8[start...].firstIndex(of: 10) ?? utf8.count
                if end > start {
                    origins.append(try Origin(canonical: UnsafeBufferPointer(rebasing: utf8[start..<end])))
                }
                start = end + 1
            }
            return origins
        }
    }

    /// Reads the canonical form this type prints, byte by byte, accepting exactly what the
    /// full parser would read the same way (a known scheme, a lowercase ASCII host, a port of
    /// 1 to 65535); anything else goes through the full parser.
    init(canonical bytes: UnsafeBufferPointer<UInt8>) throws(VaultError) {
        guard let (scheme, hostStart, colon, port) = Origin.canonicalParts(bytes) else {
            try self.init(String(decoding: bytes, as: UTF8.self))
            return
        }
        self.init(
            scheme: scheme,
            host: String(decoding: UnsafeBufferPointer(rebasing: bytes[hostStart..<colon]), as: UTF8.self),
            port: port)
    }

    private static func canonicalParts(_ bytes: UnsafeBufferPointer<UInt8>) -> (String, Int, Int, Int)? {
        guard let separator = bytes.firstIndex(of: UInt8(ascii: ":")), separator + 3 < bytes.count,
            bytes[separator + 1] == UInt8(ascii: "/"), bytes[separator + 2] == UInt8(ascii: "/"),
            let scheme = schemeBytes.first(where: { $0.bytes.elementsEqual(bytes[..<separator]) })?.scheme,
            let colon = bytes.lastIndex(of: UInt8(ascii: ":")), colon > separator + 3,
            (1...5).contains(bytes.count - colon - 1)
        else { return nil }
        let hostStart = separator + 3
        var port = 0
        for digit in bytes[(colon + 1)...] {
            guard (48...57).contains(digit) else { return nil }
            port = port * 10 + Int(digit - 48)
        }
        guard (1...65535).contains(port) else { return nil }
        for byte in bytes[hostStart..<colon] {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"),
                UInt8(ascii: "."), UInt8(ascii: "_"):
                continue
            default:
                return nil
            }
        }
        return (scheme, hostStart, colon, port)
    }
}
