import Foundation
import NightjarCore

/// Big-endian, length-prefixed fields: how the vault file and its sealed entry lists are laid out.
struct BinaryWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: Int) {
        precondition(value >= 0 && value <= 0xFFFF)
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func u32(_ value: Int) {
        precondition(value >= 0 && value <= 0xFFFF_FFFF)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> shift) & 0xFF)) }
    }

    mutating func u64(_ value: Int) {
        precondition(value >= 0)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> shift) & 0xFF)) }
    }

    /// A string of at most 65,535 bytes.
    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        u16(utf8.count)
        bytes += utf8
    }

    mutating func raw(_ data: some Collection<UInt8>) { bytes += data }

    /// Bytes with a 32-bit length.
    mutating func block(_ data: some Collection<UInt8>) {
        u32(data.count)
        bytes += data
    }

    /// A secret with a 32-bit length (copied into the buffer the caller wipes).
    mutating func block(_ secret: SecretBytes) {
        u32(secret.count)
        secret.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// Overwrites the buffer (it held secrets).
    mutating func wipe() { SecretBytes.wipe(&bytes) }
}

/// Reads what `BinaryWriter` wrote; every length is checked against what is left, so a damaged
/// file is an error, never a crash or a huge allocation.
struct BinaryReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0
    let what: String

    init(_ bytes: UnsafeRawBufferPointer, what: String) {
        self.bytes = bytes
        self.what = what
    }

    var remaining: Int { bytes.count - offset }
    var atEnd: Bool { offset == bytes.count }

    private func cut() -> VaultError { .damaged("\(what) is cut short or malformed at byte \(offset)") }

    mutating func u8() throws(VaultError) -> UInt8 {
        guard remaining >= 1 else { throw cut() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(VaultError) -> Int {
        guard remaining >= 2 else { throw cut() }
        defer { offset += 2 }
        return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }

    mutating func u32() throws(VaultError) -> Int {
        guard remaining >= 4 else { throw cut() }
        var value = 0
        for index in 0..<4 { value = value << 8 | Int(bytes[offset + index]) }
        offset += 4
        return value
    }

    mutating func u64() throws(VaultError) -> Int {
        guard remaining >= 8 else { throw cut() }
        var value: UInt64 = 0
        for index in 0..<8 { value = value << 8 | UInt64(bytes[offset + index]) }
        offset += 8
        guard value <= UInt64(Int.max) else { throw cut() }
        return Int(value)
    }

    mutating func string() throws(VaultError) -> String {
        let start = offset
        let field = try stringBytes()
        guard let text = BinaryReader.text(field) else {
            throw .damaged("\(what) holds text that is not UTF-8 at byte \(start + 2)")
        }
        return text
    }

    /// The bytes of a string field (u16 length), not yet made a `String`: valid only while
    /// the reader's buffer is.
    mutating func stringBytes() throws(VaultError) -> UnsafeRawBufferPointer {
        let count = try u16()
        guard remaining >= count else { throw cut() }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// The bytes of a block (u32 length), not copied: valid only while the reader's buffer is.
    mutating func blockBytes() throws(VaultError) -> UnsafeRawBufferPointer {
        let count = try u32()
        guard remaining >= count else { throw cut() }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// Whether two byte ranges hold the same bytes.
    static func same(_ bytes: UnsafeRawBufferPointer, _ other: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == other.count else { return false }
        guard bytes.count > 0 else { return true }
        return memcmp(bytes.baseAddress!, other.baseAddress!, bytes.count) == 0
    }

    /// Whether a byte range holds `other`.
    static func same(_ bytes: UnsafeRawBufferPointer, _ other: [UInt8]) -> Bool {
        other.withUnsafeBytes { same(bytes, $0) }
    }

    /// `bytes` as text, or nil when they are not UTF-8. ASCII (every name and timestamp the
    /// vault writes) is taken as it is; anything else is validated.
    static func text(_ bytes: UnsafeRawBufferPointer) -> String? {
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
        return String(validating: utf8, as: UTF8.self)
    }

    mutating func raw(_ count: Int) throws(VaultError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw cut() }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Bytes with a 32-bit length.
    mutating func block() throws(VaultError) -> [UInt8] { try raw(try u32()) }

    /// Bytes with a 32-bit length, straight into a zeroising buffer.
    mutating func secretBlock() throws(VaultError) -> SecretBytes {
        let count = try u32()
        guard remaining >= count else { throw cut() }
        defer { offset += count }
        return SecretBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
    }
}
