import Foundation
public import NightjarCore
import NightjarMarkup

/// A mistake in a profile, at its line and column.
public struct ProfileError: NightjarError, Equatable {
    public let message: String
    public let location: SourceLocation?
    public var code: String { "profile.invalid" }
    public var exitStatus: ExitStatus { .config }
}

/// Reads profile text (docs/file-formats.md) into a `LayoutProfile`; every mistake names its
/// line and column, and nothing is guessed: an unknown setting, field or word is an error.
public enum LayoutProfileParser {
    /// Profiles larger than this are refused (the language needs a few kilobytes).
    public static let maximumSize = 1024 * 1024

    public static func parse(_ text: String, file: String) throws(ProfileError) -> LayoutProfile {
        guard text.utf8.count <= maximumSize else {
            throw ProfileError(
                message:
                    "the profile is \(text.utf8.count) bytes, more than the \(maximumSize / 1024) KiB a profile may be",
                location: SourceLocation(file: file, line: 1))
        }
        if let location = NULByte.location(in: text, file: file) {
            throw ProfileError(message: "the profile contains a NUL byte, which is never allowed", location: location)
        }
        var parser = Parser(file: file)
        for (offset, raw) in text.textLines.enumerated() {
            try parser.line(String(raw), number: offset + 1)
        }
        return try parser.finish()
    }
}

/// A token of one profile line.
struct ProfileToken: Equatable {
    enum Kind: Equatable { case word, string, number, symbol }
    let kind: Kind
    let text: String
    let column: Int
}

private struct Parser {
    let file: String
    var section: String?
    var settings: [String: (tokens: [ProfileToken], line: Int)] = [:]
    var mappings: [LayoutProfile.Role: [String: FieldMapping]] = [:]
    var columns: [String: FieldMapping] = [:]
    var kindSource: FieldMapping?
    var rowRules: [LayoutProfile.RowRule] = []
    var otherwise: (LayoutProfile.Role?, Int)?
    var matchFileNames: [Glob] = []
    var matchContains: [String] = []
    var seenKeys: [String: Int] = [:]

    init(file: String) { self.file = file }

    func error(_ message: String, _ line: Int, _ column: Int? = nil) -> ProfileError {
        ProfileError(message: message, location: SourceLocation(file: file, line: line, column: column))
    }

    static let sections = ["columns", "payment", "line", "deduction", "total", "trailer", "rows", "match"]
    static let settingKeys = [
        "name", "kind", "format", "encoding", "separator", "quote", "decimal", "date_format", "currency", "negative",
        "header_row",
        "skip_rows_starting_with", "sheet", "table", "payments", "lines", "deductions", "line_deductions",
        "deduction_rows", "deduction_sign",
    ]

    mutating func line(_ raw: String, number: Int) throws(ProfileError) {
        let tokens = try tokenize(raw, line: number)
        guard let first = tokens.first else { return }
        if first.kind == .symbol, first.text == "[" {
            guard tokens.count == 3, tokens[1].kind == .word, tokens[2].text == "]" else {
                throw error("a section is written `[name]`", number, first.column)
            }
            let name = tokens[1].text
            guard Parser.sections.contains(name) else {
                throw error(
                    "unknown section [\(name)]; sections are \(Parser.sections.map { "[\($0)]" }.joined(separator: ", "))",
                    number, tokens[1].column)
            }
            section = name
            return
        }
        guard first.kind == .word else { throw error("expected `key = value`", number, first.column) }
        guard tokens.count >= 2, tokens[1].text == "=", tokens[1].kind == .symbol else {
            throw error(
                "expected `=` after `\(first.text)`", number,
                tokens.count > 1 ? tokens[1].column : first.column + first.text.count)
        }
        let key = first.text
        let value = Array(tokens.dropFirst(2))
        guard !value.isEmpty else { throw error("`\(key)` needs a value", number, tokens[1].column + 1) }
        let scopedKey = (section ?? "") + "." + key
        if let earlier = seenKeys[scopedKey], section != "rows" || key == "kind" || key == "otherwise" {
            throw error("`\(key)` is given twice (first on line \(earlier))", number, first.column)
        }
        seenKeys[scopedKey] = number
        switch section {
        case nil:
            guard Parser.settingKeys.contains(key) else {
                let hint = Parser.closest(key, in: Parser.settingKeys).map { " (did you mean `\($0)`?)" } ?? ""
                throw error("unknown setting `\(key)`\(hint)", number, first.column)
            }
            settings[key] = (value, number)
        case "rows":
            try rowsLine(key, value, number: number, keyColumn: first.column)
        case "match":
            switch key {
            case "file_name": matchFileNames += try strings(value, number).map(Glob.init)
            case "contains": matchContains += try strings(value, number)
            default: throw error("unknown [match] setting `\(key)` (file_name or contains)", number, first.column)
            }
        case "columns":
            columns[key] = try mapping(value, number: number)
        default:
            let role = LayoutProfile.Role(rawValue: section!)!
            mappings[role, default: [:]][key] = try mapping(value, number: number)
        }
    }

    mutating func rowsLine(_ key: String, _ value: [ProfileToken], number: Int, keyColumn: Int) throws(ProfileError) {
        if key == "kind" {
            kindSource = try mapping(value, number: number)
            return
        }
        if key == "otherwise" {
            guard value.count == 1, value[0].kind == .word else {
                throw error("otherwise takes a role or `error`", number, value[0].column)
            }
            if value[0].text == "error" {
                otherwise = (nil, number)
                return
            }
            guard let role = LayoutProfile.Role(rawValue: value[0].text) else {
                throw error(
                    "`\(value[0].text)` is not a role (payment, line, deduction, total, trailer, skip or error)",
                    number, value[0].column)
            }
            otherwise = (role, number)
            return
        }
        guard let role = LayoutProfile.Role(rawValue: key) else {
            throw error(
                "unknown [rows] setting `\(key)`: kind, otherwise, or a role (payment, line, deduction, total, trailer, skip)",
                number, keyColumn)
        }
        // `ROLE = [SOURCE] "glob", "glob"`: strings are patterns; a source starts with a keyword.
        var sourceLength = 0
        if let first = value.first, first.kind == .word {
            switch first.text {
            case "first_cell": sourceLength = 1
            case "columns", "characters": sourceLength = 4
            case "column", "json", "preamble", "xpath", "file_name", "constant": sourceLength = 2
            default:
                throw error(
                    "`\(first.text)` is not a source; write e.g. `\(role.rawValue) = column \"Type\" \"VALUE\", \"OTHER\"` or just the values in quotes",
                    number, first.column)
            }
            guard value.count > sourceLength else {
                throw error(
                    "give the values that make a row a \(role.rawValue) row, in quotes", number, value.last!.column)
            }
        }
        let source = sourceLength > 0 ? try mapping(Array(value[..<sourceLength]), number: number) : nil
        let globs = try strings(Array(value[sourceLength...]), number).map(Glob.init)
        rowRules.append(LayoutProfile.RowRule(role: role, source: source, patterns: globs, line: number))
    }

    func strings(_ tokens: [ProfileToken], _ line: Int) throws(ProfileError) -> [String] {
        var result: [String] = []
        var expectValue = true
        for token in tokens {
            if expectValue {
                guard token.kind == .string else { throw error("expected a value in quotes", line, token.column) }
                result.append(token.text)
            } else {
                guard token.kind == .symbol, token.text == "," else {
                    throw error("expected `,` between values", line, token.column)
                }
            }
            expectValue.toggle()
        }
        if expectValue, let last = tokens.last {
            throw error("a value is missing after the last `,`", line, last.column + 1)
        }
        return result
    }

    func mapping(_ tokens: [ProfileToken], number: Int) throws(ProfileError) -> FieldMapping {
        var index = 0
        func peek() -> ProfileToken? { index < tokens.count ? tokens[index] : nil }
        func next(_ what: String) throws(ProfileError) -> ProfileToken {
            guard index < tokens.count else {
                throw error("\(what) is missing", number, (tokens.last.map { $0.column + $0.text.count + 1 }) ?? 1)
            }
            index += 1
            return tokens[index - 1]
        }
        func string(_ what: String) throws(ProfileError) -> String {
            let token = try next(what)
            guard token.kind == .string else { throw error("\(what) must be in quotes", number, token.column) }
            return token.text
        }
        func integer(_ what: String) throws(ProfileError) -> Int {
            let token = try next(what)
            guard token.kind == .number, let value = Int(token.text), value >= 0, value <= 1_000_000 else {
                throw error("\(what) must be a whole number", number, token.column)
            }
            return value
        }
        func pattern(_ what: String) throws(ProfileError) -> BoundedRegex.Pattern {
            let column = peek()?.column
            let text = try string(what)
            do { return try BoundedRegex.Pattern(text) } catch {
                throw self.error("`\(text)` is not a valid regular expression", number, column)
            }
        }
        var optional = false
        if peek()?.kind == .word, peek()?.text == "optional" {
            optional = true
            index += 1
        }
        var alternatives: [FieldSource] = []
        while true {
            let token = try next("a source (a header name in quotes, column N, preamble \"Label\", ...)")
            switch (token.kind, token.text) {
            case (.string, _): alternatives.append(.header(token.text))
            case (.word, "column"):
                if peek()?.kind == .string {
                    alternatives.append(.header(try string("the header name")))
                } else {
                    let position = try integer("the column number")
                    guard position >= 1 else { throw error("columns are counted from 1", number, token.column) }
                    alternatives.append(.column(position))
                }
            case (.word, "columns"), (.word, "characters"):
                let from = try integer("the first character position")
                let dash = try next("`-`")
                guard dash.text == "-" else {
                    throw error("write character positions as FROM-TO, e.g. 1-10", number, dash.column)
                }
                let to = try integer("the last character position")
                guard from >= 1, to >= from else {
                    throw error("character positions run from 1 and FROM ≤ TO", number, token.column)
                }
                alternatives.append(.positions(from, to))
            case (.word, "first_cell"): alternatives.append(.firstCell)
            case (.word, "preamble"): alternatives.append(.preamble(try string("the preamble label")))
            case (.word, "file_name"): alternatives.append(.fileName(try pattern("the file-name pattern")))
            case (.word, "constant"): alternatives.append(.constant(try string("the constant")))
            case (.word, "json"):
                let column = peek()?.column
                let text = try string("the JSON path")
                guard let steps = JSONPath.parse(text) else {
                    throw error("`\(text)` is not a JSON path (e.g. lines[*].invoice)", number, column)
                }
                alternatives.append(.json(steps, text: text))
            case (.word, "xpath"): alternatives.append(.xpath(try string("the XPath")))
            default:
                let hint =
                    Parser.closest(
                        token.text,
                        in: [
                            "column", "columns", "characters", "first_cell", "preamble", "file_name", "constant",
                            "json", "xpath",
                        ]
                    )
                    .map { " (did you mean `\($0)`?)" } ?? ""
                throw error(
                    "`\(token.text)` is not a source\(hint): a header name in quotes, column N, columns FROM-TO, first_cell, preamble \"…\", file_name \"…\", constant \"…\", json \"…\" or xpath \"…\"",
                    number, token.column)
            }
            if peek()?.kind == .word, peek()?.text == "or" {
                index += 1
                continue
            }
            break
        }
        var filters: [FieldFilter] = []
        while let token = peek() {
            guard token.kind == .symbol, token.text == "|" else {
                throw error("expected `|` before a filter, or `or` before another source", number, token.column)
            }
            index += 1
            let name = try next("a filter after `|`")
            guard name.kind == .word else { throw error("expected a filter name after `|`", number, name.column) }
            switch name.text {
            case "match":
                let regex = try pattern("the pattern")
                var group: Int?
                if peek()?.kind == .number { group = try integer("the group") }
                if let group, group > regex.groupCount {
                    throw error("the pattern has \(regex.groupCount) group(s), not \(group)", number, name.column)
                }
                filters.append(.match(regex, group: group))
            case "replace":
                let regex = try pattern("the pattern")
                let with = try next("`with`")
                guard with.text == "with" else {
                    throw error("write `replace \"pattern\" with \"text\"`", number, with.column)
                }
                filters.append(.replace(regex, try string("the replacement")))
            case "date":
                var formats = [try string("the date format")]
                while peek()?.text == "," {
                    index += 1
                    formats.append(try string("the date format"))
                }
                for format in formats { try checkDateFormat(format, number, name.column) }
                filters.append(.date(formats))
            case "text": filters.append(.text)
            case "implied_decimals":
                let digits = try integer("the number of decimals")
                guard digits <= 6 else { throw error("at most 6 implied decimals", number, name.column) }
                filters.append(.impliedDecimals(digits))
            case "negate": filters.append(.negate)
            case "default": filters.append(.defaultValue(try string("the default value")))
            default:
                throw error(
                    "unknown filter `\(name.text)` (match, replace, date, text, implied_decimals, negate, default)",
                    number, name.column)
            }
        }
        return FieldMapping(
            alternatives: alternatives, filters: filters, optional: optional, line: number,
            column: tokens.first?.column ?? 1)
    }

    func checkDateFormat(_ format: String, _ line: Int, _ column: Int) throws(ProfileError) {
        let letters = Set(format.filter(\.isLetter))
        guard letters.isSubset(of: ["y", "M", "d"]), letters.contains("y"), letters.contains("M"), letters.contains("d")
        else {
            throw error(
                "date format `\(format)` needs y, M and d (and no other letters), e.g. dd.MM.yyyy or MMM d, yyyy", line,
                column)
        }
    }

    func tokenize(_ line: String, line number: Int) throws(ProfileError) -> [ProfileToken] {
        var tokens: [ProfileToken] = []
        let characters = Array(line)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let column = index + 1
            if character == "#" { break }
            if character.isWhitespace {
                index += 1
                continue
            }
            if character == "\"" {
                var text = ""
                index += 1
                var closed = false
                while index < characters.count {
                    let inner = characters[index]
                    if inner == "\\", index + 1 < characters.count {
                        let escaped = characters[index + 1]
                        switch escaped {
                        case "\"": text.append("\"")
                        case "\\": text.append("\\")
                        case "t": text.append("\t")
                        default:
                            text.append("\\")
                            text.append(escaped)
                        }
                        index += 2
                        continue
                    }
                    if inner == "\"" {
                        closed = true
                        index += 1
                        break
                    }
                    guard inner != "\u{0}" else { throw error("a NUL character inside a string", number, index + 1) }
                    text.append(inner)
                    index += 1
                }
                guard closed else { throw error("this string is never closed", number, column) }
                tokens.append(ProfileToken(kind: .string, text: text, column: column))
                continue
            }
            if character.isNumber, character.isASCII {
                var text = ""
                while index < characters.count, characters[index].isNumber, characters[index].isASCII {
                    text.append(characters[index])
                    index += 1
                }
                tokens.append(ProfileToken(kind: .number, text: text, column: column))
                continue
            }
            if character.isLetter || character == "_" {
                var text = ""
                while index < characters.count,
                    characters[index].isLetter || characters[index].isNumber || "_-.".contains(characters[index])
                {
                    text.append(characters[index])
                    index += 1
                }
                tokens.append(ProfileToken(kind: .word, text: text, column: column))
                continue
            }
            if "=|,[]-".contains(character) {
                tokens.append(ProfileToken(kind: .symbol, text: String(character), column: column))
                index += 1
                continue
            }
            throw error("unexpected `\(character)` (values with symbols go in quotes)", number, column)
        }
        return tokens
    }

    static func closest(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, y) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j] + 1, row[j + 1] + 1, previous + (x == y ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let scored = candidates.map { ($0, distance(Array(word), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }

    // MARK: Settings

    func setting(_ key: String) -> (tokens: [ProfileToken], line: Int)? { settings[key] }

    func single(_ key: String) throws(ProfileError) -> (String, ProfileToken, Int)? {
        guard let (tokens, line) = settings[key] else { return nil }
        guard tokens.count == 1, tokens[0].kind != .symbol else {
            throw error("`\(key)` takes one value", line, tokens.first?.column)
        }
        return (tokens[0].text, tokens[0], line)
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type, default value: T)
        throws(ProfileError) -> T where T.RawValue == String
    {
        guard let (text, token, line) = try single(key) else { return value }
        guard let parsed = T(rawValue: text) else {
            throw error(
                "`\(key)` must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))", line, token.column)
        }
        return parsed
    }

    func jsonPath(_ key: String) throws(ProfileError) -> [JSONPath.Step]? {
        guard let (text, token, line) = try single(key) else { return nil }
        guard token.kind == .string, let steps = JSONPath.parse(text) else {
            throw error("`\(key)` takes a JSON path in quotes", line, token.column)
        }
        return steps
    }

    mutating func finish() throws(ProfileError) -> LayoutProfile {
        let kind = try choice("kind", LayoutProfile.Kind.self, default: .remittance)
        let format = try choice("format", LayoutProfile.Format.self, default: .auto)
        let encoding = try choice("encoding", TextEncoding.self, default: .auto)
        var separator: Character = ","
        if let (text, token, line) = try single("separator") {
            if text == "tab" || text == "\\t" || text == "\t" {
                separator = "\t"
            } else if text == "space" {
                separator = " "
            } else {
                guard token.kind == .string, text.count == 1, text != "\"" else {
                    throw error("separator is one character in quotes, or tab", line, token.column)
                }
                separator = text.first!
            }
        }
        var quote: Character? = "\""
        if let (text, token, line) = try single("quote") {
            if text == "none" {
                quote = nil
            } else {
                guard token.kind == .string, text.count == 1 else {
                    throw error("quote is one character in quotes, or none", line, token.column)
                }
                quote = text.first!
            }
        }
        var decimalStyle = DecimalStyle.point
        if let (text, token, line) = try single("decimal") {
            switch text {
            case ".": decimalStyle = .point
            case ",": decimalStyle = .comma
            default: throw error("decimal must be \".\" (1,234.56) or \",\" (1.234,56)", line, token.column)
            }
        }
        var dateFormats = ["yyyy-MM-dd"]
        if let (tokens, line) = setting("date_format") {
            dateFormats = try strings(tokens, line)
            for format in dateFormats { try checkDateFormat(format, line, tokens[0].column) }
        }
        var currency: CurrencyCode?
        if let (text, token, line) = try single("currency") {
            do { currency = try CurrencyCode(text) } catch { throw self.error(error.message, line, token.column) }
        }
        var debitCreditColumn = false
        if let (text, token, line) = try single("negative") {
            switch text {
            // Minus signs (leading or trailing) and parentheses are always read; these stay for older profiles.
            case "minus", "parentheses", "any": break
            case "debit_credit_column": debitCreditColumn = true
            default: throw error("negative must be minus, parentheses or debit_credit_column", line, token.column)
            }
        }
        var headerRow = LayoutProfile.HeaderRow.auto
        if let (text, token, line) = try single("header_row") {
            switch text {
            case "auto": headerRow = .auto
            case "none": headerRow = .none
            default:
                guard token.kind == .number, let row = Int(text), row >= 1 else {
                    throw error("header_row is auto, none or a row number", line, token.column)
                }
                headerRow = .row(row)
            }
        }
        var sheet = LayoutProfile.SheetSelection.first
        if let (text, token, line) = try single("sheet") {
            switch token.kind {
            case .string: sheet = .named(text)
            case .number:
                guard let number = Int(text), number >= 1 else {
                    throw error("sheets are counted from 1", line, token.column)
                }
                sheet = .number(number)
            default:
                guard text == "all" || text == "first" else {
                    throw error("sheet is a name in quotes, a number, first or all", line, token.column)
                }
                sheet = text == "all" ? .all : .first
            }
        }
        var table: String?
        if let (text, token, line) = try single("table") {
            guard token.kind == .string else { throw error("table takes an XPath in quotes", line, token.column) }
            table = text
        }
        var json = LayoutProfile.JSONLayout()
        json.payments = try jsonPath("payments") ?? []
        json.lines = try jsonPath("lines")
        json.deductions = try jsonPath("deductions")
        json.lineDeductions = try jsonPath("line_deductions")
        let deductionRows = try choice("deduction_rows", LayoutProfile.DeductionRows.self, default: .add)
        let deductionSign = try choice("deduction_sign", LayoutProfile.DeductionSign.self, default: .takenOff)
        if let (tokens, line) = setting("skip_rows_starting_with") {
            rowRules.insert(
                LayoutProfile.RowRule(
                    role: .skip,
                    source: FieldMapping(
                        alternatives: [.firstCell], filters: [], optional: false, line: line, column: 1),
                    patterns: try strings(tokens, line).map { Glob($0 + "*") }, line: line), at: 0)
        }
        var name = (file as NSString).lastPathComponent
        if name.hasSuffix(".profile") { name = String(name.dropLast(8)) }
        if let (text, token, line) = try single("name") {
            if let reason = Identifier.problem(text) {
                throw error(
                    IdentifierError(field: "profile name", value: text, reason: reason).message, line, token.column)
            }
            name = text
        }

        let profile = LayoutProfile(
            name: name, file: file, kind: kind, format: format, encoding: encoding, separator: separator, quote: quote,
            decimalStyle: decimalStyle,
            dateFormats: dateFormats, currency: currency, debitCreditColumn: debitCreditColumn, headerRow: headerRow,
            sheet: sheet, table: table,
            json: json, deductionRows: deductionRows, deductionSign: deductionSign, mappings: mappings,
            columns: columns, kindSource: kindSource,
            rowRules: rowRules,
            otherwise: otherwise.map { $0.0 } ?? (rowRules.contains { $0.role == .line } ? nil : .line),
            matchFileNames: matchFileNames, matchContains: matchContains)
        try check(profile)
        return profile
    }

    /// What can only be known once the whole profile is read.
    func check(_ profile: LayoutProfile) throws(ProfileError) {
        let known = profile.knownFields
        for (field, mapping) in profile.columns.sorted(by: { $0.key < $1.key }) where !known.contains(field) {
            throw error(
                "unknown field `\(field)` for a \(profile.kind.rawValue) profile (known: \(known.sorted().joined(separator: ", ")))",
                mapping.line, 1)
        }
        for role in LayoutProfile.Role.allCases {
            let allowed = profile.fields(for: role)
            for (field, mapping) in (profile.mappings[role] ?? [:]).sorted(by: { $0.key < $1.key })
            where !allowed.contains(field) {
                let hint = profile.knownFields.contains(field) ? "; it belongs in another section" : ""
                throw error(
                    "`\(field)` is not a field of [\(role.rawValue)] in a \(profile.kind.rawValue) profile\(hint) (fields here: \(allowed.sorted().joined(separator: ", ")))",
                    mapping.line, 1)
            }
        }
        if profile.kind != .remittance, let stray = profile.mappings.keys.first(where: { $0 != .line && $0 != .total })
        {
            throw error(
                "a \(profile.kind.rawValue) profile has no [\(stray.rawValue)] section",
                profile.mappings[stray]!.values.first!.line)
        }
        for field in LayoutProfile.required(profile.kind) where profile.mapping(field, for: .line) == nil {
            let where_ = profile.kind == .remittance ? "[line] or [columns]" : "[columns]"
            throw error("`\(field)` must be mapped (in \(where_)): every line needs it", 1)
        }
        if profile.rowRules.contains(where: { $0.role == .deduction }) || profile.otherwise == .deduction {
            guard profile.mapping("deduction_amount", for: .deduction) != nil else {
                throw error(
                    "deduction rows need `deduction_amount` mapped (in [deduction] or [columns])",
                    profile.rowRules.first { $0.role == .deduction }?.line ?? 1)
            }
        }
        if profile.debitCreditColumn && profile.mapping("debit_credit", for: .line) == nil {
            throw error("negative = debit_credit_column needs a `debit_credit` field", settings["negative"]?.line ?? 1)
        }
        // Sources must suit the format.
        let all: [FieldMapping] =
            profile.mappings.values.flatMap(\.values) + profile.columns.values + profile.rowRules.compactMap(\.source)
            + [profile.kindSource].compactMap { $0 }
        let tabular = [.auto, .delimited, .xlsx, .html, .fixedWidth].contains(profile.format)
        for mapping in all {
            for source in mapping.alternatives {
                switch source {
                case .header, .preamble:
                    guard tabular, profile.format != .fixedWidth else {
                        throw error(
                            "\(source.description) needs a table with a header (this profile's format is \(profile.format.rawValue))",
                            mapping.line, mapping.column)
                    }
                    if profile.headerRow == .none {
                        throw error(
                            "\(source.description) needs a header row, but header_row = none", mapping.line,
                            mapping.column)
                    }
                case .column, .firstCell:
                    guard tabular else {
                        throw error(
                            "\(source.description) needs a table (this profile's format is \(profile.format.rawValue))",
                            mapping.line, mapping.column)
                    }
                case .positions:
                    guard profile.format == .fixedWidth else {
                        throw error("character positions are for format = fixed_width", mapping.line, mapping.column)
                    }
                case .json:
                    guard profile.format == .json || profile.format == .jsonLines else {
                        throw error("json paths are for format = json or jsonl", mapping.line, mapping.column)
                    }
                case .xpath:
                    guard profile.format == .html else {
                        throw error("xpath values are for format = html", mapping.line, mapping.column)
                    }
                case .fileName, .constant:
                    break
                }
            }
        }
        if profile.format == .fixedWidth,
            all.contains(where: {
                $0.alternatives.contains { if case .column = $0 { return true } else { return false } }
            })
        {
            throw error("a fixed-width record has no cells: use characters FROM-TO", 1)
        }
        if profile.headerRow == .auto, profile.usesHeaderNames, profile.requiredHeaderNames.isEmpty {
            throw error(
                "the header row is found by the header names of \(LayoutProfile.required(profile.kind).joined(separator: " and ")); map one of them by header name, or say header_row = N",
                1)
        }
        if profile.format == .json, profile.json.lines == nil {
            throw error(
                "a JSON profile says where the lines are: lines = \"lines[*]\" (relative to a payment)",
                settings["format"]?.line ?? 1)
        }
        if let table = profile.table, !MarkupDocument.isValidXPath(table) {
            throw error("table: `\(table)` is not a valid XPath", settings["table"]?.line ?? 1)
        }
        for mapping in all {
            for case .xpath(let expression) in mapping.alternatives where !MarkupDocument.isValidXPath(expression) {
                throw error("`\(expression)` is not a valid XPath", mapping.line, mapping.column)
            }
        }
        if let (_, line) = otherwise, profile.rowRules.isEmpty, profile.otherwise == nil {
            throw error("otherwise = error leaves every row without a role: add rules to [rows]", line)
        }
    }
}
