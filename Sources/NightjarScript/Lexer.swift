public import NightjarCore

/// A definition that cannot be parsed or checked: where, what, and a suggestion where one exists.
public struct ScriptError: NightjarError, Equatable {
    public let location: SourceLocation?
    public let problem: String
    public let suggestion: String?

    public init(_ problem: String, at location: SourceLocation, suggestion: String? = nil) {
        self.location = location
        self.problem = problem
        self.suggestion = suggestion
    }

    public var code: String { "scraper.invalid" }
    public var message: String { suggestion.map { "\(problem) (did you mean `\($0)`?)" } ?? problem }
    public var exitStatus: ExitStatus { .dataError }
}

/// Several problems found in one definition, in file order.
public struct ScriptErrors: NightjarError {
    public let errors: [ScriptError]
    public var code: String { "scraper.invalid" }
    public var message: String {
        errors.map { "\($0.location?.description ?? "?"): \($0.message)" }.joined(separator: "\n")
    }
    public var location: SourceLocation? { errors.first?.location }
    public var exitStatus: ExitStatus { .dataError }
    public var description: String { message }
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
/// Edit distance counting a swap of neighbours as one edit (Damerau–Levenshtein, restricted).
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
            }
        }
    }
    return table[a.count][b.count]
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo (or a
/// shortening, such as `secs` for `seconds`).
func suggestion(for word: String, among candidates: [String]) -> String? {
    // No name worth suggesting is this long, and the distance table grows with the word.
    guard word.unicodeScalars.count <= 64 else { return nil }
    let lowered = Array(word.lowercased())
    let scored = candidates.map { ($0, editDistance(lowered, Array($0.lowercased()))) }.sorted {
        $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0)
    }
    guard let best = scored.first, best.1 > 0 else { return nil }
    if best.1 <= min(3, max(1, (word.count + 1) / 3)) { return best.0 }
    // An abbreviation: the same first letters, every letter of the word in order.
    if word.count >= 3,
        let match = candidates.first(where: { candidate in
            candidate.lowercased().hasPrefix(String(lowered.prefix(2)))
                && isSubsequence(lowered, of: Array(candidate.lowercased()))
        })
    {
        return match
    }
    return nil
}

func isSubsequence(_ small: [Character], of large: [Character]) -> Bool {
    var index = 0
    for character in large where index < small.count && small[index] == character { index += 1 }
    return index == small.count
}

struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier(String)
        case string([RawStringPart])
        case number(Int64)
        case symbol(String)
        case end
    }
    let kind: Kind
    /// Where it starts (the file is the parser's).
    let line: Int32
    let column: Int32
    /// Offsets of the token's first character and of the one after it, in the source's scalars.
    let start: Int32
    let end: Int32
    /// Whether a line break came before this token.
    let afterNewline: Bool
}

enum RawStringPart: Equatable, Sendable {
    case text(String)
    /// `${...}`: where its source text is (scalar offsets) and where it starts.
    case interpolation(Range<Int>, line: Int, column: Int)
}

/// Splits definition text into tokens. Comments run from `#` to the end of the line.
struct Lexer {
    let file: String
    let scalars: [Unicode.Scalar]
    var index: Int
    /// Where this lexer stops: the source's end, or the end of a `${...}`.
    let end: Int
    var line = 1
    var column = 1

    /// Reads `range` of `source` (the whole of it by default), whose first character is at `line` and `column`.
    init(_ source: SourceText, range: Range<Int>? = nil, line: Int = 1, column: Int = 1) {
        file = source.file
        scalars = source.scalars
        index = range?.lowerBound ?? 0
        end = range?.upperBound ?? source.scalars.count
        self.line = line
        self.column = column
    }

    static let symbols = [
        "==", "!=", "<=", ">=", "{", "}", "(", ")", "[", "]", ",", ":", ".", "|", "=", "<", ">", "+", "!",
    ]

    mutating func tokens() throws(ScriptError) -> [Token] {
        var result: [Token] = []
        var sawNewline = true
        while true {
            // Skip spaces, newlines and comments.
            while index < end {
                let scalar = scalars[index]
                if scalar == "\n" {
                    sawNewline = true
                    advance()
                } else if scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\u{FEFF}" {
                    advance()
                } else if scalar == "#" {
                    while index < end && scalars[index] != "\n" { advance() }
                } else {
                    break
                }
            }
            let location = SourceLocation(file: file, line: line, column: column)
            let start = index
            guard index < end else {
                result.append(
                    Token(
                        kind: .end, line: Int32(location.line ?? 1), column: Int32(location.column ?? 1),
                        start: Int32(start), end: Int32(start), afterNewline: true))
                return result
            }
            let scalar = scalars[index]
            let kind: Token.Kind
            if scalar.properties.isAlphabetic || scalar == "_" {
                var name = ""
                // Hyphens join words (`Content-Type`, `X-Requested-With`) when a letter follows.
                while index < end,
                    scalars[index].properties.isAlphabetic || scalars[index] == "_"
                        || ("0"..."9").contains(scalars[index])
                        || (scalars[index] == "-" && index + 1 < end && scalars[index + 1].properties.isAlphabetic)
                {
                    name.unicodeScalars.append(scalars[index])
                    advance()
                }
                kind = .identifier(name)
            } else if ("0"..."9").contains(scalar)
                || (scalar == "-" && index + 1 < end && ("0"..."9").contains(scalars[index + 1]))
            {
                var digits = ""
                if scalar == "-" {
                    digits = "-"
                    advance()
                }
                while index < end, ("0"..."9").contains(scalars[index]) || scalars[index] == "_" {
                    if scalars[index] != "_" { digits.unicodeScalars.append(scalars[index]) }
                    advance()
                }
                guard let value = Int64(digits), digits.count <= 16 else {
                    throw ScriptError("number too large", at: location)
                }
                kind = .number(value)
            } else if scalar == "\"" {
                kind = .string(try quoted(location))
            } else if scalar == "'" {
                advance()
                var text = ""
                while true {
                    guard index < end, scalars[index] != "\n" else {
                        throw ScriptError("this '...' string is not closed on its line", at: location)
                    }
                    if scalars[index] == "'" {
                        advance()
                        break
                    }
                    text.unicodeScalars.append(scalars[index])
                    advance()
                }
                kind = .string([.text(text)])
            } else if let symbol = Lexer.symbols.first(where: { matches($0) }) {
                for _ in symbol.unicodeScalars { advance() }
                kind = .symbol(symbol)
            } else {
                throw ScriptError("unexpected character `\(scalar.escaped(asASCII: false))`", at: location)
            }
            result.append(
                Token(
                    kind: kind, line: Int32(location.line ?? 1), column: Int32(location.column ?? 1),
                    start: Int32(start), end: Int32(index), afterNewline: sawNewline))
            sawNewline = false
        }
    }

    func matches(_ symbol: String) -> Bool {
        var offset = index
        for scalar in symbol.unicodeScalars {
            guard offset < end, scalars[offset] == scalar else { return false }
            offset += 1
        }
        return true
    }

    mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    /// `"..."` with escapes and `${...}`, or `"""` multi-line text with its common indentation removed.
    mutating func quoted(_ location: SourceLocation) throws(ScriptError) -> [RawStringPart] {
        let multiline = matches("\"\"\"")
        if multiline {
            advance()
            advance()
            advance()
            guard index < end, scalars[index] == "\n" else {
                throw ScriptError("a \"\"\" string starts its text on the next line", at: location)
            }
            advance()
        } else {
            advance()
        }
        var parts: [RawStringPart] = []
        var text = ""
        while true {
            guard index < end else { throw ScriptError("this string is not closed", at: location) }
            let scalar = scalars[index]
            if multiline, matches("\"\"\"") {
                advance()
                advance()
                advance()
                break
            }
            if !multiline && scalar == "\"" {
                advance()
                break
            }
            if !multiline && scalar == "\n" {
                throw ScriptError(
                    "this string is not closed on its line (use \"\"\" for text over several lines)", at: location)
            }
            if scalar == "\\" {
                let here = SourceLocation(file: file, line: line, column: column)
                advance()
                guard index < end else { throw ScriptError("this string is not closed", at: location) }
                let escaped = scalars[index]
                advance()
                switch escaped {
                case "n": text += "\n"
                case "t": text += "\t"
                case "r": text += "\r"
                case "\"": text += "\""
                case "\\": text += "\\"
                case "$": text += "$"
                case "u":
                    guard index < end, scalars[index] == "{" else {
                        throw ScriptError("write a Unicode escape as \\u{1F600}", at: here)
                    }
                    advance()
                    var hex = ""
                    while index < end, scalars[index] != "}", hex.count < 8 {
                        hex.unicodeScalars.append(scalars[index])
                        advance()
                    }
                    guard index < end, scalars[index] == "}", let value = UInt32(hex, radix: 16),
                        let character = Unicode.Scalar(value)
                    else {
                        throw ScriptError("not a valid Unicode escape", at: here)
                    }
                    guard value != 0 else {
                        throw ScriptError(
                            "`\\u{0}` would put a NUL byte in the string, which is never allowed", at: here)
                    }
                    advance()
                    text.unicodeScalars.append(character)
                default:
                    throw ScriptError(
                        "unknown escape `\\\(escaped)` (known: \\n \\t \\r \\\" \\\\ \\$ \\u{...})", at: here)
                }
                continue
            }
            if scalar == "$", index + 1 < end, scalars[index + 1] == "{" {
                let here = (line, column + 2)
                advance()
                advance()
                let innerStart = index
                var depth = 0
                while true {
                    guard index < end, scalars[index] != "\n" else {
                        throw ScriptError("`${` is not closed with `}`", at: location)
                    }
                    if scalars[index] == "}" && depth == 0 { break }
                    if scalars[index] == "{" { depth += 1 }
                    if scalars[index] == "}" { depth -= 1 }
                    advance()
                }
                let innerEnd = index
                advance()
                if !text.isEmpty {
                    parts.append(.text(text))
                    text = ""
                }
                parts.append(.interpolation(innerStart..<innerEnd, line: here.0, column: here.1))
                continue
            }
            text.unicodeScalars.append(scalar)
            advance()
        }
        if !text.isEmpty || parts.isEmpty { parts.append(.text(text)) }
        return multiline ? Lexer.dedent(parts) : parts
    }

    /// Removes the indentation of the closing line from every line of a multi-line string.
    static func dedent(_ parts: [RawStringPart]) -> [RawStringPart] {
        guard case .text(var last)? = parts.last else { return parts }
        var indent = ""
        if let newline = last.lastIndex(of: "\n"),
            last[last.index(after: newline)...].allSatisfy({ $0 == " " || $0 == "\t" })
        {
            indent = String(last[last.index(after: newline)...])
            last = String(last[..<newline])
        } else if last.allSatisfy({ $0 == " " || $0 == "\t" }) {
            indent = last
            last = ""
        }
        var result = parts
        result[result.count - 1] = .text(last)
        guard !indent.isEmpty else { return result }
        var atLineStart = true
        return result.map { part in
            guard case .text(let text) = part else {
                atLineStart = false
                return part
            }
            var out = ""
            var rest = Substring(text)
            while !rest.isEmpty {
                if atLineStart, rest.hasPrefix(indent) { rest = rest.dropFirst(indent.count) }
                if let newline = rest.firstIndex(of: "\n") {
                    out += rest[...newline]
                    rest = rest[rest.index(after: newline)...]
                    atLineStart = true
                } else {
                    out += rest
                    rest = ""
                    atLineStart = false
                }
            }
            return .text(out)
        }
    }
}
