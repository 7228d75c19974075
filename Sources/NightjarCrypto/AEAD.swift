import CCrypto
public import NightjarCore

/// The authenticated ciphers Nightjar uses; both take 32-byte keys and 12-byte nonces and
/// append a 16-byte tag.
public enum AEADAlgorithm: String, Sendable, Codable, CaseIterable {
    case aes256GCM = "aes-256-gcm"
    case chaCha20Poly1305 = "chacha20-poly1305"

    var cipher: OpaquePointer? {
        switch self {
        case .aes256GCM: EVP_aes_256_gcm()
        case .chaCha20Poly1305: EVP_chacha20_poly1305()
        }
    }
}

/// Authenticated encryption with associated data.
public enum AEAD {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    /// Encrypts `plaintext`; returns ciphertext followed by the 16-byte tag.
    public static func seal(
        _ plaintext: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8],
        algorithm: AEADAlgorithm
    ) throws(CryptoError) -> [UInt8] {
        guard key.count == keySize else { throw .invalidKeySize(expected: keySize, got: key.count) }
        guard nonce.count == nonceSize else { throw .invalidNonceSize(expected: nonceSize, got: nonce.count) }
        let (ciphertext, tag) = try key.withUnsafeBytes { (keyBytes) throws(CryptoError) in
            try Cipher.seal(
                algorithm.cipher, key: keyBytes, iv: nonce, aad: associatedData, plaintext: plaintext,
                tagLength: tagSize)
        }
        return ciphertext + tag
    }

    /// Decrypts ciphertext‖tag. Any alteration, wrong key or wrong associated data is `authenticationFailed`.
    public static func open(
        _ sealed: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8],
        algorithm: AEADAlgorithm
    ) throws(CryptoError) -> [UInt8] {
        guard key.count == keySize else { throw .invalidKeySize(expected: keySize, got: key.count) }
        guard nonce.count == nonceSize else { throw .invalidNonceSize(expected: nonceSize, got: nonce.count) }
        guard sealed.count >= tagSize else { throw .truncated }
        let ciphertext = Array(sealed[0..<(sealed.count - tagSize)])
        let tag = Array(sealed[(sealed.count - tagSize)...])
        return try key.withUnsafeBytes { (keyBytes) throws(CryptoError) in
            try Cipher.open(
                algorithm.cipher, key: keyBytes, iv: nonce, aad: associatedData, ciphertext: ciphertext, tag: tag)
        }
    }

    /// As `open`, with the plaintext placed in a zeroising buffer (for keys and passwords).
    public static func openSecret(
        _ sealed: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8],
        algorithm: AEADAlgorithm
    ) throws(CryptoError) -> SecretBytes {
        var plain = try open(sealed, key: key, nonce: nonce, associatedData: associatedData, algorithm: algorithm)
        defer { SecretBytes.wipe(&plain) }
        return SecretBytes(plain)
    }

    /// AES-256-GCM with any IV length and tag length, as NIST's test vectors use it.
    public enum AESGCM {
        public static func seal(key: [UInt8], iv: [UInt8], aad: [UInt8], plaintext: [UInt8], tagLength: Int)
            throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8])
        {
            guard key.count == 32 else { throw .invalidKeySize(expected: 32, got: key.count) }
            return try SecretBytes(key).withUnsafeBytes { (keyBytes) throws(CryptoError) in
                try Cipher.seal(
                    EVP_aes_256_gcm(), key: keyBytes, iv: iv, aad: aad, plaintext: plaintext, tagLength: tagLength)
            }
        }

        public static func open(key: [UInt8], iv: [UInt8], aad: [UInt8], ciphertext: [UInt8], tag: [UInt8])
            throws(CryptoError) -> [UInt8]
        {
            guard key.count == 32 else { throw .invalidKeySize(expected: 32, got: key.count) }
            return try SecretBytes(key).withUnsafeBytes { (keyBytes) throws(CryptoError) in
                try Cipher.open(EVP_aes_256_gcm(), key: keyBytes, iv: iv, aad: aad, ciphertext: ciphertext, tag: tag)
            }
        }
    }
}

/// The EVP calls shared by both ciphers.
enum Cipher {
    static func seal(
        _ cipher: OpaquePointer?, key: UnsafeRawBufferPointer, iv: [UInt8], aad: [UInt8], plaintext: [UInt8],
        tagLength: Int
    ) throws(CryptoError) -> ([UInt8], [UInt8]) {
        _ = libraryInitialised
        guard !iv.isEmpty else { throw .invalidNonceSize(expected: 12, got: 0) }
        guard (4...16).contains(tagLength) else { throw .invalidParameters("tag length \(tagLength)") }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.fromLibrary("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        guard EVP_EncryptInit_ex(context, cipher, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_IVLEN, Int32(iv.count), nil) == 1,
            EVP_EncryptInit_ex(context, nil, nil, key.baseAddress!.assumingMemoryBound(to: UInt8.self), iv) == 1
        else { throw CryptoError.fromLibrary("encrypt init") }
        var length: Int32 = 0
        if !aad.isEmpty {
            guard EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count)) == 1 else {
                throw CryptoError.fromLibrary("aad")
            }
        }
        var output = [UInt8](repeating: 0, count: plaintext.count + 16)
        var total = 0
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(context, &output, &length, plaintext, Int32(plaintext.count)) == 1 else {
                throw CryptoError.fromLibrary("encrypt")
            }
            total = Int(length)
        }
        let finalOK = output.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(context, buffer.baseAddress! + total, &length) == 1
        }
        guard finalOK else { throw CryptoError.fromLibrary("encrypt final") }
        total += Int(length)
        var tag = [UInt8](repeating: 0, count: tagLength)
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(tagLength), &tag) == 1 else {
            throw CryptoError.fromLibrary("get tag")
        }
        return (Array(output[0..<total]), tag)
    }

    static func open(
        _ cipher: OpaquePointer?, key: UnsafeRawBufferPointer, iv: [UInt8], aad: [UInt8], ciphertext: [UInt8],
        tag: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        _ = libraryInitialised
        guard !iv.isEmpty else { throw .invalidNonceSize(expected: 12, got: 0) }
        guard (4...16).contains(tag.count) else { throw .truncated }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.fromLibrary("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        guard EVP_DecryptInit_ex(context, cipher, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_IVLEN, Int32(iv.count), nil) == 1,
            EVP_DecryptInit_ex(context, nil, nil, key.baseAddress!.assumingMemoryBound(to: UInt8.self), iv) == 1
        else { throw CryptoError.fromLibrary("decrypt init") }
        var length: Int32 = 0
        if !aad.isEmpty {
            guard EVP_DecryptUpdate(context, nil, &length, aad, Int32(aad.count)) == 1 else {
                throw CryptoError.fromLibrary("aad")
            }
        }
        var output = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var total = 0
        if !ciphertext.isEmpty {
            guard EVP_DecryptUpdate(context, &output, &length, ciphertext, Int32(ciphertext.count)) == 1 else {
                SecretBytes.wipe(&output)
                throw .authenticationFailed
            }
            total = Int(length)
        }
        var tagCopy = tag
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(tag.count), &tagCopy) == 1 else {
            throw CryptoError.fromLibrary("set tag")
        }
        let verified = output.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(context, buffer.baseAddress! + total, &length) == 1
        }
        ERR_clear_error()
        guard verified else {
            SecretBytes.wipe(&output)
            throw .authenticationFailed
        }
        total += Int(length)
        return Array(output[0..<total])
    }
}
