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
            if form.count >= Redactor.minimumSearchableLength && form != secret && !forms.contains(form) { forms.append(form) }
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
