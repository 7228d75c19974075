import Foundation
import NightjarCore
@_spi(Testing) import NightjarCrypto
import Testing

@Suite("AEAD misuse and tampering")
struct AEADTests {
    static let algorithms = AEADAlgorithm.allCases

    @Test("each way of getting it wrong is its own typed error", arguments: algorithms)
    func tamperingIsRefused(algorithm: AEADAlgorithm) throws {
        let key = SecureRandom.secretBytes(32)
        let nonce = SecureRandom.bytes(12)
        let aad = Array("client:acme".utf8)
        let plaintext = Array("remittance password".utf8)
        let sealed = try AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: aad, algorithm: algorithm)
        #expect(try AEAD.open(sealed, key: key, nonce: nonce, associatedData: aad, algorithm: algorithm) == plaintext)
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(
                sealed, key: SecureRandom.secretBytes(32), nonce: nonce, associatedData: aad, algorithm: algorithm)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(
                sealed, key: key, nonce: nonce, associatedData: Array("client:globex".utf8), algorithm: algorithm)
        }
        for index in [0, plaintext.count - 1, plaintext.count, sealed.count - 1] {
            var altered = sealed
            altered[index] ^= 0x80
            #expect(throws: CryptoError.authenticationFailed) {
                try AEAD.open(altered, key: key, nonce: nonce, associatedData: aad, algorithm: algorithm)
            }
        }
        for length in [0, 1, 15] {
            #expect(throws: CryptoError.truncated) {
                try AEAD.open(
                    Array(sealed.prefix(length)), key: key, nonce: nonce, associatedData: aad, algorithm: algorithm)
            }
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(Array(sealed.dropFirst()), key: key, nonce: nonce, associatedData: aad, algorithm: algorithm)
        }
        #expect(throws: CryptoError.invalidKeySize(expected: 32, got: 16)) {
            try AEAD.seal(
                plaintext, key: SecureRandom.secretBytes(16), nonce: nonce, associatedData: aad, algorithm: algorithm)
        }
        #expect(throws: CryptoError.invalidNonceSize(expected: 12, got: 8)) {
            try AEAD.seal(plaintext, key: key, nonce: Array(nonce.prefix(8)), associatedData: aad, algorithm: algorithm)
        }
        // Empty plaintext and empty AAD work.
        let empty = try AEAD.seal([], key: key, nonce: nonce, associatedData: [], algorithm: algorithm)
        #expect(empty.count == 16)
        #expect(try AEAD.open(empty, key: key, nonce: nonce, associatedData: [], algorithm: algorithm).isEmpty)
    }

    @Test func sealingTwiceDiffersWithFreshNonces() throws {
        let key = SecureRandom.secretBytes(32)
        let a = try AEAD.seal(
            [1, 2, 3], key: key, nonce: SecureRandom.bytes(12), associatedData: [], algorithm: .aes256GCM)
        let b = try AEAD.seal(
            [1, 2, 3], key: key, nonce: SecureRandom.bytes(12), associatedData: [], algorithm: .aes256GCM)
        #expect(a != b)
        #expect(Set((0..<100).map { _ in SecureRandom.bytes(16) }).count == 100)
    }
}

@Suite("Hashes, KDF bounds and encodings")
struct PrimitiveTests {
    @Test func streamingSHA256EqualsOneShot() throws {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let expected = SHA256.hash(data)
        for _ in 0..<20 {
            let hasher = SHA256()
            var offset = 0
            while offset < data.count {
                let end = min(data.count, offset + Int.random(in: 0...9000, using: &generator))
                hasher.update(Array(data[offset..<end]))
                offset = end
            }
            #expect(hasher.finalize() == expected)
        }
        #expect(
            SHA256.hash(Array("abc".utf8)).hexString
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nj-sha-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data(data))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SHA256.hash(fileAt: path) == expected)
    }

    @Test func argon2RefusesAbsurdParametersBeforeDeriving() {
        let password = SecretBytes(utf8: "pw")
        #expect(throws: CryptoError.self) {
            try Argon2id.deriveKey(
                password: password, salt: Array(repeating: 1, count: 16),
                parameters: Argon2Parameters(memoryKiB: UInt32.max, iterations: 1, parallelism: 1))
        }
        #expect(throws: CryptoError.self) {
            try Argon2id.deriveKey(
                password: password, salt: Array(repeating: 1, count: 16),
                parameters: Argon2Parameters(memoryKiB: 64, iterations: 0, parallelism: 1))
        }
        #expect(throws: CryptoError.self) {
            try Argon2id.deriveKey(password: password, salt: [1, 2], parameters: .testingCheap)
        }
    }

    @Test func base32RoundTripsAndRefusesGarbage() throws {
        let secret = try Base32.decode("JBSW Y3DP-EHPK3PXP")
        #expect(secret.unsafeArray() == Array("Hello!".utf8) + [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(Base32.encode(secret) == "JBSWY3DPEHPK3PXP")
        #expect(try Base32.decode("jbswy3dpehpk3pxp") == secret)
        #expect(throws: CryptoError.self) { try Base32.decode("JBSW1!") }
        for _ in 0..<200 {
            let bytes = SecureRandom.secretBytes(Int.random(in: 0...40))
            #expect(try Base32.decode(Base32.encode(bytes)) == bytes)
        }
    }

    @Test func constantTimeComparison() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([], []))
    }

    @Test func ed25519KeysRoundTrip() throws {
        let key = Ed25519.SigningKey.generate()
        let again = try Ed25519.SigningKey(rawRepresentation: key.rawRepresentation)
        let message = Array("audit record".utf8)
        #expect(again.verifyingKey.isValidSignature(key.sign(message), for: message))
        #expect(!Ed25519.SigningKey.generate().verifyingKey.isValidSignature(key.sign(message), for: message))
        #expect(throws: CryptoError.self) { try Ed25519.SigningKey(rawRepresentation: SecretBytes([1, 2])) }
        #expect(!cryptoLibraryVersion.isEmpty)
    }
}
