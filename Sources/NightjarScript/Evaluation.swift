import Foundation
import NightjarCore
import NightjarHTTP
import NightjarMarkup

extension ScraperInterpreter {
    /// The value of an expression on the current page.
    func evaluate(_ expression: Expression, _ statement: Statement) async throws -> Value {
        switch expression.kind {
        case .string(let parts):
            var text = ""
            var tainted = false
            for part in parts {
                switch part {
                case .text(let piece): text += piece
                case .interpolation(let inner):
                    let value = try await evaluate(inner, statement)
                    tainted = tainted || value.tainted
                    text += try string(value, inner, statement)
                }
            }
            return .string(text, tainted: tainted)
        case .number(let value): return Value(.number(value))
        case .bool(let value): return Value(.bool(value))
        case .list(let items):
            var values: [Value] = []
            for item in items { values.append(try await evaluate(item, statement)) }
            return Value(.list(values), tainted: values.contains { $0.tainted })
        case .variable(let name):
            if let value = lookup(name) { return value }
            switch name {
            case "client": return .string(credential.client)
            case "portal": return .string(definition.portal)
            case "today": return Value(.date(CalendarDate.today(in: TimeZone(identifier: "UTC")!)))
            case "status":
                return Value(
                    current.map { .number(Int64($0.response.status)) } ?? .null, tainted: current?.tainted ?? false)
            case "url":
                return Value(current.map { .string($0.response.url) } ?? .null, tainted: current?.tainted ?? false)
            case "page": return Value(.number(Int64(pageNumbers.last ?? 1)))
            case "totp":
                if options.dryRun { return .string("‹totp›", tainted: true) }
                do {
                    guard let code = try await totpSource.code(for: credential) else {
                        throw failure(
                            .authFailed,
                            "the definition uses `totp` but \(credential.name) has no TOTP secret (add one with `nightjar vault edit --totp`)",
                            statement)
                    }
                    _ = Redactor.shared.register(text: code)
                    return .string(code, tainted: true)
                } catch let failure as ScraperFailure { throw failure } catch {
                    throw failure(.portalUnavailable, "stopped while waiting for a fresh TOTP code", statement)
                }
            default:
                throw failure(.layoutChanged, "unknown name `\(name)`", statement)
            }
        case .member(let base, let member):
            switch base {
            case "vault":
                if options.dryRun, credential.fields[member] == nil {
                    return .string("‹vault.\(member)›", tainted: true)
                }
                guard let value = credential.fields[member] else {
                    throw failure(
                        .authFailed,
                        "the credential \(credential.name) has no field `\(member)` (add it with `nightjar vault edit --field \(member)`)",
                        statement)
                }
                return .string(value, tainted: true)
            case "range": return Value(.date(member == "from" ? range.from : range.to))
            case "origin": return .string(originURLs[member] ?? "")
            default:
                guard let value = lookup(base) else {
                    throw failure(.layoutChanged, "unknown name `\(base)`", statement)
                }
                return try select(value, path: member, expression, statement)
            }
        case .call(let name, let arguments):
            return try await call(name, arguments, expression, statement)
        case .filter(let inner, let name, let arguments):
            let value = try await evaluate(inner, statement)
            var values: [Value] = []
            for argument in arguments { values.append(try await evaluate(argument, statement)) }
            return try filter(value, name, values, expression, statement)
        case .binary(let op, let left, let right):
            let lhs = try await evaluate(left, statement)
            if op == .and || op == .or {
                let leftTruth = truth(lhs)
                if op == .and, leftTruth == false { return Value(.bool(false), tainted: lhs.tainted) }
                if op == .or, leftTruth == true { return Value(.bool(true), tainted: lhs.tainted) }
                let rhs = try await evaluate(right, statement)
                guard let rightTruth = truth(rhs), let leftTruth else {
                    return Value(.placeholder(expression.text), tainted: lhs.tainted || rhs.tainted)
                }
                return Value(
                    .bool(op == .and ? leftTruth && rightTruth : leftTruth || rightTruth),
                    tainted: lhs.tainted || rhs.tainted)
            }
            let rhs = try await evaluate(right, statement)
            let tainted = lhs.tainted || rhs.tainted
            if case .placeholder = lhs.kind { return Value(.placeholder(expression.text), tainted: tainted) }
            if case .placeholder = rhs.kind { return Value(.placeholder(expression.text), tainted: tainted) }
            if op == .plus {
                if case .number(let a) = lhs.kind, case .number(let b) = rhs.kind {
                    return Value(.number(a &+ b), tainted: tainted)
                }
                return .string(try lenient(lhs) + lenient(rhs), tainted: tainted)
            }
            let ordering: Int
            if let a = number(lhs), let b = number(rhs) {
                ordering = a < b ? -1 : a == b ? 0 : 1
            } else if case .date(let a) = lhs.kind, case .date(let b) = rhs.kind {
                ordering = a < b ? -1 : a == b ? 0 : 1
            } else {
                let a = try lenient(lhs)
                let b = try lenient(rhs)
                ordering = a < b ? -1 : a == b ? 0 : 1
            }
            let result: Bool =
                switch op {
                case .equal: ordering == 0
                case .notEqual: ordering != 0
                case .less: ordering < 0
                case .greater: ordering > 0
                case .lessOrEqual: ordering <= 0
                case .greaterOrEqual: ordering >= 0
                default: false
                }
            return Value(.bool(result), tainted: tainted)
        case .not(let inner):
            let value = try await evaluate(inner, statement)
            guard let holds = truth(value) else { return value }
            return Value(.bool(!holds), tainted: value.tainted)
        }
    }

    /// Text for comparisons and `+`: an empty list or null is "".
    func lenient(_ value: Value) throws -> String {
        switch value.kind {
        case .list(let items): return items.first.map { (try? lenient($0)) ?? "" } ?? ""
        case .null: return ""
        default: return (try? stringOrNil(value)) ?? ""
        }
    }

    func number(_ value: Value) -> Int64? {
        switch value.kind {
        case .number(let number): return number
        case .json(let raw): return (raw as? NSNumber)?.int64Value
        default: return nil
        }
    }

    func stringOrNil(_ value: Value) throws -> String? {
        switch value.kind {
        case .null: return ""
        case .string(let text): return text
        case .number(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .date(let date): return date.description
        case .node(let node): return node.text
        case .list(let items): return try items.first.flatMap { try stringOrNil($0) }
        case .json(let raw): return ScraperInterpreter.jsonText(raw)
        case .placeholder(let text): return "‹\(text)›"
        }
    }

    /// Text of a value for a request or a file: an extraction that matched nothing is a changed layout.
    func string(_ value: Value, _ expression: Expression?, _ statement: Statement) throws -> String {
        if case .list(let items) = value.kind, items.isEmpty {
            throw failure(
                .layoutChanged,
                "\(expression.map { "`\($0.text)`" } ?? "a value") matched nothing on \(current?.response.url ?? "the page")",
                statement, withPage: true)
        }
        return try stringOrNil(value) ?? ""
    }

    static func jsonText(_ raw: Any) -> String {
        if let text = raw as? String { return text }
        if raw is NSNull { return "" }
        if let number = raw as? NSNumber {
            return number.stringValue
        }
        if let data = try? JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(raw)"
    }

    /// True, false, or nil when a dry run cannot know.
    func truth(_ value: Value) -> Bool? {
        switch value.kind {
        case .null: return false
        case .bool(let flag): return flag
        case .string(let text): return !text.isEmpty
        case .number(let number): return number != 0
        case .date, .node: return true
        case .list(let items): return !items.isEmpty
        case .json(let raw):
            if raw is NSNull { return false }
            if let number = raw as? NSNumber { return number.boolValue }
            if let text = raw as? String { return !text.isEmpty }
            if let array = raw as? [Any] { return !array.isEmpty }
            return true
        case .placeholder: return nil
        }
    }

    /// The items a `for` loop walks.
    func elements(of value: Value) -> [Value] {
        switch value.kind {
        case .list(let items): return items
        case .json(let raw):
            if let array = raw as? [Any] { return array.map { Value(.json($0), tainted: value.tainted) } }
            if raw is NSNull { return [] }
            return [value]
        case .null: return []
        default: return [value]
        }
    }

    /// `item.id` on a JSON value.
    func select(_ value: Value, path: String, _ expression: Expression, _ statement: Statement) throws -> Value {
        guard case .json(let raw) = value.kind else {
            if case .placeholder = value.kind { return value }
            throw failure(.layoutChanged, "`\(expression.text)`: only JSON values have fields", statement)
        }
        let found = JSONPath.select([.key(path)], in: raw)
        return Value(found.first.map { .json($0) } ?? .null, tainted: value.tainted)
    }

    func responseRequired(_ name: String, _ statement: Statement) throws -> CurrentResponse {
        guard let current else {
            throw failure(.layoutChanged, "`\(name)` looks at a page, but nothing has been fetched yet", statement)
        }
        return current
    }

    // MARK: Functions

    func call(_ name: String, _ argumentExpressions: [Expression], _ expression: Expression, _ statement: Statement)
        async throws -> Value
    {
        var arguments: [Value] = []
        for argument in argumentExpressions { arguments.append(try await evaluate(argument, statement)) }
        let argumentTaint = arguments.contains { $0.tainted }
        if options.dryRun, name != "ask", name != "count", name != "exists", name != "date", current?.synthetic ?? true
        {
            if arguments.count == 2, case .json = arguments[0].kind {
            } else if arguments.count == 2, case .node = arguments[0].kind {
            } else {
                return Value(.placeholder(expression.text), tainted: argumentTaint)
            }
        }
        func text(_ index: Int) throws -> String { try string(arguments[index], argumentExpressions[index], statement) }
        switch name {
        case "xpath":
            let pattern = try text(arguments.count - 1)
            var page: MarkupDocument?
            var context: MarkupNode?
            var tainted = argumentTaint
            if arguments.count == 2 {
                switch arguments[0].kind {
                case .node(let node):
                    page = node.document
                    context = node
                case .list(let items):
                    guard case .node(let node)? = items.first?.kind else { return Value(.list([]), tainted: tainted) }
                    page = node.document
                    context = node
                case .placeholder: return Value(.placeholder(expression.text), tainted: tainted)
                default:
                    throw failure(
                        .layoutChanged, "`\(expression.text)`: xpath(NODE, PATH) needs a node from another xpath",
                        statement)
                }
            } else {
                let response = try responseRequired("xpath", statement)
                tainted = tainted || response.tainted
                page = response.page
            }
            guard let page else { return Value(.list([]), tainted: tainted) }
            do {
                switch try page.evaluate(pattern, context: context) {
                case .nodes(let nodes):
                    return Value(.list(nodes.map { Value(.node($0), tainted: tainted) }), tainted: tainted)
                case .text(let value): return .string(value, tainted: tainted)
                }
            } catch {
                throw failure(.layoutChanged, error.message, statement)
            }
        case "regex":
            let pattern = try text(arguments.count - 1)
            let subject: String
            var tainted = argumentTaint
            if arguments.count == 2 {
                subject = try lenient(arguments[0])
            } else {
                let response = try responseRequired("regex", statement)
                tainted = tainted || response.tainted
                subject = response.response.text
            }
            do {
                return Value(
                    .list(try BoundedRegex.matches(pattern, in: subject).map { .string($0, tainted: tainted) }),
                    tainted: tainted)
            } catch .invalid {
                throw failure(.layoutChanged, "`\(pattern)` is not a valid regular expression", statement)
            } catch .timedOut {
                throw failure(
                    .layoutChanged,
                    "the regex `\(pattern)` gave up after \(Int(BoundedRegex.timeLimit)) s on this page", statement,
                    withPage: true)
            }
        case "json":
            let path = try text(arguments.count - 1)
            guard let steps = JSONPath.parse(path) else {
                throw failure(.layoutChanged, "`\(path)` is not a JSON path (e.g. items[0].id)", statement)
            }
            var root: Any?
            var tainted = argumentTaint
            if arguments.count == 2 {
                switch arguments[0].kind {
                case .json(let raw): root = raw
                case .placeholder: return Value(.placeholder(expression.text), tainted: tainted)
                default:
                    root = try? JSONSerialization.jsonObject(
                        with: Data(try lenient(arguments[0]).utf8), options: [.fragmentsAllowed])
                }
            } else {
                let response = try responseRequired("json", statement)
                tainted = tainted || response.tainted
                root = response.json
                if root == nil {
                    throw failure(
                        .layoutChanged, "the page at \(response.response.url) is not JSON", statement, withPage: true)
                }
            }
            guard let root else { return Value(.null, tainted: tainted) }
            let found = JSONPath.select(steps, in: root)
            if steps.contains(.all) {
                return Value(.list(found.map { Value(.json($0), tainted: tainted) }), tainted: tainted)
            }
            return Value(found.first.map { .json($0) } ?? .null, tainted: tainted)
        case "header":
            let response = try responseRequired("header", statement)
            return Value(
                response.response.header(try text(0)).map { .string($0) } ?? .null,
                tainted: response.tainted || argumentTaint)
        case "cookie":
            return Value(seenCookies[try text(0)].map { .string($0) } ?? .null, tainted: current?.tainted ?? false)
        case "text":
            let response = try responseRequired("text", statement)
            return Value(
                .bool(response.response.text.contains(try text(0))), tainted: response.tainted || argumentTaint)
        case "url":
            let response = try responseRequired("url", statement)
            let wanted = try text(0)
            let holds =
                wanted.hasPrefix("http://") || wanted.hasPrefix("https://")
                ? response.response.url.hasPrefix(wanted) : response.path.hasPrefix(wanted)
            return Value(.bool(holds), tainted: response.tainted || argumentTaint)
        case "element":
            let response = try responseRequired("element", statement)
            guard let page = response.page else { return Value(.bool(false), tainted: response.tainted) }
            do {
                switch try page.evaluate(try text(0)) {
                case .nodes(let nodes): return Value(.bool(!nodes.isEmpty), tainted: response.tainted)
                case .text(let value):
                    return Value(.bool(!value.isEmpty && value != "false" && value != "0"), tainted: response.tainted)
                }
            } catch let error as XPathError {
                throw failure(.layoutChanged, error.message, statement)
            }
        case "status":
            let response = try responseRequired("status", statement)
            return Value(.bool(Int64(response.response.status) == number(arguments[0])), tainted: response.tainted)
        case "ask":
            let question = try text(0)
            if options.dryRun { return .string("‹ask›", tainted: true) }
            guard let prompt, let code = await prompt.code(prompt: question, credential: credential.name), !code.isEmpty
            else {
                throw failure(
                    .mfaRequired, "the portal asks for a one-time code (\"\(question)\") that a person must type",
                    statement)
            }
            _ = Redactor.shared.register(text: code)
            return .string(code, tainted: true)
        case "count":
            return Value(.number(Int64(elements(of: arguments[0]).count)), tainted: argumentTaint)
        case "exists":
            let items = elements(of: arguments[0])
            return Value(.bool(!items.isEmpty && truth(arguments[0]) != false), tainted: argumentTaint)
        case "date":
            let source = try text(0)
            guard let date = ScraperInterpreter.parseDate(source) else {
                throw failure(.layoutChanged, "`\(source)` is not a date (2026-11-01, 11/01/2026, 20261101)", statement)
            }
            return Value(.date(date), tainted: argumentTaint)
        default:
            throw failure(.layoutChanged, "unknown function `\(name)`", statement)
        }
    }

    // MARK: Filters

    func filter(_ value: Value, _ name: String, _ arguments: [Value], _ expression: Expression, _ statement: Statement)
        throws -> Value
    {
        let tainted = value.tainted || arguments.contains { $0.tainted }
        if case .placeholder = value.kind, name != "default", name != "secret" {
            return Value(.placeholder(expression.text), tainted: tainted)
        }
        func argument(_ index: Int) throws -> String { try lenient(arguments[index]) }
        func text() throws -> String { try string(value, expression, statement) }
        switch name {
        case "date":
            let date: CalendarDate
            if case .date(let given) = value.kind {
                date = given
            } else {
                let source = try text()
                guard let parsed = ScraperInterpreter.parseDate(source) else {
                    throw failure(.layoutChanged, "`\(source)` is not a date", statement)
                }
                date = parsed
            }
            return .string(date.format(try argument(0)), tainted: tainted)
        case "add_days":
            guard case .date(let date) = value.kind, let days = Int(try argument(0)) else {
                throw failure(.layoutChanged, "`| add_days` needs a date and a number of days", statement)
            }
            return Value(.date(date.adding(days: days)), tainted: tainted)
        case "trim": return .string(try text().trimmingCharacters(in: .whitespacesAndNewlines), tainted: tainted)
        case "lower": return .string(try text().lowercased(), tainted: tainted)
        case "upper": return .string(try text().uppercased(), tainted: tainted)
        case "urlencode": return .string(FormEncoding.encode(try text()), tainted: tainted)
        case "digits": return .string(try text().filter { $0.isASCII && $0.isNumber }, tainted: tainted)
        case "base64": return .string(Data(try text().utf8).base64EncodedString(), tainted: tainted)
        case "amount": return .string(ScraperInterpreter.amountText(try text()), tainted: tainted)
        case "number":
            guard let number = Int64(try text().trimmingCharacters(in: .whitespaces)) else {
                throw failure(.layoutChanged, "`\(try text())` is not a whole number", statement)
            }
            return Value(.number(number), tainted: tainted)
        case "replace":
            return .string(
                try text().replacingOccurrences(of: try argument(0), with: try argument(1)), tainted: tainted)
        case "default":
            if case .placeholder = value.kind { return value }
            let empty = truth(value) == false || ((try? stringOrNil(value)) ?? "")?.isEmpty == true
            return empty ? Value(arguments[0].kind, tainted: tainted) : value
        case "first":
            return elements(of: value).first.map { Value($0.kind, tainted: tainted) } ?? Value(.null, tainted: tainted)
        case "last":
            return elements(of: value).last.map { Value($0.kind, tainted: tainted) } ?? Value(.null, tainted: tainted)
        case "count": return Value(.number(Int64(elements(of: value).count)), tainted: tainted)
        case "join":
            return .string(
                try elements(of: value).map { try lenient($0) }.joined(separator: try argument(0)), tainted: tainted)
        case "split":
            let separator = try argument(0)
            let parts = separator.isEmpty ? [try text()] : try text().components(separatedBy: separator)
            return Value(.list(parts.map { .string($0, tainted: tainted) }), tainted: tainted)
        case "secret":
            if let secret = try? stringOrNil(value) { _ = Redactor.shared.register(text: secret) }
            return value
        default:
            throw failure(.layoutChanged, "unknown filter `\(name)`", statement)
        }
    }
}
