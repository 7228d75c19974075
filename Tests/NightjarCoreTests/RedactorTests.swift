import Foundation
import NightjarCore
import Testing

/// Independent encoders (Foundation's and hand-written ones unlike the redactor's), so the
/// redactor is checked against output it did not produce itself.
enum Encodings {
    static func all(_ secret: String) -> [String: String] {
        var forms: [String: String] = ["raw": secret]
        forms["percent-alnum"] = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        forms["percent-lower"] = secret.utf8.map { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                ? String(UnicodeScalar(byte)) : "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
        forms["url-query"] = secret.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!
        forms["form"] = forms["percent-alnum"]!.replacingOccurrences(of: "%20", with: "+")
        forms["double-url"] = forms["percent-alnum"]!.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let json = String(decoding: try! JSONEncoder().encode([secret]), as: UTF8.self)
        forms["json"] = json
        forms["json-in-json"] = String(decoding: try! JSONEncoder().encode([json]), as: UTF8.self)
        forms["json-ascii"] = secret.unicodeScalars.map {
            $0.value > 0x7E || $0 == "\"" || $0 == "/" ? $0.utf16Escaped : String($0)
        }.joined()
        forms["html"] = secret.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;")
            .replacingOccurrences(of: "'", with: "&#x27;")
        forms["html-numeric"] = secret.unicodeScalars.map {
            $0.value > 0x7E || "&<>\"'".unicodeScalars.contains($0) ? "&#\($0.value);" : String($0)
        }.joined()
        forms["base64"] = Data(secret.utf8).base64EncodedString()
        forms["base64url"] = Data(secret.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        for prefix in ["a:", "ab:", "abc:"] {
            forms["basic-\(prefix.count)"] = "Basic " + Data((prefix + secret).utf8).base64EncodedString()
        }
        return forms
    }
}

extension Unicode.Scalar {
    var utf16Escaped: String {
        String(self).utf16.map { unit in
            let hex = String(unit, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }.joined()
    }
}

@Suite("Redactor")
struct RedactorTests {
    static let canaries = [
        "p@ss+w/rd%\"<&é x", "correct horse battery staple", "Tr0ub4dor&3", "ключ-секрет", "a\\b/c\"d'e<f>g",
        "🔑emoji-key🔐", "  leading and trailing  ", "%41%42%43", "JBSWY3DPEHPK3PXP",
    ]

    @Test("every encoded form of an awkward secret is redacted", arguments: canaries)
    func redactsEveryForm(secret: String) {
        let redactor = Redactor()
        #expect(redactor.register(text: secret))
        for (kind, form) in Encodings.all(secret) {
            let line = "before \(form) after"
            let redacted = redactor.redact(line)
            #expect(redacted.contains(Redactor.marker), "form \(kind) not found: \(form)")
            for (_, other) in Encodings.all(secret) where other.count >= 8 {
                #expect(!redacted.contains(other), "form \(kind) left \(other) in \(redacted)")
            }
            #expect(redacted.hasPrefix("before "))
        }
    }

    @Test func leavesOtherTextAlone() {
        let redactor = Redactor()
        redactor.register(text: "s3cret-value")
        let text = "paid 1234.56 USD on 2026-11-24 to invoice INV-000123 &amp; %20 \\u0041"
        #expect(redactor.redact(text) == text)
        #expect(!redactor.containsSecret(text))
    }

    @Test func shortValuesAreNotSearched() {
        let redactor = Redactor()
        #expect(!redactor.register(text: "1234"))
        #expect(redactor.redact("amount 1234.00") == "amount 1234.00")
        #expect(redactor.count == 0)
    }

    @Test func redactsEveryOccurrenceAndOverlappingSecrets() {
        let redactor = Redactor()
        redactor.register(text: "alpha-secret")
        redactor.register(text: "alpha-secret-longer")
        let redacted = redactor.redact("x alpha-secret-longer y alpha-secret z alpha-secretalpha-secret")
        #expect(redacted == "x [REDACTED] y [REDACTED] z [REDACTED][REDACTED]")
    }

    @Test func redactsBytesOfFiles() {
        let redactor = Redactor()
        redactor.register(SecretBytes(utf8: "file-canary"))
        let bytes = Array("{\"password\":\"file-canary\"}".utf8)
        #expect(String(decoding: redactor.redact(bytes: bytes), as: UTF8.self) == "{\"password\":\"[REDACTED]\"}")
    }

    @Test func randomSecretsInRandomSurroundings() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcXYZ019 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~éß漢🙂")
        for _ in 0..<300 {
            let redactor = Redactor()
            let secret = String(
                (0..<Int.random(in: 6...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            redactor.register(text: secret)
            let noise = String(
                (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            for (kind, form) in Encodings.all(secret) {
                let redacted = redactor.redact(noise + form + noise)
                #expect(!redacted.contains(form), "form \(kind) of \(secret.debugDescription)")
            }
        }
    }

    @Test func hostileInputEndsQuickly() {
        let redactor = Redactor()
        redactor.register(text: "%%%%%%%%%%%%%%%%")
        redactor.register(text: "\\\\\\\\\\\\\\\\")
        let text =
            String(repeating: "%25", count: 20_000) + String(repeating: "\\", count: 20_000)
            + String(repeating: "&amp;", count: 10_000)
        _ = redactor.redact(text)
    }
}

@Suite("Redactor with many similar secrets")
struct RedactorCrowdTests {
    /// Hundreds of session tokens sharing their first characters (as a night registers): each is
    /// still found raw and escaped, and near misses are left alone.
    @Test func manyTokensSharingAPrefixAreEachFoundInEveryForm() {
        let redactor = Redactor()
        var tokens: [String] = []
        for index in 0..<300 {
            let token = String(format: "0000%04x%08x", index, index &* 2_654_435_761 % 0xFFFF_FFFF)
            tokens.append(token)
            _ = redactor.register(text: token)
        }
        _ = redactor.register(text: "p@ss w&rd+1")
        for token in tokens.shuffled().prefix(40) {
            #expect(redactor.redact("Bearer \(token)!") == "Bearer \(Redactor.marker)!")
            let percent = token.unicodeScalars.map { String(format: "%%%02X", $0.value) }.joined()
            #expect(redactor.redact("t=\(percent)&x") == "t=\(Redactor.marker)&x")
            let json = "\\u00" + String(format: "%02x", token.unicodeScalars.first!.value) + token.dropFirst()
            #expect(redactor.redact("{\"t\":\"\(json)\"}") == "{\"t\":\"\(Redactor.marker)\"}")
        }
        #expect(redactor.redact("pass=p%40ss+w%26rd%2B1") == "pass=\(Redactor.marker)")
        #expect(redactor.redact("p@ss w&amp;rd+1") == Redactor.marker)
        // One character off is not a secret.
        let near = "0000ffff" + "12345678"
        #expect(redactor.redact(near) == near)
    }
}
