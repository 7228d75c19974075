import Foundation
import NightjarCore
import Testing

@testable import NightjarHTTP

/// Header names found by the byte-folding comparison exactly as Foundation's case-insensitive
/// comparison finds them.
@Suite struct HeaderNameTests {
    @Test func headerNamesCompareAsFoundationComparesThem() {
        let names = [
            "Content-Type", "content-type", "CONTENT-TYPE", "Content-Typf", "Content_Type", "Set-Cookie", "set-cookie",
            "", "a", "A", "[", "{", "@", "`", "^", "~", "Z", "z", "Retry-After", "retry-after ", "X-Ünïcode",
            "x-üNÏCODE", "Straße", "STRASSE", "strasse", "é", "É", "e\u{301}",
        ]
        for a in names {
            for b in names {
                #expect(HTTPResponse.sameName(a, b) == (a.caseInsensitiveCompare(b) == .orderedSame), "\(a) / \(b)")
            }
        }
        // Every pair of ASCII bytes, as one-byte names.
        for x in 0..<128 {
            for y in 0..<128 {
                let (a, b) = (String(UnicodeScalar(UInt8(x))), String(UnicodeScalar(UInt8(y))))
                #expect(HTTPResponse.sameName(a, b) == (a.caseInsensitiveCompare(b) == .orderedSame), "\(x) / \(y)")
            }
        }
        let response = HTTPResponse(
            status: 200, headers: [("Set-Cookie", "a=1"), ("content-type", "text/csv"), ("SET-COOKIE", "b=2")],
            url: "http://x/", body: [])
        #expect(response.header("Content-Type") == "text/csv")
        #expect(response.headers(named: "set-cookie") == ["a=1", "b=2"])
        #expect(response.header("Content-Length") == nil)
    }
}
