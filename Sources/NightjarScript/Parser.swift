import NightjarCore
import NightjarCrypto

/// Reads definition text into a `ScraperDefinition`. Stops at the first syntax error; the
/// checker then finds every problem with names, types and origins.
public enum ScraperParser {
    public static func parse(_ text: String, file: String) throws(ScriptError) -> ScraperDefinition {
        let size = text.utf8.count
        guard size <= maximumBytes else {
            throw ScriptError(
                "the definition is \(size) bytes, more than the \(maximumBytes / 1024 / 1024) MiB a definition may be",
                at: SourceLocation(file: file, line: 1, column: 1))
        }
        if let location = NULByte.location(in: text, file: file) {
            throw ScriptError(
                "a NUL byte is never allowed in a definition (in a string or anywhere else)", at: location)
        }
        let source = SourceText(text, file: file)
        var lexer = Lexer(source)
        var parser = Parser(tokens: try lexer.tokens(), source: source)
        var definition = try parser.definition()
        definition.sha256 = SHA256.hash(Array(text.utf8)).hexString
        return definition
    }

    /// Definitions larger than this are refused before they are read (a definition needs a few kilobytes).
    public static let maximumBytes = 1024 * 1024
    /// How deep blocks, `else if` chains, JSON bodies, parentheses, lists, calls and `${...}` may nest.
    public static let maximumNesting = 64
    /// How deep an expression's tree may be (`a + b + c` is three deep): checking and running
    /// walk it recursively.
    public static let maximumExpressionDepth = 200

    /// Top-level words, for suggestions.
    static let topLevelWords =
        [
            "portal", "mailbox", "sftp", "origin", "window", "timeout", "concurrency", "rate", "pages", "expired",
            "unavailable",
            "sensitive", "login", "sign", "folder", "after", "size",
        ]
        + DocumentKind.allCases.map(\.blockName)
    /// Step words, for suggestions.
    static let statementWords = [
        "get", "post", "download", "let", "cookie", "expect", "fail", "if", "for", "while", "pages", "log", "wait",
        "expires",
        "messages", "attachments", "body", "files",
    ]
}

struct Parser {
    let tokens: [Token]
    let source: SourceText
    let file: String
    var position = 0
    /// How many blocks, bodies and nested expressions enclose the current token.
    var nesting: Int

    init(tokens: [Token], source: SourceText, nesting: Int = 0) {
        self.tokens = tokens
        self.source = source
        file = source.file
        self.nesting = nesting
    }

    func locate(_ token: Token) -> SourceLocation {
        SourceLocation(file: file, line: Int(token.line), column: Int(token.column))
    }

    /// Enters one more level of nesting, refusing input nested deeper than a definition needs.
    mutating func enter() throws(ScriptError) {
        nesting += 1
        guard nesting <= ScraperParser.maximumNesting else {
            throw ScriptError(
                "this is nested more than \(ScraperParser.maximumNesting) levels deep", at: locate(current))
        }
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
        guard isSymbol(symbol) else {
            throw ScriptError("expected `\(symbol)` \(context), found \(describe(current))", at: locate(current))
        }
        advance()
    }

    mutating func identifier(_ what: String) throws(ScriptError) -> String {
        guard let name = identifierValue else {
            throw ScriptError("expected \(what), found \(describe(current))", at: locate(current))
        }
        advance()
        return name
    }

    mutating func number(_ what: String) throws(ScriptError) -> Int {
        guard case .number(let value) = current.kind else {
            throw ScriptError("expected \(what) (a number), found \(describe(current))", at: locate(current))
        }
        advance()
        return Int(value)
    }

    mutating func literalString(_ what: String) throws(ScriptError) -> String {
        guard case .string(let parts) = current.kind else {
            throw ScriptError("expected \(what) in quotes, found \(describe(current))", at: locate(current))
        }
        var text = ""
        for part in parts {
            guard case .text(let piece) = part else {
                throw ScriptError("\(what) cannot use ${...}", at: locate(current))
            }
            text += piece
        }
        advance()
        return text
    }

    // MARK: Top level

    mutating func definition() throws(ScriptError) -> ScraperDefinition {
        var definition = ScraperDefinition(
            file: file, portal: "", title: nil, origins: [], settings: ScraperSettings(), expired: nil,
            login: nil, documents: [], sha256: "")
        var seen: [String: SourceLocation] = [:]
        while current.kind != .end {
            let location = locate(current)
            guard let word = identifierValue else {
                throw ScriptError(
                    "expected a declaration (portal, origin, login, remittances, ...), found \(describe(current))",
                    at: location)
            }
            let once =
                [
                    "portal", "window", "timeout", "concurrency", "rate", "pages", "expired", "login", "sign", "folder",
                    "after", "size",
                ]
                + DocumentKind.allCases.map(\.blockName)
            // `portal`, `mailbox` and `sftp` say what the definition reads: one of them, once.
            let sourceWords = SourceKind.allCases.map(\.rawValue)
            let key = sourceWords.contains(word) ? "portal" : word
            if once.contains(key), let first = seen[key] {
                throw ScriptError("`\(word)` is declared twice (first at line \(first.line ?? 0))", at: location)
            }
            seen[key] = location
            definition.declarations[word] = definition.declarations[word] ?? location
            advance()
            switch word {
            case "portal", "mailbox", "sftp":
                definition.source = SourceKind(rawValue: word)!
                let example = [
                    "portal": "portal sandbox-html-portal \"Sandbox HTML Portal\"",
                    "mailbox": "mailbox acme-ar \"Acme AR mailbox\"",
                    "sftp": "sftp bigbank \"Big Bank lockbox drop\"",
                ][word]!
                let nameLocation = locate(current)
                definition.portal = try identifier("the \(word)'s identifier (e.g. \(example))")
                if let reason = Identifier.problem(definition.portal) {
                    throw ScriptError(
                        IdentifierError(field: "\(word) name", value: definition.portal, reason: reason).message,
                        at: nameLocation)
                }
                if case .string = current.kind { definition.title = try literalString("the \(word)'s title") }
            case "sign":
                guard isIdentifier("in") else {
                    throw ScriptError("write `sign in password` (or oauth2, key)", at: locate(current))
                }
                advance()
                let methodLocation = locate(current)
                let name = try identifier("a sign-in method (password, oauth2, key)")
                guard let method = SignInMethod(rawValue: name) else {
                    throw ScriptError(
                        "unknown sign-in method `\(name)`", at: methodLocation,
                        suggestion: suggestion(for: name, among: SignInMethod.allCases.map(\.rawValue)))
                }
                definition.sourceSettings.signIn = method
                definition.sourceSettings.signInLocation = location
            case "folder":
                definition.sourceSettings.folder = try literalString("the mailbox folder (e.g. folder \"INBOX\")")
            case "after":
                guard isIdentifier("import") else {
                    throw ScriptError(
                        "write `after import move \"FOLDER\"` or `after import flag seen`", at: locate(current))
                }
                advance()
                if isIdentifier("move") {
                    advance()
                    definition.sourceSettings.afterImport = .move(try literalString("the folder to move into"))
                } else if isIdentifier("flag") {
                    advance()
                    guard isIdentifier("seen") else {
                        throw ScriptError("write `after import flag seen`", at: locate(current))
                    }
                    advance()
                    definition.sourceSettings.afterImport = .flagSeen
                } else {
                    throw ScriptError(
                        "write `after import move \"FOLDER\"` or `after import flag seen`", at: locate(current),
                        suggestion: suggestion(for: identifierValue ?? "", among: ["move", "flag"]))
                }
            case "size":
                guard isIdentifier("max") else {
                    throw ScriptError("write the size limit as `size max 25 MB`", at: locate(current))
                }
                advance()
                let amount = try number("the size limit")
                let unit = try identifier("`MB` or `KB`")
                switch unit {
                case "MB": definition.sourceSettings.maximumBytes = amount * 1024 * 1024
                case "KB": definition.sourceSettings.maximumBytes = amount * 1024
                default:
                    throw ScriptError(
                        "unknown unit `\(unit)`", at: locate(previous),
                        suggestion: suggestion(for: unit, among: ["MB", "KB"]))
                }
                guard (1...(1024 * 1024 * 1024)).contains(definition.sourceSettings.maximumBytes),
                    amount <= 1024 || unit == "KB"
                else {
                    throw ScriptError("the size limit must be between 1 KB and 1024 MB", at: location)
                }

            case "origin":
                var name = "main"
                if let given = identifierValue {
                    name = given
                    advance()
                }
                let url = try literalString("the origin's URL")
                var isPublic = false
                var allowsPlainHTTP = false
                while isIdentifier("public") || isIdentifier("allow-http") {
                    if isIdentifier("public") { isPublic = true } else { allowsPlainHTTP = true }
                    advance()
                }
                guard url.contains("://"), !url.hasPrefix("://") else {
                    throw ScriptError(
                        "an origin is a URL such as \"https://portal.example.com\" (or imaps://, sftp:// for mailboxes and drops)",
                        at: location)
                }
                if definition.origins.contains(where: { $0.name == name }) {
                    throw ScriptError("origin `\(name)` is declared twice", at: location)
                }
                definition.origins.append(
                    OriginDeclaration(
                        name: name, url: url, isPublic: isPublic, allowsPlainHTTP: allowsPlainHTTP, location: location))
            case "window":
                definition.settings.windowDays = try number("the longest range in days")
                let unit = try identifier("`days`")
                guard unit == "days" || unit == "day" else {
                    throw ScriptError("the window is counted in days", at: locate(previous), suggestion: "days")
                }
                if definition.settings.windowDays! < 1 {
                    throw ScriptError("the window must be at least 1 day", at: location)
                }
            case "timeout":
                let amount = try number("the timeout")
                let unit = try identifier("`seconds` or `minutes`")
                switch unit {
                case "second", "seconds": definition.settings.timeoutSeconds = amount
                case "minute", "minutes": definition.settings.timeoutSeconds = amount * 60
                default:
                    throw ScriptError(
                        "unknown unit `\(unit)`", at: locate(previous),
                        suggestion: suggestion(for: unit, among: ["seconds", "minutes"]))
                }
                if definition.settings.timeoutSeconds < 1 {
                    throw ScriptError("the timeout must be at least 1 second", at: location)
                }
            case "concurrency":
                definition.settings.concurrency = try number("requests at once")
                if definition.settings.concurrency < 1 {
                    throw ScriptError("concurrency must be at least 1", at: location)
                }
            case "rate":
                let amount = try number("requests")
                guard isIdentifier("per") else {
                    throw ScriptError("write the rate as `rate 2 per second`", at: locate(current))
                }
                advance()
                let unit = try identifier("`second` or `minute`")
                switch unit {
                case "second": definition.settings.requestsPerSecond = Double(amount)
                case "minute": definition.settings.requestsPerSecond = Double(amount) / 60
                default:
                    throw ScriptError(
                        "unknown unit `\(unit)`", at: locate(previous),
                        suggestion: suggestion(for: unit, among: ["second", "minute"]))
                }
                if amount < 1 { throw ScriptError("the rate must be at least 1", at: location) }
            case "pages":
                guard isIdentifier("max") else {
                    throw ScriptError("write the page limit as `pages max 50`", at: locate(current))
                }
                advance()
                definition.settings.pageLimit = try number("the page limit")
                if definition.settings.pageLimit < 1 || definition.settings.pageLimit > ScraperChecker.hardPageLimit {
                    throw ScriptError(
                        "the page limit must be between 1 and \(ScraperChecker.hardPageLimit)", at: location)
                }
            case "expired":
                guard isIdentifier("if") else {
                    throw ScriptError(
                        "write `expired if CONDITION`, e.g. expired if url \"/login\"", at: locate(current))
                }
                advance()
                definition.expired = try expression()
            case "unavailable":
                guard isIdentifier("if") else {
                    throw ScriptError(
                        "write `unavailable if CONDITION`, e.g. unavailable if text \"down for maintenance\"",
                        at: locate(current))
                }
                advance()
                definition.unavailable.append(try expression())
            case "sensitive":
                // sensitive "SAMLResponse", "wctx": names separated by commas.
                var more = true
                while more {
                    let name = try literalString("the name of a field whose values are one-time or session values")
                    guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
                        throw ScriptError(
                            "a sensitive name is a field, parameter, header or cookie name, without spaces",
                            at: locate(previous))
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
                    throw ScriptError(
                        "unknown declaration `\(word)`", at: location,
                        suggestion: suggestion(for: word, among: ScraperParser.topLevelWords))
                }
            }
        }
        if definition.portal.isEmpty {
            throw ScriptError(
                "the definition must name what it reads: `portal ID \"Title\"` (e.g. portal sandbox-html-portal \"Sandbox HTML Portal\"), `mailbox ID` or `sftp ID`",
                at: SourceLocation(file: file, line: 1, column: 1))
        }
        if definition.origins.isEmpty {
            let example = [
                "portal": "origin main \"https://portal.example.com\"",
                "mailbox": "origin \"imaps://imap.example.com\"",
                "sftp": "origin \"sftp://sftp.example.com\"",
            ][definition.source.rawValue]!
            throw ScriptError(
                "the definition must declare an origin: `\(example)`",
                at: SourceLocation(file: file, line: 1, column: 1))
        }
        return definition
    }

    // MARK: Blocks and statements

    mutating func block() throws(ScriptError) -> Block {
        try enter()
        defer { nesting -= 1 }
        let location = locate(current)
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
        let location = locate(current)
        guard let word = identifierValue else {
            throw ScriptError(
                "expected a step (get, post, let, expect, download, ...), found \(describe(current))", at: location)
        }
        advance()
        let kind: StatementKind
        switch word {
        case "get", "post":
            kind = .request(try request(RequestSpec.Method(rawValue: word)!))
        case "download":
            var method = RequestSpec.Method.get
            if isIdentifier("post") {
                method = .post
                advance()
            } else if isIdentifier("get") {
                advance()
            }
            var spec = try request(method)
            var download = DownloadSpec(kind: .other, name: nil, metadata: [])
            var sawKind = false
            while let option = identifierValue,
                option == "kind" || option == "name" || DownloadSpec.metadataFields.contains(option)
                    || option == "expect"
                    || option == "query" || option == "headers" || option == "form" || option == "json"
                    || option == "body" || option == "via"
            {
                if option == "expect" {
                    download.expectedType = try expectedType()
                } else if option == "kind" {
                    advance()
                    let kindLocation = locate(current)
                    let name = try identifier("a document kind")
                    guard let value = DocumentKind(rawValue: name) else {
                        throw ScriptError(
                            "unknown document kind `\(name)`", at: kindLocation,
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
                throw ScriptError(
                    "say what the download is: `kind remittance` (or invoice, purchase_order, statement, other)",
                    at: location)
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
            guard isIdentifier("if") else {
                throw ScriptError("write `fail \(failure.rawValue) if CONDITION`", at: locate(current))
            }
            advance()
            let condition = try expression()
            kind = .fail(failure, condition: condition, message: try optionalMessage())
        case "if":
            kind = try conditional()
        case "for":
            let name = try identifier("the loop variable")
            guard isIdentifier("in") else { throw ScriptError("write `for NAME in LIST { ... }`", at: locate(current)) }
            advance()
            let list = try expression()
            let limit = try optionalLimit()
            kind = .forEach(name, list, limit: limit, try block())
        case "while":
            let condition = try expression()
            let limit = try optionalLimit()
            kind = .whileLoop(condition, limit: limit, try block())
        case "pages":
            guard isIdentifier("next") else {
                throw ScriptError("write `pages next LINK { ... }`", at: locate(current))
            }
            advance()
            let next = try expression()
            let limit = try optionalLimit()
            kind = .pages(next: next, limit: limit, try block())
        case "log":
            kind = .log(try expression())
        case "messages":
            var query = MessageQuery()
            while let option = identifierValue, ["from", "to", "subject", "limit"].contains(option) {
                let optionLocation = locate(current)
                if option == "limit" {
                    query.limit = try optionalLimit()
                    continue
                }
                advance()
                let value = try literalString(
                    "the text to look for in \(option == "subject" ? "the subject" : "the \(option) address")")
                try Parser.checkSearchText(value, option, optionLocation)
                switch option {
                case "from": query.from = value
                case "to": query.to = value
                default: query.subject = value
                }
            }
            kind = .messages(query, try block())
        case "attachments":
            var rule = AttachmentRule()
            while let option = identifierValue, option == "name" || option == "expect" {
                if option == "name" {
                    advance()
                    rule.namePattern = try literalString("a file name pattern (e.g. name \"*.csv\")")
                } else {
                    rule.expectedType = try expectedType()
                }
            }
            kind = .attachments(rule)
        case "body":
            let typeLocation = locate(current)
            let name = try identifier("`html` or `text`")
            guard name == "html" || name == "text" else {
                throw ScriptError(
                    "a body is read as `html` (advice in a table) or `text`", at: typeLocation,
                    suggestion: suggestion(for: name, among: ["html", "text"]))
            }
            kind = .body(BodyRule(type: name == "html" ? .html : .text))
        case "files":
            guard isIdentifier("in") else {
                throw ScriptError("write `files in \"/outbound\" name \"*.csv\"`", at: locate(current))
            }
            advance()
            var query = FileQuery(
                folder: try literalString("the remote folder"), namePattern: nil, dating: .modified, expectedType: nil)
            while let option = identifierValue, ["name", "dated", "expect"].contains(option) {
                if option == "name" {
                    advance()
                    query.namePattern = try literalString("a file name pattern (e.g. name \"REMIT_*.txt\")")
                } else if option == "dated" {
                    advance()
                    guard isIdentifier("by") else {
                        throw ScriptError(
                            "write `dated by name \"yyyyMMdd\"` or `dated by modified`", at: locate(current))
                    }
                    advance()
                    if isIdentifier("modified") {
                        advance()
                        query.dating = .modified
                    } else if isIdentifier("name") {
                        advance()
                        let formatLocation = locate(current)
                        let format = try literalString("the date pattern in the name (e.g. \"yyyyMMdd\")")
                        guard FileNameDate.isUsable(format) else {
                            throw ScriptError(
                                "a date pattern uses yyyy, MM and dd (and separators), e.g. \"yyyyMMdd\" or \"yyyy-MM-dd\"",
                                at: formatLocation)
                        }
                        query.dating = .name(format)
                    } else {
                        throw ScriptError(
                            "write `dated by name \"yyyyMMdd\"` or `dated by modified`", at: locate(current),
                            suggestion: suggestion(for: identifierValue ?? "", among: ["name", "modified"]))
                    }
                } else {
                    query.expectedType = try expectedType()
                }
            }
            kind = .files(query)
        case "expires":
            guard isIdentifier("in") else {
                throw ScriptError(
                    "write `expires in SECONDS`, e.g. `expires in json \"expires_in\"`", at: locate(current))
            }
            advance()
            kind = .expiresIn(try expression())
        case "wait":
            let seconds = try number("seconds to wait")
            let unit = try identifier("`seconds`")
            guard unit == "seconds" || unit == "second" else {
                throw ScriptError("wait is counted in seconds", at: locate(previous), suggestion: "seconds")
            }
            guard seconds <= 300 else { throw ScriptError("wait at most 300 seconds", at: location) }
            kind = .wait(seconds: seconds)
        default:
            if isSymbol("=") {
                throw ScriptError(
                    "unknown step `\(word)`; bind a value with `let \(word) = ...`", at: location, suggestion: "let")
            }
            throw ScriptError(
                "unknown step `\(word)`", at: location,
                suggestion: suggestion(for: word, among: ScraperParser.statementWords))
        }
        return Statement(kind: kind, location: location)
    }

    /// `expect type csv`.
    mutating func expectedType() throws(ScriptError) -> DownloadType {
        advance()
        guard isIdentifier("type") else {
            throw ScriptError("write `expect type csv` (or x12, xlsx, json, html, pdf, xml, text)", at: locate(current))
        }
        advance()
        let typeLocation = locate(current)
        let name = try identifier("a document type")
        guard let type = DownloadType(rawValue: name) else {
            throw ScriptError(
                "unknown document type `\(name)`", at: typeLocation,
                suggestion: suggestion(for: name, among: DownloadType.allCases.map(\.rawValue)))
        }
        return type
    }

    /// IMAP searches send plain ASCII text: no line breaks, no quotes or backslashes to escape.
    static func checkSearchText(_ text: String, _ field: String, _ location: SourceLocation) throws(ScriptError) {
        guard !text.isEmpty else { throw ScriptError("`\(field)` needs some text to look for", at: location) }
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }) else {
            throw ScriptError(
                "`\(field)` text is sent to the mail server's search: plain ASCII without quotes or backslashes",
                at: location)
        }
    }

    mutating func conditional() throws(ScriptError) -> StatementKind {
        let condition = try expression()
        let then = try block()
        var otherwise: Block?
        if isIdentifier("else") {
            advance()
            if isIdentifier("if") {
                let location = locate(current)
                advance()
                try enter()
                defer { nesting -= 1 }
                otherwise = Block(
                    statements: [Statement(kind: try conditional(), location: location)], location: location)
            } else {
                otherwise = try block()
            }
        }
        return .conditional(condition, then: then, otherwise: otherwise)
    }

    mutating func optionalLimit() throws(ScriptError) -> Int? {
        guard isIdentifier("limit") else { return nil }
        advance()
        let location = locate(current)
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
        let location = locate(current)
        let name = try identifier("a failure class (auth_failed, account_locked, ...)")
        let writable: [FailureClass] = [
            .authFailed, .accountLocked, .mfaRequired, .portalUnavailable, .layoutChanged, .rateLimited,
        ]
        guard let value = FailureClass(rawValue: name), writable.contains(value) else {
            throw ScriptError(
                "unknown failure class `\(name)`", at: location,
                suggestion: suggestion(for: name, among: writable.map(\.rawValue)))
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
        let location = locate(current)
        let option = try identifier("a request option")
        switch option {
        case "via": spec.via = try identifier("a declared origin's name")
        case "query": spec.query += try map()
        case "headers": spec.headers += try map()
        case "form", "json", "body":
            guard allowBody else {
                throw ScriptError("a GET request has no body; use `post` to send \(option)", at: location)
            }
            guard spec.body == nil else { throw ScriptError("a request has one body", at: location) }
            if option == "form" {
                spec.body = .form(try map())
            } else if option == "json" {
                spec.body = .json(try jsonTemplate())
            } else {
                let value = try expression()
                var type: Expression?
                if isIdentifier("type") {
                    advance()
                    type = try expression()
                }
                spec.body = .raw(value, contentType: type)
            }
        default: break
        }
    }

    /// `{ key: value, "other key": value }` (commas or line breaks between entries).
    mutating func map() throws(ScriptError) -> [(String, Expression)] {
        try expectSymbol("{", "to open the fields")
        return try entries(key: "field name", plural: "fields") { parser throws(ScriptError) in try parser.expression()
        }
    }

    /// The entries of a `{ key: value, "other key": value }` whose `{` is read, through its `}`:
    /// a key is a name or a string, entries are parted by commas or line breaks. `key` and
    /// `plural` name them in errors ("field name" and "fields" in a map, "key" and "keys" in JSON).
    mutating func entries<Value>(
        key noun: String, plural: String,
        _ value: (inout Self) throws(ScriptError) -> Value
    ) throws(ScriptError) -> [(String, Value)] {
        var entries: [(String, Value)] = []
        while !isSymbol("}") {
            let key: String
            if case .string = current.kind {
                key = try literalString("a \(noun)")
            } else {
                key = try identifier("a \(noun)")
            }
            try expectSymbol(":", "after the \(noun) `\(key)`")
            entries.append((key, try value(&self)))
            if isSymbol(",") {
                advance()
            } else if !isSymbol("}") && !current.afterNewline {
                throw ScriptError(
                    "expected `,` or a new line between \(plural), found \(describe(current))", at: locate(current))
            }
        }
        advance()
        return entries
    }

    /// The items of a `[a, b, c]` whose `[` is read, through its `]`, parted by commas: a list
    /// in an expression and an array in a JSON template alike.
    mutating func items<Item>(_ item: (inout Self) throws(ScriptError) -> Item) throws(ScriptError) -> [Item] {
        var items: [Item] = []
        while !isSymbol("]") {
            items.append(try item(&self))
            if isSymbol(",") {
                advance()
            } else if !isSymbol("]") {
                throw ScriptError("expected `,` or `]`, found \(describe(current))", at: locate(current))
            }
        }
        advance()
        return items
    }

    mutating func jsonTemplate() throws(ScriptError) -> JSONTemplate {
        try enter()
        defer { nesting -= 1 }
        if isSymbol("{") {
            advance()
            return .object(
                try entries(key: "key", plural: "keys") { parser throws(ScriptError) in try parser.jsonTemplate() })
        }
        if isSymbol("[") {
            advance()
            return .array(try items { parser throws(ScriptError) in try parser.jsonTemplate() })
        }
        return .value(try expression())
    }

    // MARK: Expressions

    func make(_ kind: ExpressionKind, _ start: Token) throws(ScriptError) -> Expression {
        let end = max(Int(start.start), Int(previous.end))
        let expression = Expression(
            kind, source: source, line: Int(start.line), column: Int(start.column), range: Int(start.start)..<end)
        guard expression.depth <= ScraperParser.maximumExpressionDepth else {
            throw ScriptError(
                "this expression is more than \(ScraperParser.maximumExpressionDepth) levels deep; split it with `let`",
                at: locate(start))
        }
        return expression
    }

    mutating func expression() throws(ScriptError) -> Expression {
        try enter()
        defer { nesting -= 1 }
        return try leftAssociative(.or, joinedBy: { $0.isIdentifier("or") }) { parser throws(ScriptError) in
            try parser.andExpression()
        }
    }

    /// `operand (operator operand)*`, grouped from the left: `a or b or c` is `(a or b) or c`.
    /// Each level of the grammar that joins its operands with one operator parses this way.
    mutating func leftAssociative(
        _ binary: BinaryOperator, joinedBy isOperator: (Self) -> Bool,
        _ operand: (inout Self) throws(ScriptError) -> Expression
    ) throws(ScriptError) -> Expression {
        let start = current
        var left = try operand(&self)
        while isOperator(self) {
            advance()
            let right = try operand(&self)
            left = try make(.binary(binary, left, right), start)
        }
        return left
    }

    mutating func andExpression() throws(ScriptError) -> Expression {
        try leftAssociative(.and, joinedBy: { $0.isIdentifier("and") }) { parser throws(ScriptError) in
            try parser.notExpression()
        }
    }

    mutating func notExpression() throws(ScriptError) -> Expression {
        let start = current
        if isIdentifier("not") || isSymbol("!") {
            advance()
            try enter()
            defer { nesting -= 1 }
            let inner = try notExpression()
            return try make(.not(inner), start)
        }
        return try comparison()
    }

    mutating func comparison() throws(ScriptError) -> Expression {
        let start = current
        let left = try sum()
        for symbol in ["==", "!=", "<=", ">=", "<", ">"] where isSymbol(symbol) {
            advance()
            let right = try sum()
            return try make(.binary(BinaryOperator(rawValue: symbol)!, left, right), start)
        }
        if isSymbol("=") {
            throw ScriptError("`=` binds a name; compare with `==`", at: locate(current), suggestion: "==")
        }
        return left
    }

    mutating func sum() throws(ScriptError) -> Expression {
        try leftAssociative(.plus, joinedBy: { $0.isSymbol("+") }) { parser throws(ScriptError) in try parser.filtered()
        }
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
            value = try make(.filter(value, name, arguments), start)
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
            if isSymbol(",") {
                advance()
            } else if !isSymbol(")") {
                throw ScriptError("expected `,` or `)`, found \(describe(current))", at: locate(current))
            }
        }
        advance()
        return arguments
    }

    /// Functions that may be written without parentheses before one literal: `text "Invalid"`.
    static let literalCallable: Set<String> = [
        "text", "url", "element", "status", "xpath", "regex", "json", "header", "cookie", "ask", "date",
    ]

    mutating func primary() throws(ScriptError) -> Expression {
        let start = current
        switch current.kind {
        case .string(let parts):
            advance()
            var result: [StringPart] = []
            for part in parts {
                switch part {
                case .text(let text): result.append(.text(text))
                case .interpolation(let range, let line, let column):
                    var lexer = Lexer(source, range: range, line: line, column: column)
                    var sub = Parser(tokens: try lexer.tokens(), source: source, nesting: nesting)
                    let value = try sub.expression()
                    guard sub.current.kind == .end else {
                        throw ScriptError(
                            "unexpected \(sub.describe(sub.current)) inside ${...}", at: sub.locate(sub.current))
                    }
                    result.append(.interpolation(value))
                }
            }
            return try make(.string(result), start)
        case .number(let value):
            advance()
            return try make(.number(value), start)
        case .symbol("("):
            advance()
            let inner = try expression()
            try expectSymbol(")", "to close the parenthesis")
            return inner
        case .symbol("["):
            advance()
            return try make(.list(try items { parser throws(ScriptError) in try parser.expression() }), start)
        case .identifier(let name):
            advance()
            if name == "true" || name == "false" { return try make(.bool(name == "true"), start) }
            if isSymbol("(") && !current.afterNewline {
                let arguments = try callArguments()
                return try make(.call(name, arguments), start)
            }
            // `text "Invalid"`: a name directly followed by a literal is a call (an unknown one is
            // then reported by the checker, with a suggestion).
            if isLiteral, !current.afterNewline {
                let argument = try primary()
                return try make(.call(name, [argument]), start)
            }
            if isSymbol(".") {
                advance()
                let member = try identifier("a name after `\(name).`")
                return try make(.member(name, member), start)
            }
            return try make(.variable(name), start)
        default:
            throw ScriptError("expected a value, found \(describe(current))", at: locate(current))
        }
    }
}
