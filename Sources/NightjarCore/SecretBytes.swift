#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes of a secret (a password, a key, a TOTP seed). The buffer is locked in memory where the
/// system allows, wiped when released, and never printed: `description`, `debugDescription`
/// and reflection all show `[REDACTED]`.
///
/// The storage is written once, at initialisation, and only read afterwards, which is why the
/// type can be shared across threads.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable, Equatable
{
    private let pointer: UnsafeMutableRawPointer
    /// Number of bytes.
    public let count: Int
    private let locked: Bool

    /// Copies `bytes` into a new locked buffer. The caller remains responsible for wiping its copy.
    public init<S: Collection>(_ bytes: S) where S.Element == UInt8 {
        count = bytes.count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        locked = mlock(pointer, max(count, 1)) == 0
        var offset = 0
        for byte in bytes {
            pointer.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
    }

    /// A buffer of `count` bytes filled by `fill`, so secrets never pass through an ordinary array.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        locked = mlock(pointer, max(count, 1)) == 0
        do {
            try fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
        } catch {
            SecretBytes.wipe(pointer, count: max(count, 1))
            if locked { munlock(pointer, max(count, 1)) }
            pointer.deallocate()
            throw error
        }
    }

    /// The UTF-8 bytes of `text`.
    public convenience init(utf8 text: String) {
        self.init(Array(text.utf8))
    }

    deinit {
        SecretBytes.wipe(pointer, count: max(count, 1))
        if locked { munlock(pointer, max(count, 1)) }
        pointer.deallocate()
    }

    /// Gives read access to the bytes for the duration of `body`. Do not let the pointer escape.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// The bytes as an ordinary array. Only for the last step before bytes leave the program
    /// (a request body): ordinary arrays are not wiped.
    public func unsafeArray() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The bytes as a UTF-8 string, or nil when they are not valid UTF-8. Same caveat as `unsafeArray`.
    public func unsafeUTF8String() -> String? {
        withUnsafeBytes { String(validating: $0, as: UTF8.self) }
    }

    public var description: String { "[REDACTED]" }
    public var debugDescription: String { "[REDACTED]" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Constant-time comparison.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<lhs.count {
            difference |= lhs.pointer.load(fromByteOffset: index, as: UInt8.self)
                ^ rhs.pointer.load(fromByteOffset: index, as: UInt8.self)
        }
        return difference == 0
    }

    /// Overwrites memory with zeros in a way the optimiser does not remove.
    public static func wipe(_ pointer: UnsafeMutableRawPointer, count: Int) {
        #if canImport(Glibc)
        explicit_bzero(pointer, count)
        #else
        memset_s(pointer, count, 0, count)
        #endif
    }

    /// Wipes an ordinary byte array in place (best effort: copies made earlier are not reached).
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { wipe(base, count: buffer.count) }
        }
    }
}
