import NightjarCore
import NightjarReview
import Testing

@testable import NightjarSite

/// Percent-encoding, forms, cookies and listen addresses: table tests and fuzzing; malformed
/// input is a `RequestError`, never a crash or a guess.
@Suite struct RequestParsingTests {
    @Test(arguments: [
        ("a%20b", "a b"), ("%41%42c", "ABc"), ("caf%C3%A9", "café"), ("100%25", "100%"), ("a+b", "a+b"), ("", ""),
        ("%2F", "/"),
    ])
    func decodesWellFormedEscapes(_ input: String, _ expected: String) throws {
        #expect(try PercentEncoding.decode(input.utf8, plusIsSpace: false) == expected)
    }

    @Test(arguments: ["%", "%2", "%zz", "%g0", "a%0", "%e2%28%a1", "%c3", "%00", "%0a", "%7f", "%ff", "%C0%AF"])
    func refusesMalformedEscapes(_ input: String) {
        #expect(throws: RequestError.self) { try PercentEncoding.decode(input.utf8, plusIsSpace: false) }
    }

    @Test func formsDecodePlusAsSpaceAndKeepLineBreaksInValues() throws {
        let form = try FormFields.parse(
            urlEncoded: Array("name=carol&reason=two+words%0D%0Aand+a+line&empty=&flag&plus=%2B".utf8))
        #expect(form["name"] == "carol")
        #expect(form["reason"] == "two words\r\nand a line")
        #expect(form["empty"] == "" && form["flag"] == "" && form["plus"] == "+")
        #expect(form["missing"] == nil)
        #expect(throws: RequestError.self) { try FormFields.parse(urlEncoded: Array("na%0Ame=x".utf8)) }
        let many = (0..<300).map { "f\($0)=1" }.joined(separator: "&")
        #expect(throws: RequestError.self) { try FormFields.parse(urlEncoded: Array(many.utf8)) }
    }

    @Test func encodingThenDecodingGivesTheTextBack() throws {
        var random = SeededRandom(seed: 21)
        let alphabet = Array("aZ09 -_.~%+&=/?#é€😀\"'<>\u{7f}\t")
        for _ in 0..<2_000 {
            let text = String(
                (0..<Int(random.next() % 24)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            let decoded = try? PercentEncoding.decode(
                PercentEncoding.encode(text).utf8, plusIsSpace: true, allowLineBreaks: true)
            if text.unicodeScalars.contains(where: { $0.value == 0x7F }) {
                #expect(decoded == nil)
            } else {
                #expect(decoded == text)
            }
            let fields = try FormFields.parse(
                urlEncoded: Array(
                    FormFields([("k", text.replacingOccurrences(of: "\u{7f}", with: ""))]).queryString.dropFirst().utf8)
            )
            #expect(fields["k"] == text.replacingOccurrences(of: "\u{7f}", with: ""))
        }
    }

    @Test func randomBytesNeverCrashTheFormParser() {
        var random = SeededRandom(seed: 2118)
        let pieces: [[UInt8]] = [
            Array("%".utf8), Array("=".utf8), Array("&".utf8), Array("+".utf8), Array("%4".utf8), Array("%zz".utf8),
            Array("%C3%A9".utf8), [0], [0xFF], [0xC3], Array("name".utf8),
        ]
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(random.next() % 12) {
                if random.next() % 3 == 0 {
                    bytes.append(UInt8(truncatingIfNeeded: random.next()))
                } else {
                    bytes += pieces[Int(random.next() % UInt64(pieces.count))]
                }
            }
            do {
                let form = try FormFields.parse(urlEncoded: bytes)
                #expect(form.pairs.count <= 200)
                accepted += 1
            } catch {
                #expect(error.status == 400 || error.status == 413)
            }
        }
        #expect(accepted > 1_000 && accepted < 20_000)
    }

    @Test func cookiesAreReadFromTheCookieHeader() {
        let request = SiteRequest(
            method: "GET", path: "/", headers: ["cookie": "a=1; nightjar-session=abc=def;  b = 2 ; a=ignored; junk"])
        #expect(request.cookies == ["a": "1", "nightjar-session": "abc=def", "b": "2"])
    }

    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("localhost:80", "127.0.0.1", 80), ("[::1]:8443", "::1", 8443),
        ("0.0.0.0:0", "0.0.0.0", 0),
    ])
    func listenAddressesParse(_ text: String, _ host: String, _ port: Int) throws {
        let address = try ListenAddress.parse(text)
        #expect(address.host == host && Int(address.port) == port)
    }

    @Test(arguments: ["8080", "127.0.0.1", "127.0.0.1:99999", "example.com:80", "[::1]8080", ":80", "1.2.3:80"])
    func badListenAddressesAreUsageErrors(_ text: String) {
        #expect(throws: GeneralError.self) { try ListenAddress.parse(text) }
    }

    @Test func pendingRequestsDecodePathSegmentsOnTheirOwn() throws {
        let pending = PendingRequest(method: "GET", rawURL: "/clients/acme/invoices/INV%2F12")
        let request = try pending.request(secure: false)
        #expect(request.segments == ["clients", "acme", "invoices", "INV/12"])
        #expect(throws: RequestError.self) {
            try PendingRequest(method: "GET", rawURL: "/a/%2e%2e/b").request(secure: false)
        }
        var limits = RequestLimits()
        limits.maximumHeaderBytes = 100
        let big = PendingRequest(method: "GET", rawURL: "/")
        big.rawHeaders = [("X-Big", String(repeating: "a", count: 200))]
        #expect(throws: RequestError.self) { try big.check(limits) }
        let method = PendingRequest(method: "PUT", rawURL: "/")
        #expect((try? method.check(limits)) == nil)
    }
}

/// The site's fast amount formatting writes exactly what the morning report writes.
@Suite struct AmountFormattingTests {
    @Test func amountsAreWrittenLikeTheMorningReport() throws {
        var random = SeededRandom(seed: 50)
        let currencies = [CurrencyCode.usd, try CurrencyCode("JPY"), try CurrencyCode("EUR"), try CurrencyCode("BHD")]
        var values: [Int64] = [0, 1, -1, 99, 100, 999_99, 1_000_00, -1_234_567_89, Int64.max, Int64.min + 1]
        for _ in 0..<5_000 { values.append(Int64(bitPattern: random.next()) >> Int(random.next() % 60)) }
        for value in values {
            for currency in currencies {
                let money = Money(minorUnits: value, currency: currency)
                #expect(amount(money) == MorningReport.amount(money), "\(value) \(currency)")
            }
        }
        #expect(label("short_paid") == "short paid" && label(nil) == "not matched" && label("ok") == "ok")
    }
}
