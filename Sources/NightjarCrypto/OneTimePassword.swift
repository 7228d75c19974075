public import NightjarCore

/// Base32 (RFC 4648), the encoding of TOTP secrets.
public enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// Decodes, ignoring case, spaces, dashes and padding. Any other character is an error.
    public static func decode(_ text: String) throws(CryptoError) -> SecretBytes {
        var bits: UInt32 = 0
        var bitCount = 0
        var output: [UInt8] = []
        defer { SecretBytes.wipe(&output) }
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case 65...90: value = byte - 65
            case 97...122: value = byte - 97
            case 50...55: value = byte - 50 + 26
            case 32, 45, 61: continue
            default: throw .invalidEncoding("not base32")
            }
            bits = (bits << 5) | UInt32(value)
            bitCount += 5
            if bitCount >= 8 {
                output.append(UInt8((bits >> UInt32(bitCount - 8)) & 0xFF))
                bitCount -= 8
            }
        }
        return SecretBytes(output)
    }

    /// Encodes without padding.
    public static func encode(_ secret: SecretBytes) -> String {
        secret.withUnsafeBytes { bytes in
            var out: [UInt8] = []
            var bits: UInt32 = 0
            var bitCount = 0
            for byte in bytes {
                bits = (bits << 8) | UInt32(byte)
                bitCount += 8
                while bitCount >= 5 {
                    out.append(alphabet[Int((bits >> UInt32(bitCount - 5)) & 31)])
                    bitCount -= 5
                }
            }
            if bitCount > 0 { out.append(alphabet[Int((bits << UInt32(5 - bitCount)) & 31)]) }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

/// HOTP (RFC 4226).
public enum HOTP {
    public static func code(secret: SecretBytes, counter: UInt64, digits: Int, algorithm: HMACAlgorithm) -> String {
        var message = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 { message[index] = UInt8((counter >> UInt64(56 - 8 * index)) & 0xFF) }
        let mac = HMAC.authenticate(message, key: secret, algorithm: algorithm)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let value =
            (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt64 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(UInt64(value) % modulus)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// TOTP (RFC 6238): HOTP over the count of `period`-second steps since 1970.
public enum TOTP {
    public static func code(
        secret: SecretBytes, time: UInt64, digits: Int = 6, period: UInt64 = 30,
        algorithm: HMACAlgorithm = .sha1
    ) -> String {
        HOTP.code(secret: secret, counter: time / period, digits: digits, algorithm: algorithm)
    }

    /// The time step `time` falls in; a code is never sent twice for the same step.
    public static func step(time: UInt64, period: UInt64 = 30) -> UInt64 { time / period }
}
