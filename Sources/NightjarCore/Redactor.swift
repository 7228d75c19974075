import Synchronization

/// The registry of secret values that every output path passes through: log lines, errors,
/// HAR recordings, reports, JSON. A registered value is found raw and in the forms it takes on
/// the way out — URL-encoded (RFC 3986, form and JavaScript styles, either hex case),
/// JSON-escaped, HTML-escaped and base64 (standard and URL-safe, at any alignment inside a
/// longer base64 text, as in an `Authorization: Basic` header) — and replaced by `[REDACTED]`.
///
/// Values shorter than `minimumSearchableLength` bytes are not searched for (a 4-digit PIN would
/// mangle amounts and dates); they are kept out of output by field instead: their fields are
/// printed as `[REDACTED]` whatever they hold.
public final class Redactor: Sendable {
    /// The process-wide registry.
    public static let shared = Redactor()

    /// What a redacted value is replaced by.
    public static let marker = "[REDACTED]"

    /// Shorter values are kept out of output by field, not by search.
    public static let minimumSearchableLength = 6

    private struct Index: Sendable {
        /// Patterns keyed by their first four bytes.
        var byPrefix: [UInt32: [[UInt8]]] = [:]
        var secretCount = 0
        var isEmpty: Bool { byPrefix.isEmpty }
    }

    private let index = Mutex(Index())

    public init() {}

    /// Registers a secret. Returns false when the value is too short to search for safely.
    @discardableResult
    public func register(_ secret: SecretBytes) -> Bool {
        secret.withUnsafeBytes { register(bytes: Array($0)) }
    }

    /// Registers a secret given as text (e.g. a TOTP code made from a vault seed).
    @discardableResult
    public func register(text: String) -> Bool {
        register(bytes: Array(text.utf8))
    }

    private func register(bytes: [UInt8]) -> Bool {
        guard bytes.count >= Redactor.minimumSearchableLength else { return false }
        let variants = RedactionForms.variants(of: bytes)
        index.withLock { index in
            for variant in variants where variant.count >= 4 {
                let key = RedactionForms.prefixKey(variant, at: 0)
                var list = index.byPrefix[key, default: []]
                if !list.contains(variant) {
                    list.append(variant)
                    list.sort { $0.count > $1.count }
                }
                index.byPrefix[key] = list
            }
            index.secretCount += 1
        }
        return true
    }

    /// Number of secrets registered.
    public var count: Int { index.withLock { $0.secretCount } }

    /// Forgets every registered value (tests, and the end of a run).
    public func removeAll() {
        index.withLock { $0 = Index() }
    }

    /// `text` with every registered value, in every form, replaced by `[REDACTED]`.
    public func redact(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard let redacted = redactIfNeeded(bytes) else { return text }
        return String(decoding: redacted, as: UTF8.self)
    }

    /// `bytes` with every registered value replaced (for files: HAR recordings, reports).
    public func redact(bytes: [UInt8]) -> [UInt8] {
        redactIfNeeded(bytes) ?? bytes
    }

    /// Whether `text` contains any registered value in any form.
    public func containsSecret(_ text: String) -> Bool {
        redactIfNeeded(Array(text.utf8)) != nil
    }

    /// nil when nothing was found.
    private func redactIfNeeded(_ bytes: [UInt8]) -> [UInt8]? {
        index.withLock { index -> [UInt8]? in
            guard !index.isEmpty, bytes.count >= 4 else { return nil }
            var output: [UInt8] = []
            var copiedUpTo = 0
            var position = 0
            let marker = Array(Redactor.marker.utf8)
            while position + 4 <= bytes.count {
                let key = RedactionForms.prefixKey(bytes, at: position)
                if let candidates = index.byPrefix[key],
                   let match = candidates.first(where: { RedactionForms.matches(bytes, at: position, pattern: $0) })
                {
                    if output.isEmpty { output.reserveCapacity(bytes.count) }
                    output.append(contentsOf: bytes[copiedUpTo..<position])
                    output.append(contentsOf: marker)
                    position += match.count
                    copiedUpTo = position
                } else {
                    position += 1
                }
            }
            guard copiedUpTo > 0 else { return nil }
            output.append(contentsOf: bytes[copiedUpTo...])
            return output
        }
    }
}

/// The encoded forms a secret can take on its way to an output.
public enum RedactionForms {
    static func prefixKey(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    static func matches(_ bytes: [UInt8], at offset: Int, pattern: [UInt8]) -> Bool {
        guard offset + pattern.count <= bytes.count else { return false }
        for index in 0..<pattern.count where bytes[offset + index] != pattern[index] { return false }
        return true
    }

    /// Every form of `secret` worth searching for.
    public static func variants(of secret: [UInt8]) -> [[UInt8]] {
        var forms: [[UInt8]] = [secret]
        // URL encodings.
        let alnum: (UInt8) -> Bool = { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
        let unreserved: (UInt8) -> Bool = { alnum($0) || "-._~".utf8.contains($0) }
        let form: (UInt8) -> Bool = { alnum($0) || "*-._".utf8.contains($0) }
        let component: (UInt8) -> Bool = { alnum($0) || "-_.!~*'()".utf8.contains($0) }
        for upper in [true, false] {
            forms.append(percentEncode(secret, keep: unreserved, spaceAsPlus: false, upper: upper))
            forms.append(percentEncode(secret, keep: form, spaceAsPlus: true, upper: upper))
            forms.append(percentEncode(secret, keep: component, spaceAsPlus: false, upper: upper))
        }
        // JSON escapings.
        forms.append(jsonEscape(secret, escapeSlash: false, asciiOnly: false, upperHex: false))
        forms.append(jsonEscape(secret, escapeSlash: true, asciiOnly: false, upperHex: false))
        for upper in [false, true] {
            forms.append(jsonEscape(secret, escapeSlash: false, asciiOnly: true, upperHex: upper))
            forms.append(jsonEscape(secret, escapeSlash: true, asciiOnly: true, upperHex: upper))
        }
        // HTML escapings.
        for apostrophe in ["&#39;", "&#x27;", "&apos;", "'"] {
            for quote in ["&quot;", "&#34;", "\""] {
                forms.append(htmlEscape(secret, quote: quote, apostrophe: apostrophe, numericNonASCII: false))
            }
        }
        forms.append(htmlEscape(secret, quote: "&quot;", apostrophe: "&#39;", numericNonASCII: true))
        forms.append(htmlEscape(secret, quote: "&#34;", apostrophe: "&#39;", numericNonASCII: true))
        // Base64, standard and URL-safe, at each alignment.
        for alignment in 0..<3 {
            let core = base64Core(secret, alignment: alignment)
            if core.count >= 6 {
                forms.append(core)
                forms.append(core.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 })
            }
        }
        var unique: [[UInt8]] = []
        for form in forms where !unique.contains(form) { unique.append(form) }
        return unique
    }

    static func percentEncode(_ bytes: [UInt8], keep: (UInt8) -> Bool, spaceAsPlus: Bool, upper: Bool) -> [UInt8] {
        let hex = Array((upper ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        for byte in bytes {
            if keep(byte) {
                out.append(byte)
            } else if byte == 32 && spaceAsPlus {
                out.append(UInt8(ascii: "+"))
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
        }
        return out
    }

    static func jsonEscape(_ bytes: [UInt8], escapeSlash: Bool, asciiOnly: Bool, upperHex: Bool) -> [UInt8] {
        var out = ""
        let text = String(decoding: bytes, as: UTF8.self)
        func hex4(_ value: UInt16) -> String {
            let digits = String(value, radix: 16, uppercase: upperHex)
            return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += escapeSlash ? "\\/" : "/"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += hex4(UInt16(scalar.value))
                } else if asciiOnly && scalar.value > 0x7E {
                    for unit in String(scalar).utf16 { out += hex4(unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return Array(out.utf8)
    }

    static func htmlEscape(_ bytes: [UInt8], quote: String, apostrophe: String, numericNonASCII: Bool) -> [UInt8] {
        var out = ""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += quote
            case "'": out += apostrophe
            default:
                if numericNonASCII && scalar.value > 0x7E {
                    out += "&#\(scalar.value);"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return Array(out.utf8)
    }

    /// The base64 characters that encode only bytes of `secret` when it starts `alignment` bytes
    /// into a 3-byte group of a longer text.
    static func base64Core(_ secret: [UInt8], alignment: Int) -> [UInt8] {
        let padded = [UInt8](repeating: 0, count: alignment) + secret
        let encoded = Array(Base64.encode(padded).utf8.prefix { $0 != UInt8(ascii: "=") })
        let firstBit = 8 * alignment
        let endBit = 8 * (alignment + secret.count)
        let first = (firstBit + 5) / 6
        let end = endBit / 6
        guard end > first, end <= encoded.count else { return [] }
        return Array(encoded[first..<end])
    }
}

/// Base64 without Foundation (RFC 4648).
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard alphabet, padded.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)],
                    alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)]]
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let value = UInt32(input[index]) << 16
            out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
