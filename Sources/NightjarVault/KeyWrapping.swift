import Foundation
import NightjarCore
@_spi(Testing) public import NightjarCrypto

/// The vault's use of the primitives: wrapping keys to principals, sealing fields and private
/// keys. Every construction is described in docs/vault-format.md; the wrap is unchanged from format 1.
enum VaultCrypto {
    static let formatLabel = "nightjar-vault/1"

    /// Wraps `key` to the principal whose X25519 public key is `recipient` (age-style).
    static func wrap(_ key: SecretBytes, to recipient: Data, principal: String, purpose: String, vaultID: Data) throws
        -> KeyWrap
    {
        let ephemeral = X25519.PrivateKey.generate()
        let ephemeralPublic = ephemeral.publicKey.rawRepresentation
        let wrapKey = try wrappingKey(
            ephemeralPrivate: ephemeral, peerPublic: Array(recipient),
            ephemeralPublic: ephemeralPublic, recipient: Array(recipient))
        let ciphertext = try key.withUnsafeBytes { bytes in
            try AEAD.seal(
                Array(bytes), key: wrapKey, nonce: [UInt8](repeating: 0, count: 12),
                associatedData: Array(vaultID) + Array("\(formatLabel) \(purpose)".utf8), algorithm: .chaCha20Poly1305)
        }
        return KeyWrap(principal: principal, ephemeral: Data(ephemeralPublic), ciphertext: Data(ciphertext))
    }

    /// Unwraps many keys with one principal's private key (its public key given, so neither is
    /// computed again per wrap); nil where a wrap does not open.
    static func unwrapAll(
        _ items: [(wrap: KeyWrap, purpose: String)], with privateKey: X25519.PrivateKey, publicKey: [UInt8],
        vaultID: Data
    ) throws -> [SecretBytes?] {
        let peers = items.map { try? X25519.PublicKey(rawRepresentation: Array($0.wrap.ephemeral)) }
        let secrets = try privateKey.sharedSecrets(with: peers.compactMap { $0 })
        var next = secrets.makeIterator()
        return try zip(items, peers).map { item, peer -> SecretBytes? in
            guard peer != nil, let shared = next.next() ?? nil else { return nil }
            let ephemeral = Array(item.wrap.ephemeral)
            let wrapKey = try HKDF.sha256(
                inputKeyMaterial: shared, salt: ephemeral + publicKey, info: Array("\(formatLabel) wrap".utf8),
                length: 32)
            return try? AEAD.openSecret(
                Array(item.wrap.ciphertext), key: wrapKey, nonce: [UInt8](repeating: 0, count: 12),
                associatedData: Array(vaultID) + Array("\(formatLabel) \(item.purpose)".utf8),
                algorithm: .chaCha20Poly1305)
        }
    }

    /// Unwraps a key with the principal's X25519 private key. Fails for any other key or purpose.
    static func unwrap(_ wrap: KeyWrap, with privateKey: X25519.PrivateKey, purpose: String, vaultID: Data) throws
        -> SecretBytes
    {
        let recipient = privateKey.publicKey.rawRepresentation
        let wrapKey = try wrappingKey(
            ephemeralPrivate: privateKey, peerPublic: Array(wrap.ephemeral),
            ephemeralPublic: Array(wrap.ephemeral), recipient: recipient)
        return try AEAD.openSecret(
            Array(wrap.ciphertext), key: wrapKey, nonce: [UInt8](repeating: 0, count: 12),
            associatedData: Array(vaultID) + Array("\(formatLabel) \(purpose)".utf8),
            algorithm: .chaCha20Poly1305)
    }

    private static func wrappingKey(
        ephemeralPrivate: X25519.PrivateKey, peerPublic: [UInt8], ephemeralPublic: [UInt8],
        recipient: [UInt8]
    ) throws -> SecretBytes {
        let shared = try ephemeralPrivate.sharedSecret(with: X25519.PublicKey(rawRepresentation: peerPublic))
        return try HKDF.sha256(
            inputKeyMaterial: shared, salt: ephemeralPublic + recipient,
            info: Array("\(formatLabel) wrap".utf8), length: 32)
    }

    /// The fingerprints of the vault's root: SHA-256 of the creating admin's and the recovery
    /// principal's Ed25519 public keys. Sealed with every principal's keys, so a chain that
    /// starts anywhere else is refused.
    struct Roots: Equatable {
        let admin: [UInt8]
        let recovery: [UInt8]
    }

    static func envelopeAAD(vaultID: Data, principal: String, version: Int) -> [UInt8] {
        Array(vaultID) + Array("nightjar-vault/\(version) principal \(principal)".utf8)
    }

    /// The principal's two private keys and the vault's root fingerprints, sealed under `sealKey`.
    static func sealPrivateKeys(
        _ keys: PrincipalKeys, roots: Roots, sealKey: SecretBytes, kdf: KDFRecord?, vaultID: Data,
        principal: String
    ) throws -> SealedKeys {
        let nonce = SecureRandom.bytes(12)
        let plain = keys.serialized()
        let ciphertext = try plain.withUnsafeBytes { bytes in
            try AEAD.seal(
                Array(bytes) + roots.admin + roots.recovery, key: sealKey, nonce: nonce,
                associatedData: envelopeAAD(vaultID: vaultID, principal: principal, version: 2), algorithm: .aes256GCM)
        }
        return SealedKeys(kdf: kdf, nonce: Data(nonce), ciphertext: Data(ciphertext), version: 2)
    }

    /// Opens sealed keys; format-1 envelopes (left by an upgrade) carry no roots.
    static func openPrivateKeys(_ sealed: SealedKeys, sealKey: SecretBytes, vaultID: Data, principal: String) throws
        -> (PrincipalKeys, Roots?)
    {
        let version = sealed.version ?? 1
        guard version == 1 || version == 2 else {
            throw VaultError.damaged("principal \(principal)'s sealed keys have an unknown version")
        }
        let plain = try AEAD.openSecret(
            Array(sealed.ciphertext), key: sealKey, nonce: Array(sealed.nonce),
            associatedData: envelopeAAD(vaultID: vaultID, principal: principal, version: version),
            algorithm: .aes256GCM)
        if version == 1 { return (try PrincipalKeys(serialized: plain), nil) }
        guard plain.count == 128 else {
            throw VaultError.damaged("principal \(principal)'s sealed keys have the wrong length")
        }
        let keys = try PrincipalKeys(serialized: plain.withUnsafeBytes { SecretBytes($0[0..<64]) })
        let roots = plain.withUnsafeBytes { Roots(admin: Array($0[64..<96]), recovery: Array($0[96..<128])) }
        return (keys, roots)
    }

    /// Argon2id over a passphrase with parameters bounded before any work is done.
    static func passphraseKey(_ passphrase: SecretBytes, kdf: KDFRecord) throws -> SecretBytes {
        let parameters = Argon2Parameters(
            memoryKiB: kdf.memoryKiB, iterations: kdf.iterations, parallelism: kdf.parallelism)
        try VaultKDFPolicy.check(parameters)
        guard kdf.salt.count >= 16, kdf.salt.count <= 64 else {
            throw VaultError.kdfOutOfBounds("the salt is \(kdf.salt.count) bytes (16 to 64)")
        }
        VaultKDFPolicy.recordDerivation(parameters)
        return try Argon2id.deriveKey(password: passphrase, salt: Array(kdf.salt), parameters: parameters, length: 32)
    }

    /// The recovery principal's seal key: the recovery key is random, so HKDF suffices.
    static func recoverySealKey(_ recoveryKey: SecretBytes) throws -> SecretBytes {
        try HKDF.sha256(
            inputKeyMaterial: recoveryKey, salt: [], info: Array("\(formatLabel) recovery".utf8), length: 32)
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
        let a = exchange.rawRepresentation
        let b = signing.rawRepresentation
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
/// RFC 9106's second recommendation (m=64 MiB, t=3), no larger than 1 GiB, 10 passes and 8 lanes,
/// so a tampered file can neither downgrade a derivation nor make one unlock take minutes.
public enum VaultKDFPolicy {
    /// The parameters new passphrases get.
    public static let standard = Argon2Parameters.rfc9106Second
    static let minimumMemoryKiB: UInt32 = 64 * 1024
    static let minimumIterations: UInt32 = 3
    static let maximumMemoryKiB: UInt32 = 1024 * 1024
    static let maximumIterations: UInt32 = 10
    static let maximumParallelism: UInt32 = 8

    /// Test code only: lets a vault use a cheap profile so sweeps can open it thousands of times.
    /// No file, option or environment variable reaches this.
    nonisolated(unsafe) static var testingProfileAllowed = false

    @_spi(Testing) public static func allowTestingProfile() { testingProfileAllowed = true }

    /// Derivations run so far by this process, by memory size (tests check that a refused file ran none).
    nonisolated(unsafe) private static var derivationCounts: [UInt32: Int] = [:]
    private static let counterLock = NSLock()

    static func recordDerivation(_ parameters: Argon2Parameters) {
        counterLock.lock()
        derivationCounts[parameters.memoryKiB, default: 0] += 1
        counterLock.unlock()
    }

    @_spi(Testing) public static func derivations(memoryKiB: UInt32) -> Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        return derivationCounts[memoryKiB] ?? 0
    }

    /// The profile new passphrases get: the standard one, or the cheap one under test.
    static var forNewPassphrases: Argon2Parameters { testingProfileAllowed ? Argon2Parameters.testingCheap : standard }

    static func check(_ parameters: Argon2Parameters) throws {
        let shown = "m=\(parameters.memoryKiB) KiB t=\(parameters.iterations) p=\(parameters.parallelism)"
        guard parameters.memoryKiB <= maximumMemoryKiB, parameters.iterations <= maximumIterations,
            parameters.parallelism <= maximumParallelism, parameters.parallelism >= 1
        else {
            throw VaultError.kdfOutOfBounds(
                "\(shown) exceeds the limits (memory 1 GiB, 10 passes, parallelism 8); nothing was derived")
        }
        if testingProfileAllowed && parameters == Argon2Parameters.testingCheap { return }
        guard parameters.memoryKiB >= minimumMemoryKiB, parameters.iterations >= minimumIterations else {
            throw VaultError.kdfOutOfBounds(
                "\(shown) is weaker than the minimum m=\(minimumMemoryKiB) KiB t=\(minimumIterations); nothing was derived"
            )
        }
    }
}
