import Foundation
import NightjarCore
import Testing

@Suite("Secret bytes")
struct SecretBytesTests {
    @Test func neverPrintsItsValue() {
        let secret = SecretBytes(utf8: "hunter2-canary")
        var dumped = ""
        dump(secret, to: &dumped)
        for text in ["\(secret)", String(describing: secret), String(reflecting: secret), dumped, "\([secret])"] {
            #expect(!text.contains("hunter2"))
        }
        #expect(secret.description == "[REDACTED]")
    }

    @Test func comparesAndReadsBack() throws {
        let a = SecretBytes(utf8: "same value")
        #expect(a == SecretBytes(utf8: "same value"))
        #expect(a != SecretBytes(utf8: "same valuf"))
        #expect(a != SecretBytes(utf8: "same"))
        #expect(a.unsafeUTF8String() == "same value")
        let filled = SecretBytes(count: 4) { buffer in for i in 0..<4 { buffer[i] = UInt8(i) } }
        #expect(filled.unsafeArray() == [0, 1, 2, 3])
    }

    @Test func manySmallSecretsShareLockedSlabsAndKeepTheirValues() {
        // Every size up to the largest slot and past it, many at once, released and reused.
        var secrets: [(SecretBytes, [UInt8])] = []
        for round in 0..<3 {
            for size in 0...300 {
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round &+ size) }
                secrets.append((SecretBytes(bytes), bytes))
            }
            #expect(secrets.allSatisfy { $0.0.unsafeArray() == $0.1 && $0.0.count == $0.1.count })
            secrets.removeFirst(secrets.count / 2)
        }
        let filled = SecretBytes(count: 40) { buffer in for i in 0..<40 { buffer[i] = UInt8(i) } }
        #expect(filled.unsafeArray() == Array(0..<40))
        #expect(secrets.allSatisfy { $0.0.unsafeArray() == $0.1 })
    }

    @Test func wipesOrdinaryArrays() {
        var bytes: [UInt8] = Array("password".utf8)
        SecretBytes.wipe(&bytes)
        #expect(bytes.allSatisfy { $0 == 0 })
    }

    @Test func processHardeningTakesEffect() {
        let result = ProcessHardening.apply()
        #expect(result.noCoreFiles)
        #expect(result.nonDumpable)
        #expect(ProcessHardening.isNonDumpable)
    }
}
