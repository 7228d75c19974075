import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

/// A source that gives at most `step` bytes per read, so every chunk boundary a reader can meet
/// (inside a UTF-8 character, between CR and LF, inside a quoted field, inside a segment) is met.
final class TrickleSource: ByteSource {
    let inner: MemorySource
    let step: Int
    init(_ bytes: [UInt8], step: Int, name: String? = nil) {
        inner = MemorySource(bytes, name: name)
        self.step = step
    }
    var size: Int { inner.size }
    var name: String? { inner.name }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(step, buffer.count)]))
    }
    func bytes(at offset: Int, count: Int) throws(InputError) -> [UInt8] { try inner.bytes(at: offset, count: count) }
    func rewind() { inner.rewind() }
}

/// The streaming readers give exactly what reading the whole file in memory gives: the same
/// payments, lines, deductions and findings, or the same refusal, however the bytes arrive.
@Suite("Streaming readers")
struct StreamingTests {
    /// The streaming path (rows read a chunk at a time, payments written as they close, later
    /// findings amended), collected.
    static func streamed(
        _ fixture: LayoutFixtures.Fixture, bytes: [UInt8], step: Int,
        keepingRowsUpTo small: Int = RemittanceLayoutReader.smallFileBytes
    ) throws -> [RemittanceAdvice] {
        let source = TrickleSource(bytes, step: step, name: fixture.file)
        guard let profile = fixture.profile else {
            var advices: [RemittanceAdvice] = []
            try RemittanceAdviceReader.forEach(source, defaultCurrency: .usd, file: fixture.file) { advices.append($0) }
            return advices
        }
        let collected = CollectedRemittances()
        try RemittanceLayoutReader.read(
            source, profile: try LayoutFixtures.profile(profile), defaultCurrency: .usd, file: fixture.file,
            into: collected,
            keepingRowsUpTo: small)
        return collected.advices.compactMap { $0 }
    }

    static func outcome(_ body: () throws -> [RemittanceAdvice]) -> String {
        do { return "\(try body())" } catch let error as any NightjarError {
            return "refused \(error.code) \(error.message) \(error.location?.description ?? "")"
        } catch {
            return "refused \(error)"
        }
    }

    @Test("every fixture streams to the same result", arguments: LayoutFixtures.all)
    func everyFixtureStreamsAlike(_ fixture: LayoutFixtures.Fixture) {
        let bytes = LayoutFixtures.bytes(fixture.file)
        let whole = StreamingTests.outcome { try LayoutFixtures.read(fixture) }
        for step in [1, 7, 4096] {
            #expect(
                StreamingTests.outcome { try StreamingTests.streamed(fixture, bytes: bytes, step: step) } == whole,
                "\(fixture.file), \(step)-byte reads")
        }
    }

    /// A small file is read once with its rows kept; a larger one twice (plan, then payments) a
    /// chunk at a time. Both give what reading the whole file gives, good file or bad.
    @Test(
        "a small file read once gives what reading it twice in chunks gives",
        arguments: LayoutFixtures.all.filter { $0.profile != nil })
    func smallFilesReadOnceAlike(_ fixture: LayoutFixtures.Fixture) {
        let bytes = LayoutFixtures.bytes(fixture.file)
        #expect(bytes.count <= RemittanceLayoutReader.smallFileBytes, "\(fixture.file) is a small file")
        let whole = StreamingTests.outcome { try LayoutFixtures.read(fixture) }
        let once = StreamingTests.outcome { try StreamingTests.streamed(fixture, bytes: bytes, step: 4096) }
        let twice = StreamingTests.outcome {
            try StreamingTests.streamed(fixture, bytes: bytes, step: 4096, keepingRowsUpTo: 0)
        }
        #expect(once == whole, "\(fixture.file)")
        #expect(twice == whole, "\(fixture.file)")
    }

    @Test func mutatedFilesReadOnceOrTwiceAlike() {
        var generator = SeededRandom(seed: 20_261_202)
        let fixtures = LayoutFixtures.all.filter {
            $0.profile != nil && !$0.file.hasSuffix(".xlsx") && !$0.file.hasSuffix(".html")
                && !$0.file.hasSuffix(".json")
        }
        for round in 0..<500 {
            let fixture = fixtures[round % fixtures.count]
            var bytes = LayoutFixtures.bytes(fixture.file)
            LayoutFuzzTests.mutateText(&bytes, using: &generator)
            let once = StreamingTests.outcome { try StreamingTests.streamed(fixture, bytes: bytes, step: 5) }
            let twice = StreamingTests.outcome {
                try StreamingTests.streamed(fixture, bytes: bytes, step: 5, keepingRowsUpTo: 0)
            }
            #expect(once == twice, "round \(round), \(fixture.file)")
        }
    }

    @Test func mutatedFixturesStreamToTheSameResultOrRefusal() {
        var generator = SeededRandom(seed: 20_261_201)
        let fixtures = LayoutFixtures.all.filter {
            !$0.file.hasSuffix(".xlsx") && !$0.file.hasSuffix(".html") && !$0.file.hasSuffix(".json")
        }
        for round in 0..<1000 {
            let fixture = fixtures[round % fixtures.count]
            var bytes = LayoutFixtures.bytes(fixture.file)
            if fixture.profile == nil {
                Mutator.mutate(&bytes, using: &generator)
            } else {
                LayoutFuzzTests.mutateText(&bytes, using: &generator)
            }
            let whole = StreamingTests.outcome { try LayoutFixtures.read(fixture, bytes: bytes) }
            let streamed = StreamingTests.outcome { try StreamingTests.streamed(fixture, bytes: bytes, step: 5) }
            #expect(streamed == whole, "round \(round), \(fixture.file)")
        }
    }

    @Test func x12SamplesStreamAlikeInTinyReads() throws {
        for name in [
            "bots_820-004010-01_safeway_rmr_discounts.x12", "bots_mailbag01_multiple_ISA_mixed_terminators.x12",
            "moov_x12_stp820_backslash_terminator.txt", "stupidedi_003010_RA820_short_isa_bps_rmt.edi",
        ] {
            let bytes = Samples.bytes(name)
            var advices: [RemittanceAdvice] = []
            try RemittanceAdviceReader.forEach(TrickleSource(bytes, step: 3), defaultCurrency: .usd, file: name) {
                advices.append($0)
            }
            #expect(advices == (try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: name)), "\(name)")
        }
    }

    @Test func aTransactionSetLargerThanTheBufferIsReadWhole() throws {
        // One payment of 30,000 lines (about 1.5 MB) crosses the reader's first buffer.
        let lines = (0..<30_000).map { "RMR*IV*INV\($0)*PI*1.00" }
        let body =
            [
                "BPR*C*30000.00*C*ACH*CTX*01*111000025*DA*123456789*1234567890**01*222000025*DA*987654321*20261124",
                "TRN*1*T1*1",
            ] + lines
        let bytes = X12ErrorTests.file(body)
        var advices: [RemittanceAdvice] = []
        try RemittanceAdviceReader.forEach(MemorySource(bytes), defaultCurrency: .usd) { advices.append($0) }
        #expect(advices.count == 1)
        #expect(advices[0].lines.count == 30_000)
        #expect(advices[0].isBalanced)
    }

    @Test func anErrorTheConsumerThrowsStopsTheReadingAndIsRethrown() {
        struct Stop: Error {}
        let bytes = Samples.bytes("bots_mailbag01_multiple_ISA_mixed_terminators.x12")
        var seen = 0
        #expect(throws: Stop.self) {
            try RemittanceAdviceReader.forEach(MemorySource(bytes), defaultCurrency: .usd) { _ in
                seen += 1
                throw Stop()
            }
        }
        #expect(seen == 1)
    }

    @Test func delimitedTextSplitAnywhereGivesTheSameRows() throws {
        let text = "a,\"b\"\"c\",d\r\n\"multi\nline\",é€,\"\"\r\nlast,\"x\"\"\",\"\"\"\"\rend"
        let whole = try DelimitedText.parse(text)
        let scalars = Array(text.unicodeScalars)
        for cut in 0...scalars.count {
            var parser = DelimitedText.Parser()
            var rows: [DelimitedText.Row] = []
            var first = String.UnicodeScalarView()
            var second = String.UnicodeScalarView()
            first.append(contentsOf: scalars[..<cut])
            second.append(contentsOf: scalars[cut...])
            try parser.feed(String(first)) { rows.append($0) }
            try parser.feed(String(second)) { rows.append($0) }
            if let last = try parser.finish() { rows.append(last) }
            #expect(rows == whole, "cut at \(cut)")
        }
    }
}
