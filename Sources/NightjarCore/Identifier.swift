/// The one rule for names that become keys, file names or path parts: clients, portals,
/// credential labels, operators, profiles and rules files.
///
/// A name is 1 to 64 bytes of ASCII letters, digits, `-`, `_` and `.`, never starting with `.`
/// (so never `.` or `..`), and so never holds `/`, `%`, a space or a NUL byte.
public enum Identifier {
    /// The longest name, in bytes.
    public static let maximumBytes = 64

    /// Throws unless `value` follows the rule. `field` names what the value is ("client name").
    public static func validate(_ value: String, field: String, location: SourceLocation? = nil) throws(IdentifierError)
    {
        if let reason = problem(value) {
            throw IdentifierError(field: field, value: value, reason: reason, location: location)
        }
    }

    /// Whether `value` follows the rule.
    public static func isValid(_ value: String) -> Bool { problem(value) == nil }

    /// What is wrong with `value`, or nil.
    public static func problem(_ value: String) -> IdentifierError.Reason? {
        let bytes = Array(value.utf8)
        if bytes.isEmpty { return .empty }
        if bytes.contains(0) { return .nulByte }
        if bytes.count > maximumBytes { return .tooLong(bytes.count) }
        if value == "." || value == ".." { return .dotName }
        if bytes.contains(UInt8(ascii: "/")) { return .slash }
        if bytes[0] == UInt8(ascii: ".") { return .leadingDot }
        for scalar in value.unicodeScalars where !allowed(scalar) { return .character(scalar) }
        return nil
    }

    /// A name the rule admits, made from `value` for a rename suggestion: other characters become
    /// `-`, leading dots go, and it is cut to 64 bytes (`"acme/../x"` → `"acme----x"`).
    public static func suggestedName(for value: String) -> String {
        var result = String(String.UnicodeScalarView(value.unicodeScalars.map { allowed($0) ? $0 : "-" }))
        while result.hasPrefix(".") { result.removeFirst() }
        result = String(result.prefix(maximumBytes))
        return result.isEmpty || result == "-" ? "renamed" : result
    }

    private static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x2D, 0x2E, 0x5F: true  // - . _
        default: false
        }
    }
}

/// A name that breaks the identifier rule, naming the field it was given for.
public struct IdentifierError: NightjarError, Equatable {
    /// Why a name is refused.
    public enum Reason: Sendable, Equatable {
        case empty
        case nulByte
        case tooLong(Int)
        case dotName
        case leadingDot
        case slash
        case character(Unicode.Scalar)
    }

    public let field: String
    public let value: String
    public let reason: Reason
    public let location: SourceLocation?

    public init(field: String, value: String, reason: Reason, location: SourceLocation? = nil) {
        self.field = field
        self.value = value
        self.reason = reason
        self.location = location
    }

    public var code: String { "input.invalid_name" }

    public var message: String {
        let shown = value.unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0)
        }.joined()
        let why: String
        switch reason {
        case .empty: why = "it is empty"
        case .nulByte: why = "it contains a NUL byte"
        case .tooLong(let count): why = "it is \(count) bytes long (at most \(Identifier.maximumBytes))"
        case .dotName: why = "\".\" and \"..\" are not names"
        case .leadingDot: why = "it starts with \".\""
        case .slash: why = "it contains \"/\""
        case .character(let scalar):
            why = "it contains \"\(scalar.value < 0x20 ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar))\""
        }
        return
            "the \(field) \"\(shown)\" is not allowed: \(why) (names use letters a-z A-Z, digits, -, _ and . but not first; at most \(Identifier.maximumBytes) bytes)"
    }

    public var exitStatus: ExitStatus { .dataError }
}

/// NUL bytes refused in secrets and free text, naming the field.
public enum NULByte {
    /// Throws when `bytes` holds a NUL byte.
    public static func refuse(in bytes: UnsafeRawBufferPointer, field: String, location: SourceLocation? = nil)
        throws(NULByteError)
    {
        if bytes.contains(0) { throw NULByteError(field: field, location: location) }
    }

    /// Throws when `text` holds a NUL byte.
    public static func refuse(in text: String, field: String, location: SourceLocation? = nil) throws(NULByteError) {
        if text.utf8.contains(0) { throw NULByteError(field: field, location: location) }
    }

    /// Throws when `text`, a file's contents, holds a NUL byte, locating the first one by line
    /// and column; `field` names what the text is ("scraper definition").
    public static func refuse(inFile text: String, file: String, field: String) throws(NULByteError) {
        guard let location = location(in: text, file: file) else { return }
        throw NULByteError(field: field, location: location)
    }

    /// Where the first NUL byte of `text` is (1-based line and column, columns in characters), or nil.
    public static func location(in text: String, file: String? = nil) -> SourceLocation? {
        let utf8 = text.utf8
        guard let offset = utf8.firstIndex(of: 0) else { return nil }
        var line = 1
        var lineStart = utf8.startIndex
        var index = utf8.startIndex
        while index < offset {
            let byte = utf8[index]
            if byte == 10
                || (byte == 13 && utf8.index(after: index) < utf8.endIndex && utf8[utf8.index(after: index)] != 10)
            {
                line += 1
                lineStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        let column = text[lineStart..<offset].count + 1
        return SourceLocation(file: file, line: line, column: column)
    }

    /// Throws when `secret` holds a NUL byte (the secret is not copied).
    public static func refuse(in secret: SecretBytes, field: String, location: SourceLocation? = nil)
        throws(NULByteError)
    {
        try secret.withUnsafeBytes { (bytes) throws(NULByteError) in
            try refuse(in: bytes, field: field, location: location)
        }
    }
}

/// A NUL byte where none may be. Never shows the value.
public struct NULByteError: NightjarError, Equatable {
    public let field: String
    public let location: SourceLocation?

    public init(field: String, location: SourceLocation? = nil) {
        self.field = field
        self.location = location
    }

    public var code: String { "input.nul_byte" }
    public var message: String { "the \(field) contains a NUL byte, which is never allowed" }
    public var exitStatus: ExitStatus { .dataError }
}
