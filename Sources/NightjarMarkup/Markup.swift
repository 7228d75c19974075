internal import CXML

/// A document parsed by libxml2: a page with its forgiving HTML parser (real portals send broken
/// HTML), or a well-formed XML part (a workbook's sheet) with no network access and no entity
/// expansion. Queried with XPath 1.0 or walked by element names. Nodes keep their document alive.
public final class MarkupDocument: @unchecked Sendable {
    // The document is never changed after parsing; libxml2 reads of one tree from several
    // threads at once are not made, since each use holds its own node list.
    let document: xmlDocPtr

    /// Documents larger than this are not parsed (a hostile input must not exhaust memory).
    public static let maximumBytes = 256 * 1024 * 1024
    /// Pages larger than this are not parsed as HTML.
    public static let maximumHTMLBytes = 32 * 1024 * 1024

    private init(_ document: xmlDocPtr) { self.document = document }

    deinit { xmlFreeDoc(document) }

    /// Parses HTML, or nil when it is empty or too large to parse.
    public static func html(_ bytes: [UInt8]) -> MarkupDocument? {
        guard !bytes.isEmpty, bytes.count <= maximumHTMLBytes else { return nil }
        let options = Int32(
            HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue
                | HTML_PARSE_NONET.rawValue | HTML_PARSE_NOIMPLIED.rawValue)
        let parsed: htmlDocPtr? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                htmlReadMemory($0, Int32(buffer.count), "page.html", "UTF-8", options)
            }
        }
        return parsed.map(MarkupDocument.init)
    }

    /// Parses well-formed XML, or nil when it is not well-formed (or too large).
    public static func xml(_ bytes: [UInt8]) -> MarkupDocument? {
        guard !bytes.isEmpty, bytes.count <= maximumBytes else { return nil }
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                cxml_read_xml($0, Int32(buffer.count))
            }
        }
        return parsed.map(MarkupDocument.init)
    }

    /// The root element.
    public var root: MarkupNode? { xmlDocGetRootElement(document).map { MarkupNode(document: self, node: $0) } }

    /// What an XPath expression gives.
    public enum Result {
        case nodes([MarkupNode])
        case text(String)
    }

    /// Evaluates `expression` with `context` as the context node (the document when nil).
    public func evaluate(_ expression: String, context: MarkupNode? = nil) throws(XPathError) -> Result {
        guard let xpathContext = xmlXPathNewContext(document) else { throw XPathError(message: "out of memory") }
        defer { xmlXPathFreeContext(xpathContext) }
        if let context { xpathContext.pointee.node = context.node }
        guard let object = xmlXPathEvalExpression(expression, xpathContext) else {
            throw XPathError(message: "`\(expression)` is not a valid XPath 1.0 expression")
        }
        defer { xmlXPathFreeObject(object) }
        switch object.pointee.type {
        case XPATH_NODESET:
            var nodes: [MarkupNode] = []
            if let set = object.pointee.nodesetval, set.pointee.nodeNr > 0 {
                for index in 0..<Int(set.pointee.nodeNr) {
                    if let node = set.pointee.nodeTab[index] { nodes.append(MarkupNode(document: self, node: node)) }
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

    /// A page's title (or its first heading), for messages about pages that came instead of a document.
    public static func htmlTitle(_ bytes: [UInt8]) -> String? {
        guard let page = html(Array(bytes.prefix(1 << 20))) else { return nil }
        for expression in ["//title", "//h1"] {
            if case .nodes(let nodes)? = try? page.evaluate(expression), let text = nodes.first?.text, !text.isEmpty {
                return String(text.prefix(80))
            }
        }
        return nil
    }

    /// Whether `expression` is valid XPath 1.0 (checked without a document).
    public static func isValidXPath(_ expression: String) -> Bool {
        guard let compiled = xmlXPathCompile(expression) else { return false }
        xmlXPathFreeCompExpr(compiled)
        return true
    }
}

/// An XPath expression libxml2 refused.
public struct XPathError: Error, Sendable {
    public let message: String
}

/// One node of a document (an element, an attribute or text). Element names are compared
/// without namespace prefixes.
public struct MarkupNode: @unchecked Sendable {
    public let document: MarkupDocument
    let node: xmlNodePtr

    init(document: MarkupDocument, node: xmlNodePtr) {
        self.document = document
        self.node = node
    }

    /// The element's name (without a namespace prefix).
    public var name: String { String(cString: node.pointee.name) }

    /// Whether this is an element (not text, a comment or an attribute).
    public var isElement: Bool { node.pointee.type == XML_ELEMENT_NODE }

    /// The node's text content exactly as written (entities decoded).
    public var content: String {
        guard let content = xmlNodeGetContent(node) else { return "" }
        defer { cxml_free(content) }
        return String(cString: content)
    }

    /// The node's text, with runs of white space collapsed and the ends trimmed (as a reader sees it).
    public var text: String {
        content.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\u{A0}" }).joined(
            separator: " ")
    }

    /// Child elements named `name`, in order.
    public func children(named name: String) -> [MarkupNode] {
        children.filter { $0.name == name }
    }

    /// Child elements, in order.
    public var children: [MarkupNode] {
        var result: [MarkupNode] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE { result.append(MarkupNode(document: document, node: current)) }
            child = current.pointee.next
        }
        return result
    }

    /// Descendant elements named `name`, breadth first.
    public func descendants(named name: String) -> [MarkupNode] {
        var result: [MarkupNode] = []
        var queue: [xmlNodePtr] = []
        var child = node.pointee.children
        while let current = child {
            queue.append(current)
            child = current.pointee.next
        }
        var index = 0
        while index < queue.count {
            let current = queue[index]
            index += 1
            guard current.pointee.type == XML_ELEMENT_NODE else { continue }
            if String(cString: current.pointee.name) == name {
                result.append(MarkupNode(document: document, node: current))
            }
            var inner = current.pointee.children
            while let next = inner {
                queue.append(next)
                inner = next.pointee.next
            }
        }
        return result
    }

    /// The attribute `name`, if present.
    public func attribute(_ name: String) -> String? {
        var property = node.pointee.properties
        while let attribute = property {
            if String(cString: attribute.pointee.name) == name,
                let value = xmlNodeGetContent(UnsafeMutablePointer(OpaquePointer(attribute)))
            {
                defer { cxml_free(value) }
                return String(cString: value)
            }
            property = attribute.pointee.next
        }
        return nil
    }
}
