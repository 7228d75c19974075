import CXML
import Foundation
import NightjarCore

/// A page parsed with libxml2's forgiving HTML parser (real portals send broken HTML), queried
/// with XPath 1.0. Nodes keep their page alive.
final class HTMLPage: @unchecked Sendable {
    let document: htmlDocPtr
    /// Pages larger than this are not parsed (a hostile portal must not exhaust memory).
    static let maximumBytes = 32 * 1024 * 1024

    init?(_ bytes: [UInt8]) {
        guard bytes.count <= HTMLPage.maximumBytes else { return nil }
        let options = Int32(HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue
                            | HTML_PARSE_NONET.rawValue | HTML_PARSE_NOIMPLIED.rawValue)
        let parsed: htmlDocPtr? = bytes.isEmpty ? nil : bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                htmlReadMemory($0, Int32(buffer.count), "page.html", "UTF-8", options)
            }
        }
        guard let parsed else { return nil }
        document = parsed
    }

    deinit { xmlFreeDoc(document) }

    enum Result {
        case nodes([HTMLNode])
        case text(String)
    }

    /// Evaluates `expression` with `context` as the context node (the document when nil).
    func evaluate(_ expression: String, context: HTMLNode? = nil) throws(XPathError) -> Result {
        guard let xpathContext = xmlXPathNewContext(document) else { throw XPathError(message: "out of memory") }
        defer { xmlXPathFreeContext(xpathContext) }
        if let context { xpathContext.pointee.node = context.node }
        guard let object = xmlXPathEvalExpression(expression, xpathContext) else {
            throw XPathError(message: "`\(expression)` is not a valid XPath 1.0 expression")
        }
        defer { xmlXPathFreeObject(object) }
        switch object.pointee.type {
        case XPATH_NODESET:
            var nodes: [HTMLNode] = []
            if let set = object.pointee.nodesetval, set.pointee.nodeNr > 0 {
                for index in 0..<Int(set.pointee.nodeNr) {
                    if let node = set.pointee.nodeTab[index] { nodes.append(HTMLNode(page: self, node: node)) }
                }
            }
            return .nodes(nodes)
        case XPATH_STRING:
            return .text(object.pointee.stringval.map { String(cString: $0) } ?? "")
        case XPATH_NUMBER:
            let value = object.pointee.floatval
            return .text(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value))
        case XPATH_BOOLEAN:
            return .text(object.pointee.boolval != 0 ? "true" : "false")
        default:
            return .text("")
        }
    }
}

struct XPathError: Error { let message: String }

/// One node of a page (an element, an attribute or text).
struct HTMLNode: @unchecked Sendable {
    let page: HTMLPage
    let node: xmlNodePtr

    /// The node's text, with runs of white space collapsed and the ends trimmed.
    var text: String {
        guard let content = xmlNodeGetContent(node) else { return "" }
        defer { cxml_free(content) }
        return String(cString: content).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\u{A0}" })
            .joined(separator: " ")
    }
}

/// A path into JSON: `items`, `items[0].id`, `$.data.rows[*]`, `meta."next-cursor"`.
enum JSONPath {
    enum Step: Equatable { case key(String), index(Int), all }

    static func parse(_ text: String) -> [Step]? {
        var steps: [Step] = []
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("$") { rest = rest.dropFirst() }
        if rest.hasPrefix(".") { rest = rest.dropFirst() }
        while !rest.isEmpty {
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                let inside = rest[rest.index(after: rest.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                if inside == "*" { steps.append(.all) } else if let index = Int(inside) { steps.append(.index(index)) } else if inside.hasPrefix("\"") || inside.hasPrefix("'") {
                    steps.append(.key(String(inside.dropFirst().dropLast())))
                } else { return nil }
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

    /// Every value the path reaches (`[*]` fans out).
    static func select(_ steps: [Step], in root: Any) -> [Any] {
        var current: [Any] = [root]
        for step in steps {
            var next: [Any] = []
            for value in current {
                switch step {
                case .key(let key): if let object = value as? [String: Any], let found = object[key] { next.append(found) }
                case .index(let index):
                    if let array = value as? [Any] {
                        let resolved = index < 0 ? array.count + index : index
                        if array.indices.contains(resolved) { next.append(array[resolved]) }
                    }
                case .all:
                    if let array = value as? [Any] { next += array } else if let object = value as? [String: Any] {
                        next += object.keys.sorted().compactMap { object[$0] }
                    }
                }
            }
            current = next
        }
        return current
    }
}

/// Regular expressions over page text, capped in input size and time: a hostile page must not
/// hang a definition's regex.
enum BoundedRegex {
    /// Text longer than this is cut before matching.
    static let maximumInput = 1024 * 1024
    /// Matching stops after this long.
    static let timeLimit: TimeInterval = 1

    enum Failure: Error { case invalid(String), timedOut }

    /// Every match: the first capture group when the pattern has one, else the whole match.
    static func matches(_ pattern: String, in text: String) throws(Failure) -> [String] {
        let regex: NSRegularExpression
        do { regex = try NSRegularExpression(pattern: pattern) } catch { throw .invalid(pattern) }
        let input = text.utf16.count > maximumInput ? String(decoding: Array(text.utf8.prefix(maximumInput)), as: UTF8.self) : text
        let deadline = Date().addingTimeInterval(timeLimit)
        var results: [String] = []
        var timedOut = false
        let range = NSRange(input.startIndex..., in: input)
        regex.enumerateMatches(in: input, options: [.reportProgress], range: range) { match, _, stop in
            if Date() > deadline {
                timedOut = true
                stop.pointee = true
                return
            }
            guard let match else { return }
            let chosen = match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? match.range(at: 1) : match.range
            if let swiftRange = Range(chosen, in: input) { results.append(String(input[swiftRange])) }
            if results.count >= 10_000 { stop.pointee = true }
        }
        if timedOut { throw .timedOut }
        return results
    }
}
