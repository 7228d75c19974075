import CSystem
import Foundation
public import NightjarCore

/// The separators an interchange declares in its ISA header.
public struct X12Separators: Sendable, Equatable {
    public let element: UInt8
    public let component: UInt8
    /// ISA11 in 00402 and later, when it is not a letter or digit.
    public let repetition: UInt8?
    public let segment: UInt8
}

/// One segment: its id, its elements (element 1 is `elements[1]`; `elements[0]` is the id),
/// and its position in the file. (What `X12Reader.read` collects; the streaming readers see
/// `X12SegmentView`s instead, which copy nothing.)
public struct X12Segment: Sendable, Equatable {
    public let id: String
    let elements: [ArraySlice<UInt8>]
    /// 1-based segment number from the start of the file.
    public let number: Int
    let component: UInt8

    /// Element `index` (1-based) as text, or "" when absent. Bytes outside ASCII are read as Latin-1.
    public subscript(_ index: Int) -> String {
        guard index < elements.count else { return "" }
        return X12Text.text(elements[index])
    }

    /// Element `index` or nil when absent or empty (surrounding spaces ignored).
    public func optional(_ index: Int) -> String? {
        guard index < elements.count else { return nil }
        let text = elements[index].withUnsafeBufferPointer { X12Text.trimmed($0) }
        return text.isEmpty ? nil : X12Text.text(text)
    }

    /// The components of element `index`.
    public func components(_ index: Int) -> [String] {
        guard index < elements.count else { return [] }
        return elements[index].split(separator: component, omittingEmptySubsequences: false).map { X12Text.text($0) }
    }

    public var elementCount: Int { elements.count - 1 }

    init(_ view: X12SegmentView) {
        id = X12Text.text(X12Text.trimmed(view.element(0)))
        elements = (0..<view.count).map { ArraySlice(view.element($0)) }
        number = view.number
        component = view.component
    }
}

/// Element text: ASCII as it is, other bytes as Latin-1 (X12's basic and extended character sets).
enum X12Text {
    @inline(__always)
    static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard isASCII(bytes) else { return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })) }
        if bytes.count <= 15 {
            // Built in place as a small string: ASCII needs no validation, and nothing is allocated.
            return String(unsafeUninitializedCapacity: bytes.count) { $0.initialize(fromContentsOf: bytes) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether no byte has its high bit set, read eight bytes at a time (overlapping loads at
    /// the end, never past it).
    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let count = bytes.count
        let high: UInt64 = 0x8080_8080_8080_8080
        if count >= 8 {
            var seen: UInt64 = raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            var offset = 0
            while offset + 8 <= count {
                seen |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            return seen & high == 0
        }
        if count >= 4 {
            let seen =
                raw.loadUnaligned(as: UInt32.self) | raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            return seen & 0x8080_8080 == 0
        }
        var seen: UInt8 = 0
        for offset in 0..<count { seen |= base[offset] }
        return seen & 0x80 == 0
    }

    static func text<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        for byte in bytes where byte >= 0x80 {
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes without surrounding spaces and tabs.
    @inline(__always)
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let base = bytes.baseAddress else { return bytes }
        var start = 0
        var end = bytes.count
        while start < end, base[start] == 32 || base[start] == 9 { start += 1 }
        while end > start, base[end - 1] == 32 || base[end - 1] == 9 { end -= 1 }
        return UnsafeBufferPointer(start: base + start, count: end - start)
    }
}

/// A segment id packed into an integer (`RMR` is 0x524D52), so segments are told apart without text.
struct X12Tag: Equatable {
    let value: UInt32

    init(_ text: StaticString) {
        var value: UInt32 = 0
        text.withUTF8Buffer { for byte in $0 { value = value << 8 | UInt32(byte) } }
        self.value = value
    }

    init(value: UInt32) { self.value = value }

    // Constants rather than stored statics: no lazy initialisation on every comparison.
    static var isa: X12Tag { X12Tag(value: 0x495341) }  // ISA
    static var iea: X12Tag { X12Tag(value: 0x494541) }  // IEA
    static var gs: X12Tag { X12Tag(value: 0x4753) }  // GS
    static var ge: X12Tag { X12Tag(value: 0x4745) }  // GE
    static var st: X12Tag { X12Tag(value: 0x5354) }  // ST
    static var se: X12Tag { X12Tag(value: 0x5345) }  // SE
    static var bpr: X12Tag { X12Tag(value: 0x425052) }  // BPR
    static var bps: X12Tag { X12Tag(value: 0x425053) }  // BPS
    static var cur: X12Tag { X12Tag(value: 0x435552) }  // CUR
    static var trn: X12Tag { X12Tag(value: 0x54524E) }  // TRN
    static var n1: X12Tag { X12Tag(value: 0x4E31) }  // N1
    static var n2: X12Tag { X12Tag(value: 0x4E32) }  // N2
    static var n3: X12Tag { X12Tag(value: 0x4E33) }  // N3
    static var n4: X12Tag { X12Tag(value: 0x4E34) }  // N4
    static var ent: X12Tag { X12Tag(value: 0x454E54) }  // ENT
    static var rmr: X12Tag { X12Tag(value: 0x524D52) }  // RMR
    static var rmt: X12Tag { X12Tag(value: 0x524D54) }  // RMT
    static var adx: X12Tag { X12Tag(value: 0x414458) }  // ADX
    static var nte: X12Tag { X12Tag(value: 0x4E5445) }  // NTE
    static var ref: X12Tag { X12Tag(value: 0x524546) }  // REF
    static var dtm: X12Tag { X12Tag(value: 0x44544D) }  // DTM
    static var per: X12Tag { X12Tag(value: 0x504552) }  // PER
    static var big: X12Tag { X12Tag(value: 0x424947) }  // BIG
    static var itd: X12Tag { X12Tag(value: 0x495444) }  // ITD
    static var it1: X12Tag { X12Tag(value: 0x495431) }  // IT1
    static var pid: X12Tag { X12Tag(value: 0x504944) }  // PID
    static var tds: X12Tag { X12Tag(value: 0x544453) }  // TDS
    static var sac: X12Tag { X12Tag(value: 0x534143) }  // SAC
    static var ctt: X12Tag { X12Tag(value: 0x435454) }  // CTT
}

/// Where a segment's elements are: `count` pairs of offsets from `firstBound` in the bounds table.
struct SegmentRecord {
    var tag: X12Tag
    var number: Int
    var firstBound: Int32
    var count: Int32
}

/// A segment as the reader sees it: its elements are slices of the reader's buffer (nothing is
/// copied), valid only while the transaction set is being visited.
struct X12SegmentView {
    let base: UnsafePointer<UInt8>
    let bounds: UnsafePointer<Int32>
    /// Elements, the id included.
    let count: Int
    let tag: X12Tag
    let number: Int
    let component: UInt8

    @inline(__always)
    func element(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        guard index < count else { return UnsafeBufferPointer(start: base, count: 0) }
        let start = Int(bounds[2 * index])
        let end = Int(bounds[2 * index + 1])
        return UnsafeBufferPointer(start: base + start, count: end - start)
    }

    var elementCount: Int { count - 1 }

    /// The id as written (spaces trimmed).
    var id: String { X12Text.text(X12Text.trimmed(element(0))) }

    /// Element `index` as text, or "" when absent.
    subscript(_ index: Int) -> String { X12Text.text(element(index)) }

    /// Element `index` or nil when absent or empty (surrounding spaces ignored).
    func optional(_ index: Int) -> String? {
        let bytes = X12Text.trimmed(element(index))
        return bytes.isEmpty ? nil : X12Text.text(bytes)
    }

    /// Whether element `index` is exactly `text`.
    func element(_ index: Int, is text: StaticString) -> Bool {
        let bytes = element(index)
        return text.withUTF8Buffer { expected in
            expected.count == bytes.count
                && (expected.count == 0 || memcmp(expected.baseAddress!, bytes.baseAddress!, expected.count) == 0)
        }
    }

    /// Element `index` (untrimmed) parsed as an integer, or nil.
    func integer(_ index: Int) -> Int? { Int(self[index]) }
}

/// A transaction set as the reader sees it: ST, the segments between, SE.
struct X12SetView {
    let base: UnsafePointer<UInt8>
    let bounds: UnsafePointer<Int32>
    let records: UnsafeBufferPointer<SegmentRecord>
    let component: UInt8

    @inline(__always)
    func view(_ record: Int) -> X12SegmentView {
        let entry = records[record]
        return X12SegmentView(
            base: base, bounds: bounds + Int(entry.firstBound), count: Int(entry.count), tag: entry.tag,
            number: entry.number,
            component: component)
    }

    var header: X12SegmentView { view(0) }
    /// Segments after ST and before SE.
    var segmentCount: Int { records.count - 2 }
    @inline(__always)
    func segment(_ index: Int) -> X12SegmentView { view(index + 1) }

    /// ST01.
    var identifier: String { header[1] }
    /// ST02.
    var controlNumber: String { header[2] }

    /// The first segment with `tag`, if any.
    func first(_ tag: X12Tag) -> X12SegmentView? {
        for index in 0..<segmentCount where records[index + 1].tag == tag { return segment(index) }
        return nil
    }
}

/// A transaction set's bytes and segment table kept after reading (what `X12Reader.read` collects).
struct X12SetStorage: Sendable {
    let bytes: [UInt8]
    let bounds: [Int32]
    let records: [SegmentRecord]
    let component: UInt8

    init(_ view: X12SetView, length: Int) {
        bytes = Array(UnsafeBufferPointer(start: view.base, count: length))
        let last = view.records[view.records.count - 1]
        bounds = Array(UnsafeBufferPointer(start: view.bounds, count: Int(last.firstBound + 2 * last.count)))
        records = Array(view.records)
        component = view.component
    }

    func withView<T>(_ body: (X12SetView) throws(X12Error) -> T) throws(X12Error) -> T {
        try bytes.withUnsafeBufferPointer { (base) throws(X12Error) -> T in
            try bounds.withUnsafeBufferPointer { (bounds) throws(X12Error) -> T in
                try records.withUnsafeBufferPointer { (records) throws(X12Error) -> T in
                    try body(
                        X12SetView(
                            base: base.baseAddress ?? UnsafePointer(bitPattern: 1)!,
                            bounds: bounds.baseAddress ?? UnsafePointer(bitPattern: 4)!,
                            records: records, component: component))
                }
            }
        }
    }
}

extension SegmentRecord: Sendable {}
extension X12Tag: Sendable {}

/// A transaction set (ST ... SE): its id (820, 810), control number, and the segments between.
public struct X12TransactionSet: Sendable {
    public let identifier: String
    public let controlNumber: String
    /// Segments after ST and before SE.
    public let segments: [X12Segment]
    public let header: X12Segment
    let storage: X12SetStorage
}

/// A functional group (GS ... GE).
public struct X12FunctionalGroup: Sendable {
    /// GS01: RA for 820, IN for 810, FA for 997.
    public let functionalID: String
    /// GS08, e.g. 004010 or 005010X218.
    public let version: String
    public let controlNumber: String
    public let transactionSets: [X12TransactionSet]
    public let header: X12Segment
}

/// An interchange (ISA ... IEA).
public struct X12Interchange: Sendable {
    public let separators: X12Separators
    public let controlNumber: String
    public let sender: String
    public let receiver: String
    public let groups: [X12FunctionalGroup]
}

/// What the scanner tells its reader: each transaction set as soon as its SE is read, and the
/// ends of groups and interchanges.
protocol X12Visitor {
    mutating func transactionSet(_ set: X12SetView, length: Int, functionalID: String) throws(X12Error)
    mutating func groupEnded(functionalID: String, version: String, controlNumber: String, header: X12Segment)
    mutating func interchangeEnded(separators: X12Separators, controlNumber: String, sender: String, receiver: String)
}

extension X12Visitor {
    mutating func groupEnded(functionalID: String, version: String, controlNumber: String, header: X12Segment) {}
    mutating func interchangeEnded(separators: X12Separators, controlNumber: String, sender: String, receiver: String) {
    }
}

/// Reads X12 envelopes: separators from each ISA, several interchanges per file, and every
/// control number and count checked. The file is read in chunks and a transaction set at a
/// time: only the set being read is in memory.
public enum X12Reader {
    /// Limits that keep a hostile file from exhausting memory.
    public static let maximumSegmentLength = 64 * 1024
    public static let maximumSegments = 5_000_000
    /// The largest transaction set (one payment, one invoice) read: the memory an X12 import
    /// needs beyond its fixed buffers.
    public static let maximumTransactionSetBytes = 64 * 1024 * 1024

    /// Every interchange in `bytes`, with all their segments. Structural defects throw a located `X12Error`.
    public static func read(_ bytes: [UInt8], file: String? = nil) throws(X12Error) -> [X12Interchange] {
        struct Collector: X12Visitor {
            var interchanges: [X12Interchange] = []
            var groups: [X12FunctionalGroup] = []
            var sets: [X12TransactionSet] = []
            mutating func transactionSet(_ set: X12SetView, length: Int, functionalID: String) throws(X12Error) {
                sets.append(
                    X12TransactionSet(
                        identifier: set.identifier, controlNumber: set.controlNumber,
                        segments: (0..<set.segmentCount).map { X12Segment(set.segment($0)) },
                        header: X12Segment(set.header), storage: X12SetStorage(set, length: length)))
            }
            mutating func groupEnded(functionalID: String, version: String, controlNumber: String, header: X12Segment) {
                groups.append(
                    X12FunctionalGroup(
                        functionalID: functionalID, version: version, controlNumber: controlNumber,
                        transactionSets: sets, header: header))
                sets = []
            }
            mutating func interchangeEnded(
                separators: X12Separators, controlNumber: String, sender: String, receiver: String
            ) {
                interchanges.append(
                    X12Interchange(
                        separators: separators, controlNumber: controlNumber, sender: sender, receiver: receiver,
                        groups: groups))
                groups = []
            }
        }
        var collector = Collector()
        try scan(MemorySource(bytes, name: file), file: file, &collector)
        return collector.interchanges
    }

    /// What a file's envelopes hold, found by reading every segment and checking every control
    /// number and count, without reading any document.
    public struct Summary: Sendable, Equatable {
        public var interchanges = 0
        public var groups = 0
        /// Transaction sets by ST01 (820, 810, 997...).
        public var transactionSets: [String: Int] = [:]
        public var segments = 0

        public init() {}
    }

    /// The structure of a file read in chunks (see `Summary`).
    public static func summary(_ source: any ByteSource, file: String? = nil) throws(X12Error) -> Summary {
        struct Counter: X12Visitor {
            var summary = Summary()
            mutating func transactionSet(_ set: X12SetView, length: Int, functionalID: String) throws(X12Error) {
                summary.transactionSets[set.identifier, default: 0] += 1
                summary.segments += set.records.count
            }
            mutating func groupEnded(functionalID: String, version: String, controlNumber: String, header: X12Segment) {
                summary.groups += 1
            }
            mutating func interchangeEnded(
                separators: X12Separators, controlNumber: String, sender: String, receiver: String
            ) { summary.interchanges += 1 }
        }
        var counter = Counter()
        try scan(source, file: file, &counter)
        return counter.summary
    }

    /// Reads the source and hands each transaction set to `visitor` as soon as its SE is read.
    /// A structural defect anywhere still refuses the file, but sets before it have been visited,
    /// so callers store nothing outside a transaction they roll back.
    /// Scans `source` with the visitor `make` builds around a handler that passes each document
    /// to `each`: an error `each` throws stops the reading (the handler answers false) and is
    /// rethrown as it was, in place of the stop the visitor then reports.
    static func forEach<Document, Visitor: X12Visitor>(
        _ source: any ByteSource, file: String?, _ each: (Document) throws -> Void,
        visitor make: (@escaping (Document) -> Bool) -> Visitor
    ) throws {
        try withoutActuallyEscaping(each) { each in
            var failure: (any Error)?
            var visitor = make { document in
                do { try each(document) } catch {
                    failure = error
                    return false
                }
                return true
            }
            do {
                try scan(source, file: file, &visitor)
            } catch {
                if let failure { throw failure }
                throw error
            }
        }
    }

    static func scan<Visitor: X12Visitor>(_ source: any ByteSource, file: String?, _ visitor: inout Visitor)
        throws(X12Error)
    {
        let scanner = X12Scanner(source: source, file: file)
        defer { scanner.release() }
        try scanner.run(&visitor)
    }

    static func skipLeadingNoise(_ bytes: [UInt8], from start: Int) -> Int {
        var cursor = start
        if cursor == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { cursor = 3 }
        while cursor < bytes.count, isNoise(bytes[cursor]) { cursor += 1 }
        return cursor
    }

    @inline(__always)
    static func isNoise(_ byte: UInt8) -> Bool {
        byte == 32 || byte == 9 || byte == 10 || byte == 13 || byte == 0 || byte == 0x15 || byte == 0x1A
    }

    /// Reads the ISA header's separators: the element separator is the byte after "ISA"; ISA16
    /// (one byte) follows the 16th element separator; the segment terminator follows it.
    static func separators(_ bytes: [UInt8], at start: Int, segment: Int, file: String?) throws(X12Error) -> (
        X12Separators, headerEnd: Int, elements: [String]
    ) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(X12Error) in
            try separators(buffer, at: start, segment: segment, file: file)
        }
    }

    static func separators(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, segment: Int, file: String?)
        throws(X12Error) -> (X12Separators, headerEnd: Int, elements: [String])
    {
        guard start + 4 < bytes.count else {
            throw X12Error(.badHeader, "the ISA segment is cut short", segment: segment, file: file)
        }
        let element = bytes[start + 3]
        guard element != 10, element != 13, !isAlphanumeric(element) else {
            throw X12Error(
                .badHeader, "the ISA element separator is not a separator character", segment: segment, file: file)
        }
        var cursor = start + 3
        var separatorsSeen = 0
        var fields: [String] = []
        var fieldStart = cursor + 1
        while cursor < bytes.count, separatorsSeen < 16, cursor - start < 200 {
            if bytes[cursor] == element {
                if separatorsSeen > 0 { fields.append(X12Text.text(bytes[fieldStart..<cursor])) }
                separatorsSeen += 1
                fieldStart = cursor + 1
            }
            cursor += 1
        }
        guard separatorsSeen == 16, cursor + 1 < bytes.count else {
            throw X12Error(.badHeader, "the ISA segment does not have 16 elements", segment: segment, file: file)
        }
        let component = bytes[cursor]
        let terminator = bytes[cursor + 1]
        fields.append(X12Text.text([component]))
        guard component != element, terminator != element, terminator != component, !isAlphanumeric(terminator) else {
            throw X12Error(
                .badHeader,
                "the ISA separators are not distinct (element \(show(element)), component \(show(component)), segment \(show(terminator)))",
                segment: segment, file: file)
        }
        let repetitionText = fields[10]
        var repetition: UInt8?
        if let version = Int(fields[11].trimmingCharacters(in: .whitespaces)), version >= 402,
            repetitionText.utf8.count == 1,
            let byte = repetitionText.utf8.first, !isAlphanumeric(byte), byte != element, byte != component,
            byte != terminator
        {
            repetition = byte
        }
        return (
            X12Separators(element: element, component: component, repetition: repetition, segment: terminator),
            cursor + 2, fields
        )
    }

    @inline(__always)
    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }

    /// `A`–`Z` or `0`–`9` (the bytes of nearly every segment id), with two compares.
    @inline(__always)
    static func isCapitalOrDigit(_ byte: UInt8) -> Bool { byte &- 48 < 10 || byte &- 65 < 26 }

    static func show(_ byte: UInt8) -> String {
        byte >= 33 && byte < 127 ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "0x%02X", byte)
    }

    static func skipLineBreaks(_ bytes: [UInt8], from start: Int, terminator: UInt8) -> Int {
        var cursor = start
        while cursor < bytes.count, (bytes[cursor] == 10 || bytes[cursor] == 13) && bytes[cursor] != terminator {
            cursor += 1
        }
        return cursor
    }
}

/// The reading machine behind `X12Reader`: a buffer refilled from the source, holding the bytes
/// from the start of the transaction set being read (or of the segment, between sets), with the
/// elements of each segment recorded as offsets into it.
final class X12Scanner {
    // The scanner is used by one reader at a time and never re-entered: the per-access
    // exclusivity checks of class properties would cost more than the scanning itself.
    let source: any ByteSource
    let file: String?
    @exclusivity(unchecked) var buffer: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var capacity: Int
    /// Valid bytes in the buffer.
    @exclusivity(unchecked) var limit = 0
    @exclusivity(unchecked) var atEnd = false
    /// Bytes before `anchor` may be dropped; recorded offsets count from it.
    @exclusivity(unchecked) var anchor = 0
    @exclusivity(unchecked) var cursor = 0
    /// Element offsets of the segments recorded since the anchor, in pairs.
    @exclusivity(unchecked) var bounds: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var boundsCount = 0
    @exclusivity(unchecked) var boundsCapacity = 8192
    /// The segments recorded since the anchor (a buffer of our own: an array's append checks
    /// uniqueness and capacity on every segment).
    @exclusivity(unchecked) var records: UnsafeMutablePointer<SegmentRecord>
    @exclusivity(unchecked) var recordCount = 0
    @exclusivity(unchecked) var recordCapacity = 1024
    static let chunk = 1 << 20

    init(source: any ByteSource, file: String?) {
        self.source = source
        self.file = file
        capacity = X12Scanner.chunk
        buffer = .allocate(capacity: capacity)
        bounds = .allocate(capacity: boundsCapacity)
        records = .allocate(capacity: recordCapacity)
    }

    func release() {
        buffer.deallocate()
        bounds.deallocate()
        records.deallocate()
    }

    /// Records one more segment.
    @inline(__always)
    func record(_ record: SegmentRecord) {
        if recordCount == recordCapacity {
            let larger = UnsafeMutablePointer<SegmentRecord>.allocate(capacity: recordCapacity * 2)
            larger.initialize(from: records, count: recordCount)
            records.deallocate()
            records = larger
            recordCapacity *= 2
        }
        (records + recordCount).initialize(to: record)
        recordCount += 1
    }

    /// Makes room for `needed` bounds, keeping the first `count`.
    func reserveBounds(_ needed: Int, keeping count: Int) {
        guard needed > boundsCapacity else { return }
        var larger = boundsCapacity * 2
        while larger < needed { larger *= 2 }
        let grown = UnsafeMutablePointer<Int32>.allocate(capacity: larger)
        grown.update(from: bounds, count: count)
        bounds.deallocate()
        bounds = grown
        boundsCapacity = larger
    }

    static var ones: UInt64 { 0x0101_0101_0101_0101 }
    static var low: UInt64 { 0x7F7F_7F7F_7F7F_7F7F }

    /// The high bit of each byte of `word` that is zero (exact: no carry crosses bytes).
    @inline(__always)
    static func zeroBytes(_ word: UInt64) -> UInt64 { ~(((word & low) &+ low) | word | low) }

    /// The segment from `start` when its terminator lies in the buffer within the length limit:
    /// its elements recorded (offsets from the anchor, in pairs; the last ends at the terminator)
    /// while the terminator is looked for, eight bytes at a time, and the terminator's position.
    /// nil records nothing: the segment continues past the buffer or is too long.
    @inline(__always)
    func scanSegment(from start: Int, element: UInt8, terminator: UInt8, maximumLength: Int) -> Int? {
        let stop = min(limit, start + maximumLength + 1)
        let base = anchor
        var count = boundsCount
        var elementStart = start
        var index = start
        let elementPattern = UInt64(element) &* X12Scanner.ones
        let terminatorPattern = UInt64(terminator) &* X12Scanner.ones
        // Sixteen bytes at a time with one vector compare, eight at a time for the rest.
        while index &+ 16 <= stop {
            // Sixteen bytes hold at most sixteen separators (32 bounds) and the final pair.
            if count &+ 34 > boundsCapacity { reserveBounds(count &+ 34, keeping: count) }
            let mask = csystem_match16(buffer + index, element, terminator)
            var hits = mask & 0xFFFF
            let ends = mask &>> 16
            let out = bounds
            while hits != 0 {
                let offset = hits.trailingZeroBitCount
                let position = index &+ offset
                out[count] = Int32(truncatingIfNeeded: elementStart &- base)
                out[count &+ 1] = Int32(truncatingIfNeeded: position &- base)
                count &+= 2
                if ends & (1 &<< UInt32(offset)) != 0 {
                    boundsCount = count
                    return position
                }
                elementStart = position &+ 1
                hits &= hits &- 1
            }
            index &+= 16
        }
        while index + 8 <= stop {
            // Eight bytes hold at most eight separators (sixteen bounds) and the final pair.
            if count + 18 > boundsCapacity { reserveBounds(count + 18, keeping: count) }
            let word = UInt64(littleEndian: UnsafeRawPointer(buffer + index).loadUnaligned(as: UInt64.self))
            let ends = X12Scanner.zeroBytes(word ^ terminatorPattern)
            var hits = X12Scanner.zeroBytes(word ^ elementPattern) | ends
            // Wrapping arithmetic: positions stay inside the buffer, so no sum can overflow.
            let out = bounds
            while hits != 0 {
                let position = index &+ (hits.trailingZeroBitCount &>> 3)
                out[count] = Int32(truncatingIfNeeded: elementStart &- base)
                out[count &+ 1] = Int32(truncatingIfNeeded: position &- base)
                count &+= 2
                if ends & hits & (0 &- hits) != 0 {
                    boundsCount = count
                    return position
                }
                elementStart = position &+ 1
                hits &= hits &- 1
            }
            index &+= 8
        }
        while index < stop {
            let byte = buffer[index]
            if byte == element || byte == terminator {
                if count + 2 > boundsCapacity { reserveBounds(count + 2, keeping: count) }
                bounds[count] = Int32(truncatingIfNeeded: elementStart - base)
                bounds[count + 1] = Int32(truncatingIfNeeded: index - base)
                count += 2
                if byte == terminator {
                    boundsCount = count
                    return index
                }
                elementStart = index + 1
            }
            index += 1
        }
        return nil
    }

    /// Records the elements of the segment content `start..<end` (offsets from the anchor, in
    /// pairs), finding separators eight bytes at a time.
    @inline(__always)
    func splitElements(from start: Int, to end: Int, separator: UInt8) {
        // At most one element per byte, plus one: room first, so the loop checks no capacity.
        reserveBounds(boundsCount + 2 * (end - start) + 2, keeping: boundsCount)
        let out = bounds
        var count = boundsCount
        let base = anchor
        var elementStart = start
        var index = start
        let pattern = UInt64(separator) &* X12Scanner.ones
        while index + 8 <= end {
            let word = UInt64(littleEndian: UnsafeRawPointer(buffer + index).loadUnaligned(as: UInt64.self)) ^ pattern
            // The high bit of each byte that equals the separator (exact: no carry crosses bytes).
            var found = X12Scanner.zeroBytes(word)
            while found != 0 {
                let position = index &+ (found.trailingZeroBitCount &>> 3)
                out[count] = Int32(truncatingIfNeeded: elementStart &- base)
                out[count &+ 1] = Int32(truncatingIfNeeded: position &- base)
                count &+= 2
                elementStart = position &+ 1
                found &= found &- 1
            }
            index &+= 8
        }
        while index < end {
            if buffer[index] == separator {
                out[count] = Int32(truncatingIfNeeded: elementStart - base)
                out[count + 1] = Int32(truncatingIfNeeded: index - base)
                count += 2
                elementStart = index + 1
            }
            index += 1
        }
        out[count] = Int32(truncatingIfNeeded: elementStart - base)
        out[count + 1] = Int32(truncatingIfNeeded: end - base)
        boundsCount = count + 2
    }

    func failure(_ kind: X12Error.Kind, _ message: String, _ segment: Int?) -> X12Error {
        X12Error(kind, message, segment: segment, file: file)
    }

    /// Reads more: keeps the bytes from `anchor`, moved to the front, and adds what the source gives.
    func refill() throws(X12Error) {
        guard !atEnd else { return }
        if anchor > 0 {
            let kept = limit - anchor
            if kept > 0 { buffer.update(from: buffer + anchor, count: kept) }
            cursor -= anchor
            limit = kept
            anchor = 0
        }
        if limit == capacity {
            guard capacity < X12Reader.maximumTransactionSetBytes else {
                throw failure(
                    .tooLarge,
                    "a transaction set is longer than \(X12Reader.maximumTransactionSetBytes / 1_048_576) MiB",
                    recordCount > 0 ? records[0].number : nil)
            }
            let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            larger.update(from: buffer, count: limit)
            buffer.deallocate()
            buffer = larger
            capacity *= 2
        }
        let count: Int
        do {
            count = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer + limit, count: capacity - limit))
        } catch {
            throw failure(.unreadable, error.message, nil)
        }
        if count == 0 { atEnd = true }
        limit += count
    }

    /// Whether `count` bytes from the cursor are in the buffer (false: the file ends first).
    func ensure(_ count: Int) throws(X12Error) -> Bool {
        while limit - cursor < count, !atEnd { try refill() }
        return limit - cursor >= count
    }

    /// Skips what may stand between interchanges (and a byte-order mark at the very start).
    func skipNoise(atStart: Bool) throws(X12Error) {
        anchor = cursor
        if atStart, try ensure(3), buffer[cursor] == 0xEF, buffer[cursor + 1] == 0xBB, buffer[cursor + 2] == 0xBF {
            cursor += 3
        }
        while true {
            while cursor < limit, X12Reader.isNoise(buffer[cursor]) { cursor += 1 }
            anchor = cursor
            if cursor < limit || atEnd { return }
            try refill()
        }
    }

    func run<Visitor: X12Visitor>(_ visitor: inout Visitor) throws(X12Error) {
        try skipNoise(atStart: true)
        guard try ensure(1) else { throw failure(.noInterchange, "the file is empty", nil) }
        var interchanges = 0
        var segmentNumber = 0
        while try ensure(1) {
            guard try ensure(3), buffer[cursor] == 73, buffer[cursor + 1] == 83, buffer[cursor + 2] == 65 else {
                if interchanges == 0 { throw failure(.noInterchange, "the file does not start with an ISA segment", 1) }
                throw failure(.trailingData, "data after the last IEA is not another interchange", segmentNumber + 1)
            }
            segmentNumber = try readInterchange(firstSegment: segmentNumber + 1, &visitor)
            interchanges += 1
            try skipNoise(atStart: false)
        }
    }

    /// Splits an interchange into segments and checks its structure; returns the number of its last segment.
    func readInterchange<Visitor: X12Visitor>(firstSegment: Int, _ visitor: inout Visitor) throws(X12Error) -> Int {
        anchor = cursor
        _ = try ensure(256)
        let (separators, headerEnd, isaFields) = try UnsafeBufferPointer(start: buffer + cursor, count: limit - cursor)
            .withMemoryRebound(to: UInt8.self) { (bytes) throws(X12Error) in
                try X12Reader.separators(bytes, at: 0, segment: firstSegment, file: file)
            }
        cursor += headerEnd
        let element = separators.element
        let terminator = separators.segment
        let maximumLength = X12Reader.maximumSegmentLength
        var number = firstSegment
        var groups = 0
        var group: (functionalID: String, version: String, control: String, header: X12Segment)?
        var setCount = 0
        var inSet = false
        var setControl = ""
        var setIdentifier = ""
        while true {
            // Line breaks between segments (unless one is the terminator).
            while true {
                // On locals: the properties would be loaded and stored again for every byte.
                let bytes = buffer
                let available = limit
                var at = cursor
                while at < available {
                    let byte = bytes[at]
                    guard (byte == 10 || byte == 13) && byte != terminator else { break }
                    at &+= 1
                }
                cursor = at
                if cursor < limit || atEnd { break }
                if !inSet { anchor = cursor }
                try refill()
            }
            if !inSet {
                anchor = cursor
                recordCount = 0
                boundsCount = 0
            }
            guard cursor < limit else {
                let open =
                    inSet
                    ? "inside transaction set \(setControl): no SE"
                    : group.map { "inside functional group \($0.control): no GE" } ?? "before IEA"
                throw failure(.truncated, "the file ends \(open)", number)
            }
            // The segment's end: its terminator, or the end of the file. Most segments lie whole in
            // the buffer: their elements are recorded while the terminator is looked for.
            let firstBound = Int32(boundsCount)
            var scanned = 0
            var end = 0
            var terminated = false
            let split: Bool
            if let found = scanSegment(
                from: cursor, element: element, terminator: terminator, maximumLength: maximumLength)
            {
                end = found
                terminated = true
                split = true
            } else {
                split = false
            }
            while !split {
                let window = min(limit - cursor, maximumLength + 1)
                if window > scanned, let found = memchr(buffer + cursor + scanned, Int32(terminator), window - scanned)
                {
                    end = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    terminated = true
                    break
                }
                scanned = window
                if window == maximumLength + 1 {
                    throw failure(
                        .tooLarge, "a segment is longer than \(maximumLength) bytes (wrong segment terminator?)",
                        number + 1)
                }
                if atEnd {
                    end = limit
                    break
                }
                try refill()
            }
            let start = cursor
            var contentEnd = end
            let bytes = buffer
            // A line break before the terminator (both are below 14; most segments end in text).
            if contentEnd > start, bytes[contentEnd &- 1] < 14 {
                while contentEnd > start, bytes[contentEnd &- 1] == 13 || bytes[contentEnd &- 1] == 10 {
                    contentEnd &-= 1
                }
            }
            cursor = terminated ? end + 1 : end
            if !terminated && contentEnd == start { continue }
            number += 1
            if number - firstSegment > X12Reader.maximumSegments {
                throw failure(.tooLarge, "more than \(X12Reader.maximumSegments) segments", number)
            }
            // Elements, as offsets from the anchor (the last one without the line break before the terminator).
            if split {
                // The last element ends at the terminator unless a line break came before it.
                if contentEnd != end { bounds[boundsCount &- 1] = Int32(truncatingIfNeeded: contentEnd &- anchor) }
            } else {
                splitElements(from: start, to: contentEnd, separator: element)
            }
            let elementCount = (boundsCount - Int(firstBound)) / 2
            // The id: one to three letters or digits. Two or three capitals or digits with nothing
            // around them (nearly every segment) are read at once; anything else the general way.
            var idStart = start
            var idEnd = Int(bounds[Int(firstBound) &+ 1]) &+ anchor
            var tagValue: UInt32 = 0
            var validID: Bool
            let idLength = idEnd &- idStart
            if idLength == 3, X12Reader.isCapitalOrDigit(bytes[start]), X12Reader.isCapitalOrDigit(bytes[start &+ 1]),
                X12Reader.isCapitalOrDigit(bytes[start &+ 2])
            {
                tagValue = UInt32(bytes[start]) << 16 | UInt32(bytes[start &+ 1]) << 8 | UInt32(bytes[start &+ 2])
                validID = true
            } else if idLength == 2, X12Reader.isCapitalOrDigit(bytes[start]),
                X12Reader.isCapitalOrDigit(bytes[start &+ 1])
            {
                tagValue = UInt32(bytes[start]) << 8 | UInt32(bytes[start &+ 1])
                validID = true
            } else {
                while idStart < idEnd, buffer[idStart] == 32 || buffer[idStart] == 9 { idStart += 1 }
                while idEnd > idStart, buffer[idEnd - 1] == 32 || buffer[idEnd - 1] == 9 { idEnd -= 1 }
                validID = idEnd > idStart && idEnd - idStart <= 3
                if validID {
                    for position in idStart..<idEnd {
                        guard X12Reader.isAlphanumeric(buffer[position]) else {
                            validID = false
                            break
                        }
                        tagValue = tagValue << 8 | UInt32(buffer[position])
                    }
                }
            }
            guard validID else {
                let shown = X12Text.text(UnsafeBufferPointer(start: buffer + start, count: min(contentEnd - start, 80)))
                    .prefix(20)
                throw failure(.unexpectedSegment, "\"\(shown)\" is not a segment (wrong separator?)", number)
            }
            let tag = X12Tag(value: tagValue)
            record(SegmentRecord(tag: tag, number: number, firstBound: firstBound, count: Int32(elementCount)))
            let segment = X12SegmentView(
                base: buffer + anchor, bounds: bounds + Int(firstBound),
                count: elementCount, tag: tag, number: number, component: separators.component)
            switch tag {
            case .gs:
                guard group == nil else {
                    throw failure(.unexpectedSegment, "GS before the previous group's GE", number)
                }
                group = (segment[1], segment[8], segment[6], X12Segment(segment))
            case .ge:
                guard let current = group, !inSet else {
                    throw failure(
                        .unexpectedSegment, inSet ? "GE inside a transaction set (no SE)" : "GE without GS", number)
                }
                guard segment[2] == current.control else {
                    throw failure(.controlMismatch, "GE02 is \(segment[2]) but GS06 is \(current.control)", number)
                }
                guard segment.integer(1) == setCount else {
                    throw failure(
                        .countMismatch, "GE01 says \(segment[1]) transaction sets, the group has \(setCount)", number)
                }
                visitor.groupEnded(
                    functionalID: current.functionalID, version: current.version, controlNumber: current.control,
                    header: current.header)
                groups += 1
                group = nil
                setCount = 0
            case .st:
                guard group != nil else {
                    throw failure(.unexpectedSegment, "ST outside a functional group (no GS)", number)
                }
                guard !inSet else { throw failure(.unexpectedSegment, "ST before the previous set's SE", number) }
                inSet = true
                setControl = segment[2]
                setIdentifier = segment[1]
            case .se:
                guard inSet else { throw failure(.unexpectedSegment, "SE without ST", number) }
                guard segment[2] == setControl else {
                    throw failure(.controlMismatch, "SE02 is \(segment[2]) but ST02 is \(setControl)", number)
                }
                let count = recordCount
                guard segment.integer(1) == count else {
                    throw failure(
                        .countMismatch, "SE01 says \(segment[1]) segments, the transaction set has \(count)", number)
                }
                _ = setIdentifier
                let length = end - anchor
                let set = X12SetView(
                    base: buffer + anchor, bounds: bounds,
                    records: UnsafeBufferPointer(start: records, count: recordCount), component: separators.component)
                try visitor.transactionSet(set, length: length, functionalID: group?.functionalID ?? "")
                setCount += 1
                inSet = false
            case .iea:
                guard group == nil else {
                    throw failure(.unexpectedSegment, "IEA inside a functional group (no GE)", number)
                }
                guard segment[2] == isaFields[12] else {
                    throw failure(.controlMismatch, "IEA02 is \(segment[2]) but ISA13 is \(isaFields[12])", number)
                }
                guard segment.integer(1) == groups else {
                    throw failure(
                        .countMismatch, "IEA01 says \(segment[1]) functional groups, the interchange has \(groups)",
                        number)
                }
                visitor.interchangeEnded(
                    separators: separators, controlNumber: isaFields[12],
                    sender: isaFields[5].trimmingCharacters(in: .whitespaces),
                    receiver: isaFields[7].trimmingCharacters(in: .whitespaces))
                anchor = cursor
                return number
            case .isa:
                throw failure(.unexpectedSegment, "ISA before the previous interchange's IEA", number)
            default:
                guard inSet else {
                    throw failure(.unexpectedSegment, "\(segment.id) outside a transaction set", number)
                }
            }
        }
    }
}
