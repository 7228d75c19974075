import NightjarCore
import Testing

@testable import NightjarHTTP

/// Download file names: the quick check for names that need no change agrees with the full
/// cleaning on every name, safe or not.
@Suite("Download file names")
struct FileNameTests {
    @Test(arguments: [
        "remit 2026-11.csv", "a.b.c", "x", "..", "a/../b\u{0}", ".hidden", " lead", "trail ", "tab\t", "a..b", "a\\b",
        "del\u{7F}", "é.csv", "remit\u{A0}", String(repeating: "a", count: 200), String(repeating: "a", count: 201), "",
        "a/b", "ok_-+=,;()[]{}~!@#$%^&'.pdf",
    ])
    func aNameIsKeptAsItIsExactlyWhenCleaningWouldKeepIt(_ name: String) {
        #expect(HTTPSession.sanitise(name) == HTTPSession.cleaned(name))
        if HTTPSession.isSafeASCIIName(name) { #expect(HTTPSession.cleaned(name) == name) }
    }

    @Test func randomNamesAgree() {
        var generator = SeededRandom(seed: 20_261_201)
        let alphabet: [Character] = [
            "a", "Z", "0", ".", ".", " ", "\t", "/", "\\", "-", "_", "\u{0}", "\u{7F}", "é", "\u{A0}", "\u{3000}",
        ]
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 12)
            let name = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            #expect(HTTPSession.sanitise(name) == HTTPSession.cleaned(name), "\(name.debugDescription)")
            if HTTPSession.isSafeASCIIName(name) {
                #expect(HTTPSession.cleaned(name) == name, "\(name.debugDescription)")
            }
        }
    }
}
