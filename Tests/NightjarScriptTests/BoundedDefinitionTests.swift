import Foundation
import NightjarCore
import Testing

@testable import NightjarScript

/// Definitions that are too large, too deep, or hold NUL bytes or names the identifier rule
/// refuses: each is an error with its location, never a crash, a hang or unbounded memory.
@Suite("Scraper definitions: bounded and well-formed input")
struct BoundedDefinitionTests {
    static let header = "portal deep \"Deep\"\norigin main \"https://deep.example\"\n"

    /// A definition whose login logs `expression`, and which downloads something (so only the expression can be wrong).
    static func logging(_ expression: String) -> String {
        header + "login {\n  log \(expression)\n}\nremittances {\n  download get \"/f\" kind remittance\n}\n"
    }

    static func parseError(_ text: String) -> ScriptError? {
        do {
            _ = try ScraperParser.parse(text, file: "deep.scraper")
            return nil
        } catch {
            return error
        }
    }

    @Test func aNulByteInAStringIsRefusedAtItsLineAndColumn() throws {
        let error = try #require(Self.parseError(Self.logging("\"ab\u{0}c\"")))
        #expect(error.message.contains("NUL byte"))
        #expect(error.location?.line == 4)
        #expect(error.location?.column == 10)
    }

    @Test(arguments: ["# a comment \u{0}\n", "log \u{0}\n", "'single \u{0} quoted'"])
    func aNulByteAnywhereIsRefused(text: String) throws {
        let error = try #require(Self.parseError(Self.header + "login {\n" + text + "\n}\n"))
        #expect(error.message.contains("NUL byte"))
        #expect(error.location?.line == 4)
    }

    @Test func anEscapedNulIsRefused() throws {
        let error = try #require(Self.parseError(Self.logging("\"a\\u{0}b\"")))
        #expect(error.message.contains("NUL byte"))
        #expect(error.location?.line == 4)
        // Other escapes still work.
        #expect(Self.parseError(Self.logging("\"a\\u{E9}b\"")) == nil)
    }

    @Test(arguments: ["café", "Ünïcode"])
    func portalNamesFollowTheIdentifierRule(name: String) throws {
        let text =
            "portal \(name) \"T\"\norigin main \"https://a.example\"\nremittances {\n  download get \"/f\" kind remittance\n}\n"
        let error = try #require(Self.parseError(text))
        #expect(error.message.hasPrefix("the portal name \"\(name)\" is not allowed"))
        #expect(error.location?.line == 1 && error.location?.column == 8)
    }

    @Test func aDefinitionOverOneMebibyteIsRefusedBeforeItIsRead() throws {
        let padding = String(repeating: "# padding\n", count: ScraperParser.maximumBytes / 10 + 1)
        let error = try #require(Self.parseError(Self.logging("\"x\"") + padding))
        #expect(error.message.contains("more than the 1 MiB"))
        // Just under the cap is fine.
        let under = Self.logging("\"x\"")
        let fitting = under + String(repeating: "#", count: ScraperParser.maximumBytes - under.utf8.count)
        #expect(fitting.utf8.count == ScraperParser.maximumBytes)
        #expect(Self.parseError(fitting) == nil)
    }

    /// Expressions nested far deeper than a definition needs (before this, many overflowed the stack).
    static func deepExpression(_ shape: String) -> String {
        switch shape {
        case "parentheses": String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        case "lists": String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        case "not": String(repeating: "not ", count: 100_000) + "true"
        case "bang": String(repeating: "!", count: 100_000) + "true"
        case "calls": String(repeating: "count(", count: 50_000) + "1" + String(repeating: ")", count: 50_000)
        case "interpolations": String(repeating: "\"${", count: 20_000) + "1" + String(repeating: "}\"", count: 20_000)
        case "plus chain": Array(repeating: "1", count: 100_000).joined(separator: " + ")
        case "or chain": Array(repeating: "true", count: 100_000).joined(separator: " or ")
        default: "\"x\"" + String(repeating: " | trim", count: 100_000)
        }
    }

    @Test(arguments: [
        "parentheses", "lists", "not", "bang", "calls", "interpolations", "plus chain", "or chain", "filter chain",
    ])
    func deepExpressionsAreErrors(shape: String) throws {
        let error = try #require(Self.parseError(Self.logging(Self.deepExpression(shape))), "\(shape)")
        #expect(error.message.contains("levels deep"), "\(shape): \(error.message)")
        #expect(error.location?.line == 4, "\(shape)")
    }

    static func deepBody(_ shape: String) -> String {
        switch shape {
        case "blocks": String(repeating: "if true {\n", count: 50_000) + String(repeating: "}\n", count: 50_000)
        case "else if": "if true { log 1 }" + String(repeating: " else if true { log 1 }", count: 5_000)
        case "loops":
            String(repeating: "for x in [1] limit 2 {\n", count: 5_000) + String(repeating: "}\n", count: 5_000)
        default:
            "post \"/a\" json " + String(repeating: "{ a: ", count: 50_000) + "1"
                + String(repeating: " }", count: 50_000)
        }
    }

    @Test(arguments: ["blocks", "else if", "loops", "json"])
    func deepBlocksAreErrors(shape: String) throws {
        let text =
            Self.header + "login {\n" + Self.deepBody(shape)
            + "\n}\nremittances {\n  download get \"/f\" kind remittance\n}\n"
        #expect(text.utf8.count < ScraperParser.maximumBytes)
        let error = try #require(Self.parseError(text), "\(shape)")
        #expect(error.message.contains("levels deep"), "\(shape): \(error.message)")
    }

    /// The limits leave room for any real definition: nesting up to them still loads and runs the checker.
    @Test func nestingWithinTheLimitsLoads() throws {
        let parentheses = String(repeating: "(", count: 50) + "\"x\"" + String(repeating: ")", count: 50)
        #expect(throws: Never.self) { try ScraperChecker.load(Self.logging(parentheses), file: "deep.scraper") }
        let chain = Array(repeating: "\"x\"", count: 150).joined(separator: " + ")
        #expect(throws: Never.self) { try ScraperChecker.load(Self.logging(chain), file: "deep.scraper") }
        let blocks = String(repeating: "if true {\n", count: 40) + "log \"x\"\n" + String(repeating: "}\n", count: 40)
        let text = Self.header + "login {\n" + blocks + "}\nremittances {\n  download get \"/f\" kind remittance\n}\n"
        #expect(throws: Never.self) { try ScraperChecker.load(text, file: "deep.scraper") }
    }

    @Test func expressionsKeepTheirTextAndPlaceWithoutCopyingIt() throws {
        let definition = try ScraperChecker.load(Self.logging("\"a\" + (\"b\" | upper)"), file: "deep.scraper")
        guard case .log(let expression)? = definition.login?.statements.first?.kind else {
            Issue.record("no log step")
            return
        }
        #expect(expression.text == "\"a\" + (\"b\" | upper)")
        #expect(expression.location.line == 4 && expression.location.column == 7)
        #expect(expression.depth == 3)
        guard case .binary(_, _, let right) = expression.kind else {
            Issue.record("not a sum")
            return
        }
        #expect(right.text == "\"b\" | upper")
        #expect(right.location.column == 14)
    }

    @Test func aDefinitionWithManyProblemsReportsTheFirstHundredAndCountsTheRest() throws {
        let body = String(repeating: "log unknown_name\n", count: 5_000)
        let text = Self.header + "login {\n" + body + "}\nremittances {\n  download get \"/f\" kind remittance\n}\n"
        do {
            _ = try ScraperChecker.load(text, file: "many.scraper")
            Issue.record("loaded")
        } catch {
            #expect(error.errors.count == ScraperChecker.maximumErrors + 1)
            #expect(error.errors.last?.message == "… and 4900 more problems")
            #expect(error.errors.first?.location?.line == 4)
        }
    }

    /// Random bytes and random mixes of the language's own symbols: an error or a definition, never a crash.
    @Test func randomInputIsAnErrorOrADefinition() {
        var random = SeededRandom(seed: 20)
        let pieces = [
            "{", "}", "(", ")", "[", "]", "\"", "${", "'", "not ", "!", "+", "|", ",", ":", "\n", "if ", "else ",
            "log ", "x", "1",
            "for x in ", "json ", "post \"/a\" ", "\\u{0}", "\\", "#", "\u{0}", "é", "-", "==",
        ]
        for _ in 0..<300 {
            var text = Self.header + "login {\n"
            for _ in 0..<Int(random.next() % 400) { text += pieces[Int(random.next() % UInt64(pieces.count))] }
            _ = try? ScraperChecker.load(text, file: "fuzz.scraper")
        }
        for _ in 0..<100 {
            let bytes = (0..<Int(random.next() % 2000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? ScraperChecker.load(String(decoding: bytes, as: UTF8.self), file: "fuzz.scraper")
        }
    }
}
