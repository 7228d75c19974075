import NightjarCore

/// How invoice references written by payers are brought to one form before comparing:
/// upper case; a trailing `-00`-style suffix dropped; a leading prefix such as `INV` or `#`
/// dropped; spaces and punctuation removed; leading zeros removed.
/// `"inv-000123-00"`, `"INV 123"`, `"#123"` and `"000123"` all become `"123"`.
public struct ReferenceNormalisation: Sendable, Codable, Equatable {
    /// Prefixes removed from the start (after upper-casing); the longest that fits is removed.
    public var prefixes: [String] { didSet { prefixBytes = prefixes.map { Array($0.utf8) } } }
    /// `prefixes` as bytes, for the fast path.
    var prefixBytes: [[UInt8]]
    public var stripLeadingZeros: Bool
    /// Drop a trailing separator followed only by zeros (`-00`, `/0`).
    public var stripZeroSuffix: Bool

    public init(
        prefixes: [String] = ["INVOICE", "INV", "NO", "#"], stripLeadingZeros: Bool = true, stripZeroSuffix: Bool = true
    ) {
        let sorted = prefixes.map { $0.uppercased() }.sorted { $0.count > $1.count }
        self.prefixes = sorted
        prefixBytes = sorted.map { Array($0.utf8) }
        self.stripLeadingZeros = stripLeadingZeros
        self.stripZeroSuffix = stripZeroSuffix
    }

    public static let standard = ReferenceNormalisation()

    enum CodingKeys: String, CodingKey { case prefixes, stripLeadingZeros, stripZeroSuffix }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        prefixes = try container.decode([String].self, forKey: .prefixes)
        prefixBytes = prefixes.map { Array($0.utf8) }
        stripLeadingZeros = try container.decode(Bool.self, forKey: .stripLeadingZeros)
        stripZeroSuffix = try container.decode(Bool.self, forKey: .stripZeroSuffix)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(prefixes, forKey: .prefixes)
        try container.encode(stripLeadingZeros, forKey: .stripLeadingZeros)
        try container.encode(stripZeroSuffix, forKey: .stripZeroSuffix)
    }

    static func isSeparator(_ scalar: Unicode.Scalar) -> Bool { scalar.isASCII && isSeparator(UInt8(scalar.value)) }

    static func isSeparator(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x2D, 0x5F, 0x2F, 0x2E, 0x23, 0x3A, 0x2C, 0x3B: true  // space - _ / . # : , ;
        default: false
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isLetter(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }

    /// The normalised form of `reference`.
    public func normalise(_ reference: String) -> String {
        var text = reference
        return text.withUTF8 { bytes in
            if bytes.allSatisfy({ $0 < 0x80 }) { return normaliseASCII(bytes, stripPrefix: true) }
            return normaliseUnicode(reference)
        }
    }

    /// Upper-cased ASCII bytes with surrounding spaces trimmed, written into `buffer`; the count used.
    static func upperTrimmed(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int
    {
        var start = 0
        var end = bytes.count
        while start < end && bytes[start] == 0x20 { start += 1 }
        while end > start && bytes[end - 1] == 0x20 { end -= 1 }
        var count = 0
        for index in start..<end {
            let byte = bytes[index]
            buffer[count] = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
            count += 1
        }
        return count
    }

    func normaliseASCII(_ bytes: UnsafeBufferPointer<UInt8>, stripPrefix: Bool) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(bytes.count, 1)) { buffer in
            var end = ReferenceNormalisation.upperTrimmed(bytes, into: buffer)
            if stripZeroSuffix, end > 2 {
                var separator = end - 1
                while separator > 0 && !ReferenceNormalisation.isSeparator(buffer[separator]) { separator -= 1 }
                if separator > 0, separator < end - 1, (separator + 1..<end).allSatisfy({ buffer[$0] == 0x30 }) {
                    end = separator
                }
            }
            var start = 0
            if stripPrefix { start = prefixLength(buffer, count: end) }
            var out = 0
            var leading = stripLeadingZeros
            var sawZero = false
            for index in start..<end {
                let byte = buffer[index]
                if ReferenceNormalisation.isSeparator(byte) { continue }
                if leading {
                    if byte == 0x30 {
                        sawZero = true
                        continue
                    }
                    leading = false
                }
                buffer[out] = byte
                out += 1
            }
            if out == 0 && sawZero {
                buffer[0] = 0x30
                out = 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<out]), as: UTF8.self)
        }
    }

    /// How many leading bytes a prefix takes: the longest configured prefix followed by a
    /// separator or a digit (`INVERNESS-1` keeps its letters), or `#` followed by anything.
    func prefixLength(_ buffer: UnsafeMutableBufferPointer<UInt8>, count: Int) -> Int {
        var best = 0
        for prefix in prefixBytes {
            let length = prefix.count
            guard length > best, count > length, buffer[0] == prefix[0] else { continue }
            var equal = true
            for index in 1..<length where buffer[index] != prefix[index] {
                equal = false
                break
            }
            guard equal else { continue }
            let next = buffer[length]
            if ReferenceNormalisation.isSeparator(next) || ReferenceNormalisation.isDigit(next) || prefix == [0x23] {
                best = length
            }
        }
        return best
    }

    func normaliseUnicode(_ reference: String) -> String {
        var scalars = Array(reference.uppercased().unicodeScalars)
        while let last = scalars.last, last == " " { scalars.removeLast() }
        while let first = scalars.first, first == " " { scalars.removeFirst() }
        if stripZeroSuffix, let separator = scalars.lastIndex(where: { ReferenceNormalisation.isSeparator($0) }),
            separator > 0, separator < scalars.count - 1, scalars[(separator + 1)...].allSatisfy({ $0 == "0" })
        {
            scalars.removeSubrange(separator...)
        }
        var best = 0
        for prefix in prefixes {
            let prefixScalars = Array(prefix.unicodeScalars)
            guard prefixScalars.count > best, scalars.count > prefixScalars.count,
                Array(scalars.prefix(prefixScalars.count)) == prefixScalars
            else { continue }
            let next = scalars[prefixScalars.count]
            if ReferenceNormalisation.isSeparator(next) || ("0"..."9").contains(next) || prefix == "#" {
                best = prefixScalars.count
            }
        }
        scalars.removeFirst(best)
        var result = String.UnicodeScalarView()
        for scalar in scalars where !ReferenceNormalisation.isSeparator(scalar) { result.append(scalar) }
        var text = String(result)
        if stripLeadingZeros {
            let trimmed = text.drop { $0 == "0" }
            text = trimmed.isEmpty && !text.isEmpty ? "0" : String(trimmed)
        }
        return text
    }

    /// Other readings of a reference whose prefix is glued to more letters (`INVEX203614-00`,
    /// `invex217869`), which `normalise` leaves alone: the reference without the prefix
    /// (`EX203614`), and without the prefix and the letters after it (`203614`).
    public func gluedPrefixVariants(_ reference: String) -> [String] {
        let upper = reference.uppercased().trimmingWhitespace()
        var result: [String] = []
        // Only word prefixes of three letters or more (`INV`, `INVOICE`): `NO` glued to letters is a word.
        for prefix in prefixes
        where prefix.count >= 3 && prefix.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic })
            && upper.hasPrefix(prefix)
        {
            let rest = upper.dropFirst(prefix.count)
            guard let next = rest.unicodeScalars.first, next.properties.isAlphabetic else { continue }
            let withoutPrefix = normaliseWithoutPrefix(String(rest))
            let withoutLetters = normaliseWithoutPrefix(String(rest.drop { $0.isLetter }))
            for variant in [withoutPrefix, withoutLetters] where !variant.isEmpty && !result.contains(variant) {
                // At least one digit: letters alone are not an invoice number.
                if variant.utf8.contains(where: ReferenceNormalisation.isDigit) { result.append(variant) }
            }
        }
        return result
    }

    func normaliseWithoutPrefix(_ text: String) -> String {
        var copy = text
        return copy.withUTF8 { bytes in
            bytes.allSatisfy({ $0 < 0x80 }) ? normaliseASCII(bytes, stripPrefix: false) : normaliseUnicode(text)
        }
    }

    /// The invoice references in a reference that names several (`INV 1108191 & 1040066`,
    /// `1106113,1004553`, `1144235/1119972/1047406`), or nil when it names one. Only tried when
    /// the whole reference matches nothing, so `RE-2026/0042` stays one invoice when it is one.
    public func parts(_ reference: String) -> [String]? {
        let pieces = reference.split(whereSeparator: { "&,/;+".contains($0) }).map {
            $0.trimmingWhitespace()
        }
        guard pieces.count >= 2, pieces.count <= 12, pieces.allSatisfy({ !$0.isEmpty }) else { return nil }
        return pieces
    }
}
