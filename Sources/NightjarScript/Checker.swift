import NightjarCore

/// Finds every problem a definition has before anything is sent: unknown names, wrong types,
/// vault values aimed at origins they may not reach, loops without bounds, document blocks that
/// can never download.
public enum ScraperChecker {
    /// No `pages` or `while` loop runs more pages than this, whatever the definition says.
    public static let hardPageLimit = 500

    /// Every problem in file order (empty when the definition is sound).
    public static func check(_ definition: ScraperDefinition) -> [ScriptError] {
        var checker = Checking(definition: definition)
        checker.run()
        let sorted = checker.errors.sorted {
            ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0)
        }
        let total = sorted.count + checker.uncountedErrors
        guard total > maximumErrors, let last = sorted[min(maximumErrors, sorted.count) - 1].location else {
            return sorted
        }
        return Array(sorted.prefix(maximumErrors)) + [
            ScriptError("… and \(total - min(maximumErrors, sorted.count)) more problems", at: last)
        ]
    }

    /// The most problems one check reports; a definition with more says how many were left out.
    public static let maximumErrors = 100

    /// Parses and checks; throws every problem found.
    public static func load(_ text: String, file: String) throws(ScriptErrors) -> ScraperDefinition {
        let definition: ScraperDefinition
        do {
            definition = try ScraperParser.parse(text, file: file)
        } catch {
            throw ScriptErrors(errors: [error])
        }
        let errors = check(definition)
        guard errors.isEmpty else { throw ScriptErrors(errors: errors) }
        return definition
    }

    static let functions: [String: ClosedRange<Int>] = [
        "xpath": 1...2, "regex": 1...2, "json": 1...2, "header": 1...1, "cookie": 1...1, "text": 1...1, "url": 1...1,
        "element": 1...1, "status": 1...1, "ask": 1...1, "count": 1...1, "exists": 1...1, "date": 1...1,
    ]
    static let filters: [String: ClosedRange<Int>] = [
        "date": 1...1, "trim": 0...0, "lower": 0...0, "upper": 0...0, "urlencode": 0...0, "digits": 0...0,
        "base64": 0...0,
        "amount": 0...0, "replace": 2...2, "default": 1...1, "first": 0...0, "last": 0...0, "count": 0...0,
        "join": 1...1,
        "split": 1...1, "secret": 0...0, "number": 0...0, "add_days": 1...1,
    ]
    static let builtins: [String: ValueType] = [
        "client": .string, "portal": .string, "totp": .string, "today": .date,
        "status": .number, "url": .string,
    ]
}

enum ValueType: String {
    case string = "text", number, bool = "true/false", date, list, any = "value"
}

struct Checking {
    let definition: ScraperDefinition
    /// The problems found; a reference, so that reporting one needs no exclusive access to the checker.
    final class Problems {
        var found: [ScriptError] = []
        /// Problems past the first `keptErrors` (in the order found), only counted.
        var uncounted = 0
    }
    let problems = Problems()
    var errors: [ScriptError] { problems.found }
    var uncountedErrors: Int { problems.uncounted }
    /// Name → (type, tainted by a vault value).
    var scopes: [[String: (ValueType, Bool)]] = [[:]]
    var insidePages = 0
    /// Inside a branch or loop whose condition carries a vault value.
    var taintedControl = 0

    /// Whether the statements being checked are the login's.
    var checkingLogin = false

    init(definition: ScraperDefinition) { self.definition = definition }

    static let keptErrors = 10 * ScraperChecker.maximumErrors

    /// Records a problem; past `keptErrors` it is only counted (and no suggestion is worked out).
    func error(_ problem: String, _ location: SourceLocation, suggestion: @autoclosure () -> String? = nil) {
        guard problems.found.count < Checking.keptErrors else {
            problems.uncounted += 1
            return
        }
        problems.found.append(ScriptError(problem, at: location, suggestion: suggestion()))
    }

    mutating func run() {
        if definition.source != .portal {
            checkSource()
            return
        }
        for origin in definition.origins where !(origin.url.hasPrefix("https://") || origin.url.hasPrefix("http://")) {
            error("a portal's origin is an http(s) URL such as \"https://portal.example.com\"", origin.location)
        }
        for word in ["sign", "folder", "after", "size"] {
            if let location = definition.declarations[word] {
                error(
                    "`\(word)` declares how a mailbox or SFTP drop is read; this definition is a portal (it starts with `portal`)",
                    location)
            }
        }
        if let first = definition.origins.first, first.isPublic {
            error("the first origin is where the definition logs in; it cannot be `public`", first.location)
        }
        if let expired = definition.expired { _ = check(expired) }
        for condition in definition.unavailable { _ = check(condition) }
        if let login = definition.login {
            // Names bound while logging in (a token, say) are known in every document block.
            scopes = [[:]]
            checkingLogin = true
            checkStatements(login.statements)
            checkingLogin = false
        }
        let loginNames = scopes[0]
        if definition.documents.isEmpty {
            error(
                "the definition fetches nothing: add a block such as `remittances { ... }`",
                SourceLocation(file: definition.file, line: 1, column: 1))
        }
        for document in definition.documents {
            scopes = [loginNames]
            checkStatements(document.body.statements)
            if !containsDownload(document.body.statements) {
                error(
                    "`\(document.kind.blockName)` can never download anything: it has no `download` step",
                    document.location)
            }
        }
    }

    /// A mailbox or SFTP definition: one origin of its scheme, declarative sign-in, blocks made
    /// only of its own statements.
    mutating func checkSource() {
        let kind = definition.source
        let start = SourceLocation(file: definition.file, line: 1, column: 1)
        let schemes = kind == .mailbox ? ["imaps", "imap"] : ["sftp"]
        if definition.origins.count > 1 {
            error("a \(kind.rawValue) has one origin, its server", definition.origins[1].location)
        }
        if let origin = definition.origins.first {
            let scheme = origin.url.components(separatedBy: "://").first?.lowercased() ?? ""
            if !schemes.contains(scheme) {
                error(
                    kind == .mailbox
                        ? "a mailbox's origin is an IMAP server: \"imaps://imap.example.com\" (or imap:// with STARTTLS)"
                        : "an SFTP drop's origin is \"sftp://sftp.example.com\" (a port may follow: sftp://host:2222)",
                    origin.location)
            }
            if origin.isPublic { error("the server receives the credential; it cannot be `public`", origin.location) }
            let rest = origin.url.components(separatedBy: "://").dropFirst().joined(separator: "://")
            if rest.contains("/") && !rest.hasSuffix("/") || rest.contains("@") {
                error(
                    "the origin is the server only (scheme, host and port): say the \(kind == .mailbox ? "folder with `folder`" : "folders in `files in`")",
                    origin.location)
            }
        }
        let portalOnly = [
            "login":
                "signs in with `sign in \(kind == .mailbox ? "password|oauth2" : "password|key")`, not a login block",
            "expired": "has no web session to expire", "unavailable": "answers no web pages",
            "window": "searches the whole range at once", "concurrency": "reads over one connection",
            "rate": "reads over one connection", "pages": "has no pages",
        ]
        for (word, why) in portalOnly.sorted(by: { $0.key < $1.key }) {
            if let location = definition.declarations[word] { error("`\(word)`: a \(kind.rawValue) \(why)", location) }
        }
        let methods: [SignInMethod] = kind == .mailbox ? [.password, .oauth2] : [.password, .key]
        if let method = definition.sourceSettings.signIn, !methods.contains(method) {
            error(
                "a \(kind.rawValue) signs in with \(methods.map(\.rawValue).joined(separator: " or ")), not \(method.rawValue)",
                definition.sourceSettings.signInLocation ?? start)
        }
        if kind == .sftp, let location = definition.declarations["folder"] {
            error(
                "`folder` names a mailbox folder; an SFTP drop says its folders in `files in \"/outbound\"`", location)
        }
        if let folder = definition.sourceSettings.folder, let location = definition.declarations["folder"] {
            if !Checking.isPlainFolderName(folder) {
                error("a folder name is plain ASCII without quotes, backslashes or `*` / `%`", location)
            }
        }
        switch definition.sourceSettings.afterImport {
        case .leave: break
        case .flagSeen:
            if kind == .sftp {
                error(
                    "`flag seen` is for mailboxes; an SFTP drop can `after import move \"/archive\"`",
                    definition.declarations["after"] ?? start)
            }
        case .move(let target):
            if kind == .mailbox && !Checking.isPlainFolderName(target) {
                error(
                    "a folder name is plain ASCII without quotes, backslashes or `*` / `%`",
                    definition.declarations["after"] ?? start)
            }
            if kind == .sftp && !Checking.isRemotePath(target) {
                error(
                    "an archive folder is an absolute path (\"/outbound/archive\") or one under the home folder (\"~/archive\")",
                    definition.declarations["after"] ?? start)
            }
            if kind == .mailbox && target == (definition.sourceSettings.folder ?? SourceDeclarations.defaultFolder) {
                error(
                    "moving a message into the folder it is read from changes nothing",
                    definition.declarations["after"] ?? start)
            }
        }
        if definition.documents.isEmpty {
            error(
                "the definition fetches nothing: add a block such as `remittances { \(kind == .mailbox ? "messages { attachments }" : "files in \"/outbound\"") }`",
                start)
        }
        for document in definition.documents {
            if document.body.statements.isEmpty {
                error("`\(document.kind.blockName)` can never download anything: it is empty", document.location)
            }
            for statement in document.body.statements { checkSourceStatement(statement, kind: kind, inMessages: false) }
        }
    }

    mutating func checkSourceStatement(_ statement: Statement, kind: SourceKind, inMessages: Bool) {
        switch statement.kind {
        case .messages(_, let body):
            if kind != .mailbox {
                error(
                    "`messages` reads a mailbox; this is an SFTP drop (its blocks say `files in \"/outbound\" ...`)",
                    statement.location)
            } else if inMessages {
                error("`messages` blocks do not nest", statement.location)
            }
            if body.statements.isEmpty {
                error(
                    "these messages can never give a document: say which with `attachments` or `body html`",
                    statement.location)
            }
            for inner in body.statements { checkSourceStatement(inner, kind: kind, inMessages: true) }
        case .attachments(let rule):
            if !inMessages { error("`attachments` goes inside a `messages { ... }` block", statement.location) }
            if let pattern = rule.namePattern, !Checking.isNamePattern(pattern) {
                error(
                    "a name pattern matches a file name: no `/`, not empty (e.g. \"*.csv\", \"remit-*.xlsx\")",
                    statement.location)
            }
        case .body:
            if !inMessages { error("`body` goes inside a `messages { ... }` block", statement.location) }
        case .files(let query):
            if kind != .sftp {
                error(
                    "`files` reads an SFTP drop; this is a mailbox (its blocks say `messages { ... }`)",
                    statement.location)
            }
            if !Checking.isRemotePath(query.folder) {
                error(
                    "the folder is an absolute path (\"/outbound\") or one under the home folder (\"~/outbound\")",
                    statement.location)
            }
            if let pattern = query.namePattern, !Checking.isNamePattern(pattern) {
                error(
                    "a name pattern matches a file name: no `/`, not empty (e.g. \"REMIT_*.txt\")", statement.location)
            }
        default:
            let word = String(ScraperInterpreter.stepName(statement.kind))
            error("`\(word)` is a portal step; a \(kind.rawValue) is read with \(kind.stepWords)", statement.location)
        }
    }

    static func isPlainFolderName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.value >= 0x20 && $0.value < 0x7F && !"\"\\*%".unicodeScalars.contains($0)
            }
    }

    static func isRemotePath(_ path: String) -> Bool {
        (path.hasPrefix("/") || path.hasPrefix("~/") || path == "~") && !path.split(separator: "/").contains("..")
            && path.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }

    static func isNamePattern(_ pattern: String) -> Bool {
        !pattern.isEmpty && !pattern.contains("/")
            && pattern.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }

    func containsDownload(_ statements: [Statement]) -> Bool {
        statements.contains { statement in
            switch statement.kind {
            case .download: true
            case .conditional(_, let then, let otherwise):
                containsDownload(then.statements) || containsDownload(otherwise?.statements ?? [])
            case .forEach(_, _, _, let body), .whileLoop(_, _, let body), .pages(_, _, let body):
                containsDownload(body.statements)
            default: false
            }
        }
    }

    mutating func checkScoped(_ statements: [Statement], binding: (String, Bool)? = nil) {
        scopes.append([:])
        if let binding { bind(binding.0, .any, tainted: binding.1) }
        checkStatements(statements)
        scopes.removeLast()
    }

    mutating func bind(_ name: String, _ type: ValueType, tainted: Bool) {
        for index in scopes.indices.reversed() where scopes[index][name] != nil {
            scopes[index][name] = (type, tainted || (scopes[index][name]?.1 ?? false))
            return
        }
        scopes[scopes.count - 1][name] = (type, tainted)
    }

    func lookup(_ name: String) -> (ValueType, Bool)? {
        for scope in scopes.reversed() { if let found = scope[name] { return found } }
        return nil
    }

    mutating func checkStatements(_ statements: [Statement]) {
        for statement in statements { checkStatement(statement) }
    }

    mutating func checkStatement(_ statement: Statement) {
        switch statement.kind {
        case .request(let spec):
            checkRequest(spec, statement.location)
        case .download(let spec, let download):
            checkRequest(spec, statement.location)
            if let name = download.name {
                let (_, tainted) = check(name)
                if tainted { error("a file name may not carry a vault value", name.location) }
            }
            for (_, value) in download.metadata { _ = check(value) }
        case .bind(let name, let value):
            let (type, tainted) = check(value)
            if ScraperChecker.builtins[name] != nil || ["vault", "range", "origin", "page"].contains(name) {
                error("`\(name)` is a built-in name; choose another", statement.location)
            }
            bind(name, type, tainted: tainted || taintedControl > 0)
        case .cookie(_, let value):
            _ = check(value)
        case .expect(let condition, _, let message), .fail(_, let condition, let message):
            checkCondition(condition)
            if let message { _ = check(message) }
        case .conditional(let condition, let then, let otherwise):
            let tainted = checkCondition(condition)
            if tainted { taintedControl += 1 }
            checkScoped(then.statements)
            if let otherwise { checkScoped(otherwise.statements) }
            if tainted { taintedControl -= 1 }
        case .forEach(let name, let list, _, let body):
            let (type, tainted) = check(list)
            if [.string, .number, .bool, .date].contains(type) {
                error("`for` walks a list (xpath, regex, json, split), not \(type.rawValue)", list.location)
            }
            if tainted { taintedControl += 1 }
            checkScoped(body.statements, binding: (name, tainted))
            if tainted { taintedControl -= 1 }
        case .whileLoop(let condition, let limit, let body):
            if limit == nil {
                error(
                    "this loop has no bound: add `limit N` (at most \(ScraperChecker.hardPageLimit) rounds)",
                    statement.location)
            } else if let limit, limit > ScraperChecker.hardPageLimit {
                error("a `while` loop runs at most \(ScraperChecker.hardPageLimit) rounds", statement.location)
            }
            let tainted = checkCondition(condition)
            if tainted { taintedControl += 1 }
            checkScoped(body.statements)
            if tainted { taintedControl -= 1 }
        case .pages(let next, let limit, let body):
            if let limit, limit > ScraperChecker.hardPageLimit {
                error("`pages` follows at most \(ScraperChecker.hardPageLimit) pages", statement.location)
            }
            insidePages += 1
            checkScoped(body.statements)
            _ = check(next)
            insidePages -= 1
        case .log(let value):
            _ = check(value)
        case .wait:
            break
        case .messages, .attachments, .body, .files:
            let word = ScraperInterpreter.stepName(statement.kind)
            error(
                "`\(word)` reads \(word == "files" ? "an SFTP drop" : "a mailbox"); this definition is a portal (it starts with `portal`)",
                statement.location)
        case .expiresIn(let value):
            _ = check(value)
            if !checkingLogin {
                error("`expires in` says how long a login lasts: write it in `login { ... }`", statement.location)
            }
        }
    }

    @discardableResult
    mutating func checkCondition(_ condition: Expression) -> Bool {
        let (type, tainted) = check(condition)
        if [.string, .number, .date].contains(type) {
            var hint: String?
            if case .string = condition.kind { hint = "text \(condition.text)" }
            error(
                "a condition must be true or false, not \(type.rawValue) (e.g. text \"Sign out\", status 200, element \"//form\")",
                condition.location, suggestion: hint)
        }
        return tainted
    }

    mutating func checkRequest(_ spec: RequestSpec, _ location: SourceLocation) {
        var tainted = taintedControl > 0
        let (urlType, urlTainted) = check(spec.url)
        if urlType == .bool || urlType == .number {
            error("a request needs a URL or a path, not \(urlType.rawValue)", spec.url.location)
        }
        tainted = tainted || urlTainted
        for (_, value) in spec.query + spec.headers { tainted = check(value).1 || tainted }
        switch spec.body {
        case .form(let fields): for (_, value) in fields { tainted = check(value).1 || tainted }
        case .json(let template): tainted = checkTemplate(template) || tainted
        case .raw(let value, let type):
            tainted = check(value).1 || tainted
            if let type { _ = check(type) }
        case nil: break
        }
        var target: OriginDeclaration?
        if let via = spec.via {
            target = definition.origins.first { $0.name == via }
            if target == nil {
                error(
                    "unknown origin `\(via)`", location,
                    suggestion: suggestion(for: via, among: definition.origins.map(\.name)))
            }
        } else if case .string(let parts) = spec.url.kind, case .text(let text)? = parts.first,
            text.hasPrefix("http://") || text.hasPrefix("https://")
        {
            let origin = ScraperChecker.origin(of: text)
            target = definition.origins.first { ScraperChecker.origin(of: $0.url) == origin }
            if target == nil {
                error(
                    "\(origin) is not one of the definition's origins; declare it with `origin NAME \"\(origin)\"`",
                    spec.url.location)
            }
        }
        if tainted, let target, target.isPublic {
            error("this request would send a vault value to origin `\(target.name)`, which is marked public", location)
        }
        // A path goes to the first origin unless it says `via`.
        var isPath = false
        if case .string(let parts) = spec.url.kind, case .text(let text)? = parts.first, text.hasPrefix("/") {
            isPath = true
        }
        if tainted, let destination = target ?? (isPath ? definition.origins.first : nil),
            destination.url.lowercased().hasPrefix("http://"),
            !destination.allowsPlainHTTP, !ScraperChecker.isLoopback(ScraperChecker.origin(of: destination.url))
        {
            error(
                "this request would send a vault value to `\(destination.name)` over plain http (\(ScraperChecker.origin(of: destination.url))); use its https address, or mark the origin `allow-http` if the portal has none",
                location)
        }
    }

    mutating func checkTemplate(_ template: JSONTemplate) -> Bool {
        switch template {
        case .object(let entries): return entries.map { checkTemplate($0.1) }.contains(true)
        case .array(let items): return items.map { checkTemplate($0) }.contains(true)
        case .value(let value): return check(value).1
        }
    }

    /// The type of an expression and whether it carries a vault value.
    mutating func check(_ expression: Expression) -> (ValueType, Bool) {
        switch expression.kind {
        case .string(let parts):
            var tainted = false
            for part in parts { if case .interpolation(let inner) = part { tainted = check(inner).1 || tainted } }
            return (.string, tainted)
        case .number: return (.number, false)
        case .bool: return (.bool, false)
        case .list(let items):
            return (.list, items.map { check($0).1 }.contains(true))
        case .variable(let name):
            if let found = lookup(name) { return found }
            if name == "page" {
                if insidePages == 0 { error("`page` is only known inside `pages next ... { }`", expression.location) }
                return (.number, false)
            }
            if let type = ScraperChecker.builtins[name] { return (type, name == "totp") }
            if name == "vault" || name == "range" || name == "origin" {
                error(
                    "`\(name)` needs a field: \(name == "vault" ? "vault.username" : name == "range" ? "range.from" : "origin.main")",
                    expression.location)
                return (.any, name == "vault")
            }
            let known =
                scopes.flatMap { $0.keys } + Array(ScraperChecker.builtins.keys) + (insidePages > 0 ? ["page"] : [])
                + ScraperChecker.functions.keys
            error("unknown name `\(name)`", expression.location, suggestion: suggestion(for: name, among: known))
            return (.any, false)
        case .member(let base, let member):
            switch base {
            case "vault": return (.string, true)
            case "range":
                if member != "from" && member != "to" {
                    error(
                        "`range` has `from` and `to`", expression.location,
                        suggestion: suggestion(for: member, among: ["from", "to"]))
                }
                return (.date, false)
            case "origin":
                if !definition.origins.contains(where: { $0.name == member }) {
                    error(
                        "unknown origin `\(member)`", expression.location,
                        suggestion: suggestion(for: member, among: definition.origins.map(\.name)))
                }
                return (.string, false)
            default:
                if lookup(base) != nil { return (.any, lookup(base)!.1) }
                error(
                    "unknown name `\(base)`", expression.location,
                    suggestion: suggestion(for: base, among: ["vault", "range", "origin"] + scopes.flatMap { $0.keys }))
                return (.any, false)
            }
        case .call(let name, let arguments):
            guard let arity = ScraperChecker.functions[name] else {
                error(
                    "unknown function `\(name)`", expression.location,
                    suggestion: suggestion(
                        for: name, among: Array(ScraperChecker.functions.keys) + Array(ScraperChecker.filters.keys)))
                for argument in arguments { _ = check(argument) }
                return (.any, false)
            }
            let checked = arguments.map { check($0) }
            if !arity.contains(arguments.count) {
                error(
                    "`\(name)` takes \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) or \(arity.upperBound)") argument\(arity.upperBound == 1 ? "" : "s"), not \(arguments.count)",
                    expression.location)
            }
            let tainted = checked.contains { $0.1 } || name == "ask"
            switch name {
            case "xpath", "regex":
                if let pattern = checked.last, pattern.0 != .string && pattern.0 != .any {
                    error("the \(name) pattern is text, not \(pattern.0.rawValue)", arguments.last!.location)
                }
                return (.list, tainted)
            case "json": return (.any, tainted)
            case "text", "url", "element", "exists": return (.bool, tainted)
            case "status":
                if let first = checked.first, first.0 != .number && first.0 != .any {
                    error("`status` compares with a number, e.g. status 200", arguments[0].location)
                }
                return (.bool, tainted)
            case "count": return (.number, tainted)
            case "date": return (.date, tainted)
            default: return (.string, tainted)
            }
        case .filter(let value, let name, let arguments):
            let (type, tainted) = check(value)
            for argument in arguments { _ = check(argument) }
            guard let arity = ScraperChecker.filters[name] else {
                error(
                    "unknown filter `\(name)`", expression.location,
                    suggestion: suggestion(for: name, among: Array(ScraperChecker.filters.keys)))
                return (.any, tainted)
            }
            if !arity.contains(arguments.count) {
                error(
                    "the filter `\(name)` takes \(arity.lowerBound) argument\(arity.lowerBound == 1 ? "" : "s"), not \(arguments.count)",
                    expression.location)
            }
            switch name {
            case "date":
                if type == .number || type == .bool || type == .list {
                    error(
                        "`| date` formats a date (range.from, or text like 2026-11-01), not \(type.rawValue)",
                        expression.location)
                }
                return (.string, tainted)
            case "add_days":
                if type != .date && type != .any {
                    error("`| add_days` needs a date, not \(type.rawValue)", expression.location)
                }
                return (.date, tainted)
            case "first", "last", "default": return (.any, tainted)
            case "count": return (.number, tainted)
            case "number": return (.number, tainted)
            case "split": return (.list, tainted)
            case "secret": return (type, tainted)
            case "join":
                if type != .list && type != .any {
                    error("`| join` needs a list, not \(type.rawValue)", expression.location)
                }
                return (.string, tainted)
            default:
                if type == .list && ["trim", "lower", "upper", "digits", "amount"].contains(name) {
                    return (.string, tainted)
                }
                if type == .bool { error("`| \(name)` works on text, not true/false", expression.location) }
                return (.string, tainted)
            }
        case .binary(let op, let left, let right):
            let (leftType, leftTainted) = check(left)
            let (rightType, rightTainted) = check(right)
            let tainted = leftTainted || rightTainted
            switch op {
            case .plus:
                if leftType == .bool || rightType == .bool {
                    error("`+` joins text or adds numbers, not true/false", expression.location)
                }
                return (leftType == .number && rightType == .number ? .number : .string, tainted)
            case .and, .or: return (.bool, tainted)
            default: return (.bool, tainted)
            }
        case .not(let inner):
            return (.bool, check(inner).1)
        }
    }
}

extension ScraperChecker {
    /// `scheme://host:port` of a URL, lower-cased, default ports filled in.
    /// Whether an origin (`http://127.0.0.1:8080`) is this machine: 127.0.0.0/8, `[::1]` or `localhost`.
    public static func isLoopback(_ origin: String) -> Bool {
        guard let start = origin.range(of: "://")?.upperBound else { return false }
        var host = String(origin[start...].prefix { $0 != "/" })
        if host.hasPrefix("[") { return host.hasPrefix("[::1]") }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        host = host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    public static func origin(of url: String) -> String {
        var rest = Substring(url)
        guard let schemeEnd = rest.range(of: "://") else { return url.lowercased() }
        let scheme = rest[..<schemeEnd.lowerBound].lowercased()
        rest = rest[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var hostPort = authority.split(separator: "@").last.map(String.init) ?? ""
        hostPort = hostPort.lowercased()
        if hostPort.hasPrefix("[") {
            if let close = hostPort.firstIndex(of: "]") {
                let host = hostPort[...close]
                let port = hostPort[hostPort.index(after: close)...].dropFirst()
                return "\(scheme)://\(host):\(port.isEmpty ? (scheme == "https" ? "443" : "80") : String(port))"
            }
        }
        let pieces = hostPort.split(separator: ":", maxSplits: 1)
        let host = pieces.first.map(String.init) ?? ""
        let port = pieces.count > 1 ? String(pieces[1]) : (scheme == "https" ? "443" : "80")
        return "\(scheme)://\(host):\(port)"
    }
}
