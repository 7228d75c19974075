import Foundation
import NightjarCore
import Testing

@Suite struct InstantTests {
    /// The login journal and HAR files write instants without a formatter; they must read as the formatter's do.
    @Test func millisecondInstantsReadAsTheFormattersDo() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var random = SeededRandom(seed: 11)
        let fixed: [Int64] = [0, 1, 999, 1_000, 951_782_400_000, 1_795_000_000_123, 4_102_444_799_999]
        let milliseconds = fixed + (0..<500).map { _ in Int64(random.next() % 4_102_444_800_000) }
        for value in milliseconds {
            // A fifth of a millisecond past each whole one: no doubt where the cut falls.
            let date = Date(timeIntervalSince1970: (Double(value) + 0.2) / 1000)
            #expect(date.iso8601Milliseconds == formatter.string(from: date))
        }
        #expect(Date(timeIntervalSince1970: 1_795_000_000.123_4).iso8601Milliseconds == "2026-11-18T11:06:40.123Z")
    }
}
