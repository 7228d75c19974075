import CArgon2
import CCrypto
public import NightjarCore

/// Argon2id cost parameters (RFC 9106).
public struct Argon2Parameters: Sendable, Codable, Hashable {
    public var memoryKiB: UInt32
    public var iterations: UInt32
    public var parallelism: UInt32

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    /// RFC 9106 §4, second recommendation: 64 MiB, 3 passes, 4 lanes. The default.
    public static let rfc9106Second = Argon2Parameters(memoryKiB: 64 * 1024, iterations: 3, parallelism: 4)
    /// RFC 9106 §4, first recommendation: 2 GiB, 1 pass, 4 lanes.
    public static let rfc9106First = Argon2Parameters(memoryKiB: 2 * 1024 * 1024, iterations: 1, parallelism: 4)
    /// A cheap profile for test sweeps. Reachable only through the Testing SPI.
    @_spi(Testing) public static let testingCheap = Argon2Parameters(memoryKiB: 256, iterations: 1, parallelism: 1)
}

/// Argon2id through the reference implementation (libargon2; OpenSSL 3.0 has none).
public enum Argon2id {
    /// Derives `length` bytes from a password.
    public static func deriveKey(
        password: SecretBytes, salt: [UInt8], parameters: Argon2Parameters,
        length: Int = 32
    ) throws(CryptoError) -> SecretBytes {
        try derive(
            password: password, salt: salt, secret: nil, associatedData: [], parameters: parameters, length: length)
    }

    /// The full function, with the optional secret and associated data of RFC 9106.
    public static func derive(
        password: SecretBytes, salt: [UInt8], secret: SecretBytes?, associatedData: [UInt8],
        parameters: Argon2Parameters, length: Int
    ) throws(CryptoError) -> SecretBytes {
        guard salt.count >= 8 else { throw .invalidParameters("an Argon2 salt needs at least 8 bytes") }
        guard length >= 4, length <= 1024 else { throw .invalidParameters("output length \(length)") }
        guard parameters.parallelism >= 1, parameters.parallelism <= 255, parameters.iterations >= 1,
            parameters.memoryKiB >= 8 * parameters.parallelism, parameters.memoryKiB <= 4 * 1024 * 1024
        else {
            throw .invalidParameters("m=\(parameters.memoryKiB) t=\(parameters.iterations) p=\(parameters.parallelism)")
        }
        var status: Int32 = 0
        let output = SecretBytes(count: length) { out in
            password.withUnsafeBytes { pwd in
                var saltCopy = salt
                var adCopy = associatedData
                let secretBytes = secret?.unsafeArray() ?? []
                var secretCopy = secretBytes
                defer { SecretBytes.wipe(&secretCopy) }
                saltCopy.withUnsafeMutableBufferPointer { saltBuffer in
                    adCopy.withUnsafeMutableBufferPointer { adBuffer in
                        secretCopy.withUnsafeMutableBufferPointer { secretBuffer in
                            var context = Argon2_Context(
                                out: out.baseAddress!.assumingMemoryBound(to: UInt8.self), outlen: UInt32(length),
                                pwd: UnsafeMutablePointer(
                                    mutating: pwd.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                                pwdlen: UInt32(pwd.count),
                                salt: saltBuffer.baseAddress, saltlen: UInt32(saltBuffer.count),
                                secret: secretBuffer.isEmpty ? nil : secretBuffer.baseAddress,
                                secretlen: UInt32(secretBuffer.count),
                                ad: adBuffer.isEmpty ? nil : adBuffer.baseAddress, adlen: UInt32(adBuffer.count),
                                t_cost: parameters.iterations, m_cost: parameters.memoryKiB,
                                lanes: parameters.parallelism, threads: parameters.parallelism,
                                version: UInt32(ARGON2_VERSION_13.rawValue),
                                allocate_cbk: nil, free_cbk: nil, flags: 0)
                            status = argon2_ctx(&context, Argon2_id)
                        }
                    }
                }
            }
        }
        guard status == ARGON2_OK.rawValue else {
            throw .library("argon2: \(String(cString: argon2_error_message(status)))")
        }
        return output
    }
}

/// scrypt (RFC 7914) through libcrypto.
public enum Scrypt {
    /// Derives `length` bytes. N must be a power of two up to 2^20; r·p below 2^30.
    public static func deriveKey(
        password: SecretBytes, salt: [UInt8], n: UInt64, r: UInt64, p: UInt64,
        length: Int
    ) throws(CryptoError) -> SecretBytes {
        _ = libraryInitialised
        guard n >= 2, n & (n - 1) == 0, n <= 1 << 20, r >= 1, p >= 1, r * p < 1 << 30, length >= 1 else {
            throw .invalidParameters("scrypt N=\(n) r=\(r) p=\(p)")
        }
        let maxMemory = 128 * n * r + 128 * r * p + (64 << 20)
        var ok: Int32 = 0
        let output = SecretBytes(count: length) { out in
            var passwordBytes = password.unsafeArray() + [0]
            defer { SecretBytes.wipe(&passwordBytes) }
            passwordBytes.withUnsafeBytes { pwd in
                ok = EVP_PBE_scrypt(
                    pwd.baseAddress!.assumingMemoryBound(to: CChar.self), password.count, salt, salt.count,
                    n, r, p, maxMemory, out.baseAddress!.assumingMemoryBound(to: UInt8.self), length)
            }
        }
        guard ok == 1 else { throw CryptoError.fromLibrary("scrypt") }
        return output
    }
}

/// The HKDF implementation, fetched once (fetching is slow and the result is shareable).
let hkdfImplementation = FetchedKDF(name: "HKDF")

final class FetchedKDF: @unchecked Sendable {
    /// Immutable after init; libcrypto's fetched objects are safe to share between threads.
    let pointer: OpaquePointer?
    init(name: String) {
        _ = libraryInitialised
        pointer = EVP_KDF_fetch(nil, name, nil)
    }
}

/// HKDF with SHA-256 (RFC 5869).
public enum HKDF {
    public static func sha256(inputKeyMaterial: SecretBytes, salt: [UInt8], info: [UInt8], length: Int)
        throws(CryptoError) -> SecretBytes
    {
        _ = libraryInitialised
        guard length >= 1, length <= 255 * 32 else { throw .invalidParameters("HKDF length \(length)") }
        var ok: Int32 = 0
        let output = SecretBytes(count: length) { out in
            inputKeyMaterial.withUnsafeBytes { ikm in
                ok = ccrypto_hkdf_sha256(
                    hkdfImplementation.pointer, ikm.baseAddress?.assumingMemoryBound(to: UInt8.self), ikm.count, salt,
                    salt.count, info, info.count,
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), length)
            }
        }
        guard ok == 1 else { throw CryptoError.fromLibrary("HKDF") }
        return output
    }

    /// HKDF over plain input bytes (test vectors, non-secret material).
    public static func sha256(inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws(CryptoError)
        -> [UInt8]
    {
        try sha256(inputKeyMaterial: SecretBytes(inputKeyMaterial), salt: salt, info: info, length: length)
            .unsafeArray()
    }
}
