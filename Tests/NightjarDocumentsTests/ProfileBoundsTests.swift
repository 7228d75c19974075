import Foundation
import NightjarCore
import NightjarDocuments
import Testing

/// The layout language's parser: capped at 1 MiB, no NUL byte, names by the identifier rule,
/// and large or deep inputs an error, never a crash.
@Suite("Profiles: bounded and well-formed input")
struct ProfileBoundsTests {
    static let minimal = "format = delimited\n[columns]\nreference = \"Invoice\"\namount_paid = \"Paid\"\n"

    static func problem(_ text: String) -> ProfileError? {
        do {
            _ = try LayoutProfileParser.parse(text, file: "p.profile")
            return nil
        } catch {
            return error
        }
    }

    @Test func theCapIsOneMebibyte() throws {
        let fitting =
            Self.minimal + String(repeating: "#", count: LayoutProfileParser.maximumSize - Self.minimal.utf8.count - 1)
            + "\n"
        #expect(fitting.utf8.count == LayoutProfileParser.maximumSize)
        #expect(Self.problem(fitting) == nil)
        let error = try #require(Self.problem(fitting + "#"))
        #expect(
            error.message
                == "the profile is \(LayoutProfileParser.maximumSize + 1) bytes, more than the 1024 KiB a profile may be"
        )
        #expect(error.location?.line == 1)
    }

    @Test(arguments: ["# comment \u{0}\n", "name = \"a\u{0}b\"\n", "currency = USD\u{0}\n"])
    func aNulByteIsRefusedWhereItIs(line: String) throws {
        let error = try #require(Self.problem(line + Self.minimal))
        #expect(error.message.contains("NUL"))
        #expect(error.location?.line == 1)
    }

    @Test(arguments: ["acme corp", "../x", ".hidden", "a/b"])
    func theProfileNameFollowsTheIdentifierRule(name: String) throws {
        let error = try #require(Self.problem("name = \"\(name)\"\n" + Self.minimal))
        #expect(error.message.hasPrefix("the profile name \"\(name)\" is not allowed"))
        #expect(error.location?.line == 1 && error.location?.column == 8)
        #expect(Self.problem("name = acme-remittance\n" + Self.minimal) == nil)
    }

    /// Long lines, many tokens, many sections and deep filter chains under the cap: an error or a profile, quickly.
    @Test(arguments: [
        "amount_paid = " + String(repeating: "\"P\" ", count: 200_000),
        "reference = \"Invoice\"" + String(repeating: " | text", count: 100_000),
        String(repeating: "[columns]\n", count: 100_000),
        String(repeating: "[[[[", count: 200_000),
        "reference = " + String(repeating: "(", count: 500_000),
        String(repeating: "\"", count: 900_000),
        String(repeating: "skip_rows_starting_with = \"x\"\n", count: 30_000),
    ])
    func largeAndDeepInputsAreErrorsOrProfiles(body: String) {
        let text = Self.minimal + body
        #expect(text.utf8.count <= LayoutProfileParser.maximumSize)
        _ = Self.problem(text)
    }
}
