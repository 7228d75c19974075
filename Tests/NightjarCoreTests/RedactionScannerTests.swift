import Foundation
import Testing

@testable import NightjarCore

/// Encoders that mix forms character by character, as no single library does but text that has
/// passed through several hands may.
enum MixedEncoding {
    static let alphabet = Array("abcXYZ019 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~éß漢🙂")

    static func randomSecret(_ random: inout SeededRandom) -> String {
        String((0..<Int.random(in: 6...20, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
    }

    static func percent(_ byte: UInt8, lower: Bool) -> String {
        let hex = String(byte, radix: 16, uppercase: !lower)
        return "%" + (hex.count == 1 ? "0" : "") + hex
    }

    /// One character of a secret written one of the ways the redactor must read.
    static func encode(_ scalar: Unicode.Scalar, _ random: inout SeededRandom) -> String {
        let bytes = Array(String(scalar).utf8)
        switch Int.random(in: 0..<10, using: &random) {
        case 0, 1: return String(scalar)
        case 2: return bytes.map { percent($0, lower: Bool.random(using: &random)) }.joined()
        case 3: return bytes.map { "%25" + String(percent($0, lower: false).dropFirst()) }.joined()
        case 4: return scalar == " " ? "+" : String(scalar)
        case 5:
            let units = String(scalar).utf16.map { unit -> String in
                let hex = String(unit, radix: 16, uppercase: Bool.random(using: &random))
                return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
            let run = [1, 2, 4][Int.random(in: 0..<3, using: &random)]
            return units.map { String(repeating: "\\", count: run) + $0.dropFirst() }.joined()
        case 6:
            switch scalar {
            case "\"": return ["\\\"", "\\\\\\\""][Int.random(in: 0..<2, using: &random)]
            case "/": return "\\/"
            case "\\": return ["\\\\", "\\\\\\\\"][Int.random(in: 0..<2, using: &random)]
            default: return String(scalar)
            }
        case 7:
            switch scalar {
            case "&": return "&amp;"
            case "<": return "&lt;"
            case ">": return "&gt;"
            case "\"": return "&quot;"
            case "'": return "&#39;"
            default: return String(scalar)
            }
        case 8: return "&#\(scalar.value);"
        default: return "&#x\(String(scalar.value, radix: 16, uppercase: Bool.random(using: &random)));"
        }
    }

    static func mixed(_ secret: String, _ random: inout SeededRandom) -> String {
        secret.unicodeScalars.map { encode($0, &random) }.joined()
    }

    /// Noise full of things that look like escapes.
    static func noise(_ random: inout SeededRandom) -> String {
        let pieces = [
            "%", "%2", "%25", "%4", "+", "\\", "\\\\", "\\u00", "&", "&amp", "&#", ";", "x", "ab", " ", "é", "0", "=",
            "\"", "/",
        ]
        return (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }
}

@Suite("Redaction scanner")
struct RedactionScannerTests {
    /// The one-pass scanner hides every byte the old escape-tolerant matcher hid, on random
    /// secrets written in random mixes of escapes inside escape-like noise (and, being a superset,
    /// may hide more).
    @Test func hidesEverythingTheOldMatcherHid() {
        var random = SeededRandom(seed: 0x5EED_0001)
        var found = 0
        for round in 0..<400 {
            let redactor = Redactor()
            let reference = ReferenceRedactor()
            let secrets = (0..<Int.random(in: 1...4, using: &random)).map { _ in MixedEncoding.randomSecret(&random) }
            for secret in secrets {
                redactor.register(text: secret)
                reference.register(text: secret)
            }
            var text = MixedEncoding.noise(&random)
            for _ in 0..<3 {
                let secret = secrets.randomElement(using: &random)!
                let forms = Encodings.all(secret).values.sorted()
                let form =
                    Bool.random(using: &random)
                    ? MixedEncoding.mixed(secret, &random) : forms.randomElement(using: &random)!
                text += form + MixedEncoding.noise(&random)
            }
            let bytes = Array(text.utf8)
            let hidden = redactor.hiddenRanges(bytes)
            for range in reference.hiddenRanges(bytes) {
                found += 1
                let covered = hidden.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }
                #expect(
                    covered,
                    "round \(round): the old matcher hid \(range) of \(text.debugDescription) (secrets \(secrets)), the scanner hid \(hidden)"
                )
            }
        }
        #expect(found > 800, "the old matcher found \(found) matches: the test did not exercise it")
    }

    /// A table of texts the old matcher reads one way and the scanner must read too.
    @Test(arguments: [
        ("%41%42%43", "%2541%2542%2543"), ("%41%42%43", "%41%42%43"), ("a+b c&d", "a+b%20c&amp;d"),
        ("a+b c&d", "a%2Bb+c%26d"),
        ("x\\u0041y", "x\\\\u0041y"), ("x\"y/z\\w", "x\\\\\\\"y\\/z\\\\\\\\w"),
        ("é漢🙂ab", "\\u00e9\\u6F22\\ud83d\\ude42ab"),
        ("é漢🙂ab", "&#233;&#x6f22;&#128578;ab"), ("<&>\"'x", "&lt;&amp;&gt;&quot;&apos;x"),
        ("abc def", "abc&nbsp;def".replacingOccurrences(of: "&nbsp;", with: " ")),
    ])
    func readsTheEscapesTheOldMatcherRead(secret: String, written: String) {
        let redactor = Redactor()
        let reference = ReferenceRedactor()
        redactor.register(text: secret)
        reference.register(text: secret)
        let text = "<<\(written)>>"
        #expect(reference.redact(text) == "<<[REDACTED]>>")
        #expect(redactor.redact(text) == "<<[REDACTED]>>")
    }

    @Test func hexAndBase64FormsAtEveryAlignment() {
        let redactor = Redactor()
        let secret = "tok-Δ-5f3a9c"
        redactor.register(text: secret)
        let bytes = Array(secret.utf8)
        #expect(redactor.redact("h=\(bytes.map { String(format: "%02x", $0) }.joined())!") == "h=[REDACTED]!")
        #expect(redactor.redact("H=\(bytes.map { String(format: "%02X", $0) }.joined())!") == "H=[REDACTED]!")
        for prefix in ["", "a", "ab", "abc"] {
            let encoded = Data((prefix + secret + "zz").utf8).base64EncodedString()
            let urlSafe = encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            for form in [encoded, urlSafe] {
                let core = String(
                    decoding: RedactionForms.base64Core(bytes, alignment: prefix.utf8.count % 3), as: UTF8.self)
                #expect(!redactor.redact(form).contains(core.prefix(8)), "\(form)")
                #expect(redactor.redact(form).contains(Redactor.marker))
            }
        }
    }

    /// Ten thousand secrets: each planted one is found, raw and escaped, and the rest of the text is untouched.
    @Test func tenThousandSecrets() {
        var random = SeededRandom(seed: 42)
        let redactor = Redactor()
        let secrets = (0..<10_000).map { index in "s\(index)-" + MixedEncoding.randomSecret(&random) }
        for secret in secrets { redactor.register(text: secret) }
        #expect(redactor.count == 10_000)
        let plain = "paid 1234.56 USD on 2026-11-24 to invoice INV-000123 &amp; %20 \\u0041 ok"
        #expect(redactor.redact(plain) == plain)
        for secret in secrets.shuffled(using: &random).prefix(200) {
            let form = Bool.random(using: &random) ? MixedEncoding.mixed(secret, &random) : secret
            #expect(redactor.redact("[\(form)]") == "[\(Redactor.marker)]", "\(form.debugDescription)")
        }
    }

    /// Registration writes each secret's exact forms straight into the index: they are exactly
    /// `RedactionForms.exactForms`, in order and without repeats, for random secrets of every
    /// length and for the degenerate ones (all zero bytes repeat themselves in base64).
    @Test func registeredFormsAreTheExactForms() {
        var random = SeededRandom(seed: 0x5EED_0017)
        var secrets: [[UInt8]] = [
            [UInt8](repeating: 0, count: 6), [UInt8](repeating: 0, count: 9), [UInt8](repeating: 0xFF, count: 7),
            Array("123456".utf8), Array("??>>??>>".utf8),
        ]
        for length in 6...40 {
            for _ in 0..<6 { secrets.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }) }
            secrets.append(Array(MixedEncoding.randomSecret(&random).utf8.prefix(length)))
        }
        let index = RedactionIndex()
        var checked = 0
        for secret in secrets where secret.count >= Redactor.minimumSearchableLength {
            let before = index.exactStart.count
            index.add(secret)
            let stored = (before..<index.exactStart.count).map { id in
                Array(
                    UnsafeBufferPointer(
                        start: index.exactBytes.base + Int(index.exactStart[id]), count: Int(index.exactLength[id])))
            }
            #expect(stored == RedactionForms.exactForms(of: secret), "\(secret)")
            #expect(
                (before..<index.exactStart.count).allSatisfy {
                    index.exactOwner[$0] == Int32(index.secretStart.count - 1)
                })
            checked += 1
        }
        #expect(checked > 200)
        // Registering a value again adds nothing.
        let forms = index.exactStart.count
        let known = index.secretStart.count
        for secret in secrets.prefix(20) { index.add(secret) }
        #expect(index.exactStart.count == forms && index.secretStart.count == known)
    }

    /// Values registered from `SecretBytes` (as the vault does, read in place) redact exactly as
    /// the same values registered as text, in every form; one registered twice counts once.
    @Test func secretBytesAreRegisteredInPlace() {
        let fromBytes = Redactor()
        let fromText = Redactor()
        let secret = "Zq8+/x%2F&amp;é"
        #expect(fromBytes.register(SecretBytes(utf8: secret)))
        #expect(fromBytes.register(SecretBytes(utf8: secret)))
        #expect(!fromBytes.register(SecretBytes(utf8: "12345")))
        #expect(fromBytes.count == 1)
        fromText.register(text: secret)
        for (kind, form) in Encodings.all(secret) {
            let line = "before \(form) after"
            #expect(fromBytes.redact(line) == fromText.redact(line), "\(kind): \(form)")
            #expect(fromBytes.redact(line).contains(Redactor.marker), "\(kind): \(form)")
        }
    }

    /// Escapes that stand for a byte no secret holds (`\"` and `\n` when no secret has a quote
    /// or a line break) are passed over as written; secrets next to and between them, and
    /// secrets read through the other escapes, are still found as the old matcher found them.
    @Test func escapesNoSecretCanUseAreReadAsWritten() {
        var random = SeededRandom(seed: 0x5EED_0018)
        let alphabet = Array("abcXYZ019!#$%&'()*+,-./:;<=>?@[]^_`{|}~é漢🙂")
        let pieces = ["\\\"", "\\n", "%2F", "&amp;", "+", "& ", "% ", "\\\\", " word ", "\\u00e9", "=", "<td>"]
        var found = 0
        for round in 0..<300 {
            let redactor = Redactor()
            let reference = ReferenceRedactor()
            let secrets = (0..<Int.random(in: 1...5, using: &random)).map { _ in
                String(
                    (0..<Int.random(in: 6...16, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            }
            for secret in secrets {
                redactor.register(text: secret)
                reference.register(text: secret)
            }
            var text = ""
            for _ in 0..<6 {
                text += (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                    .joined()
                let secret = secrets.randomElement(using: &random)!
                text +=
                    Bool.random(using: &random)
                    ? MixedEncoding.mixed(secret, &random)
                    : Encodings.all(secret).values.sorted().randomElement(using: &random)!
            }
            let bytes = Array(text.utf8)
            let hidden = redactor.hiddenRanges(bytes)
            for range in reference.hiddenRanges(bytes) {
                found += 1
                #expect(
                    hidden.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound },
                    "round \(round): the old matcher hid \(range) of \(text.debugDescription) (secrets \(secrets)), the scanner hid \(hidden)"
                )
            }
        }
        #expect(found > 600, "the old matcher found \(found) matches: the test did not exercise it")
    }

    /// A quote in a secret keeps `\"` read both ways: the secret is found through it.
    @Test func aSecretWithAQuoteIsReadThroughTheJSONEscape() {
        let redactor = Redactor()
        redactor.register(text: "plainvalue42")
        #expect(
            redactor.redact(#"{"html":"<input value=\"plainvalue42\">\n"}"#)
                == #"{"html":"<input value=\"[REDACTED]\">\n"}"#)
        redactor.register(text: "qu\"ote-secret")
        #expect(redactor.redact(#"{"html":"<i title=\"qu\"ote-secret\">"}"#) == #"{"html":"<i title=\"[REDACTED]\">"}"#)
        redactor.register(text: "line\nbreak-secret")
        #expect(redactor.redact(#"{"t":"line\nbreak-secret"}"#) == #"{"t":"[REDACTED]"}"#)
    }

    @Test func anIdentifierIsNeverRedacted() {
        let redactor = Redactor()
        redactor.register(text: "acme-payables")
        redactor.register(text: "hunter2-secret")
        redactor.declareIdentifier("acme-payables")
        #expect(
            redactor.redact("client acme-payables, password hunter2-secret")
                == "client acme-payables, password [REDACTED]")
        redactor.declareIdentifier("sandbox-html-portal-portal")
        redactor.register(text: "sandbox-html-portal-portal")
        #expect(redactor.redact("portal sandbox-html-portal-portal") == "portal sandbox-html-portal-portal")
    }
}

@Suite("Redaction stream")
struct RedactionStreamTests {
    static func streamed(_ redactor: Redactor, _ pieces: [[UInt8]]) throws -> String {
        var output: [UInt8] = []
        let stream = redactor.stream { output.append(contentsOf: $0) }
        for piece in pieces { try stream.write(piece) }
        try stream.finish()
        return String(decoding: output, as: UTF8.self)
    }

    /// A secret split across two writes at every point, in each of its forms, is still redacted.
    @Test func aSecretSplitAcrossTwoWritesIsRedacted() throws {
        let redactor = Redactor()
        let secret = "p@ss+w/rd%\"<&é x"
        redactor.register(text: secret)
        for (kind, form) in Encodings.all(secret) {
            let text = Array("before \(form) after".utf8)
            let whole = redactor.redact(bytes: text)
            for cut in 1..<text.count {
                let result = try RedactionStreamTests.streamed(redactor, [Array(text[..<cut]), Array(text[cut...])])
                #expect(result == String(decoding: whole, as: UTF8.self), "\(kind) cut at \(cut)")
                #expect(result.contains(Redactor.marker))
            }
        }
    }

    /// A long text written in random pieces comes out exactly as redacting it whole.
    @Test func randomPiecesGiveTheSameOutputAsOneWrite() throws {
        var random = SeededRandom(seed: 7)
        let redactor = Redactor()
        let secrets = (0..<50).map { _ in MixedEncoding.randomSecret(&random) }
        for secret in secrets { redactor.register(text: secret) }
        var text = ""
        for _ in 0..<300 {
            text += MixedEncoding.noise(&random) + " plain words 12345 "
            if Bool.random(using: &random) {
                text += MixedEncoding.mixed(secrets.randomElement(using: &random)!, &random)
            }
        }
        let bytes = Array(text.utf8)
        let whole = String(decoding: redactor.redact(bytes: bytes), as: UTF8.self)
        for _ in 0..<20 {
            var pieces: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                let length = min(bytes.count - offset, Int.random(in: 1...200, using: &random))
                pieces.append(Array(bytes[offset..<(offset + length)]))
                offset += length
            }
            #expect(try RedactionStreamTests.streamed(redactor, pieces) == whole)
        }
    }

    /// A match that may still grow when the next write arrives is confirmed again then: the
    /// longest reading wins however the text is cut (here `&#x26;%2523` reads as `&#`, as `&`
    /// then `#`, the longer match needing bytes past the cut).
    @Test func aMatchThatMayGrowIsConfirmedAgainAfterTheCut() throws {
        let redactor = Redactor()
        redactor.register(text: "@~??$[\\&#")
        let text = Array(
            ("x @%257E?%253F$&#x5b;&#x5C;&#x26;%2523%250ab " + String(repeating: "plain text after it. ", count: 5))
                .utf8)
        let whole = String(decoding: redactor.redact(bytes: text), as: UTF8.self)
        #expect(whole.hasPrefix("x [REDACTED]%250ab "))
        for cut in 1..<text.count {
            #expect(
                try RedactionStreamTests.streamed(redactor, [Array(text[..<cut]), Array(text[cut...])]) == whole,
                "cut at \(cut)")
        }
    }

    /// Secrets that share a prefix, written a byte at a time, each followed by an escape or by
    /// the end of the stream: the same output as one write, the last secret redacted to the end.
    @Test func secretsSharingAPrefixByteByByteToTheEndOfTheStream() throws {
        let redactor = Redactor()
        for secret in ["shared-prefix-1", "shared-prefix-12", "shared-prefix-123", "shared-prefiX"] {
            redactor.register(text: secret)
        }
        let text = Array(#"a shared-prefix-12\n b shared-prefix-1%2F c "shared-prefiX\" d shared-prefix-123"#.utf8)
        let whole = String(decoding: redactor.redact(bytes: text), as: UTF8.self)
        #expect(whole == #"a [REDACTED]\n b [REDACTED]%2F c "[REDACTED]\" d [REDACTED]"#)
        #expect(try RedactionStreamTests.streamed(redactor, text.map { [$0] }) == whole)
        #expect(try RedactionStreamTests.streamed(redactor, [text]) == whole)
    }

    /// Plain text flows through with little held back.
    @Test func plainTextIsNotHeldBack() throws {
        let redactor = Redactor()
        redactor.register(text: "zq-secret-value")
        var output: [UInt8] = []
        let stream = redactor.stream { output.append(contentsOf: $0) }
        try stream.write(Array(String(repeating: "just some log text\n", count: 100).utf8))
        #expect(output.count >= 1900 - 64)
        try stream.finish()
        #expect(output.count == 1900)
    }
}
