/// A JSON value that keeps numbers as they were written (`1234.50` stays `"1234.50"`), so money
/// read from an API answer is never rounded through a binary floating-point number.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text exactly as in the document.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order (a key written twice keeps its last value on lookup).
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The member `key` of an object (the last one when written twice).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// A scalar as text: strings as they are, numbers as written, booleans `true`/`false`; nil
    /// for null, arrays and objects.
    public var scalarText: String? {
        switch self {
        case .string(let text), .number(let text): text
        case .bool(let value): value ? "true" : "false"
        default: nil
        }
    }

    /// Why a JSON text was refused, with the line and column.
    public struct Failure: NightjarError {
        public let message: String
        public let location: SourceLocation?
        public var code: String { "json.malformed" }
    }

    /// Parses `bytes` (UTF-8, an optional byte-order mark). Nesting is limited to `maximumDepth`
    /// and strings to `maximumString` bytes, so a hostile document cannot exhaust the stack or memory.
    public static func parse(
        _ bytes: some Collection<UInt8>, file: String? = nil, maximumDepth: Int = 128,
        maximumString: Int = 1 << 20
    ) throws(Failure) -> JSONValue {
        var parser = JSONParser(
            bytes: Array(bytes), file: file, maximumDepth: maximumDepth, maximumString: maximumString)
        return try parser.document()
    }
}

struct JSONParser {
    let bytes: [UInt8]
    let file: String?
    let maximumDepth: Int
    let maximumString: Int
    var index = 0

    init(bytes: [UInt8], file: String?, maximumDepth: Int, maximumString: Int) {
        self.bytes = bytes
        self.file = file
        self.maximumDepth = maximumDepth
        self.maximumString = maximumString
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    func failure(_ message: String) -> JSONValue.Failure {
        var line = 1
        var column = 1
        for byte in bytes[..<min(index, bytes.count)] {
            if byte == 10 {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return JSONValue.Failure(message: message, location: SourceLocation(file: file, line: line, column: column))
    }

    mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 32 || bytes[index] == 9 || bytes[index] == 10 || bytes[index] == 13 {
            index += 1
        }
    }

    mutating func document() throws(JSONValue.Failure) -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw failure("the document is empty") }
        let value = try self.value(depth: 0)
        skipSpace()
        guard index == bytes.count else { throw failure("unexpected text after the JSON value") }
        return value
    }

    mutating func value(depth: Int) throws(JSONValue.Failure) -> JSONValue {
        guard depth < maximumDepth else { throw failure("nested deeper than \(maximumDepth) levels") }
        skipSpace()
        guard index < bytes.count else { throw failure("the document ends where a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [(key: String, value: JSONValue)] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw failure("expected a member name in quotes")
                }
                let key = try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw failure("expected `:` after the member name")
                }
                index += 1
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard index < bytes.count else { throw failure("the object is never closed") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                throw failure("expected `,` or `}` in an object")
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw failure("the array is never closed") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                throw failure("expected `,` or `]` in an array")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw failure("unexpected character where a value was expected")
        }
    }

    mutating func literal(_ word: String) throws(JSONValue.Failure) {
        for byte in word.utf8 {
            guard index < bytes.count, bytes[index] == byte else { throw failure("expected `\(word)`") }
            index += 1
        }
    }

    mutating func number() throws(JSONValue.Failure) -> String {
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
            return index - from
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digits() > 0 else { throw failure("a number needs digits") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw failure("a number needs digits after the decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { throw failure("a number needs digits in its exponent") }
        }
        guard index - start <= 64 else { throw failure("a number longer than 64 characters") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func string() throws(JSONValue.Failure) -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var runStart = index
        var length = 0
        func flush(_ end: Int) throws(JSONValue.Failure) {
            guard end > runStart else { return }
            guard let text = String(validating: bytes[runStart..<end], as: UTF8.self) else {
                throw failure("a string is not valid UTF-8")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard index < bytes.count else { throw failure("a string is never closed") }
            let byte = bytes[index]
            length += 1
            guard length <= maximumString else { throw failure("a string longer than \(maximumString) bytes") }
            if byte == UInt8(ascii: "\"") {
                try flush(index)
                index += 1
                return String(scalars)
            }
            if byte < 0x20 { throw failure("a control character inside a string") }
            if byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            try flush(index)
            index += 1
            guard index < bytes.count else { throw failure("a string is never closed") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else {
                        throw failure("a lone surrogate in a \\u escape")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("a lone surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw failure("a lone surrogate in a \\u escape") }
                scalars.append(scalar)
            default:
                throw failure("an unknown escape in a string")
            }
            runStart = index
        }
    }

    mutating func hex4() throws(JSONValue.Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 48...57: digit = UInt32(byte - 48)
            case 65...70: digit = UInt32(byte - 55)
            case 97...102: digit = UInt32(byte - 87)
            default: throw failure("a \\u escape needs four hex digits")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }
}

/// A path into JSON: `items`, `items[0].id`, `$.data.rows[*]`, `meta."next-cursor"`, `["a b"]`.
public enum JSONPath {
    public enum Step: Sendable, Equatable { case key(String), index(Int), all }

    /// The steps of `text`, or nil when it is not a path.
    public static func parse(_ text: String) -> [Step]? {
        var steps: [Step] = []
        var rest = Substring(text).trimmingSpaces()
        if rest.hasPrefix("$") { rest = rest.dropFirst() }
        if rest.hasPrefix(".") { rest = rest.dropFirst() }
        while !rest.isEmpty {
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                let inside = rest[rest.index(after: rest.startIndex)..<close].trimmingSpaces()
                if inside == "*" {
                    steps.append(.all)
                } else if let index = Int(inside) {
                    steps.append(.index(index))
                } else if inside.count >= 2,
                    inside.hasPrefix("\"") && inside.hasSuffix("\"") || inside.hasPrefix("'") && inside.hasSuffix("'")
                {
                    steps.append(.key(String(inside.dropFirst().dropLast())))
                } else {
                    return nil
                }
                rest = rest[rest.index(after: close)...]
            } else if rest.hasPrefix(".") {
                rest = rest.dropFirst()
            } else if rest.hasPrefix("\"") {
                let body = rest.dropFirst()
                guard let close = body.firstIndex(of: "\"") else { return nil }
                steps.append(.key(String(body[..<close])))
                rest = body[body.index(after: close)...]
            } else {
                let key = rest.prefix { $0 != "." && $0 != "[" }
                guard !key.isEmpty else { return nil }
                steps.append(.key(String(key)))
                rest = rest.dropFirst(key.count)
            }
        }
        return steps
    }

    /// Every value `steps` reach from `root` (`[*]` fans out over arrays and object members),
    /// each with its path written out (`payments[0].lines[2]`) relative to `root`.
    public static func select(_ steps: [Step], in root: JSONValue, at base: String = "") -> [(
        value: JSONValue, path: String
    )] {
        var current: [(JSONValue, String)] = [(root, base)]
        for step in steps {
            var next: [(JSONValue, String)] = []
            for (value, path) in current {
                switch (step, value) {
                case (.key(let key), .object):
                    if let found = value[key] { next.append((found, path.isEmpty ? key : path + "." + key)) }
                case (.index(let index), .array(let items)):
                    let resolved = index < 0 ? items.count + index : index
                    if items.indices.contains(resolved) { next.append((items[resolved], path + "[\(resolved)]")) }
                case (.all, .array(let items)):
                    for (offset, item) in items.enumerated() { next.append((item, path + "[\(offset)]")) }
                case (.all, .object(let members)):
                    for member in members {
                        next.append((member.value, path.isEmpty ? member.key : path + "." + member.key))
                    }
                default:
                    break
                }
            }
            current = next
        }
        return current
    }
}
