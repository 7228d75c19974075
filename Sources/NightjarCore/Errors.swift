/// Exit statuses of the `nightjar` command, after sysexits(3).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Everything went well.
    case ok = 0
    /// The command ran but something it did failed (a run with failed portals, a failed check).
    case failure = 1
    /// The command line was wrong.
    case usage = 64
    /// Input data was malformed.
    case dataError = 65
    /// An input file or record does not exist.
    case noInput = 66
    /// Something unexpected went wrong inside the program.
    case software = 70
    /// An output file or folder could not be created.
    case cannotCreate = 73
    /// A read or write failed.
    case ioError = 74
    /// The vault is locked, or the acting principal lacks the permission.
    case noPermission = 77
    /// The configuration is wrong.
    case config = 78

    /// One line for `--help`.
    public var summary: String {
        switch self {
        case .ok: "success"
        case .failure: "finished, but something failed (e.g. a portal in a run)"
        case .usage: "usage error: unknown command, option or argument"
        case .dataError: "bad input data (the message names file and location)"
        case .noInput: "an input file or record does not exist"
        case .software: "internal error"
        case .cannotCreate: "cannot create an output file or folder (e.g. it already exists)"
        case .ioError: "a read or write failed"
        case .noPermission: "vault locked or permission denied"
        case .config: "configuration error"
        }
    }
}

/// Where in an input a problem was found. Every field is optional; `description` prints what is known,
/// e.g. `remit.csv:12:4` or `remit.x12 segment 37`.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var column: Int?
    /// X12 segment number (1-based, counted from the start of the file).
    public var segment: Int?
    /// Where inside a structured file: `sheet Detail, cell C7`, `payments[0].lines[2]`.
    public var place: String?

    public init(file: String? = nil, line: Int? = nil, column: Int? = nil, segment: Int? = nil, place: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.segment = segment
        self.place = place
    }

    public var description: String {
        var text = file ?? "<input>"
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        if let segment { text += " segment \(segment)" }
        if let place { text += " (\(place))" }
        return text
    }
}

/// The protocol every Nightjar error conforms to: a stable machine-readable `code`, a human
/// `message`, an optional input `location`, and the exit status the CLI uses for it.
public protocol NightjarError: Error, CustomStringConvertible, Sendable {
    /// Stable identifier, e.g. `money.overflow`; part of the `--json` API.
    var code: String { get }
    /// A plain sentence for a person.
    var message: String { get }
    /// Where in an input the problem is, for input errors.
    var location: SourceLocation? { get }
    /// Exit status the CLI returns when this error ends a command.
    var exitStatus: ExitStatus { get }
}

extension NightjarError {
    public var location: SourceLocation? { nil }
    public var exitStatus: ExitStatus { .dataError }
    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}

/// A general-purpose error for cases that need no type of their own.
public struct GeneralError: NightjarError {
    public let code: String
    public let message: String
    public let location: SourceLocation?
    public let exitStatus: ExitStatus

    public init(code: String, message: String, location: SourceLocation? = nil, exitStatus: ExitStatus = .software) {
        self.code = code
        self.message = message
        self.location = location
        self.exitStatus = exitStatus
    }
}
