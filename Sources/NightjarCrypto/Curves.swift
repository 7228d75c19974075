import CCrypto
public import NightjarCore

/// X25519 key agreement (RFC 7748), used to wrap keys for principals who are not present.
public enum X25519 {
    /// A private key, held in a zeroising buffer.
    public struct PrivateKey: Sendable {
        /// The 32 raw bytes.
        public let rawRepresentation: SecretBytes

        public static func generate() -> PrivateKey { PrivateKey(raw: SecureRandom.secretBytes(32)) }

        private init(raw: SecretBytes) { rawRepresentation = raw }

        public init(rawRepresentation: SecretBytes) throws(CryptoError) {
            guard rawRepresentation.count == 32 else {
                throw .invalidKeySize(expected: 32, got: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }

        func makeKey() throws(CryptoError) -> OpaquePointer {
            _ = libraryInitialised
            let key = rawRepresentation.withUnsafeBytes {
                EVP_PKEY_new_raw_private_key(
                    EVP_PKEY_X25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            }
            guard let key else { throw CryptoError.fromLibrary("X25519 private key") }
            return key
        }

        public var publicKey: PublicKey {
            let key = try! makeKey()
            defer { EVP_PKEY_free(key) }
            var raw = [UInt8](repeating: 0, count: 32)
            var length = 32
            EVP_PKEY_get_raw_public_key(key, &raw, &length)
            return try! PublicKey(rawRepresentation: raw)
        }

        /// The shared secret with `peer`; an all-zero result (a low-order point) is refused.
        public func sharedSecret(with peer: PublicKey) throws(CryptoError) -> SecretBytes {
            let key = try makeKey()
            defer { EVP_PKEY_free(key) }
            return try Self.derive(key, with: peer)
        }

        /// The shared secrets with many peers, importing the private key once (a vault opening
        /// hundreds of client keys); nil where a peer is refused (a low-order point).
        public func sharedSecrets(with peers: [PublicKey]) throws(CryptoError) -> [SecretBytes?] {
            let key = try makeKey()
            defer { EVP_PKEY_free(key) }
            return peers.map { try? Self.derive(key, with: $0) }
        }

        private static func derive(_ key: OpaquePointer, with peer: PublicKey) throws(CryptoError) -> SecretBytes {
            guard let peerKey = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peer.rawRepresentation, 32) else {
                throw CryptoError.fromLibrary("X25519 public key")
            }
            defer { EVP_PKEY_free(peerKey) }
            guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.fromLibrary("X25519 context") }
            defer { EVP_PKEY_CTX_free(context) }
            var ok = false
            let secret = SecretBytes(count: 32) { out in
                var length = 32
                ok =
                    EVP_PKEY_derive_init(context) == 1 && EVP_PKEY_derive_set_peer(context, peerKey) == 1
                    && EVP_PKEY_derive(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1
                    && length == 32
            }
            ERR_clear_error()
            guard ok else { throw .lowOrderPoint }
            let allZero = secret.withUnsafeBytes { $0.allSatisfy { $0 == 0 } }
            guard !allZero else { throw .lowOrderPoint }
            return secret
        }
    }

    /// A public key: 32 raw bytes.
    public struct PublicKey: Sendable, Hashable {
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation: [UInt8]) throws(CryptoError) {
            guard rawRepresentation.count == 32 else {
                throw .invalidKeySize(expected: 32, got: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }
    }
}

/// Ed25519 signatures (RFC 8032), used to sign audit records.
public enum Ed25519 {
    /// A signing key from a 32-byte seed, held in a zeroising buffer.
    public struct SigningKey: Sendable {
        public let rawRepresentation: SecretBytes

        public static func generate() -> SigningKey { SigningKey(seed: SecureRandom.secretBytes(32)) }

        private init(seed: SecretBytes) { rawRepresentation = seed }

        public init(rawRepresentation: SecretBytes) throws(CryptoError) {
            guard rawRepresentation.count == 32 else {
                throw .invalidKeySize(expected: 32, got: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }

        func makeKey() -> OpaquePointer {
            _ = libraryInitialised
            return rawRepresentation.withUnsafeBytes {
                EVP_PKEY_new_raw_private_key(
                    EVP_PKEY_ED25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            }!
        }

        public var verifyingKey: VerifyingKey {
            let key = makeKey()
            defer { EVP_PKEY_free(key) }
            var raw = [UInt8](repeating: 0, count: 32)
            var length = 32
            EVP_PKEY_get_raw_public_key(key, &raw, &length)
            return try! VerifyingKey(rawRepresentation: raw)
        }

        /// The 64-byte signature of `message`.
        public func sign(_ message: [UInt8]) -> [UInt8] {
            let key = makeKey()
            defer { EVP_PKEY_free(key) }
            let context = EVP_MD_CTX_new()
            defer { EVP_MD_CTX_free(context) }
            var signature = [UInt8](repeating: 0, count: 64)
            var length = 64
            guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
                message.withUnsafeBufferPointer({
                    EVP_DigestSign(context, &signature, &length, $0.baseAddress, $0.count)
                }) == 1
            else { fatalError("Ed25519 signing failed") }
            return signature
        }
    }

    /// A public key: 32 raw bytes.
    public struct VerifyingKey: Sendable, Hashable {
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation: [UInt8]) throws(CryptoError) {
            guard rawRepresentation.count == 32 else {
                throw .invalidKeySize(expected: 32, got: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }

        /// Whether `signature` is a valid signature of `message` by this key.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            _ = libraryInitialised
            guard signature.count == 64,
                let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, rawRepresentation, 32)
            else {
                ERR_clear_error()
                return false
            }
            defer { EVP_PKEY_free(key) }
            let context = EVP_MD_CTX_new()
            defer { EVP_MD_CTX_free(context) }
            let ok =
                EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1
                && message.withUnsafeBufferPointer {
                    EVP_DigestVerify(context, signature, 64, $0.baseAddress, $0.count)
                } == 1
            ERR_clear_error()
            return ok
        }
    }
}
