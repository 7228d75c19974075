import CMicroHTTPD
import Foundation
import NightjarCore

/// Where the server listens: `127.0.0.1:8080`, `[::1]:8443`, `0.0.0.0:80` (numeric addresses,
/// or `localhost`).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    public var isIPv6: Bool { host.contains(":") }

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public static func parse(_ text: String) throws -> ListenAddress {
        let problem = GeneralError(
            code: "serve.listen",
            message: "--listen takes HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (got \"\(text)\")",
            exitStatus: .usage)
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw problem
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw problem }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let port = UInt16(portText), !host.isEmpty else { throw problem }
        let address = ListenAddress(host: String(host), port: port)
        guard address.socketAddress() != nil else { throw problem }
        return address
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The address as a `sockaddr_in` or `sockaddr_in6`, or nil when the host is not numeric.
    func socketAddress() -> [UInt8]? {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return nil }
            return withUnsafeBytes(of: &address) { Array($0) }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}

/// Limits every request is held to before the application sees it.
public struct RequestLimits: Sendable {
    /// All header lines together (names and values).
    public var maximumHeaderBytes = 16 * 1024
    public var maximumHeaderCount = 64
    /// The path and query as sent.
    public var maximumURLBytes = 4 * 1024
    public var maximumBodyBytes = 64 * 1024
    /// Memory libmicrohttpd gives each connection; a request line with headers beyond it is
    /// refused by the library itself (431).
    public var connectionMemoryBytes = 64 * 1024
    public var maximumConnections = 512
    /// Concurrent connections from one address (0: no limit; behind a proxy every client has its address).
    public var connectionsPerAddress = 64
    /// A connection idle this long is closed.
    public var connectionTimeoutSeconds = 30

    public init() {}
}

/// The PEM files for HTTPS.
public struct TLSFiles: Sendable {
    public let certificate: String
    public let key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// An HTTP(S) server on libmicrohttpd: one thread per connection, requests checked against
/// `RequestLimits` (malformed or oversized ones answered 4xx here), the security headers added to
/// every answer the handler gives.
public final class HTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (SiteRequest) -> SiteResponse

    let handler: Handler
    let limits: RequestLimits
    let secure: Bool
    private var daemon: OpaquePointer?
    private var keyPEM: UnsafeMutablePointer<CChar>?
    private var certificatePEM: UnsafeMutablePointer<CChar>?
    /// The port it listens on (the one chosen by the system when asked for port 0).
    public private(set) var port: UInt16 = 0

    /// Starts serving at once; throws when the address cannot be bound or the TLS files do not load.
    public init(
        listen: ListenAddress, tls: TLSFiles?, limits: RequestLimits = RequestLimits(), handler: @escaping Handler
    ) throws {
        self.handler = handler
        self.limits = limits
        self.secure = tls != nil
        if let tls {
            guard cmhd_supports_tls() != 0 else {
                throw GeneralError(
                    code: "serve.tls", message: "this libmicrohttpd was built without TLS", exitStatus: .config)
            }
            func pem(_ path: String, _ what: String) throws -> UnsafeMutablePointer<CChar> {
                guard let data = FileManager.default.contents(atPath: path),
                    let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN")
                else {
                    throw GeneralError(
                        code: "serve.tls", message: "cannot read the \(what) \(path) (PEM)", exitStatus: .noInput)
                }
                return strdup(text)
            }
            certificatePEM = try pem(tls.certificate, "certificate")
            keyPEM = try pem(tls.key, "private key")
        }
        guard var address = listen.socketAddress() else {
            throw GeneralError(code: "serve.listen", message: "cannot listen on \(listen)", exitStatus: .usage)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let started: OpaquePointer? = address.withUnsafeMutableBytes { raw in
            var settings = cmhd_settings()
            settings.address = UnsafePointer(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self))
            settings.ipv6 = listen.isIPv6 ? 1 : 0
            settings.connection_memory_limit = limits.connectionMemoryBytes
            settings.connection_limit = UInt32(limits.maximumConnections)
            settings.per_ip_connection_limit = UInt32(limits.connectionsPerAddress)
            settings.connection_timeout_seconds = UInt32(limits.connectionTimeoutSeconds)
            settings.tls_key_pem = UnsafePointer(keyPEM)
            settings.tls_certificate_pem = UnsafePointer(certificatePEM)
            return cmhd_start(&settings, accessCallback, context, completedCallback, context)
        }
        guard let started else {
            free(keyPEM)
            free(certificatePEM)
            throw GeneralError(
                code: "serve.start",
                message: "cannot serve on \(listen): the address is in use or not this machine's"
                    + (tls != nil ? ", or the TLS certificate and key do not load" : ""), exitStatus: .cannotCreate)
        }
        daemon = started
        port = cmhd_bound_port(started)
    }

    /// Stops listening and waits for the connection threads to end.
    public func stop() {
        guard let daemon else { return }
        MHD_stop_daemon(daemon)
        self.daemon = nil
        free(keyPEM)
        free(certificatePEM)
        keyPEM = nil
        certificatePEM = nil
    }

    deinit { stop() }

    /// The headers every answer carries.
    func securityHeaders() -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            (
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
                    + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if secure { headers.append(("Strict-Transport-Security", "max-age=31536000")) }
        return headers
    }

    /// Queues `response` with the security headers.
    func queue(_ response: SiteResponse, on connection: OpaquePointer) -> MHD_Result {
        var response = response
        if response.header("Content-Type") == nil {
            response.headers.append(("Content-Type", "text/plain; charset=utf-8"))
        }
        let answer = response.body.withUnsafeBytes { bytes in
            MHD_create_response_from_buffer(
                bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
        }
        guard let answer else { return .NO }
        defer { MHD_destroy_response(answer) }
        for (name, value) in securityHeaders() + response.headers {
            // A header value with a line break would split the answer: never sent.
            guard !value.contains(where: { $0 == "\r" || $0 == "\n" }) else { continue }
            _ = MHD_add_response_header(answer, name, value)
        }
        return MHD_queue_response(connection, UInt32(response.status), answer)
    }

    func refusal(_ error: RequestError) -> SiteResponse {
        var response = SiteResponse.text("\(error.status) \(error.message)\n", status: error.status)
        if error.status == 413 || error.status == 431 { response.headers.append(("Connection", "close")) }
        return response
    }

    /// The first call of a request: its headers have arrived.
    func begin(_ connection: OpaquePointer, url: String, method: String) -> PendingRequest {
        let pending = PendingRequest(method: method, rawURL: url)
        let collector = Unmanaged.passUnretained(pending).toOpaque()
        _ = MHD_get_connection_values(
            connection, .HEADER_KIND,
            { context, _, key, value in
                let pending = Unmanaged<PendingRequest>.fromOpaque(context!).takeUnretainedValue()
                pending.rawHeaders.append(
                    (key.map { String(cString: $0) } ?? "", value.map { String(cString: $0) } ?? ""))
                return .YES
            }, collector)
        _ = MHD_get_connection_values(
            connection, .GET_ARGUMENT_KIND,
            { context, _, key, value in
                let pending = Unmanaged<PendingRequest>.fromOpaque(context!).takeUnretainedValue()
                pending.rawArguments.append((key.map { String(cString: $0) } ?? "", value.map { String(cString: $0) }))
                return .YES
            }, collector)
        var buffer = [CChar](repeating: 0, count: 64)
        if cmhd_client_address(connection, &buffer, socklen_t(buffer.count)) == 0 {
            pending.peerAddress = String(
                decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        do {
            try pending.check(limits)
        } catch {
            pending.refusal = refusal(error)
        }
        return pending
    }

    /// The last call of a request: the whole body is in. Builds the request and asks the handler.
    func finish(_ pending: PendingRequest) -> SiteResponse {
        if pending.bodyTooLarge {
            return refusal(
                RequestError(
                    code: "request.body_too_large", message: "the body is over \(limits.maximumBodyBytes) bytes",
                    status: 413))
        }
        do {
            let request = try pending.request(secure: secure)
            return handler(request)
        } catch {
            return refusal(error)
        }
    }

    func access(
        _ connection: OpaquePointer, url: String, method: String, upload: UnsafePointer<CChar>?,
        uploadSize: UnsafeMutablePointer<Int>, context: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let stored = context.pointee else {
            let pending = begin(connection, url: url, method: method)
            context.pointee = Unmanaged.passRetained(pending).toOpaque()
            if let refusal = pending.refusal { return queue(refusal, on: connection) }
            return .YES
        }
        let pending = Unmanaged<PendingRequest>.fromOpaque(stored).takeUnretainedValue()
        let count = uploadSize.pointee
        if count > 0 {
            if let upload, !pending.bodyTooLarge, pending.body.count + count <= limits.maximumBodyBytes {
                upload.withMemoryRebound(to: UInt8.self, capacity: count) {
                    pending.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count))
                }
            } else {
                pending.bodyTooLarge = true
                pending.body = []
                pending.discarded += count
                // Reading an endless body only to refuse it is not worth it: hang up.
                if pending.discarded > 4 * limits.maximumBodyBytes { return .NO }
            }
            uploadSize.pointee = 0
            return .YES
        }
        return queue(finish(pending), on: connection)
    }
}

/// A request while it arrives.
final class PendingRequest {
    let method: String
    let rawURL: String
    var rawHeaders: [(String, String)] = []
    var rawArguments: [(String, String?)] = []
    var peerAddress = "unknown"
    var body: [UInt8] = []
    var bodyTooLarge = false
    var discarded = 0
    var refusal: SiteResponse?

    init(method: String, rawURL: String) {
        self.method = method
        self.rawURL = rawURL
    }

    /// Limits that can be checked once the headers are in.
    func check(_ limits: RequestLimits) throws(RequestError) {
        guard ["GET", "HEAD", "POST"].contains(method) else {
            throw RequestError(code: "request.method", message: "method \(method) is not served here", status: 405)
        }
        let headerBytes = rawHeaders.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 }
        guard rawHeaders.count <= limits.maximumHeaderCount, headerBytes <= limits.maximumHeaderBytes else {
            throw RequestError(
                code: "request.headers_too_large",
                message:
                    "the headers are over \(limits.maximumHeaderBytes) bytes or \(limits.maximumHeaderCount) lines",
                status: 431)
        }
        let urlBytes = rawURL.utf8.count + rawArguments.reduce(0) { $0 + $1.0.utf8.count + ($1.1?.utf8.count ?? 0) + 2 }
        guard urlBytes <= limits.maximumURLBytes else {
            throw RequestError(
                code: "request.url_too_long", message: "the address is over \(limits.maximumURLBytes) bytes",
                status: 414)
        }
        if let length = rawHeaders.first(where: { $0.0.lowercased() == "content-length" })?.1 {
            guard let value = Int(length.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw RequestError(
                    code: "request.content_length", message: "Content-Length is not a number", status: 400)
            }
            guard value <= limits.maximumBodyBytes else {
                throw RequestError(
                    code: "request.body_too_large", message: "the body is over \(limits.maximumBodyBytes) bytes",
                    status: 413)
            }
        }
    }

    /// The decoded request; malformed percent-encoding anywhere is an error.
    func request(secure: Bool) throws(RequestError) -> SiteRequest {
        let path = try PercentEncoding.decode(rawURL.utf8, plusIsSpace: false, what: "the path")
        guard path.hasPrefix("/") else {
            throw RequestError(code: "request.path", message: "the path must start with /", status: 400)
        }
        var segments: [String] = []
        for raw in rawURL.utf8.split(separator: UInt8(ascii: "/")) {
            let segment = try PercentEncoding.decode(raw, plusIsSpace: false, what: "the path")
            guard segment != "..", segment != "." else {
                throw RequestError(code: "request.path", message: "the path may not hold . or ..", status: 400)
            }
            segments.append(segment)
        }
        var query: [(name: String, value: String)] = []
        for (name, value) in rawArguments {
            // libmicrohttpd has already turned `+` into a space; `%2B` is still escaped.
            query.append(
                (
                    try PercentEncoding.decode(name.utf8, plusIsSpace: false, what: "a query name"),
                    try PercentEncoding.decode((value ?? "").utf8, plusIsSpace: false, what: "a query value")
                ))
        }
        var headers: [String: String] = [:]
        for (name, value) in rawHeaders {
            let key = name.lowercased()
            headers[key] = headers[key].map { $0 + ", " + value } ?? value
        }
        return SiteRequest(
            method: method, path: path, segments: segments, query: FormFields(query), headers: headers, body: body,
            peerAddress: peerAddress, secure: secure)
    }
}

private func accessCallback(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ upload: UnsafePointer<CChar>?,
    _ uploadSize: UnsafeMutablePointer<Int>?, _ requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let context, let connection, let url, let method, let uploadSize, let requestContext else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
    return server.access(
        connection, url: String(cString: url), method: String(cString: method), upload: upload, uploadSize: uploadSize,
        context: requestContext)
}

private func completedCallback(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ reason: MHD_RequestTerminationCode
) {
    guard let requestContext, let stored = requestContext.pointee else { return }
    Unmanaged<PendingRequest>.fromOpaque(stored).release()
    requestContext.pointee = nil
}
