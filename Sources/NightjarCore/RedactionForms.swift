/// The exact encodings of a secret that the redactor looks for byte for byte, beside the escaped
/// forms it decodes as it reads: base64 (standard and URL-safe, at the three alignments a value
/// can take inside a longer base64 text) and hexadecimal (either case).
public enum RedactionForms {
    /// The base64 characters that encode only bytes of `secret` when it starts `alignment` bytes
    /// into a 3-byte group of a longer text.
    public static func base64Core(_ secret: [UInt8], alignment: Int) -> [UInt8] {
        let padded = [UInt8](repeating: 0, count: alignment) + secret
        let encoded = Array(Base64.encode(padded).utf8.prefix { $0 != UInt8(ascii: "=") })
        let firstBit = 8 * alignment
        let endBit = 8 * (alignment + secret.count)
        let first = (firstBit + 5) / 6
        let end = endBit / 6
        guard end > first, end <= encoded.count else { return [] }
        return Array(encoded[first..<end])
    }

    /// `base64` in the URL-safe alphabet (`-` and `_` for `+` and `/`).
    public static func urlSafe(_ base64: [UInt8]) -> [UInt8] {
        base64.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
    }

    /// `secret` as hexadecimal digits, lower or upper case.
    public static func hex(_ secret: [UInt8], uppercase: Bool) -> [UInt8] {
        let digits = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        out.reserveCapacity(secret.count * 2)
        for byte in secret {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return out
    }

    /// Every exact form of `secret` worth searching for (at least the searchable length), without repeats.
    static func exactForms(of secret: [UInt8]) -> [[UInt8]] {
        var forms: [[UInt8]] = []
        func add(_ form: [UInt8]) {
            if form.count >= Redactor.minimumSearchableLength && form != secret && !forms.contains(form) {
                forms.append(form)
            }
        }
        for alignment in 0..<3 {
            let core = base64Core(secret, alignment: alignment)
            add(core)
            add(urlSafe(core))
        }
        add(hex(secret, uppercase: false))
        add(hex(secret, uppercase: true))
        return forms
    }
}

extension RedactionForms {
    private static let base64Alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    private static let urlSafeAlphabet: StaticString =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    private static let lowerDigits: StaticString = "0123456789abcdef"
    private static let upperDigits: StaticString = "0123456789ABCDEF"

    /// The longest form `exactForms` can make of `length` bytes: their hexadecimal digits.
    static func longestForm(_ length: Int) -> Int { 2 * length }

    /// Writes the candidates for `exactForms(of: secret)`, in the same order, into `scratch` (room
    /// for `longestForm(secret.count)` bytes) and hands each to `take`: no array or string per
    /// form, for registering thousands of values at once. A URL-safe or upper-case form that
    /// would repeat its standard or lower-case twin is skipped; the caller drops other repeats
    /// (all-zero secrets give the same base64 at two alignments).
    static func forEachExactForm(
        of secret: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutablePointer<UInt8>,
        _ take: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        for alignment in 0..<3 {
            let count = base64Core(secret, alignment: alignment, alphabet: base64Alphabet, into: scratch)
            guard count >= Redactor.minimumSearchableLength else { continue }
            var safeDiffers = false
            for offset in 0..<count where scratch[offset] == UInt8(ascii: "+") || scratch[offset] == UInt8(ascii: "/") {
                safeDiffers = true
                break
            }
            take(UnsafeBufferPointer(start: scratch, count: count))
            if safeDiffers {
                _ = base64Core(secret, alignment: alignment, alphabet: urlSafeAlphabet, into: scratch)
                take(UnsafeBufferPointer(start: scratch, count: count))
            }
        }
        let count = 2 * secret.count
        guard count >= Redactor.minimumSearchableLength else { return }
        var hasLetter = false
        for (offset, byte) in secret.enumerated() {
            scratch[2 * offset] = lowerDigits.utf8Start[Int(byte >> 4)]
            scratch[2 * offset + 1] = lowerDigits.utf8Start[Int(byte & 15)]
            if byte >> 4 > 9 || byte & 15 > 9 { hasLetter = true }
        }
        take(UnsafeBufferPointer(start: scratch, count: count))
        guard hasLetter else { return }
        for (offset, byte) in secret.enumerated() {
            scratch[2 * offset] = upperDigits.utf8Start[Int(byte >> 4)]
            scratch[2 * offset + 1] = upperDigits.utf8Start[Int(byte & 15)]
        }
        take(UnsafeBufferPointer(start: scratch, count: count))
    }

    /// `base64Core(_:alignment:)` written into `out` in `alphabet`; returns its length (0 when empty).
    private static func base64Core(
        _ secret: UnsafeBufferPointer<UInt8>, alignment: Int, alphabet: StaticString,
        into out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        let first = (8 * alignment + 5) / 6
        let end = 8 * (alignment + secret.count) / 6
        guard end > first else { return 0 }
        @inline(__always) func padded(_ index: Int) -> UInt32 {
            let offset = index - alignment
            return offset >= 0 && offset < secret.count ? UInt32(secret[offset]) : 0
        }
        let letters = alphabet.utf8Start
        for character in first..<end {
            let bit = 6 * character
            let pair = padded(bit / 8) << 8 | padded(bit / 8 + 1)
            out[character - first] = letters[Int(pair >> UInt32(10 - bit % 8) & 63)]
        }
        return end - first
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
            out += [
                alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)],
                alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)],
            ]
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let value = UInt32(input[index]) << 16
            out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            out += [
                alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], 61,
            ]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
