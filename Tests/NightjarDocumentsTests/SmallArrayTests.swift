import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

/// `SmallArray` behaves as the `Array` of the same elements (one inline, more in an array), and
/// the caches the 820 reader keeps give what reading the bytes again would.
@Suite("Small arrays and the 820 reader's caches")
struct SmallArrayTests {
    static func adjustment(_ index: Int) -> Adjustment {
        Adjustment(
            amount: Money(minorUnits: Int64(-100 * (index + 1)), currency: .usd), reasonCode: "0\(index)",
            reasonText: index % 2 == 0 ? nil : "DAMAGED \(index)", reference: index == 3 ? "DM-\(index)" : nil,
            segment: index + 7)
    }

    @Test("appended, built from a sequence or a literal, it holds what the array holds", arguments: 0...5)
    func behavesAsArray(count: Int) throws {
        let expected = (0..<count).map(SmallArrayTests.adjustment)
        var appended = SmallArray<Adjustment>()
        for element in expected { appended.append(element) }
        let built = SmallArray(expected)
        for small in [appended, built] {
            #expect(small.count == expected.count)
            #expect(small.isEmpty == expected.isEmpty)
            #expect(Array(small) == expected)
            #expect(small.indices == expected.indices)
            for index in expected.indices { #expect(small[index] == expected[index]) }
            #expect(small.map(\.reasonCode) == expected.map(\.reasonCode))
            #expect(small.first == expected.first && small.last == expected.last)
            #expect(small.description == expected.description)
        }
        #expect(appended == built)
        // Encoded exactly as the array is, and decoded back to the same elements.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try encoder.encode(appended)
        #expect(json == (try encoder.encode(expected)))
        #expect(try JSONDecoder().decode(SmallArray<Adjustment>.self, from: json) == appended)
        // Changing one element changes that element alone; another element makes them unequal.
        if count > 0 {
            var changed = appended
            changed[count - 1].reasonText = "CHANGED"
            #expect(changed[count - 1].reasonText == "CHANGED")
            #expect(Array(changed.prefix(count - 1)) == Array(expected.prefix(count - 1)))
            #expect(changed != appended)
        }
        var longer = appended
        longer.append(SmallArrayTests.adjustment(9))
        #expect(longer != appended && longer.count == count + 1 && longer.last == SmallArrayTests.adjustment(9))
        #expect(appended.count == count)
    }

    @Test("array literals give the same value as appending")
    func literals() {
        let reference = DocumentReference(qualifier: "PO", value: "PO-1")
        let other = DocumentReference(qualifier: "BM", value: "BM-2")
        let none: SmallArray<DocumentReference> = []
        let one: SmallArray<DocumentReference> = [reference]
        let two: SmallArray<DocumentReference> = [reference, other]
        var appended = SmallArray<DocumentReference>()
        #expect(none == appended && none.isEmpty)
        appended.append(reference)
        #expect(one == appended && one.count == 1)
        appended.append(other)
        #expect(two == appended && Array(two) == [reference, other])
        #expect(one != two && none != one)
    }

    /// A remitted line's JSON is what it was when its lists were arrays: the same keys, the same
    /// values, lists written as JSON arrays.
    @Test("a line read from an 820 encodes its references, dates and adjustments as JSON arrays")
    func lineEncoding() throws {
        let bytes = X12ErrorTests.file([
            "BPR*C*18.00*C*ACH", "ENT*1", "RMR*IV*INV-1*PI*10.00*11.00", "REF*PO*PO-1", "REF*BM*BM-1",
            "DTM*003*20261101", "ADX*-1.00*01*IV*DM-1", "RMR*IV*INV-2*PI*8.00",
        ])
        let advice = try #require(try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd).first)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let object = try #require(
            try JSONSerialization.jsonObject(with: try encoder.encode(advice.lines[0])) as? [String: Any])
        let references = try #require(object["references"] as? [[String: Any]])
        #expect(references.map { $0["qualifier"] as? String } == ["PO", "BM"])
        #expect(references.map { $0["value"] as? String } == ["PO-1", "BM-1"])
        #expect((object["dates"] as? [[String: Any]])?.count == 1)
        #expect((object["adjustments"] as? [[String: Any]])?.first?["reasonCode"] as? String == "01")
        let empty = try #require(
            try JSONSerialization.jsonObject(with: try encoder.encode(advice.lines[1])) as? [String: Any])
        #expect((empty["references"] as? [Any])?.isEmpty == true)
        #expect((empty["adjustments"] as? [Any])?.isEmpty == true)
        #expect(try JSONDecoder().decode(RemittanceAdvice.self, from: try encoder.encode(advice)) == advice)
    }

    /// Codes that differ in any byte, or only in length, give their own text (the cache key holds
    /// every byte of codes up to eight long).
    @Test("the code cache gives each code's own text")
    func codeCache() {
        let codes = [
            "IV", "IV", "PO", "IV", "", "I", "IVX", "IVY", "003", "004", "0123456", "0123457", "1123456", "ABCDEFGH",
            "ABCDEFGI", "BBCDEFGH", "ABCDEFGHI", "ABCDEFGHJ", "ABCD", "ABCE", "BBCD", "ABCDE", "ABCDF", "\u{E9}T\u{C9}",
            "AB", "A", "AB",
        ]
        var cache = X12CodeCache()
        for code in codes {
            let bytes = Array(code.unicodeScalars.map { UInt8($0.value) })
            bytes.withUnsafeBufferPointer { buffer in
                #expect(cache.text(buffer) == X12Text.text(buffer))
                #expect(cache.text(buffer) == code)
            }
        }
    }

    /// The ASCII test reads eight bytes at a time with overlapping loads at the end: a byte at or
    /// above 0x80 is seen at every position of every length.
    @Test("element text is read as ASCII only when every byte is ASCII")
    func asciiCheck() {
        for length in 0...40 {
            let plain = [UInt8](repeating: UInt8(ascii: "A"), count: length)
            plain.withUnsafeBufferPointer { #expect(X12Text.isASCII($0)) }
            for position in 0..<length {
                var bytes = plain
                bytes[position] = 0xE9
                bytes.withUnsafeBufferPointer { buffer in
                    #expect(!X12Text.isASCII(buffer))
                    // Latin-1, as before: é where the byte was.
                    #expect(X12Text.text(buffer).unicodeScalars.map(\.value)[position] == 0xE9)
                }
            }
        }
    }

    /// Repeated, changed and short dates, and a bad one after a good one, each read as itself.
    @Test("the date cache gives each DTM its own date and refuses a bad one")
    func dateCache() throws {
        let dates = ["20261101", "20261101", "261101", "20261102", "261102", "261102", "19991231", "20261101"]
        var body = ["BPR*C*\(dates.count).00*C*ACH"]
        for (index, date) in dates.enumerated() { body += ["RMR*IV*INV-\(index)*PI*1.00", "DTM*003*\(date)"] }
        let advice = try #require(
            try RemittanceAdviceReader.read(X12ErrorTests.file(body), defaultCurrency: .usd).first)
        #expect(
            advice.lines.map { $0.dates.map(\.date.description) } == [
                ["2026-11-01"], ["2026-11-01"], ["2026-11-01"], ["2026-11-02"], ["2026-11-02"], ["2026-11-02"],
                ["1999-12-31"], ["2026-11-01"],
            ])
        let bad = X12ErrorTests.file([
            "BPR*C*2.00*C*ACH", "RMR*IV*INV-1*PI*1.00", "DTM*003*20261101", "RMR*IV*INV-2*PI*1.00",
            "DTM*003*20261301",
        ])
        #expect(throws: X12Error.self) { try RemittanceAdviceReader.read(bad, defaultCurrency: .usd) }
    }
}
