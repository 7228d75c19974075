import NightjarCore
import Synchronization

// The escape-tolerant matcher the redactor used before its one-pass scanner, kept verbatim as a
// reference: the scanner must redact everything this finds (and may find more).

enum ReferencePrefix {
    static func key(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    static func key8(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var key: UInt64 = 0
        for index in 0..<8 { key |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
        return key
    }

    static func matches(_ bytes: [UInt8], at offset: Int, pattern: [UInt8]) -> Bool {
        guard offset + pattern.count <= bytes.count else { return false }
        for index in 0..<pattern.count where bytes[offset + index] != pattern[index] { return false }
        return true
    }
}

final class ReferenceRedactor: Sendable {
    static let marker = "[REDACTED]"
    static let minimumSearchableLength = 6

    private struct Index: Sendable {
        /// Secrets as Unicode scalars with their UTF-8 bytes, for escape-tolerant matching.
        var secrets: [[Unicode.Scalar]] = []
        /// For each byte value, the secrets whose first byte (once decoded) it is.
        var startsWith: [[Int]] = Array(repeating: [], count: 256)
        /// The registered values, to skip duplicates in constant time.
        var registered: Set<[UInt8]> = []
        /// Exact patterns (base64 cores) of 8 bytes or more, keyed by their first eight bytes.
        var exactByPrefix8: [UInt64: [[UInt8]]] = [:]
        /// Shorter exact patterns (6 or 7 bytes), keyed by their first four bytes.
        var exactByPrefix4: [UInt32: [[UInt8]]] = [:]
        var isEmpty: Bool { secrets.isEmpty }
    }

    private let index = Mutex(Index())

    init() {}

    /// Registers a secret. Returns false when the value is too short to search for safely.
    @discardableResult
    func register(_ secret: SecretBytes) -> Bool {
        secret.withUnsafeBytes { register(bytes: Array($0)) }
    }

    /// Registers a secret given as text (e.g. a TOTP code made from a vault seed).
    @discardableResult
    func register(text: String) -> Bool {
        register(bytes: Array(text.utf8))
    }

    private func register(bytes: [UInt8]) -> Bool {
        guard bytes.count >= ReferenceRedactor.minimumSearchableLength else { return false }
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        var cores: [[UInt8]] = []
        for alignment in 0..<3 {
            let core = RedactionForms.base64Core(bytes, alignment: alignment)
            guard core.count >= 6 else { continue }
            cores.append(core)
            cores.append(
                core.map {
                    $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0
                })
        }
        index.withLock { index in
            guard index.registered.insert(bytes).inserted else { return }
            let number = index.secrets.count
            index.secrets.append(scalars)
            index.startsWith[Int(bytes[0])].append(number)
            for core in cores {
                if core.count >= 8 {
                    index.exactByPrefix8[ReferencePrefix.key8(core, at: 0), default: []].append(core)
                } else {
                    index.exactByPrefix4[ReferencePrefix.key(core, at: 0), default: []].append(core)
                }
            }
        }
        return true
    }

    /// Number of secrets registered.
    var count: Int { index.withLock { $0.secrets.count } }

    /// Forgets every registered value (tests, and the end of a run).
    func removeAll() {
        index.withLock { $0 = Index() }
    }

    /// `text` with every registered value, in every form, replaced by `[REDACTED]`.
    func redact(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard let redacted = redactIfNeeded(bytes) else { return text }
        return String(decoding: redacted, as: UTF8.self)
    }

    /// `bytes` with every registered value replaced (for files: HAR recordings, reports).
    func redact(bytes: [UInt8]) -> [UInt8] {
        redactIfNeeded(bytes) ?? bytes
    }

    /// Whether `text` contains any registered value in any form.
    func containsSecret(_ text: String) -> Bool {
        redactIfNeeded(Array(text.utf8)) != nil
    }

    /// nil when nothing was found.
    func redactIfNeeded(_ bytes: [UInt8]) -> [UInt8]? {
        var ranges: [Range<Int>] = []
        return redactIfNeeded(bytes, ranges: &ranges)
    }

    /// The ranges of `bytes` this matcher replaces.
    func hiddenRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        _ = redactIfNeeded(bytes, ranges: &ranges)
        return ranges
    }

    func redactIfNeeded(_ bytes: [UInt8], ranges: inout [Range<Int>]) -> [UInt8]? {
        index.withLock { index -> [UInt8]? in
            guard !index.isEmpty, !bytes.isEmpty else { return nil }
            var output: [UInt8] = []
            var copiedUpTo = 0
            var position = 0
            let marker = Array(ReferenceRedactor.marker.utf8)
            // Bytes that may start an escape (%XX, +, \u, &...). Where the text's next two bytes are
            // neither, a secret can only be there written raw: two byte compares rule most out.
            func plain(_ byte: UInt8) -> Bool { byte != 37 && byte != 43 && byte != 92 && byte != 38 }
            while position < bytes.count {
                var end = -1
                let rawPair = position + 1 < bytes.count && plain(bytes[position]) && plain(bytes[position + 1])
                func consider(_ first: UInt8) {
                    for number in index.startsWith[Int(first)] {
                        let secret = index.secrets[number]
                        if rawPair, secret.count > 1, secret[0].isASCII, secret[1].isASCII,
                            bytes[position] != UInt8(secret[0].value) || bytes[position + 1] != UInt8(secret[1].value)
                        {
                            continue
                        }
                        if let matchEnd = ReferenceEscapeTolerantMatch.end(of: secret, in: bytes, at: position),
                            matchEnd > end
                        {
                            end = matchEnd
                        }
                    }
                }
                if plain(bytes[position]) {
                    consider(bytes[position])
                } else {
                    for first in ReferenceEscapeTolerantMatch.firstDecodedBytes(bytes, at: position) { consider(first) }
                }
                if position + 8 <= bytes.count,
                    let candidates = index.exactByPrefix8[ReferencePrefix.key8(bytes, at: position)]
                {
                    for pattern in candidates
                    where position + pattern.count > end
                        && ReferencePrefix.matches(bytes, at: position, pattern: pattern)
                    {
                        end = position + pattern.count
                    }
                }
                if position + 4 <= bytes.count,
                    let candidates = index.exactByPrefix4[ReferencePrefix.key(bytes, at: position)]
                {
                    for pattern in candidates
                    where position + pattern.count > end
                        && ReferencePrefix.matches(bytes, at: position, pattern: pattern)
                    {
                        end = position + pattern.count
                    }
                }
                if end > position {
                    if output.isEmpty { output.reserveCapacity(bytes.count) }
                    output.append(contentsOf: bytes[copiedUpTo..<position])
                    output.append(contentsOf: marker)
                    ranges.append(position..<end)
                    position = end
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

/// Matches a secret in text where each of its characters may be written raw or escaped.
enum ReferenceEscapeTolerantMatch {
    /// The bytes a secret's first byte could be, given what starts at `position`: the byte
    /// itself, or what a `%XX`, `%25XX`, `+`, JSON escape or HTML reference there decodes to.
    static func firstDecodedBytes(_ text: [UInt8], at position: Int) -> [UInt8] {
        let byte = text[position]
        switch byte {
        case UInt8(ascii: "%"):
            var result: [UInt8] = [byte]
            if let value = hexByte(text, at: position + 1) {
                result.append(value)
                if value == 0x25, let inner = hexByte(text, at: position + 3) { result.append(inner) }
            }
            return result
        case UInt8(ascii: "+"):
            return [byte, 32]
        case UInt8(ascii: "\\"):
            var cursor = position
            while cursor < text.count, text[cursor] == UInt8(ascii: "\\") { cursor += 1 }
            guard cursor < text.count else { return [byte] }
            switch text[cursor] {
            case UInt8(ascii: "u"):
                guard let unit = hex4(text, at: cursor + 1) else { return [byte] }
                if (0xD800...0xDBFF).contains(unit) { return [byte, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4] }
                guard let scalar = Unicode.Scalar(UInt32(unit)) else { return [byte] }
                return [byte, Array(String(scalar).utf8)[0]]
            case UInt8(ascii: "n"): return [byte, 10]
            case UInt8(ascii: "t"): return [byte, 9]
            case UInt8(ascii: "r"): return [byte, 13]
            case UInt8(ascii: "b"): return [byte, 8]
            case UInt8(ascii: "f"): return [byte, 12]
            default: return [byte, text[cursor]]
            }
        case UInt8(ascii: "&"):
            guard let semicolon = text[position..<min(text.count, position + 12)].firstIndex(of: UInt8(ascii: ";"))
            else { return [byte] }
            for candidate: UInt8 in [38, 60, 62, 34, 39]
            where htmlReference(Unicode.Scalar(candidate), in: text, at: position) == semicolon + 1 {
                return [byte, candidate]
            }
            let name = String(decoding: text[(position + 1)..<semicolon], as: UTF8.self)
            let value =
                name.hasPrefix("#x") || name.hasPrefix("#X")
                ? UInt32(name.dropFirst(2), radix: 16)
                : name.hasPrefix("#") ? UInt32(name.dropFirst(1)) : (name == "nbsp" ? 160 : nil)
            guard let value, let scalar = Unicode.Scalar(value) else { return [byte] }
            return [byte, Array(String(scalar).utf8)[0]]
        default:
            return [byte]
        }
    }

    /// The end offset of a match of `secret` starting at `start`, or nil. Each character may have
    /// several readings (a raw `%` or the start of `%25`), so the search backtracks; it is bounded by
    /// the secret's length times the few readings a character has.
    static func end(of secret: [Unicode.Scalar], in text: [UInt8], at start: Int) -> Int? {
        var budget = 64 * secret.count
        func match(_ index: Int, _ position: Int) -> Int? {
            if index == secret.count { return position }
            budget -= 1
            guard budget > 0 else { return nil }
            for next in characterEnds(secret[index], in: text, at: position) {
                if let end = match(index + 1, next) { return end }
            }
            return nil
        }
        return match(0, start)
    }

    /// Every offset where one character of the secret can end when written at `position`.
    static func characterEnds(_ scalar: Unicode.Scalar, in text: [UInt8], at position: Int) -> [Int] {
        guard position < text.count else { return [] }
        var ends: [Int] = []
        // Raw or percent-encoded, byte by byte (each byte may have two readings).
        var cursors = [position]
        for byte in String(scalar).utf8 {
            cursors = cursors.flatMap { byteForms(byte, in: text, at: $0) }
            if cursors.isEmpty { break }
        }
        ends += cursors
        let first = text[position]
        if first == UInt8(ascii: "\\") {
            if scalar == "\\" {
                // A backslash escaped once, twice or three times: 2, 4 or 8 backslashes.
                for run in [2, 4, 8]
                where position + run <= text.count
                    && text[position..<(position + run)].allSatisfy({ $0 == UInt8(ascii: "\\") })
                {
                    ends.append(position + run)
                }
            } else if let end = jsonEscape(scalar, in: text, at: position) {
                ends.append(end)
            }
        }
        if first == UInt8(ascii: "&"), let end = htmlReference(scalar, in: text, at: position) { ends.append(end) }
        return ends
    }

    /// Where a byte ends when written raw, as `%XX`, as `%25XX`, or `+` for a space.
    static func byteForms(_ byte: UInt8, in text: [UInt8], at position: Int) -> [Int] {
        guard position < text.count else { return [] }
        var ends: [Int] = []
        if text[position] == byte { ends.append(position + 1) }
        if byte == 32 && text[position] == UInt8(ascii: "+") { ends.append(position + 1) }
        if text[position] == UInt8(ascii: "%") {
            if let value = hexByte(text, at: position + 1), value == byte { ends.append(position + 3) }
            if hexByte(text, at: position + 1) == 0x25, let value = hexByte(text, at: position + 3), value == byte {
                ends.append(position + 5)
            }
        }
        return ends
    }

    /// A JSON escape (possibly escaped again: any run of backslashes) that stands for `scalar`.
    static func jsonEscape(_ scalar: Unicode.Scalar, in text: [UInt8], at position: Int) -> Int? {
        var cursor = position
        while cursor < text.count, text[cursor] == UInt8(ascii: "\\") { cursor += 1 }
        guard cursor < text.count else { return scalar == "\\" ? cursor : nil }
        let letter = text[cursor]
        switch letter {
        case UInt8(ascii: "u"):
            guard let unit = hex4(text, at: cursor + 1) else { return nil }
            var end = cursor + 5
            var value = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                var low = end
                while low < text.count, text[low] == UInt8(ascii: "\\") { low += 1 }
                guard low > end, low < text.count, text[low] == UInt8(ascii: "u"), let second = hex4(text, at: low + 1),
                    (0xDC00...0xDFFF).contains(second)
                else { return nil }
                value = 0x10000 + (UInt32(unit) - 0xD800) << 10 + (UInt32(second) - 0xDC00)
                end = low + 5
            }
            return value == scalar.value ? end : nil
        case UInt8(ascii: "n"): return scalar == "\n" ? cursor + 1 : nil
        case UInt8(ascii: "t"): return scalar == "\t" ? cursor + 1 : nil
        case UInt8(ascii: "r"): return scalar == "\r" ? cursor + 1 : nil
        case UInt8(ascii: "b"): return scalar.value == 8 ? cursor + 1 : nil
        case UInt8(ascii: "f"): return scalar.value == 12 ? cursor + 1 : nil
        default:
            if scalar == "\\" { return cursor }
            if scalar == "\"" || scalar == "/", letter == UInt8(scalar.value) { return cursor + 1 }
            return nil
        }
    }

    /// An HTML character reference (`&amp;`, `&#39;`, `&#xE9;`) that stands for `scalar`.
    static func htmlReference(_ scalar: Unicode.Scalar, in text: [UInt8], at position: Int) -> Int? {
        guard let semicolon = text[position..<min(text.count, position + 12)].firstIndex(of: UInt8(ascii: ";")) else {
            return nil
        }
        let name = String(decoding: text[(position + 1)..<semicolon], as: UTF8.self)
        let value: UInt32?
        switch name {
        case "amp": value = 38
        case "lt": value = 60
        case "gt": value = 62
        case "quot": value = 34
        case "apos": value = 39
        case "nbsp": value = 160
        default:
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                value = UInt32(name.dropFirst(2), radix: 16)
            } else if name.hasPrefix("#") {
                value = UInt32(name.dropFirst(1), radix: 10)
            } else {
                value = nil
            }
        }
        return value == scalar.value ? semicolon + 1 : nil
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }

    static func hexByte(_ text: [UInt8], at position: Int) -> UInt8? {
        guard position + 1 < text.count, let high = hexDigit(text[position]), let low = hexDigit(text[position + 1])
        else {
            return nil
        }
        return high << 4 | low
    }

    static func hex4(_ text: [UInt8], at position: Int) -> UInt16? {
        guard let high = hexByte(text, at: position), let low = hexByte(text, at: position + 2) else { return nil }
        return UInt16(high) << 8 | UInt16(low)
    }
}
