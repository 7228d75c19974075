import Foundation
import Testing

@testable import NightjarSandbox

/// The sandbox portals read requests and write amounts and dates byte by byte; each must give
/// what the Foundation calls it replaced give.
@Suite struct SandboxParsingTests {
    /// The request head as the sandbox read it with Foundation: lines split at CRLF, the request
    /// line at spaces, a header at its first colon, the value trimmed of white space.
    static func referenceHead(_ bytes: [UInt8]) -> (method: String, target: String, headers: [String])? {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                String(line[..<colon]) + "\u{0}"
                    + line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return (String(requestLine[0]), String(requestLine[1]), headers)
    }

    static let heads: [String] = [
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*",
        "POST /login?next=%2Fhome HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12",
        "GET  /double-space  HTTP/1.1\r\nX-Empty:\r\nX-Spaces:   \t  \r\nNo colon here\r\n: no name",
        "GET /\r\nCookie: a=1; b = 2 ;c=\r\nX-Tab:\tvalue\t",
        "GET /caf\u{E9} HTTP/1.1\r\nX-Unicode: \u{A0}non-breaking\u{A0}\r\nX-Ideographic:\u{3000}wide\u{3000}",
        "GET /x HTTP/1.1\r\nX-Accent: \u{E9}t\u{E9}\r\nX-Inner: a \u{2003} b",
        "BROKEN",
        "",
        "GET /x HTTP/1.1\r\n\r\nX-After-Blank: yes",
        "GET /x HTTP/1.1\rX-Lone-CR: 1\nX-Lone-LF: 2\r\nX-Colon: a:b:c",
    ]

    @Test func requestHeadsParseAsFoundationSplitThem() {
        var texts = Self.heads.map { Array($0.utf8) }
        // Invalid UTF-8 in a name and a value, and a sequence cut by a line end.
        texts.append(Array("GET /x HTTP/1.1\r\nX-Bad".utf8) + [0xFF] + Array(": v".utf8) + [0xC3])
        texts.append(Array("GET /x HTTP/1.1\r\nX-Cut: ".utf8) + [0xE2, 0x80] + Array("\r\nX-Next: 1".utf8))
        for bytes in texts {
            let reference = Self.referenceHead(bytes)
            let parsed = SandboxRequest.parseHead(bytes[...])
            #expect(parsed?.method == reference?.method, "\(bytes)")
            #expect(parsed?.target == reference?.target, "\(bytes)")
            #expect(parsed.map { $0.headers.map { $0.name + "\u{0}" + $0.value } } == reference?.headers, "\(bytes)")
        }
    }

    @Test func headerNamesCompareAsCaseInsensitiveCompareDoes() {
        let names = [
            "Content-Length", "content-length", "CONTENT-LENGTH", "Content-Lengt", "Content_Length", "",
            "X-\u{C9}t\u{E9}",
            "x-\u{E9}t\u{E9}", "Stra\u{DF}e", "STRASSE", "[", "{", "@", "`",
        ]
        for first in names {
            for second in names {
                #expect(
                    SandboxRequest.sameName(first, second) == (first.caseInsensitiveCompare(second) == .orderedSame),
                    "\(first) / \(second)")
            }
        }
    }

    @Test func cookiesAreTrimmedAsFoundationTrimsThem() {
        let header = " a=1 ; b =\t2\t;c=; =d ;e\u{A0}=\u{A0}f\u{A0}; g=h=i "
        let request = SandboxRequest(method: "GET", path: "/", query: [:], headers: [("Cookie", header)], body: [])
        var reference: [String: String] = [:]
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2 { reference[pair[0]] = pair[1] }
        }
        #expect(request.cookies == reference)
    }

    @Test func amountsAreWrittenAsStringFormatWritesThem() {
        // Up to 21,474,836.47: `%d` reads 32 bits, so the format wrote larger amounts wrongly.
        let amounts: [Int64] = [
            0, 1, 9, 10, 99, 100, 101, 1_234, 100_000, 999_999_999, 2_147_483_647_99, -1, -99, -100, -12_345,
        ]
        for cents in amounts {
            #expect(SandboxData.decimal(cents) == String(format: "%d.%02d", cents / 100, cents % 100), "\(cents)")
        }
    }

    @Test func daysAreWrittenAsISO8601DateFormatterWritesThem() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        // Every day from 1900 to 2100 (leap years, century years), and a few far ones (the
        // formatter's calendar is Julian before the Gregorian reform of 1582-10-15).
        let days = Array(-25_567...47_482) + [-141_427, -100_000, 100_000, 2_932_896]
        for day in days {
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86_400))
            guard SandboxData.iso(day) == expected else {
                Issue.record("day \(day): \(SandboxData.iso(day)) != \(expected)")
                return
            }
        }
    }
}
