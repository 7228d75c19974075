import Foundation
public import NightjarCore

/// An HTTP method.
public enum HTTPMethod: String, Sendable {
    case get = "GET", post = "POST", put = "PUT", head = "HEAD", delete = "DELETE"

    /// Safe to repeat after a failure.
    public var isIdempotent: Bool { self != .post }
}

/// What a request sends.
public enum HTTPBody: Sendable {
    case none
    /// `application/x-www-form-urlencoded`, fields in order.
    case form([(String, String)])
    /// `application/json`, bytes as given.
    case json([UInt8])
    /// Raw bytes with a content type.
    case raw([UInt8], contentType: String)
    /// `multipart/form-data`: fields and files.
    case multipart([MultipartPart])

    /// The bytes and the content type header value.
    func encoded() -> ([UInt8], String?) {
        switch self {
        case .none: return ([], nil)
        case .form(let fields):
            return (
                Array(
                    fields.map { "\(FormEncoding.encode($0.0))=\(FormEncoding.encode($0.1))" }.joined(separator: "&")
                        .utf8),
                "application/x-www-form-urlencoded"
            )
        case .json(let bytes): return (bytes, "application/json")
        case .raw(let bytes, let type): return (bytes, type)
        case .multipart(let parts):
            let boundary = "----nightjar" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            var body: [UInt8] = []
            for part in parts {
                var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
                if let filename = part.filename { head += "; filename=\"\(filename)\"" }
                head += "\r\n"
                if let type = part.contentType { head += "Content-Type: \(type)\r\n" }
                body += Array((head + "\r\n").utf8) + part.data + Array("\r\n".utf8)
            }
            body += Array("--\(boundary)--\r\n".utf8)
            return (body, "multipart/form-data; boundary=\(boundary)")
        }
    }
}

/// One part of a multipart form.
public struct MultipartPart: Sendable {
    public let name: String
    public let filename: String?
    public let contentType: String?
    public let data: [UInt8]

    public init(name: String, filename: String? = nil, contentType: String? = nil, data: [UInt8]) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }
}

/// `application/x-www-form-urlencoded` encoding (WHATWG): space as `+`, all else but `*-._` and alphanumerics escaped.
public enum FormEncoding {
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2A, 0x2D, 0x2E, 0x5F:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x20: out += "+"
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// A request.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var query: [(String, String)]
    public var headers: [(String, String)]
    public var body: HTTPBody
    /// POST and PUT are retried only when the caller says repeating them is harmless.
    public var retryable: Bool?

    public init(
        _ method: HTTPMethod = .get, _ url: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: HTTPBody = .none, retryable: Bool? = nil
    ) {
        self.method = method
        self.url = url
        self.query = query
        self.headers = headers
        self.body = body
        self.retryable = retryable
    }

    /// The URL with the query items appended.
    public var fullURL: String {
        guard !query.isEmpty else { return url }
        let encoded = query.map { "\(FormEncoding.encode($0.0))=\(FormEncoding.encode($0.1))" }.joined(separator: "&")
        return url + (url.contains("?") ? "&" : "?") + encoded
    }
}

/// A response: status, headers in order (repeats kept), the final URL and the body.
public struct HTTPResponse: Sendable {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let url: String
    public let body: [UInt8]
    /// How many times the request was sent for this answer (retries after 429, 503...).
    public var attempts = 1
    /// Set when the server asked to wait this long and the wait would pass the run's deadline.
    public var waitRefused: Duration?

    public init(status: Int, headers: [(name: String, value: String)], url: String, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.url = url
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { HTTPResponse.sameName($0.name, name) }?.value
    }

    /// Every value of header `name`.
    public func headers(named name: String) -> [String] {
        headers.filter { HTTPResponse.sameName($0.name, name) }.map(\.value)
    }

    /// Whether two header names are the same but for case: ASCII letters folded byte by byte
    /// (header names are ASCII tokens), any other name compared as Foundation does.
    static func sameName(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        let answer: Bool? = a.withUTF8 { left in
            b.withUTF8 { right -> Bool? in
                guard left.count == right.count else {
                    return left.allSatisfy { $0 < 0x80 } && right.allSatisfy { $0 < 0x80 } ? false : nil
                }
                for index in 0..<left.count {
                    let (x, y) = (left[index], right[index])
                    if x >= 0x80 || y >= 0x80 { return nil }
                    if x == y { continue }
                    let folded = x | 0x20
                    if folded != y | 0x20 || folded < 0x61 || folded > 0x7A { return false }
                }
                return true
            }
        }
        return answer ?? (a.caseInsensitiveCompare(b) == .orderedSame)
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Limits and timeouts of a transfer. Each breach is its own error.
public struct TransferLimits: Sendable {
    public var connectTimeout: Duration = .seconds(15)
    public var totalTimeout: Duration = .seconds(120)
    /// A transfer slower than `lowSpeedBytesPerSecond` for `lowSpeedTime` is stalled.
    public var lowSpeedBytesPerSecond = 1
    public var lowSpeedTime: Duration = .seconds(30)
    public var maximumResponseBytes = 64 * 1024 * 1024
    public var maximumRedirects = 10

    public init() {}
}

/// TLS settings of a portal. Peer and host verification are always on.
public struct TLSSettings: Sendable {
    /// A CA bundle to trust instead of the system's (a portal's own CA, or the sandbox's test CA).
    public var caBundle: String?
    /// A client certificate and key (PEM), for portals that use mutual TLS.
    public var clientCertificate: String?
    public var clientKey: String?
    /// Addresses pinned for names, as `HOST:PORT:ADDRESS` (libcurl's CURLOPT_RESOLVE): connections
    /// to HOST:PORT go to ADDRESS without asking DNS (a test giving a loopback server a name).
    public var resolve: [String]

    public init(
        caBundle: String? = nil, clientCertificate: String? = nil, clientKey: String? = nil, resolve: [String] = []
    ) {
        self.caBundle = caBundle
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.resolve = resolve
    }
}

/// Why a transfer failed. Codes are stable.
public enum HTTPError: NightjarError, Equatable {
    case invalidURL(String)
    case connectFailed(String)
    case connectTimeout
    case totalTimeout
    case stalled
    case responseTooLarge(Int)
    case tooManyRedirects(Int)
    case crossOriginBodyRedirect(String)
    case downgradeRedirect(String)
    case connectionReset
    case truncated
    case malformedResponse(String)
    case tls(String)
    case cancelled
    case other(String)

    public var code: String {
        switch self {
        case .invalidURL: "http.invalid_url"
        case .connectFailed: "http.connect_failed"
        case .connectTimeout: "http.timeout.connect"
        case .totalTimeout: "http.timeout.total"
        case .stalled: "http.timeout.stalled"
        case .responseTooLarge: "http.response_too_large"
        case .tooManyRedirects: "http.too_many_redirects"
        case .crossOriginBodyRedirect: "http.redirect.cross_origin_body"
        case .downgradeRedirect: "http.redirect.downgrade"
        case .connectionReset: "http.reset"
        case .truncated: "http.truncated"
        case .malformedResponse: "http.malformed_response"
        case .tls: "http.tls"
        case .cancelled: "http.cancelled"
        case .other: "http.error"
        }
    }

    public var message: String {
        switch self {
        case .invalidURL(let url): "not a valid http(s) URL: \(url)"
        case .connectFailed(let detail): "could not connect: \(detail)"
        case .connectTimeout: "the connection was not established in time"
        case .totalTimeout: "the transfer took longer than its time limit"
        case .stalled: "the transfer stalled (no data for too long)"
        case .responseTooLarge(let limit): "the response is larger than \(limit) bytes"
        case .tooManyRedirects(let limit): "more than \(limit) redirects"
        case .crossOriginBodyRedirect(let target):
            "a redirect asked to send the request body to another origin (\(target)); refused"
        case .downgradeRedirect(let target): "a redirect from https to http (\(target)); refused"
        case .connectionReset: "the server reset the connection"
        case .truncated: "the response ended before its declared length"
        case .malformedResponse(let detail): "the server's answer is not valid HTTP: \(detail)"
        case .tls(let detail): "TLS failed: \(detail)"
        case .cancelled: "the transfer was cancelled"
        case .other(let detail): detail
        }
    }

    public var exitStatus: ExitStatus { .failure }

    /// Worth trying again (connection trouble, not the server's considered answer).
    var isTransient: Bool {
        switch self {
        case .connectFailed, .connectTimeout, .totalTimeout, .stalled, .connectionReset, .truncated: true
        default: false
        }
    }

    /// Whether the request cannot have reached the server (so sending it again repeats nothing).
    var neverReachedServer: Bool {
        switch self {
        case .connectFailed, .connectTimeout: true
        default: false
        }
    }
}

extension String {
    /// The URL without the slashes it ends with (`imaps://host:993/` → `imaps://host:993`), so a
    /// path can be appended with one `/`: how every transport and runtime keeps its server's base.
    public var withoutTrailingSlashes: String {
        var url = self
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
