import Foundation
import Testing
@testable import NightjarCore

@Suite struct TextTests {
    /// The readers trim every cell; the fast trim must trim exactly what Foundation's `.whitespaces` does.
    @Test(arguments: ["", " ", "\t", "abc", "  abc  ", "\tabc\t", "a b", " a b ", "\u{00A0}12.50\u{3000}", "\u{2009}x\u{202F}",
                      "\nline\n", " \r\n ", "é ", " é", "e\u{0301} ", "\u{200B}zero-width\u{200B}", "\u{2028}x", "  \u{1680}mixed\u{205F} \t"])
    func trimmingHorizontalSpaceIsFoundationsWhitespaceTrim(text: String) {
        #expect(text.trimmingHorizontalSpace() == text.trimmingCharacters(in: .whitespaces))
    }

    @Test func randomTextTrimsAsFoundationDoes() {
        var random = SeededRandom(seed: 7)
        let pieces = [" ", "\t", "\n", "\u{00A0}", "\u{2003}", "\u{200B}", "\u{2028}", "a", "Z", "é", "\u{0301}", "€", "-", "\u{FEFF}"]
        for _ in 0..<2_000 {
            let text = (0..<Int(random.next() % 8)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            #expect(text.trimmingHorizontalSpace() == text.trimmingCharacters(in: .whitespaces), "\(Array(text.unicodeScalars))")
        }
    }
}
