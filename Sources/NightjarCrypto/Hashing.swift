import CCrypto
import Foundation
public import NightjarCore

/// The hash functions HMAC and TOTP may use.
public enum HMACAlgorithm: String, Sendable, Codable, CaseIterable {
    case sha1, sha256, sha512

    var digest: OpaquePointer? {
        switch self {
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        }
    }

    /// Output size in bytes.
    public var outputSize: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha512: 64
        }
    }
}

/// HMAC (RFC 2104) with SHA-1, SHA-256 or SHA-512.
public enum HMAC {
    public static func authenticate(_ message: [UInt8], key: [UInt8], algorithm: HMACAlgorithm) -> [UInt8] {
        _ = libraryInitialised
        var output = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        key.withUnsafeBytes { keyBuffer in
            message.withUnsafeBytes { messageBuffer in
                _ = CCrypto.HMAC(
                    algorithm.digest, keyBuffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(keyBuffer.count),
                    messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count, &output,
                    &length)
            }
        }
        return Array(output[0..<Int(length)])
    }

    public static func authenticate(_ message: [UInt8], key: SecretBytes, algorithm: HMACAlgorithm) -> [UInt8] {
        var keyBytes = key.unsafeArray()
        defer { SecretBytes.wipe(&keyBytes) }
        return authenticate(message, key: keyBytes, algorithm: algorithm)
    }
}

/// SHA-256, one-shot or streaming (for large downloaded files).
public final class SHA256 {
    private let context: OpaquePointer

    public init() {
        _ = libraryInitialised
        context = EVP_MD_CTX_new()!
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds bytes to the hash.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The 32-byte digest. The hasher must not be updated afterwards.
    public func finalize() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &output, &length)
        return output
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Hashes a file in 1 MiB chunks.
    public static func hash(fileAt path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw GeneralError(code: "file.unreadable", message: "cannot open \(path)", exitStatus: .noInput)
        }
        defer { close(descriptor) }
        let hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw GeneralError(code: "file.unreadable", message: "cannot read \(path)", exitStatus: .ioError)
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return hasher.finalize()
    }
}
