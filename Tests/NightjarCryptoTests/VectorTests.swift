import Foundation
import NightjarCore
@_spi(Testing) import NightjarCrypto
import Testing

@Suite("Published test vectors")
struct VectorTests {
    @Test func nistAESGCM256EncryptFullFile() throws {
        var ran = 0
        for block in try VectorFile("gcmEncryptExtIV256.rsp").blocks where block["key"] != nil {
            let tag = block.bytes("Tag")
            let (ciphertext, computedTag) = try AEAD.AESGCM.seal(
                key: block.bytes("Key"), iv: block.bytes("IV"), aad: block.bytes("AAD"),
                plaintext: block.bytes("PT"), tagLength: tag.count)
            #expect(ciphertext == block.bytes("CT"), "count \(block["count"] ?? "?")")
            #expect(computedTag == tag)
            ran += 1
        }
        #expect(ran == 7875)
    }

    @Test func nistAESGCM256DecryptFullFileWithFailCases() throws {
        var ran = 0
        var refused = 0
        for block in try VectorFile("gcmDecrypt256.rsp").blocks where block["key"] != nil {
            let shouldFail = block.flags.contains("FAIL")
            do {
                let plaintext = try AEAD.AESGCM.open(
                    key: block.bytes("Key"), iv: block.bytes("IV"), aad: block.bytes("AAD"),
                    ciphertext: block.bytes("CT"), tag: block.bytes("Tag"))
                #expect(!shouldFail, "count \(block["count"] ?? "?") should have been refused")
                #expect(plaintext == block.bytes("PT"))
            } catch CryptoError.authenticationFailed {
                #expect(shouldFail, "count \(block["count"] ?? "?") was refused")
                refused += 1
            }
            ran += 1
        }
        #expect(ran == 7875)
        #expect(refused > 1000)
    }

    @Test func chaCha20Poly1305RFC7539AndVariants() throws {
        var ran = 0
        for block in try VectorFile("chacha20poly1305-openssl.txt").blocks where block["key"] != nil {
            let key = SecretBytes(block.bytes("Key"))
            let sealed = block.bytes("Ciphertext") + block.bytes("Tag")
            if block["Result"] != nil {
                #expect(throws: CryptoError.authenticationFailed) {
                    try AEAD.open(
                        sealed, key: key, nonce: block.bytes("IV"), associatedData: block.bytes("AAD"),
                        algorithm: .chaCha20Poly1305)
                }
            } else {
                #expect(
                    try AEAD.seal(
                        block.bytes("Plaintext"), key: key, nonce: block.bytes("IV"),
                        associatedData: block.bytes("AAD"),
                        algorithm: .chaCha20Poly1305) == sealed)
                #expect(
                    try AEAD.open(
                        sealed, key: key, nonce: block.bytes("IV"), associatedData: block.bytes("AAD"),
                        algorithm: .chaCha20Poly1305) == block.bytes("Plaintext"))
            }
            ran += 1
        }
        #expect(ran == 5)
    }

    @Test func argon2idRFC9106AndReferenceVectors() throws {
        var ran = 0
        for block in try VectorFile("argon2id.txt").blocks where block["output"] != nil {
            let parameters = Argon2Parameters(
                memoryKiB: UInt32(block["memcost"]!)!, iterations: UInt32(block["iter"]!)!,
                parallelism: UInt32(block["lanes"]!)!)
            let secret = block["secret"].map { SecretBytes([UInt8](hex: $0)!) }
            let output = try Argon2id.derive(
                password: SecretBytes(block.bytes("pass")), salt: block.bytes("salt"), secret: secret,
                associatedData: block.bytes("ad"), parameters: parameters, length: Int(block["length"]!)!)
            #expect(output.unsafeArray() == block.bytes("output"), "count \(block["count"] ?? "?")")
            ran += 1
        }
        #expect(ran == 6)
    }

    @Test func argon2idAtTheDefaultParameters() throws {
        let key = try Argon2id.deriveKey(
            password: SecretBytes(utf8: "correct horse"), salt: Array(repeating: 7, count: 16),
            parameters: .rfc9106Second)
        #expect(key.count == 32)
        #expect(Argon2Parameters.rfc9106Second == Argon2Parameters(memoryKiB: 65536, iterations: 3, parallelism: 4))
    }

    @Test func scryptRFC7914() throws {
        var ran = 0
        for block in try VectorFile("scrypt.txt").blocks where block["derived_key"] != nil {
            let n = UInt64(block["N"]!)!
            // The N = 2^20 case needs 1 GiB and several seconds; it runs in the benchmark machine only.
            if n > 1 << 14 { continue }
            let output = try Scrypt.deriveKey(
                password: SecretBytes(utf8: block["password"] ?? ""), salt: Array((block["salt"] ?? "").utf8),
                n: n, r: UInt64(block["r"]!)!, p: UInt64(block["p"]!)!, length: Int(block["length"]!)!)
            #expect(output.unsafeArray() == block.bytes("derived_key"))
            ran += 1
        }
        #expect(ran == 3)
        #expect(throws: CryptoError.self) {
            try Scrypt.deriveKey(password: SecretBytes(utf8: "x"), salt: [1], n: 1000, r: 8, p: 1, length: 32)
        }
    }

    @Test func hkdfRFC5869() throws {
        var ran = 0
        for block in try VectorFile("rfc-5869-HKDF-SHA256.txt").blocks where block["okm"] != nil {
            let okm: [UInt8]
            do {
                okm = try HKDF.sha256(
                    inputKeyMaterial: block.bytes("IKM"), salt: block.bytes("salt"), info: block.bytes("info"),
                    length: Int(block["L"]!)!)
            } catch {
                Issue.record(
                    "count \(block["count"] ?? "?"): \(error) ikm \(block.bytes("IKM").count) L \(block["L"] ?? "-")")
                continue
            }
            #expect(okm == block.bytes("OKM"), "count \(block["count"] ?? "?")")
            ran += 1
        }
        #expect(ran == 3)
    }

    @Test(arguments: [
        ("rfc-2202-sha1.txt", HMACAlgorithm.sha1), ("rfc-4231-sha256.txt", .sha256), ("rfc-4231-sha512.txt", .sha512),
    ])
    func hmacRFC2202AndRFC4231(file: String, algorithm: HMACAlgorithm) throws {
        var ran = 0
        for block in try VectorFile(file).blocks where block["md"] != nil {
            let expected = block.bytes("MD")
            let mac = HMAC.authenticate(block.bytes("Msg"), key: block.bytes("Key"), algorithm: algorithm)
            // RFC 4231 test case 5 gives a truncated (128-bit) output.
            #expect(Array(mac.prefix(expected.count)) == expected)
            ran += 1
        }
        #expect(ran >= 6)
    }

    @Test func x25519RFC7748() throws {
        var ran = 0
        for block in try VectorFile("x25519-rfc7748.txt").blocks where block["output_u"] != nil {
            let key = try X25519.PrivateKey(rawRepresentation: SecretBytes(block.bytes("INPUT_SCALAR")))
            let shared = try key.sharedSecret(with: X25519.PublicKey(rawRepresentation: block.bytes("INPUT_U")))
            #expect(shared.unsafeArray() == block.bytes("OUTPUT_U"))
            ran += 1
        }
        #expect(ran >= 2)
        // RFC 7748 §6.1: Alice and Bob agree.
        let alice = try X25519.PrivateKey(
            rawRepresentation: SecretBytes(
                [UInt8](hex: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")!))
        let bob = try X25519.PrivateKey(
            rawRepresentation: SecretBytes(
                [UInt8](hex: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")!))
        #expect(
            alice.publicKey.rawRepresentation.hexString
                == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        let expected = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        #expect(try alice.sharedSecret(with: bob.publicKey).unsafeArray().hexString == expected)
        #expect(try bob.sharedSecret(with: alice.publicKey).unsafeArray().hexString == expected)
    }

    @Test func x25519RefusesLowOrderPoints() throws {
        let key = X25519.PrivateKey.generate()
        for point in [[UInt8](repeating: 0, count: 32), [1] + [UInt8](repeating: 0, count: 31)] {
            #expect(throws: CryptoError.lowOrderPoint) {
                try key.sharedSecret(with: X25519.PublicKey(rawRepresentation: point))
            }
        }
    }

    @Test func ed25519ReferenceSetAndRFC8032() throws {
        let text = try String(contentsOf: VectorFile.url("ed25519-sign.input"), encoding: .utf8)
        var ran = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 4 else { continue }
            let seed = [UInt8](hex: String(parts[0].prefix(64)))!
            let publicKey = [UInt8](hex: parts[1])!
            let message = [UInt8](hex: parts[2])!
            let signature = Array([UInt8](hex: parts[3])!.prefix(64))
            let key = try Ed25519.SigningKey(rawRepresentation: SecretBytes(seed))
            #expect(key.verifyingKey.rawRepresentation == publicKey)
            #expect(key.sign(message) == signature)
            #expect(key.verifyingKey.isValidSignature(signature, for: message))
            var flipped = message.isEmpty ? [1] : message
            flipped[0] ^= 1
            #expect(!key.verifyingKey.isValidSignature(signature, for: flipped))
            var badSignature = signature
            badSignature[10] ^= 0x40
            #expect(!key.verifyingKey.isValidSignature(badSignature, for: message))
            ran += 1
        }
        #expect(ran == 256)
    }

    @Test func totpRFC6238AllRows() throws {
        var ran = 0
        for block in try VectorFile("rfc-6238.txt").blocks where block["totp"] != nil {
            let algorithm: HMACAlgorithm =
                switch block["mode"]! {
                case "SHA1": .sha1
                case "SHA256": .sha256
                default: .sha512
                }
            let code = TOTP.code(
                secret: SecretBytes(utf8: block["secret"]!), time: UInt64(block["time"]!)!, digits: 8, period: 30,
                algorithm: algorithm)
            #expect(code == block["totp"]!, "time \(block["time"]!) \(block["mode"]!)")
            ran += 1
        }
        #expect(ran == 18)
    }

    @Test func hotpRFC4226() throws {
        var ran = 0
        for block in try VectorFile("rfc-4226.txt").blocks where block["hotp"] != nil {
            #expect(
                HOTP.code(
                    secret: SecretBytes(utf8: block["secret"]!), counter: UInt64(block["counter"]!)!, digits: 6,
                    algorithm: .sha1) == block["hotp"]!)
            ran += 1
        }
        #expect(ran == 10)
    }
}
