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
/// and its position in the file.
public struct X12Segment: Sendable, Equatable {
    public let id: String
    let elements: [ArraySlice<UInt8>]
    /// 1-based segment number from the start of the file.
    public let number: Int
    let component: UInt8

    /// Element `index` (1-based) as text, or "" when absent. Bytes outside ASCII are read as Latin-1.
    public subscript(_ index: Int) -> String {
        guard index < elements.count else { return "" }
        return X12Segment.text(elements[index])
    }

    /// Element `index` or nil when absent or empty (surrounding spaces ignored).
    public func optional(_ index: Int) -> String? {
        guard index < elements.count else { return nil }
        var slice = elements[index]
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return slice.isEmpty ? nil : X12Segment.text(slice)
    }

    /// The components of element `index`.
    public func components(_ index: Int) -> [String] {
        guard index < elements.count else { return [] }
        return elements[index].split(separator: component, omittingEmptySubsequences: false).map { X12Segment.text($0) }
    }

    public var elementCount: Int { elements.count - 1 }

    static func text<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var ascii = true
        for byte in bytes where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

/// A transaction set (ST ... SE): its id (820, 810), control number, and the segments between.
public struct X12TransactionSet: Sendable {
    public let identifier: String
    public let controlNumber: String
    /// Segments after ST and before SE.
    public let segments: [X12Segment]
    public let header: X12Segment
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

/// Reads X12 envelopes: separators from each ISA, several interchanges per file, and every
/// control number and count checked. Pure: bytes in, values out.
public enum X12Reader {
    /// Limits that keep a hostile file from exhausting memory.
    public static let maximumSegmentLength = 64 * 1024
    public static let maximumSegments = 5_000_000

    /// Every interchange in `bytes`, with all their segments. Structural defects throw a located `X12Error`.
    public static func read(_ bytes: [UInt8], file: String? = nil) throws(X12Error) -> [X12Interchange] {
        try read(bytes, file: file, collect: true) { _, _ in }
    }

    /// Checks the whole structure and hands each transaction set to `visit` as soon as its SE is
    /// read, without keeping the segments: large files are read in constant memory per set.
    /// A structural defect anywhere still refuses the file, but sets before it have been visited,
    /// so callers convert into values and store nothing until this returns.
    public static func forEachTransactionSet(_ bytes: [UInt8], file: String? = nil,
                                             _ visit: (X12TransactionSet, _ functionalID: String) throws(X12Error) -> Void) throws(X12Error) {
        _ = try read(bytes, file: file, collect: false, visit)
    }

    static func read(_ bytes: [UInt8], file: String?, collect: Bool,
                     _ visit: (X12TransactionSet, String) throws(X12Error) -> Void) throws(X12Error) -> [X12Interchange] {
        var cursor = skipLeadingNoise(bytes, from: 0)
        guard cursor < bytes.count else { throw X12Error(.noInterchange, "the file is empty", segment: nil, file: file) }
        var interchanges: [X12Interchange] = []
        var segmentNumber = 0
        while cursor < bytes.count {
            guard bytes.count - cursor >= 3, bytes[cursor] == 73, bytes[cursor + 1] == 83, bytes[cursor + 2] == 65 else {
                if interchanges.isEmpty {
                    throw X12Error(.noInterchange, "the file does not start with an ISA segment", segment: 1, file: file)
                }
                throw X12Error(.trailingData, "data after the last IEA is not another interchange", segment: segmentNumber + 1, file: file)
            }
            let (interchange, next, count) = try readInterchange(bytes, from: cursor, firstSegment: segmentNumber + 1, file: file,
                                                                 collect: collect, visit)
            interchanges.append(interchange)
            segmentNumber = count
            cursor = skipLeadingNoise(bytes, from: next)
        }
        return interchanges
    }

    static func skipLeadingNoise(_ bytes: [UInt8], from start: Int) -> Int {
        var cursor = start
        if cursor == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { cursor = 3 }
        while cursor < bytes.count, bytes[cursor] == 32 || bytes[cursor] == 9 || bytes[cursor] == 10 || bytes[cursor] == 13
            || bytes[cursor] == 0 || bytes[cursor] == 0x15 || bytes[cursor] == 0x1A {
            cursor += 1
        }
        return cursor
    }

    /// Reads the ISA header's separators: the element separator is the byte after "ISA"; ISA16
    /// (one byte) follows the 16th element separator; the segment terminator follows it.
    static func separators(_ bytes: [UInt8], at start: Int, segment: Int, file: String?) throws(X12Error) -> (X12Separators, headerEnd: Int, elements: [String]) {
        guard start + 4 < bytes.count else { throw X12Error(.badHeader, "the ISA segment is cut short", segment: segment, file: file) }
        let element = bytes[start + 3]
        guard element != 10, element != 13, !isAlphanumeric(element) else {
            throw X12Error(.badHeader, "the ISA element separator is not a separator character", segment: segment, file: file)
        }
        var cursor = start + 3
        var separatorsSeen = 0
        var fields: [String] = []
        var fieldStart = cursor + 1
        while cursor < bytes.count, separatorsSeen < 16, cursor - start < 200 {
            if bytes[cursor] == element {
                if separatorsSeen > 0 { fields.append(X12Segment.text(bytes[fieldStart..<cursor])) }
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
        fields.append(X12Segment.text([component]))
        guard component != element, terminator != element, terminator != component, !isAlphanumeric(terminator) else {
            throw X12Error(.badHeader, "the ISA separators are not distinct (element \(show(element)), component \(show(component)), segment \(show(terminator)))",
                           segment: segment, file: file)
        }
        let repetitionText = fields[10]
        var repetition: UInt8?
        if let version = Int(fields[11].trimmingCharacters(in: .whitespaces)), version >= 402, repetitionText.utf8.count == 1,
           let byte = repetitionText.utf8.first, !isAlphanumeric(byte), byte != element, byte != component, byte != terminator {
            repetition = byte
        }
        return (X12Separators(element: element, component: component, repetition: repetition, segment: terminator), cursor + 2, fields)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }

    static func show(_ byte: UInt8) -> String {
        byte >= 33 && byte < 127 ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "0x%02X", byte)
    }

    /// Splits an interchange into segments and checks its structure.
    static func readInterchange(_ bytes: [UInt8], from start: Int, firstSegment: Int, file: String?, collect: Bool,
                                _ visit: (X12TransactionSet, String) throws(X12Error) -> Void) throws(X12Error) -> (X12Interchange, Int, Int) {
        let (separators, headerEnd, isaFields) = try separators(bytes, at: start, segment: firstSegment, file: file)
        let isaSegment = X12Segment(id: "ISA", elements: [ArraySlice(Array("ISA".utf8))] + isaFields.map { ArraySlice(Array($0.utf8)) },
                                    number: firstSegment, component: separators.component)
        var number = firstSegment
        var cursor = headerEnd
        var groups: [X12FunctionalGroup] = []
        var groupHeader: X12Segment?
        var sets: [X12TransactionSet] = []
        var setCount = 0
        var setHeader: X12Segment?
        var setSegments: [X12Segment] = []
        func located(_ kind: X12Error.Kind, _ message: String, _ segment: Int) -> X12Error {
            X12Error(kind, message, segment: segment, file: file)
        }
        while true {
            cursor = skipLineBreaks(bytes, from: cursor, terminator: separators.segment)
            guard cursor < bytes.count else {
                let open = setHeader.map { "inside transaction set \($0[2]): no SE" } ?? groupHeader.map { "inside functional group \($0[6]): no GE" } ?? "before IEA"
                throw located(.truncated, "the file ends \(open)", number)
            }
            var end = cursor
            while end < bytes.count, bytes[end] != separators.segment {
                end += 1
                if end - cursor > maximumSegmentLength {
                    throw located(.tooLarge, "a segment is longer than \(maximumSegmentLength) bytes (wrong segment terminator?)", number + 1)
                }
            }
            var content = bytes[cursor..<end]
            while let last = content.last, last == 13 || last == 10 { content = content.dropLast() }
            cursor = min(end + 1, bytes.count)
            if end == bytes.count && content.isEmpty { continue }
            number += 1
            if number - firstSegment > maximumSegments { throw located(.tooLarge, "more than \(maximumSegments) segments", number) }
            let elements = content.split(separator: separators.element, omittingEmptySubsequences: false)
            var idBytes = elements[0]
            while let first = idBytes.first, first == 32 || first == 9 { idBytes = idBytes.dropFirst() }
            while let last = idBytes.last, last == 32 || last == 9 { idBytes = idBytes.dropLast() }
            guard !idBytes.isEmpty, idBytes.count <= 3, idBytes.allSatisfy(isAlphanumeric) else {
                throw located(.unexpectedSegment, "\"\(String(X12Segment.text(content).prefix(20)))\" is not a segment (wrong separator?)", number)
            }
            let id = X12Segment.text(idBytes)
            let segment = X12Segment(id: id, elements: elements, number: number, component: separators.component)
            switch id {
            case "GS":
                guard groupHeader == nil else { throw located(.unexpectedSegment, "GS before the previous group's GE", number) }
                groupHeader = segment
            case "GE":
                guard let header = groupHeader, setHeader == nil else {
                    throw located(.unexpectedSegment, setHeader != nil ? "GE inside a transaction set (no SE)" : "GE without GS", number)
                }
                guard segment[2] == header[6] else {
                    throw located(.controlMismatch, "GE02 is \(segment[2]) but GS06 is \(header[6])", number)
                }
                guard Int(segment[1]) == setCount else {
                    throw located(.countMismatch, "GE01 says \(segment[1]) transaction sets, the group has \(setCount)", number)
                }
                groups.append(X12FunctionalGroup(functionalID: header[1], version: header[8], controlNumber: header[6],
                                                 transactionSets: sets, header: header))
                groupHeader = nil
                sets = []
                setCount = 0
            case "ST":
                guard groupHeader != nil else { throw located(.unexpectedSegment, "ST outside a functional group (no GS)", number) }
                guard setHeader == nil else { throw located(.unexpectedSegment, "ST before the previous set's SE", number) }
                setHeader = segment
                setSegments = []
            case "SE":
                guard let header = setHeader else { throw located(.unexpectedSegment, "SE without ST", number) }
                guard segment[2] == header[2] else {
                    throw located(.controlMismatch, "SE02 is \(segment[2]) but ST02 is \(header[2])", number)
                }
                let count = setSegments.count + 2
                guard Int(segment[1]) == count else {
                    throw located(.countMismatch, "SE01 says \(segment[1]) segments, the transaction set has \(count)", number)
                }
                let set = X12TransactionSet(identifier: header[1], controlNumber: header[2], segments: setSegments, header: header)
                try visit(set, groupHeader?[1] ?? "")
                if collect { sets.append(set) }
                setCount += 1
                setSegments = []
                setHeader = nil
            case "IEA":
                guard groupHeader == nil else { throw located(.unexpectedSegment, "IEA inside a functional group (no GE)", number) }
                guard segment[2] == isaFields[12] else {
                    throw located(.controlMismatch, "IEA02 is \(segment[2]) but ISA13 is \(isaFields[12])", number)
                }
                guard Int(segment[1]) == groups.count else {
                    throw located(.countMismatch, "IEA01 says \(segment[1]) functional groups, the interchange has \(groups.count)", number)
                }
                let interchange = X12Interchange(separators: separators, controlNumber: isaFields[12],
                                                 sender: isaFields[5].trimmingCharacters(in: .whitespaces),
                                                 receiver: isaFields[7].trimmingCharacters(in: .whitespaces), groups: groups)
                _ = isaSegment
                return (interchange, cursor, number)
            case "ISA":
                throw located(.unexpectedSegment, "ISA before the previous interchange's IEA", number)
            default:
                guard setHeader != nil else { throw located(.unexpectedSegment, "\(id) outside a transaction set", number) }
                setSegments.append(segment)
            }
        }
    }

    static func skipLineBreaks(_ bytes: [UInt8], from start: Int, terminator: UInt8) -> Int {
        var cursor = start
        while cursor < bytes.count, (bytes[cursor] == 10 || bytes[cursor] == 13) && bytes[cursor] != terminator { cursor += 1 }
        return cursor
    }
}
