import Foundation
import NightjarCore
@_spi(Testing) public import NightjarCrypto

/// The vault's use of the primitives: wrapping keys to principals, sealing fields and private
/// keys. Every construction is described in docs/vault-format.md.
enum VaultCrypto {
    static let formatLabel = "nightjar-vault/1"

    /// Wraps `key` to the principal whose X25519 public key is `recipient` (age-style).
    static func wrap(_ key: SecretBytes, to recipient: Data, principal: String, purpose: String, vaultID: Data) throws -> KeyWrap {
        let ephemeral = X25519.PrivateKey.generate()
        let ephemeralPublic = ephemeral.publicKey.rawRepresentation
        let wrapKey = try wrappingKey(ephemeralPrivate: ephemeral, peerPublic: Array(recipient),
                                      ephemeralPublic: ephemeralPublic, recipient: Array(recipient))
        let ciphertext = try key.withUnsafeBytes { bytes in
            try AEAD.seal(Array(bytes), key: wrapKey, nonce: [UInt8](repeating: 0, count: 12),
                          associatedData: Array(vaultID) + Array("\(formatLabel) \(purpose)".utf8), algorithm: .chaCha20Poly1305)
        }
        return KeyWrap(principal: principal, ephemeral: Data(ephemeralPublic), ciphertext: Data(ciphertext))
    }

    /// Unwraps a key with the principal's X25519 private key. Fails for any other key or purpose.
    static func unwrap(_ wrap: KeyWrap, with privateKey: X25519.PrivateKey, purpose: String, vaultID: Data) throws -> SecretBytes {
        let recipient = privateKey.publicKey.rawRepresentation
        let wrapKey = try wrappingKey(ephemeralPrivate: privateKey, peerPublic: Array(wrap.ephemeral),
                                      ephemeralPublic: Array(wrap.ephemeral), recipient: recipient)
        return try AEAD.openSecret(Array(wrap.ciphertext), key: wrapKey, nonce: [UInt8](repeating: 0, count: 12),
                                   associatedData: Array(vaultID) + Array("\(formatLabel) \(purpose)".utf8),
                                   algorithm: .chaCha20Poly1305)
    }

    private static func wrappingKey(ephemeralPrivate: X25519.PrivateKey, peerPublic: [UInt8], ephemeralPublic: [UInt8],
                                    recipient: [UInt8]) throws -> SecretBytes {
        let shared = try ephemeralPrivate.sharedSecret(with: X25519.PublicKey(rawRepresentation: peerPublic))
        return try HKDF.sha256(inputKeyMaterial: shared, salt: ephemeralPublic + recipient,
                               info: Array("\(formatLabel) wrap".utf8), length: 32)
    }

    /// Additional data that binds a sealed field to its place.
    static func fieldAAD(vaultID: Data, client: String, portal: String, field: String, generation: Int) -> [UInt8] {
        var aad = Array(formatLabel.utf8) + [0] + Array(vaultID)
        for part in [client, portal, field, String(generation)] { aad += [0] + Array(part.utf8) }
        return aad
    }

    static func sealField(_ value: SecretBytes, key: SecretBytes, aad: [UInt8]) throws -> SealedField {
        let nonce = SecureRandom.bytes(12)
        let ciphertext = try value.withUnsafeBytes { bytes in
            try AEAD.seal(Array(bytes), key: key, nonce: nonce, associatedData: aad, algorithm: .aes256GCM)
        }
        return SealedField(nonce: Data(nonce), ciphertext: Data(ciphertext))
    }

    static func openField(_ field: SealedField, key: SecretBytes, aad: [UInt8]) throws -> SecretBytes {
        try AEAD.openSecret(Array(field.ciphertext), key: key, nonce: Array(field.nonce), associatedData: aad,
                            algorithm: .aes256GCM)
    }

    /// The principal's two private keys, sealed under `sealKey`.
    static func sealPrivateKeys(_ keys: PrincipalKeys, sealKey: SecretBytes, kdf: KDFRecord?, vaultID: Data,
                                principal: String) throws -> SealedKeys {
        let nonce = SecureRandom.bytes(12)
        let plain = keys.serialized()
        let ciphertext = try plain.withUnsafeBytes { bytes in
            try AEAD.seal(Array(bytes), key: sealKey, nonce: nonce,
                          associatedData: Array(vaultID) + Array("\(formatLabel) principal \(principal)".utf8), algorithm: .aes256GCM)
        }
        return SealedKeys(kdf: kdf, nonce: Data(nonce), ciphertext: Data(ciphertext))
    }

    static func openPrivateKeys(_ sealed: SealedKeys, sealKey: SecretBytes, vaultID: Data, principal: String) throws -> PrincipalKeys {
        let plain = try AEAD.openSecret(Array(sealed.ciphertext), key: sealKey, nonce: Array(sealed.nonce),
                                        associatedData: Array(vaultID) + Array("\(formatLabel) principal \(principal)".utf8),
                                        algorithm: .aes256GCM)
        return try PrincipalKeys(serialized: plain)
    }

    /// Argon2id over a passphrase with parameters bounded before any work is done.
    static func passphraseKey(_ passphrase: SecretBytes, kdf: KDFRecord) throws -> SecretBytes {
        let parameters = Argon2Parameters(memoryKiB: kdf.memoryKiB, iterations: kdf.iterations, parallelism: kdf.parallelism)
        try VaultKDFPolicy.check(parameters)
        return try Argon2id.deriveKey(password: passphrase, salt: Array(kdf.salt), parameters: parameters, length: 32)
    }

    /// The recovery principal's seal key: the recovery key is random, so HKDF suffices.
    static func recoverySealKey(_ recoveryKey: SecretBytes) throws -> SecretBytes {
        try HKDF.sha256(inputKeyMaterial: recoveryKey, salt: [], info: Array("\(formatLabel) recovery".utf8), length: 32)
    }
}

/// A principal's private keys in memory: X25519 for unwrapping, Ed25519 for signing audit records.
struct PrincipalKeys {
    let exchange: X25519.PrivateKey
    let signing: Ed25519.SigningKey

    static func generate() -> PrincipalKeys {
        PrincipalKeys(exchange: .generate(), signing: .generate())
    }

    init(exchange: X25519.PrivateKey, signing: Ed25519.SigningKey) {
        self.exchange = exchange
        self.signing = signing
    }

    /// 64 bytes: X25519 private key, then the Ed25519 seed.
    func serialized() -> SecretBytes {
        let a = exchange.rawRepresentation, b = signing.rawRepresentation
        return SecretBytes(count: 64) { buffer in
            a.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 32) }
            b.withUnsafeBytes { (buffer.baseAddress! + 32).copyMemory(from: $0.baseAddress!, byteCount: 32) }
        }
    }

    init(serialized: SecretBytes) throws {
        guard serialized.count == 64 else { throw VaultError.damaged("a sealed key has the wrong length") }
        let exchangeKey = serialized.withUnsafeBytes { SecretBytes($0[0..<32]) }
        let signingSeed = serialized.withUnsafeBytes { SecretBytes($0[32..<64]) }
        exchange = try X25519.PrivateKey(rawRepresentation: exchangeKey)
        signing = try Ed25519.SigningKey(rawRepresentation: signingSeed)
    }
}

/// The bounds every stored KDF parameter set must meet before it is used: no weaker than
/// RFC 9106's second recommendation (m=64 MiB, t=3), no larger than 4 GiB / 64 passes.
public enum VaultKDFPolicy {
    /// The parameters new passphrases get.
    public static let standard = Argon2Parameters.rfc9106Second
    static let minimumMemoryKiB: UInt32 = 64 * 1024
    static let minimumIterations: UInt32 = 3
    static let maximumMemoryKiB: UInt32 = 4 * 1024 * 1024
    static let maximumIterations: UInt32 = 64
    static let maximumParallelism: UInt32 = 16

    /// Test code only: lets a vault use a cheap profile so sweeps can open it thousands of times.
    /// No file, option or environment variable reaches this.
    nonisolated(unsafe) static var testingProfileAllowed = false

    @_spi(Testing) public static func allowTestingProfile() { testingProfileAllowed = true }

    /// The profile new passphrases get: the standard one, or the cheap one under test.
    static var forNewPassphrases: Argon2Parameters { testingProfileAllowed ? Argon2Parameters.testingCheap : standard }

    static func check(_ parameters: Argon2Parameters) throws {
        guard parameters.memoryKiB <= maximumMemoryKiB, parameters.iterations <= maximumIterations,
              parameters.parallelism <= maximumParallelism, parameters.parallelism >= 1 else {
            throw VaultError.kdfOutOfBounds("m=\(parameters.memoryKiB) KiB t=\(parameters.iterations) p=\(parameters.parallelism) exceeds the limits (4 GiB, 64, 16)")
        }
        if testingProfileAllowed && parameters == Argon2Parameters.testingCheap { return }
        guard parameters.memoryKiB >= minimumMemoryKiB, parameters.iterations >= minimumIterations else {
            throw VaultError.kdfOutOfBounds("m=\(parameters.memoryKiB) KiB t=\(parameters.iterations) is weaker than the minimum m=\(minimumMemoryKiB) KiB t=\(minimumIterations)")
        }
    }
}
