import Foundation
import Testing

@testable import NightjarCore

/// The scan's shortcuts against the slow ways they stand for: the bit filters against looking
/// every key up, the eight-bytes-at-a-time inner loop against reading byte by byte, the quick
/// answer for an escape against reading it every way, the unrolled trim against `mayBegin`.
@Suite("Redaction filters")
struct RedactionFilterTests {
    /// Secrets of every kind a night registers: awkward passwords, hex tokens, codes.
    static func secrets(_ count: Int, _ random: inout SeededRandom) -> [String] {
        let hex = Array("0123456789abcdef")
        return (0..<count).map { index in
            switch index % 3 {
            case 0: return MixedEncoding.randomSecret(&random)
            case 1:
                return String(
                    (0..<Int.random(in: 6...32, using: &random)).map { _ in hex.randomElement(using: &random)! })
            default: return "tok\(index)-" + MixedEncoding.randomSecret(&random)
            }
        }
    }

    /// Noise with escapes between secrets written raw, escaped character by character, or in one
    /// of their encodings (base64 at every alignment, hex).
    static func text(_ secrets: [String], pieces: Int, _ random: inout SeededRandom) -> [UInt8] {
        var text = ""
        for _ in 0..<pieces {
            text +=
                MixedEncoding.noise(&random) + ["", " plain ", "abcdefgh12", "\\\"x\\n"].randomElement(using: &random)!
            let secret = secrets.randomElement(using: &random)!
            switch Int.random(in: 0..<4, using: &random) {
            case 0: text += MixedEncoding.mixed(secret, &random)
            case 1: text += Encodings.all(secret).values.sorted().randomElement(using: &random)!
            case 2: text += secret
            default: text += String(secret.prefix(Int.random(in: 0...secret.count, using: &random)))
            }
        }
        return Array(text.utf8)
    }

    /// The filters turn away no match: with both filters saturated every key is looked up in the
    /// pattern tables, and the scan hides exactly the same ranges.
    @Test(arguments: [4, 300, 3_000])
    func theFiltersTurnAwayNoMatch(secretCount: Int) {
        var random = SeededRandom(seed: 0x5EED_0100 + UInt64(secretCount))
        let secrets = RedactionFilterTests.secrets(secretCount, &random)
        let filtered = Redactor()
        let everyKey = Redactor()
        for secret in secrets {
            filtered.register(text: secret)
            everyKey.register(text: secret)
        }
        everyKey.saturateFilters()
        var hidden = 0
        for round in 0..<60 {
            let bytes = RedactionFilterTests.text(secrets, pieces: 6, &random)
            let expected = everyKey.hiddenRanges(bytes)
            #expect(
                filtered.hiddenRanges(bytes) == expected,
                "round \(round): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            hidden += expected.count
        }
        #expect(hidden > 150, "only \(hidden) ranges hidden: the test did not exercise the scan")
    }

    /// The byte-at-a-time loop the fast path ran before `plainRun`.
    static func runByteByByte(
        _ text: UnsafeBufferPointer<UInt8>, from offset: Int, key: inout UInt64, final: Bool, tables: RedactionTables
    ) -> (offset: Int, hit: Bool) {
        var position = offset
        while position < text.count {
            let byte = text[position]
            if RedactionScanner.isEscapeStart(byte)
                && !RedactionScanner.readsAsWritten(at: position, text, base: 0, final: final, tables: tables)
            {
                break
            }
            key = (key << 8 | UInt64(byte)) & RedactionIndex.keyMask
            if tables.hits(key) { return (position, true) }
            position += 1
        }
        return (position, false)
    }

    /// `plainRun` stops where the byte-by-byte loop stops, with the same key, from every kind of
    /// start (the first bytes of a buffer, escapes, hits), on saturated and on real filters.
    @Test(arguments: [false, true])
    func plainRunStopsWhereTheByteByByteLoopStops(saturated: Bool) {
        var random = SeededRandom(seed: saturated ? 0x5EED_0201 : 0x5EED_0200)
        let secrets = RedactionFilterTests.secrets(200, &random)
        let redactor = Redactor()
        for secret in secrets { redactor.register(text: secret) }
        if saturated { redactor.saturateFilters() }
        var stops = 0
        var hits = 0
        for _ in 0..<200 {
            let whole = RedactionFilterTests.text(secrets, pieces: 3, &random)
            let bytes = Array(whole.prefix(Int.random(in: 0...whole.count, using: &random)))
            let final = Bool.random(using: &random)
            redactor.reading { index in
                let tables = RedactionTables(index)
                bytes.withUnsafeBufferPointer { text in
                    // The key holds the bytes before the start: some from an earlier buffer, then these.
                    var offset = Int.random(in: 0...min(9, text.count), using: &random)
                    var fast = UInt64.random(in: 0...RedactionIndex.keyMask, using: &random)
                    for byte in text.prefix(offset) { fast = (fast << 8 | UInt64(byte)) & RedactionIndex.keyMask }
                    var slow = fast
                    while offset < text.count {
                        let got = RedactionScanner.plainRun(
                            text, from: offset, key: &fast, final: final, tables: tables)
                        let want = RedactionFilterTests.runByteByByte(
                            text, from: offset, key: &slow, final: final, tables: tables)
                        #expect(got == want && fast == slow, "from \(offset) of \(bytes)")
                        guard got == want && fast == slow else { return }
                        stops += 1
                        if got.hit { hits += 1 }
                        // Go on past the stop as the scan would: after the hit (already in the key), or
                        // after the escape read some other way.
                        guard got.offset < text.count else { break }
                        if !got.hit { fast = (fast << 8 | UInt64(text[got.offset])) & RedactionIndex.keyMask }
                        slow = fast
                        offset = got.offset + 1
                    }
                }
            }
        }
        #expect(stops > 1_000)
        #expect(hits > (saturated ? 5_000 : 100), "\(hits) hits")
    }

    /// Where the byte after an escape start decides whether it is read only as written, the
    /// answer is the one reading it every way gives (at every position, mid-stream and final).
    @Test func theQuickAnswerForAnEscapeIsTheFullOne() {
        var random = SeededRandom(seed: 0x5EED_0300)
        var decided = 0
        for round in 0..<100 {
            let redactor = Redactor()
            // Some rounds hold secrets with a quote, a line break or a space, some without.
            var secrets = ["abcdef12", "tok-9x7y6z"]
            if round % 2 == 0 { secrets += ["a\"b\"c\"d", "line\none!", "with space"] }
            if round % 3 == 0 { secrets += RedactionFilterTests.secrets(5, &random) }
            for secret in secrets { redactor.register(text: secret) }
            let bytes = RedactionFilterTests.text(secrets, pieces: 4, &random) + Array("\\\\\\\"%4&a&#+\\".utf8)
            redactor.reading { index in
                let tables = RedactionTables(index)
                bytes.withUnsafeBufferPointer { text in
                    for position in 0..<text.count where RedactionScanner.isEscapeStart(text[position]) {
                        for final in [false, true] {
                            guard
                                let quick = RedactionScanner.readsAsWrittenByNextByte(
                                    at: position, text, base: 0, final: final, tables: tables)
                            else { continue }
                            decided += 1
                            let full = RedactionScanner.readsAsWrittenByEveryReading(
                                at: position, text, base: 0, final: final, tables: tables)
                            #expect(quick == full, "at \(position) of \(bytes) (final \(final))")
                        }
                    }
                }
            }
        }
        #expect(decided > 2_000, "only \(decided) escapes decided by the next byte")
    }

    /// The unrolled trim keeps the longest ending `mayBegin` accepts, for every length.
    @Test func longestBeginningIsTheLongestEndingThatMayBegin() {
        var random = SeededRandom(seed: 0x5EED_0400)
        let secrets = RedactionFilterTests.secrets(500, &random)
        let redactor = Redactor()
        for secret in secrets { redactor.register(text: secret) }
        var long = 0
        redactor.reading { index in
            let tables = RedactionTables(index)
            for round in 0..<20_000 {
                var key: UInt64
                if round % 2 == 0 {
                    // Bytes before the start of a secret, so that long endings may begin one.
                    let secret = Array(secrets.randomElement(using: &random)!.utf8)
                    let taken = Int.random(in: 1...5, using: &random)
                    key = UInt64.random(in: 0...UInt64.max, using: &random)
                    for byte in secret.prefix(taken) { key = key << 8 | UInt64(byte) }
                } else {
                    key = UInt64.random(in: 0...UInt64.max, using: &random)
                }
                key &= 0xFF_FFFF_FFFF
                for count in 0...5 {
                    var expected = count
                    while expected > 0 && !tables.mayBegin(key, length: expected) { expected -= 1 }
                    #expect(tables.longestBeginning(key, count: count) == expected, "\(key) \(count)")
                    if expected >= 3 { long += 1 }
                }
            }
        }
        #expect(long > 1_000)
    }
}
