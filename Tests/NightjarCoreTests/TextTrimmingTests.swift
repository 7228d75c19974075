import Foundation
import NightjarCore
import Testing

/// `trimmingWhitespace()` against Foundation's `trimmingCharacters(in: .whitespaces)`, the
/// answer it must give: a table of the edges that differ between "whitespace" definitions, then
/// random texts built from them.
@Suite("Trimming whitespace")
struct TextTrimmingTests {
    /// Every Zs scalar, the tab, and scalars that look like space but are not Zs (line breaks,
    /// NEL, zero-width space, BOM, combining marks), with letters, digits and emoji around them.
    static let pieces: [String] = [
        " ", "\t", "\u{00A0}", "\u{1680}", "\u{2000}", "\u{2001}", "\u{2002}", "\u{2003}", "\u{2004}", "\u{2005}",
        "\u{2006}", "\u{2007}", "\u{2008}", "\u{2009}", "\u{200A}", "\u{202F}", "\u{205F}", "\u{3000}",
        "\n", "\r", "\r\n", "\u{000B}", "\u{000C}", "\u{0085}", "\u{2028}", "\u{2029}", "\u{200B}", "\u{FEFF}",
        "\u{0301}", "\u{0000}", "a", "Z", "0", "-", "é", "e\u{0301}", "日", "🙂", "👩‍👩‍👧", "INV-1",
    ]

    static let table: [String] = [
        "", " ", "\t", "  \t ", "abc", " abc", "abc ", " abc ", "\tINV-100\t", "\u{00A0}INV 100\u{00A0}",
        "\u{3000}日本\u{3000}", " \u{0301}", "\u{0301} ", " e\u{0301} ", "\n abc \n", " \nabc\n ", "\u{0085}x\u{0085}",
        "\u{200B}x\u{200B}", "\u{FEFF} x", " 🙂 ", "a b", " a  b ", "\u{2028}", " \u{2029} ", "\u{0000} ", " \u{0000}",
    ]

    @Test("the table reads as Foundation reads it", arguments: table)
    func tableAgreesWithFoundation(_ text: String) {
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
        #expect(
            Array(text.trimmingWhitespace().unicodeScalars)
                == Array(text.trimmingCharacters(in: .whitespaces).unicodeScalars))
    }

    /// Every scalar is trimmed exactly when Foundation's set holds it.
    @Test func everyScalarIsWhitespaceExactlyWhenFoundationSaysSo() {
        for value in 0..<0x11_0000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "\(Character(scalar))x\(Character(scalar))"
            let trimmed = text.trimmingWhitespace()
            #expect(
                (trimmed == "x") == CharacterSet.whitespaces.contains(scalar),
                "U+\(String(value, radix: 16, uppercase: true))")
        }
    }

    @Test func randomTextsAgreeWithFoundation() {
        // xorshift64: the same texts on every run, so a failure can be replayed.
        var state: UInt64 = 0x5EED_7E47
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % 1_000_003)
        }
        for _ in 0..<20_000 {
            let count = next() % 7
            let text = (0..<count).map { _ in Self.pieces[next() % Self.pieces.count] }.joined()
            let expected = text.trimmingCharacters(in: .whitespaces)
            #expect(
                Array(text.trimmingWhitespace().unicodeScalars) == Array(expected.unicodeScalars),
                "\(text.debugDescription)")
            let sliced = Substring(" " + text + "\t").dropFirst()
            #expect(
                Array(sliced.trimmingWhitespace().unicodeScalars)
                    == Array(String(sliced).trimmingCharacters(in: .whitespaces).unicodeScalars))
        }
    }
}
