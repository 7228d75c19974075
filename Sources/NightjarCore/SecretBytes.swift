import Synchronization

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
    /// The pool slot class of a small secret, or -1 for a buffer of its own.
    private let slotClass: Int

    /// Copies `bytes` into a new locked buffer. The caller remains responsible for wiping its copy.
    public init<S: Collection>(_ bytes: S) where S.Element == UInt8 {
        count = bytes.count
        (pointer, slotClass, locked) = LockedPool.allocate(count)
        if let contiguous = bytes.withContiguousStorageIfAvailable({ $0 }), let base = contiguous.baseAddress {
            pointer.copyMemory(from: base, byteCount: count)
            return
        }
        var offset = 0
        for byte in bytes {
            pointer.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
    }

    /// A buffer of `count` bytes filled by `fill`, so secrets never pass through an ordinary array.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.count = count
        (pointer, slotClass, locked) = LockedPool.allocate(count)
        do {
            try fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
        } catch {
            LockedPool.release(pointer, count: count, slotClass: slotClass, locked: locked)
            throw error
        }
    }

    /// The UTF-8 bytes of `text`.
    public convenience init(utf8 text: String) {
        self.init(Array(text.utf8))
    }

    deinit {
        LockedPool.release(pointer, count: count, slotClass: slotClass, locked: locked)
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
            difference |=
                lhs.pointer.load(fromByteOffset: index, as: UInt8.self)
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

/// Where secret bytes live. Small secrets (up to 256 bytes) take a slot in 64 KiB slabs that are
/// locked in memory once each, instead of one `mlock` per secret (a vault's 10,000 credentials
/// would otherwise cost 20,000 lock and unlock calls, and unlocking one secret's page would
/// unlock its neighbours'). Slots are wiped when released and reused; slabs are kept.
enum LockedPool {
    static let slotSizes = [32, 64, 128, 256]
    static let slabBytes = 64 * 1024

    /// Free slots (addresses) per size class, and whether every slab of the class is locked.
    struct Slabs {
        var free: [[UInt]] = Array(repeating: [], count: LockedPool.slotSizes.count)
        var locked: [Bool] = Array(repeating: true, count: LockedPool.slotSizes.count)
    }

    private static let slabs = Mutex(Slabs())

    /// A wiped-on-release buffer of at least `count` bytes: its pointer, slot class (-1: its own buffer) and whether it is locked.
    static func allocate(_ count: Int) -> (UnsafeMutableRawPointer, Int, Bool) {
        guard let slotClass = slotSizes.firstIndex(where: { count <= $0 }) else {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
            return (pointer, -1, mlock(pointer, count) == 0)
        }
        let (address, locked) = slabs.withLock { slabs -> (UInt, Bool) in
            if slabs.free[slotClass].isEmpty {
                let size = slotSizes[slotClass]
                var raw: UnsafeMutableRawPointer?
                guard posix_memalign(&raw, 4096, slabBytes) == 0, let slab = raw else {
                    fatalError("out of memory for secrets")
                }
                memset(slab, 0, slabBytes)
                slabs.locked[slotClass] = mlock(slab, slabBytes) == 0 && slabs.locked[slotClass]
                let base = UInt(bitPattern: slab)
                slabs.free[slotClass].reserveCapacity(slabs.free[slotClass].count + slabBytes / size)
                for offset in stride(from: slabBytes - size, through: 0, by: -size) {
                    slabs.free[slotClass].append(base + UInt(offset))
                }
            }
            return (slabs.free[slotClass].removeLast(), slabs.locked[slotClass])
        }
        return (UnsafeMutableRawPointer(bitPattern: address)!, slotClass, locked)
    }

    /// Wipes the buffer and returns it to its slab (or frees it).
    static func release(_ pointer: UnsafeMutableRawPointer, count: Int, slotClass: Int, locked: Bool) {
        guard slotClass >= 0 else {
            SecretBytes.wipe(pointer, count: max(count, 1))
            if locked { munlock(pointer, count) }
            pointer.deallocate()
            return
        }
        SecretBytes.wipe(pointer, count: slotSizes[slotClass])
        let address = UInt(bitPattern: pointer)
        slabs.withLock { $0.free[slotClass].append(address) }
    }
}
