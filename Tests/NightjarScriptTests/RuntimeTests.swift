import Foundation
import NightjarCore
import NightjarHTTP
import NightjarMarkup
import NightjarSandbox
import Testing

@testable import NightjarScript

@Suite struct RuntimeTests {
    final class Clock: @unchecked Sendable {
        let lock = NSLock()
        var time = 1_700_000_010.0
        var slept: [Double] = []
    }

    @Test func aTOTPCodeIsNeverHandedOutTwice() async throws {
        let clock = Clock()
        let source = TOTPCodeSource(
            now: { clock.lock.withLock { clock.time } },
            sleep: { seconds in
                clock.lock.withLock {
                    clock.slept.append(seconds)
                    clock.time += seconds
                }
            })
        let credential = ScriptCredential(
            client: "c", portal: "p", fields: [:], allowedOrigins: [], totp: { "code-\($0 / 30)" })
        let first = try await source.code(for: credential)
        let second = try await source.code(for: credential)
        #expect(first == "code-56666667")
        #expect(second == "code-56666668")
        #expect(clock.slept.count == 1)
        #expect(clock.slept[0] > 29.9 && clock.slept[0] < 30.2)
        // Another credential has its own codes.
        let other = ScriptCredential(
            client: "d", portal: "p", fields: [:], allowedOrigins: [], totp: { "other-\($0 / 30)" })
        #expect(try await source.code(for: other) == "other-56666668")
        #expect(clock.slept.count == 1)
    }

    @Test func malformedPagesAnswerWithValuesNotCrashes() throws {
        var generator = SeededRandom(seed: 11)
        let html = Array(
            "<html><body><table id='t'><tr><td>1</td><td>x</td></tr></table><a href='/n'>Next</a></body></html>".utf8)
        for round in 0..<400 {
            var bytes = html
            for _ in 0..<(1 + round % 5) {
                let position = Int(generator.next() % UInt64(bytes.count))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            if round % 7 == 0 { bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count)))) }
            if let page = MarkupDocument.html(bytes) {
                _ = try? page.evaluate("//td")
                _ = try? page.evaluate("//a/@href")
            }
        }
        let huge = Array(repeating: UInt8(ascii: "<"), count: 2_000_000) + Array("<div>x</div>".utf8)
        if let page = MarkupDocument.html(huge) { _ = try? page.evaluate("//div") }
        #expect(MarkupDocument.html(Array(repeating: 0x41, count: MarkupDocument.maximumHTMLBytes + 1)) == nil)
        let page = try #require(MarkupDocument.html(Array("<p>unclosed <b>bold<td>cell".utf8)))
        guard case .nodes(let nodes) = try page.evaluate("//b") else {
            Issue.record("no nodes")
            return
        }
        #expect(nodes.first?.text == "bold cell" || nodes.first?.text == "bold")
        #expect(throws: XPathError.self) { try page.evaluate("//[") }
    }

    @Test func jsonPathsAndTheirErrors() {
        #expect(JSONPath.parse("items[0].id") == [.key("items"), .index(0), .key("id")])
        #expect(JSONPath.parse("$.data.rows[*]") == [.key("data"), .key("rows"), .all])
        #expect(JSONPath.parse("meta.\"next-cursor\"") == [.key("meta"), .key("next-cursor")])
        #expect(JSONPath.parse("items[") == nil)
        #expect(JSONPath.parse("items[abc]") == nil)
        let root: Any = ["items": [["id": "a"], ["id": "b"]], "n": 2]
        #expect(
            JSONPath.select([.key("items"), .all, .key("id")], in: root).compactMap { $0 as? String } == ["a", "b"])
        #expect(
            JSONPath.select([.key("items"), .index(-1), .key("id")], in: root).compactMap { $0 as? String } == ["b"])
        #expect(JSONPath.select([.key("missing"), .index(3)], in: root).isEmpty)
    }

    @Test func aHostileRegexGivesUpInsteadOfHanging() throws {
        let evil = String(repeating: "a", count: 40) + "!"
        let started = Date()
        // Either the time limit stops it or the engine's own backtracking limit does: never a hang.
        let result = try? BoundedRegex.matches("^(a+)+$", in: evil)
        #expect(result == nil || result == [])
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(try BoundedRegex.matches("id=(\\d+)", in: "id=12 id=34") == ["12", "34"])
        #expect(throws: BoundedRegex.Failure.self) { try BoundedRegex.matches("(unclosed", in: "x") }
    }

    @Test func bankAccountsAreMaskedInCassettes() {
        let x12 =
            "ISA*00*...~BPR*C*150*C*ACH*CTX*01*111000025*DA*4455667788*1234567890**01*222000025*DA*9988776655*20261101~TRN*1*12345~"
        let masked = String(decoding: BankAccountMask.mask(Array(x12.utf8)), as: UTF8.self)
        #expect(
            masked.contains(
                "BPR*C*150*C*ACH*CTX*01*XXXXX0025*DA*XXXXXX7788*1234567890**01*XXXXX0025*DA*XXXXXX9988"[...].prefix(60))
        )
        #expect(!masked.contains("4455667788"))
        #expect(!masked.contains("9988776655"))
        #expect(masked.contains("TRN*1*12345~"))
        let csv = "Payer,Account number\nAcme,123456789012\n"
        #expect(
            String(decoding: BankAccountMask.mask(Array("Account: 123456789012 paid".utf8)), as: UTF8.self)
                == "Account: XXXXXXXX9012 paid")
        #expect(String(decoding: BankAccountMask.mask(Array(csv.utf8)), as: UTF8.self).contains("Acme,123456789012"))
    }
}
