import Foundation
public import NightjarCore

/// A request the server could not accept: malformed or over a limit. Answered with `status`
/// and the server goes on serving.
public struct RequestError: NightjarError, Equatable {
    public let code: String
    public let message: String
    /// The HTTP status it is answered with (400, 405, 413, 431, ...).
    public let status: Int
    public var exitStatus: ExitStatus { .dataError }

    public init(code: String, message: String, status: Int) {
        self.code = code
        self.message = message
        self.status = status
    }

    static func badEncoding(_ what: String) -> RequestError {
        RequestError(code: "request.bad_encoding", message: "\(what) is not valid percent-encoded UTF-8", status: 400)
    }
}

/// Percent-encoding, decoded strictly: `%` must be followed by two hex digits, the result must
/// be UTF-8 and hold no NUL or other control character (form fields may hold tabs and line breaks).
public enum PercentEncoding {
    /// Decodes `text`; with `plusIsSpace`, `+` is a space (form and query encoding).
    public static func decode(
        _ text: some Collection<UInt8>, plusIsSpace: Bool, allowLineBreaks: Bool = false,
        what: String = "a value"
    ) throws(RequestError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            index = text.index(after: index)
            switch byte {
            case UInt8(ascii: "%"):
                guard index != text.endIndex, let high = hexValue(text[index]) else { throw .badEncoding(what) }
                index = text.index(after: index)
                guard index != text.endIndex, let low = hexValue(text[index]) else { throw .badEncoding(what) }
                index = text.index(after: index)
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        for byte in bytes where byte < 0x20 || byte == 0x7F {
            guard allowLineBreaks, byte == 9 || byte == 10 || byte == 13 else { throw .badEncoding(what) }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw .badEncoding(what) }
        return decoded
    }

    /// Encodes `text` for a path segment or a query value: everything but unreserved characters.
    public static func encode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 15)]))
            }
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }
}

/// Fields of a query string or an `application/x-www-form-urlencoded` body, in order.
public struct FormFields: Sendable, Equatable {
    public private(set) var pairs: [(name: String, value: String)]

    public init(_ pairs: [(name: String, value: String)] = []) { self.pairs = pairs }

    /// The first value of `name`, if any.
    public subscript(_ name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// Every value of `name`.
    public func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// Parses `a=1&b=two+words&c=%2B`; a malformed escape is an error, never a guess.
    public static func parse(urlEncoded bytes: some Collection<UInt8>, maximumFields: Int = 200) throws(RequestError)
        -> FormFields
    {
        var pairs: [(name: String, value: String)] = []
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard pairs.count < maximumFields else {
                throw RequestError(
                    code: "request.too_many_fields", message: "more than \(maximumFields) form fields", status: 413)
            }
            let equals = part.firstIndex(of: UInt8(ascii: "="))
            let name = try PercentEncoding.decode(
                part[..<(equals ?? part.endIndex)], plusIsSpace: true, what: "a field name")
            let value =
                try equals.map { index throws(RequestError) in
                    try PercentEncoding.decode(
                        part[part.index(after: index)...], plusIsSpace: true, allowLineBreaks: true,
                        what: "field \(name)")
                } ?? ""
            pairs.append((name, value))
        }
        return FormFields(pairs)
    }

    public static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.pairs.count == rhs.pairs.count
            && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// The fields as a query string (`?a=1&b=2`), or "" when there are none.
    public var queryString: String {
        pairs.isEmpty
            ? ""
            : "?"
                + pairs.map { PercentEncoding.encode($0.name) + "=" + PercentEncoding.encode($0.value) }.joined(
                    separator: "&")
    }
}

/// A request as the site sees it: method, decoded path and query, headers, cookies and body.
public struct SiteRequest: Sendable {
    public let method: String
    /// The decoded path, always starting with `/`.
    public let path: String
    /// The path's segments, each decoded on its own (so an escaped `/` stays inside its segment).
    public let segments: [String]
    public let query: FormFields
    /// Header values by lower-cased name (repeated headers joined with ", ").
    public let headers: [String: String]
    public let body: [UInt8]
    /// The address of the peer that connected (a proxy's, behind one).
    public let peerAddress: String
    /// Whether the connection is HTTPS.
    public let secure: Bool

    public init(
        method: String, path: String, segments: [String]? = nil, query: FormFields = FormFields(),
        headers: [String: String] = [:],
        body: [UInt8] = [], peerAddress: String = "127.0.0.1", secure: Bool = false
    ) {
        self.method = method
        self.path = path
        self.segments = segments ?? path.split(separator: "/").map(String.init)
        self.query = query
        self.headers = headers
        self.body = body
        self.peerAddress = peerAddress
        self.secure = secure
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// Cookies from the `Cookie` header (the first of a repeated name wins).
    public var cookies: [String: String] {
        var result: [String: String] = [:]
        for part in (header("cookie") ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            if result[name] == nil { result[name] = value }
        }
        return result
    }

    /// The body as form fields (for `application/x-www-form-urlencoded` posts).
    public func form() throws(RequestError) -> FormFields {
        let type =
            (header("content-type") ?? "").split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        guard type == "application/x-www-form-urlencoded" || (type.isEmpty && body.isEmpty) else {
            throw RequestError(
                code: "request.content_type", message: "forms are sent as application/x-www-form-urlencoded",
                status: 415)
        }
        return try FormFields.parse(urlEncoded: body)
    }
}

/// An answer: status, headers and body. The server adds the security headers to every one.
public struct SiteResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An HTML page (never cached: it shows a person's work).
    public static func html(_ text: String, status: Int = 200) -> SiteResponse {
        SiteResponse(
            status: status, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            body: Array(text.utf8))
    }

    /// A plain-text answer.
    public static func text(_ text: String, status: Int) -> SiteResponse {
        SiteResponse(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
            body: Array(text.utf8))
    }

    /// `303 See Other` to `location` (after a form, so a reload does not post again).
    public static func redirect(_ location: String) -> SiteResponse {
        SiteResponse(status: 303, headers: [("Location", location), ("Cache-Control", "no-store")])
    }

    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }

    public mutating func setCookie(_ value: String) { headers.append(("Set-Cookie", value)) }
}
