import NightjarCore
import NightjarCrypto

/// Reads definition text into a `ScraperDefinition`. Stops at the first syntax error; the
/// checker then finds every problem with names, types and origins.
public enum ScraperParser {
    public static func parse(_ text: String, file: String) throws(ScriptError) -> ScraperDefinition {
        var lexer = Lexer(text, file: file)
        var parser = Parser(tokens: try lexer.tokens(), source: Array(text.unicodeScalars), file: file)
        var definition = try parser.definition()
        definition.sha256 = SHA256.hash(Array(text.utf8)).hexString
        return definition
    }

    /// Top-level words, for suggestions.
    static let topLevelWords = ["portal", "origin", "window", "timeout", "concurrency", "rate", "pages", "expired", "unavailable", "sensitive", "login"]
        + DocumentKind.allCases.map(\.blockName)
    /// Step words, for suggestions.
    static let statementWords = ["get", "post", "download", "let", "cookie", "expect", "fail", "if", "for", "while", "pages", "log", "wait", "expires"]
}

struct Parser {
    let tokens: [Token]
    let source: [Unicode.Scalar]
    let file: String
    var position = 0

    init(tokens: [Token], source: [Unicode.Scalar], file: String) {
        self.tokens = tokens
        self.source = source
        self.file = file
    }

    var current: Token { tokens[position] }
    var previous: Token { tokens[max(0, position - 1)] }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func isIdentifier(_ word: String) -> Bool { current.kind == .identifier(word) }
    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    var identifierValue: String? {
        if case .identifier(let name) = current.kind { return name }
        return nil
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier(let name): "`\(name)`"
        case .string: "a string"
        case .number(let value): "the number \(value)"
        case .symbol(let symbol): "`\(symbol)`"
        case .end: "the end of the file"
        }
    }

    mutating func expectSymbol(_ symbol: String, _ context: String) throws(ScriptError) {
        guard isSymbol(symbol) else { throw ScriptError("expected `\(symbol)` \(context), found \(describe(current))", at: current.location) }
        advance()
    }

    mutating func identifier(_ what: String) throws(ScriptError) -> String {
        guard let name = identifierValue else { throw ScriptError("expected \(what), found \(describe(current))", at: current.location) }
        advance()
        return name
    }

    mutating func number(_ what: String) throws(ScriptError) -> Int {
        guard case .number(let value) = current.kind else { throw ScriptError("expected \(what) (a number), found \(describe(current))", at: current.location) }
        advance()
        return Int(value)
    }

    mutating func literalString(_ what: String) throws(ScriptError) -> String {
        guard case .string(let parts) = current.kind else { throw ScriptError("expected \(what) in quotes, found \(describe(current))", at: current.location) }
        var text = ""
        for part in parts {
            guard case .text(let piece) = part else { throw ScriptError("\(what) cannot use ${...}", at: current.location) }
            text += piece
        }
        advance()
        return text
    }

    // MARK: Top level

    mutating func definition() throws(ScriptError) -> ScraperDefinition {
        var definition = ScraperDefinition(file: file, portal: "", title: nil, origins: [], settings: ScraperSettings(), expired: nil,
                                           login: nil, documents: [], sha256: "")
        var seen: [String: SourceLocation] = [:]
        while current.kind != .end {
            let location = current.location
            guard let word = identifierValue else {
                throw ScriptError("expected a declaration (portal, origin, login, remittances, ...), found \(describe(current))", at: location)
            }
            let once = ["portal", "window", "timeout", "concurrency", "rate", "pages", "expired", "login"] + DocumentKind.allCases.map(\.blockName)
            if once.contains(word), let first = seen[word] {
                throw ScriptError("`\(word)` is declared twice (first at line \(first.line ?? 0))", at: location)
            }
            seen[word] = location
            advance()
            switch word {
            case "portal":
                definition.portal = try identifier("the portal's identifier (e.g. portal northwind \"Northwind Supplier Portal\")")
                if case .string = current.kind { definition.title = try literalString("the portal's title") }
            case "origin":
                var name = "main"
                if let given = identifierValue { name = given; advance() }
                let url = try literalString("the origin's URL")
                var isPublic = false, allowsPlainHTTP = false
                while isIdentifier("public") || isIdentifier("allow-http") {
                    if isIdentifier("public") { isPublic = true } else { allowsPlainHTTP = true }
                    advance()
                }
                guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                    throw ScriptError("an origin is an http(s) URL such as \"https://portal.example.com\"", at: location)
                }
                if definition.origins.contains(where: { $0.name == name }) {
                    throw ScriptError("origin `\(name)` is declared twice", at: location)
                }
                definition.origins.append(OriginDeclaration(name: name, url: url, isPublic: isPublic, allowsPlainHTTP: allowsPlainHTTP, location: location))
            case "window":
                definition.settings.windowDays = try number("the longest range in days")
                let unit = try identifier("`days`")
                guard unit == "days" || unit == "day" else { throw ScriptError("the window is counted in days", at: previous.location, suggestion: "days") }
                if definition.settings.windowDays! < 1 { throw ScriptError("the window must be at least 1 day", at: location) }
            case "timeout":
                let amount = try number("the timeout")
                let unit = try identifier("`seconds` or `minutes`")
                switch unit {
                case "second", "seconds": definition.settings.timeoutSeconds = amount
                case "minute", "minutes": definition.settings.timeoutSeconds = amount * 60
                default: throw ScriptError("unknown unit `\(unit)`", at: previous.location, suggestion: suggestion(for: unit, among: ["seconds", "minutes"]))
                }
                if definition.settings.timeoutSeconds < 1 { throw ScriptError("the timeout must be at least 1 second", at: location) }
            case "concurrency":
                definition.settings.concurrency = try number("requests at once")
                if definition.settings.concurrency < 1 { throw ScriptError("concurrency must be at least 1", at: location) }
            case "rate":
                let amount = try number("requests")
                guard isIdentifier("per") else { throw ScriptError("write the rate as `rate 2 per second`", at: current.location) }
                advance()
                let unit = try identifier("`second` or `minute`")
                switch unit {
                case "second": definition.settings.requestsPerSecond = Double(amount)
                case "minute": definition.settings.requestsPerSecond = Double(amount) / 60
                default: throw ScriptError("unknown unit `\(unit)`", at: previous.location, suggestion: suggestion(for: unit, among: ["second", "minute"]))
                }
                if amount < 1 { throw ScriptError("the rate must be at least 1", at: location) }
            case "pages":
                guard isIdentifier("max") else { throw ScriptError("write the page limit as `pages max 50`", at: current.location) }
                advance()
                definition.settings.pageLimit = try number("the page limit")
                if definition.settings.pageLimit < 1 || definition.settings.pageLimit > ScraperChecker.hardPageLimit {
                    throw ScriptError("the page limit must be between 1 and \(ScraperChecker.hardPageLimit)", at: location)
                }
            case "expired":
                guard isIdentifier("if") else { throw ScriptError("write `expired if CONDITION`, e.g. expired if url \"/login\"", at: current.location) }
                advance()
                definition.expired = try expression()
            case "unavailable":
                guard isIdentifier("if") else {
                    throw ScriptError("write `unavailable if CONDITION`, e.g. unavailable if text \"down for maintenance\"", at: current.location)
                }
                advance()
                definition.unavailable.append(try expression())
            case "sensitive":
                // sensitive "SAMLResponse", "wctx": names separated by commas.
                var more = true
                while more {
                    let name = try literalString("the name of a field whose values are one-time or session values")
                    guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
                        throw ScriptError("a sensitive name is a field, parameter, header or cookie name, without spaces", at: previous.location)
                    }
                    definition.settings.sensitiveNames.append(name)
                    more = isSymbol(",")
                    if more { advance() }
                }
            case "login":
                definition.login = try block()
            default:
                if let kind = DocumentKind(blockName: word) {
                    definition.documents.append(DocumentBlock(kind: kind, body: try block(), location: location))
                } else {
                    throw ScriptError("unknown declaration `\(word)`", at: location,
                                      suggestion: suggestion(for: word, among: ScraperParser.topLevelWords))
                }
            }
        }
        if definition.portal.isEmpty {
            throw ScriptError("the definition must name its portal: `portal ID \"Title\"` (e.g. portal northwind \"Northwind\")",
                              at: SourceLocation(file: file, line: 1, column: 1))
        }
        if definition.origins.isEmpty {
            throw ScriptError("the definition must declare an origin: `origin main \"https://portal.example.com\"`",
                              at: SourceLocation(file: file, line: 1, column: 1))
        }
        return definition
    }

    // MARK: Blocks and statements

    mutating func block() throws(ScriptError) -> Block {
        let location = current.location
        try expectSymbol("{", "to open the block")
        var statements: [Statement] = []
        while !isSymbol("}") {
            if current.kind == .end { throw ScriptError("this block is not closed with `}`", at: location) }
            statements.append(try statement())
        }
        advance()
        return Block(statements: statements, location: location)
    }

    mutating func statement() throws(ScriptError) -> Statement {
        let location = current.location
        guard let word = identifierValue else {
            throw ScriptError("expected a step (get, post, let, expect, download, ...), found \(describe(current))", at: location)
        }
        advance()
        let kind: StatementKind
        switch word {
        case "get", "post":
            kind = .request(try request(RequestSpec.Method(rawValue: word)!))
        case "download":
            var method = RequestSpec.Method.get
            if isIdentifier("post") { method = .post; advance() } else if isIdentifier("get") { advance() }
            var spec = try request(method)
            var download = DownloadSpec(kind: .other, name: nil, metadata: [])
            var sawKind = false
            while let option = identifierValue, option == "kind" || option == "name" || DownloadSpec.metadataFields.contains(option) || option == "expect"
                    || option == "query" || option == "headers" || option == "form" || option == "json" || option == "body" || option == "via" {
                if option == "expect" {
                    advance()
                    guard isIdentifier("type") else { throw ScriptError("write `expect type csv` (or x12, xlsx, json, html, pdf, xml, text)", at: current.location) }
                    advance()
                    let typeLocation = current.location
                    let name = try identifier("a document type")
                    guard let type = DownloadType(rawValue: name) else {
                        throw ScriptError("unknown document type `\(name)`", at: typeLocation,
                                          suggestion: suggestion(for: name, among: DownloadType.allCases.map(\.rawValue)))
                    }
                    download.expectedType = type
                } else if option == "kind" {
                    advance()
                    let kindLocation = current.location
                    let name = try identifier("a document kind")
                    guard let value = DocumentKind(rawValue: name) else {
                        throw ScriptError("unknown document kind `\(name)`", at: kindLocation,
                                          suggestion: suggestion(for: name, among: DocumentKind.allCases.map(\.rawValue)))
                    }
                    download.kind = value
                    sawKind = true
                } else if option == "name" {
                    advance()
                    download.name = try expression()
                } else if DownloadSpec.metadataFields.contains(option) {
                    advance()
                    download.metadata.append((option, try expression()))
                } else {
                    try requestOptions(&spec, allowBody: method == .post)
                }
            }
            guard sawKind else {
                throw ScriptError("say what the download is: `kind remittance` (or invoice, purchase_order, statement, other)", at: location)
            }
            kind = .download(spec, download)
        case "let", "cookie":
            let name = try identifier("a name")
            try expectSymbol("=", "after the name")
            let value = try expression()
            kind = word == "let" ? .bind(name, value) : .cookie(name, value)
        case "expect":
            let condition = try expression()
            var failure = FailureClass.layoutChanged
            if isIdentifier("else") {
                advance()
                failure = try failureClass()
            }
            kind = .expect(condition, failure, message: try optionalMessage())
        case "fail":
            let failure = try failureClass()
            guard isIdentifier("if") else { throw ScriptError("write `fail \(failure.rawValue) if CONDITION`", at: current.location) }
            advance()
            let condition = try expression()
            kind = .fail(failure, condition: condition, message: try optionalMessage())
        case "if":
            kind = try conditional()
        case "for":
            let name = try identifier("the loop variable")
            guard isIdentifier("in") else { throw ScriptError("write `for NAME in LIST { ... }`", at: current.location) }
            advance()
            let list = try expression()
            let limit = try optionalLimit()
            kind = .forEach(name, list, limit: limit, try block())
        case "while":
            let condition = try expression()
            let limit = try optionalLimit()
            kind = .whileLoop(condition, limit: limit, try block())
        case "pages":
            guard isIdentifier("next") else { throw ScriptError("write `pages next LINK { ... }`", at: current.location) }
            advance()
            let next = try expression()
            let limit = try optionalLimit()
            kind = .pages(next: next, limit: limit, try block())
        case "log":
            kind = .log(try expression())
        case "expires":
            guard isIdentifier("in") else { throw ScriptError("write `expires in SECONDS`, e.g. `expires in json \"expires_in\"`", at: current.location) }
            advance()
            kind = .expiresIn(try expression())
        case "wait":
            let seconds = try number("seconds to wait")
            let unit = try identifier("`seconds`")
            guard unit == "seconds" || unit == "second" else { throw ScriptError("wait is counted in seconds", at: previous.location, suggestion: "seconds") }
            guard seconds <= 300 else { throw ScriptError("wait at most 300 seconds", at: location) }
            kind = .wait(seconds: seconds)
        default:
            if isSymbol("=") {
                throw ScriptError("unknown step `\(word)`; bind a value with `let \(word) = ...`", at: location, suggestion: "let")
            }
            throw ScriptError("unknown step `\(word)`", at: location, suggestion: suggestion(for: word, among: ScraperParser.statementWords))
        }
        return Statement(kind: kind, location: location)
    }

    mutating func conditional() throws(ScriptError) -> StatementKind {
        let condition = try expression()
        let then = try block()
        var otherwise: Block?
        if isIdentifier("else") {
            advance()
            if isIdentifier("if") {
                let location = current.location
                advance()
                otherwise = Block(statements: [Statement(kind: try conditional(), location: location)], location: location)
            } else {
                otherwise = try block()
            }
        }
        return .conditional(condition, then: then, otherwise: otherwise)
    }

    mutating func optionalLimit() throws(ScriptError) -> Int? {
        guard isIdentifier("limit") else { return nil }
        advance()
        let location = current.location
        let value = try number("the loop's limit")
        guard value >= 1 && value <= ScraperChecker.hardPageLimit * 100 else {
            throw ScriptError("a limit must be between 1 and \(ScraperChecker.hardPageLimit * 100)", at: location)
        }
        return value
    }

    mutating func optionalMessage() throws(ScriptError) -> Expression? {
        guard isIdentifier("message") else { return nil }
        advance()
        return try expression()
    }

    mutating func failureClass() throws(ScriptError) -> FailureClass {
        let location = current.location
        let name = try identifier("a failure class (auth_failed, account_locked, ...)")
        let writable: [FailureClass] = [.authFailed, .accountLocked, .mfaRequired, .portalUnavailable, .layoutChanged, .rateLimited]
        guard let value = FailureClass(rawValue: name), writable.contains(value) else {
            throw ScriptError("unknown failure class `\(name)`", at: location, suggestion: suggestion(for: name, among: writable.map(\.rawValue)))
        }
        return value
    }

    mutating func request(_ method: RequestSpec.Method) throws(ScriptError) -> RequestSpec {
        var spec = RequestSpec(method: method, url: try expression(), via: nil, query: [], headers: [], body: nil)
        while let option = identifierValue, ["query", "headers", "form", "json", "body", "via"].contains(option) {
            try requestOptions(&spec, allowBody: method == .post)
        }
        return spec
    }

    mutating func requestOptions(_ spec: inout RequestSpec, allowBody: Bool) throws(ScriptError) {
        let location = current.location
        let option = try identifier("a request option")
        switch option {
        case "via": spec.via = try identifier("a declared origin's name")
        case "query": spec.query += try map()
        case "headers": spec.headers += try map()
        case "form", "json", "body":
            guard allowBody else { throw ScriptError("a GET request has no body; use `post` to send \(option)", at: location) }
            guard spec.body == nil else { throw ScriptError("a request has one body", at: location) }
            if option == "form" {
                spec.body = .form(try map())
            } else if option == "json" {
                spec.body = .json(try jsonTemplate())
            } else {
                let value = try expression()
                var type: Expression?
                if isIdentifier("type") { advance(); type = try expression() }
                spec.body = .raw(value, contentType: type)
            }
        default: break
        }
    }

    /// `{ key: value, "other key": value }` (commas or line breaks between entries).
    mutating func map() throws(ScriptError) -> [(String, Expression)] {
        try expectSymbol("{", "to open the fields")
        var entries: [(String, Expression)] = []
        while !isSymbol("}") {
            let key: String
            if case .string = current.kind { key = try literalString("a field name") } else { key = try identifier("a field name") }
            try expectSymbol(":", "after the field name `\(key)`")
            entries.append((key, try expression()))
            if isSymbol(",") { advance() } else if !isSymbol("}") && !current.afterNewline {
                throw ScriptError("expected `,` or a new line between fields, found \(describe(current))", at: current.location)
            }
        }
        advance()
        return entries
    }

    mutating func jsonTemplate() throws(ScriptError) -> JSONTemplate {
        if isSymbol("{") {
            advance()
            var entries: [(String, JSONTemplate)] = []
            while !isSymbol("}") {
                let key: String
                if case .string = current.kind { key = try literalString("a key") } else { key = try identifier("a key") }
                try expectSymbol(":", "after the key `\(key)`")
                entries.append((key, try jsonTemplate()))
                if isSymbol(",") { advance() } else if !isSymbol("}") && !current.afterNewline {
                    throw ScriptError("expected `,` or a new line between keys, found \(describe(current))", at: current.location)
                }
            }
            advance()
            return .object(entries)
        }
        if isSymbol("[") {
            advance()
            var items: [JSONTemplate] = []
            while !isSymbol("]") {
                items.append(try jsonTemplate())
                if isSymbol(",") { advance() } else if !isSymbol("]") {
                    throw ScriptError("expected `,` or `]`, found \(describe(current))", at: current.location)
                }
            }
            advance()
            return .array(items)
        }
        return .value(try expression())
    }

    // MARK: Expressions

    func text(from start: Token) -> String {
        let end = previous.end
        guard end > start.start, end <= source.count else { return "" }
        var result = ""
        result.unicodeScalars.append(contentsOf: source[start.start..<end])
        return result
    }

    func make(_ kind: ExpressionKind, _ start: Token) -> Expression {
        Expression(kind, location: start.location, text: text(from: start))
    }

    mutating func expression() throws(ScriptError) -> Expression {
        let start = current
        var left = try andExpression()
        while isIdentifier("or") {
            advance()
            let right = try andExpression()
            left = make(.binary(.or, left, right), start)
        }
        return left
    }

    mutating func andExpression() throws(ScriptError) -> Expression {
        let start = current
        var left = try notExpression()
        while isIdentifier("and") {
            advance()
            let right = try notExpression()
            left = make(.binary(.and, left, right), start)
        }
        return left
    }

    mutating func notExpression() throws(ScriptError) -> Expression {
        let start = current
        if isIdentifier("not") || isSymbol("!") {
            advance()
            let inner = try notExpression()
            return make(.not(inner), start)
        }
        return try comparison()
    }

    mutating func comparison() throws(ScriptError) -> Expression {
        let start = current
        let left = try sum()
        for symbol in ["==", "!=", "<=", ">=", "<", ">"] where isSymbol(symbol) {
            advance()
            let right = try sum()
            return make(.binary(BinaryOperator(rawValue: symbol)!, left, right), start)
        }
        if isSymbol("=") {
            throw ScriptError("`=` binds a name; compare with `==`", at: current.location, suggestion: "==")
        }
        return left
    }

    mutating func sum() throws(ScriptError) -> Expression {
        let start = current
        var left = try filtered()
        while isSymbol("+") {
            advance()
            let right = try filtered()
            left = make(.binary(.plus, left, right), start)
        }
        return left
    }

    mutating func filtered() throws(ScriptError) -> Expression {
        let start = current
        var value = try primary()
        while isSymbol("|") {
            advance()
            let name = try identifier("a filter name after `|`")
            var arguments: [Expression] = []
            if isSymbol("(") && !current.afterNewline {
                arguments = try callArguments()
            } else {
                while !current.afterNewline, isLiteral {
                    arguments.append(try primary())
                }
            }
            value = make(.filter(value, name, arguments), start)
        }
        return value
    }

    var isLiteral: Bool {
        switch current.kind {
        case .string, .number: true
        default: false
        }
    }

    mutating func callArguments() throws(ScriptError) -> [Expression] {
        try expectSymbol("(", "to open the arguments")
        var arguments: [Expression] = []
        while !isSymbol(")") {
            arguments.append(try expression())
            if isSymbol(",") { advance() } else if !isSymbol(")") {
                throw ScriptError("expected `,` or `)`, found \(describe(current))", at: current.location)
            }
        }
        advance()
        return arguments
    }

    /// Functions that may be written without parentheses before one literal: `text "Invalid"`.
    static let literalCallable: Set<String> = ["text", "url", "element", "status", "xpath", "regex", "json", "header", "cookie", "ask", "date"]

    mutating func primary() throws(ScriptError) -> Expression {
        let start = current
        switch current.kind {
        case .string(let parts):
            advance()
            var result: [StringPart] = []
            for part in parts {
                switch part {
                case .text(let text): result.append(.text(text))
                case .interpolation(let inner, let line, let column):
                    var lexer = Lexer(inner, file: file, line: line, column: column)
                    var sub = Parser(tokens: try lexer.tokens(), source: Array(inner.unicodeScalars), file: file)
                    let value = try sub.expression()
                    guard sub.current.kind == .end else {
                        throw ScriptError("unexpected \(sub.describe(sub.current)) inside ${...}", at: sub.current.location)
                    }
                    result.append(.interpolation(value))
                }
            }
            return make(.string(result), start)
        case .number(let value):
            advance()
            return make(.number(value), start)
        case .symbol("("):
            advance()
            let inner = try expression()
            try expectSymbol(")", "to close the parenthesis")
            return inner
        case .symbol("["):
            advance()
            var items: [Expression] = []
            while !isSymbol("]") {
                items.append(try expression())
                if isSymbol(",") { advance() } else if !isSymbol("]") {
                    throw ScriptError("expected `,` or `]`, found \(describe(current))", at: current.location)
                }
            }
            advance()
            return make(.list(items), start)
        case .identifier(let name):
            advance()
            if name == "true" || name == "false" { return make(.bool(name == "true"), start) }
            if isSymbol("(") && !current.afterNewline {
                let arguments = try callArguments()
                return make(.call(name, arguments), start)
            }
            // `text "Invalid"`: a name directly followed by a literal is a call (an unknown one is
            // then reported by the checker, with a suggestion).
            if isLiteral, !current.afterNewline {
                let argument = try primary()
                return make(.call(name, [argument]), start)
            }
            if isSymbol(".") {
                advance()
                let member = try identifier("a name after `\(name).`")
                return make(.member(name, member), start)
            }
            return make(.variable(name), start)
        default:
            throw ScriptError("expected a value, found \(describe(current))", at: current.location)
        }
    }
}
