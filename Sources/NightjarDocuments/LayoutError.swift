public import NightjarCore

/// A problem reading a file by profile (delimited, fixed-width, workbook, HTML, JSON), with
/// where it is: file, line, and the cell or path for structured files.
public struct LayoutError: NightjarError, Equatable {
    public let code: String
    public let message: String
    public let location: SourceLocation?
    public var exitStatus: ExitStatus { code.hasPrefix("profile") ? .config : .dataError }

    public init(code: String, message: String, location: SourceLocation?) {
        self.code = code
        self.message = message
        self.location = location
    }
}
