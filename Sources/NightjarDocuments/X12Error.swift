public import NightjarCore

/// Why an X12 file was refused, with the segment where the problem is (counted from 1 at the
/// start of the file).
public struct X12Error: NightjarError, Equatable {
    public enum Kind: String, Sendable {
        case noInterchange = "x12.no_isa"
        case badHeader = "x12.bad_isa"
        case truncated = "x12.truncated"
        case controlMismatch = "x12.control_mismatch"
        case countMismatch = "x12.count_mismatch"
        case unexpectedSegment = "x12.unexpected_segment"
        case missingSegment = "x12.missing_segment"
        case badAmount = "x12.bad_amount"
        case badDate = "x12.bad_date"
        case trailingData = "x12.trailing_data"
        case tooLarge = "x12.too_large"
        case unsupported = "x12.unsupported"
        /// The file could not be read (a failing disk, a file that shrank while being read).
        case unreadable = "file.unreadable"
    }

    public let kind: Kind
    public let message: String
    public let location: SourceLocation?

    public var code: String { kind.rawValue }
    public var exitStatus: ExitStatus { .dataError }

    init(_ kind: Kind, _ message: String, segment: Int?, file: String?) {
        self.kind = kind
        self.message = message
        self.location = SourceLocation(file: file, segment: segment)
    }
}
