import CCrypto
public import NightjarCore

/// Errors from the cryptographic primitives. None carries key material or plaintext.
public enum CryptoError: NightjarError, Equatable {
    /// The tag did not verify: wrong key, wrong associated data, or altered ciphertext.
    case authenticationFailed
    /// The input is shorter than a tag.
    case truncated
    case invalidKeySize(expected: Int, got: Int)
    case invalidNonceSize(expected: Int, got: Int)
    case invalidParameters(String)
    /// A public key that yields an all-zero shared secret (a low-order point).
    case lowOrderPoint
    case invalidKey(String)
    case invalidEncoding(String)
    /// The underlying library failed unexpectedly.
    case library(String)

    public var code: String {
        switch self {
        case .authenticationFailed: "crypto.authentication_failed"
        case .truncated: "crypto.truncated"
        case .invalidKeySize: "crypto.invalid_key_size"
        case .invalidNonceSize: "crypto.invalid_nonce_size"
        case .invalidParameters: "crypto.invalid_parameters"
        case .lowOrderPoint: "crypto.low_order_point"
        case .invalidKey: "crypto.invalid_key"
        case .invalidEncoding: "crypto.invalid_encoding"
        case .library: "crypto.library"
        }
    }

    public var message: String {
        switch self {
        case .authenticationFailed: "authentication failed: wrong key, wrong associated data, or altered data"
        case .truncated: "the encrypted data is too short"
        case .invalidKeySize(let expected, let got): "a key must be \(expected) bytes, not \(got)"
        case .invalidNonceSize(let expected, let got): "a nonce must be \(expected) bytes, not \(got)"
        case .invalidParameters(let detail): "invalid parameters: \(detail)"
        case .lowOrderPoint: "the peer's public key is a low-order point"
        case .invalidKey(let detail): "invalid key: \(detail)"
        case .invalidEncoding(let detail): "invalid encoding: \(detail)"
        case .library(let detail): "libcrypto failed: \(detail)"
        }
    }

    public var exitStatus: ExitStatus { .dataError }

    /// The library's last error, cleared from its queue.
    static func fromLibrary(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return .library("\(operation): \(text)")
    }
}

/// libcrypto is initialised once, without an atexit handler (libcurl links it too).
let libraryInitialised: Bool = ccrypto_init() == 1

/// The libcrypto version string, e.g. `OpenSSL 3.0.19 ...`.
public var cryptoLibraryVersion: String {
    _ = libraryInitialised
    return String(cString: OpenSSL_version(OPENSSL_VERSION))
}
