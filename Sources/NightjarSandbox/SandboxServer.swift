import COpenSSL
import CZlib
import Foundation
import Synchronization

/// A request as the sandbox received it.
public struct SandboxRequest: Sendable {
    public let method: String
    public let path: String
    public let query: [String: String]
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { SandboxRequest.sameName($0.name, name) }?.value
    }

    /// Whether two header names are the same, case aside (`caseInsensitiveCompare`; byte by byte
    /// when both are ASCII, as header names are).
    static func sameName(_ first: String, _ second: String) -> Bool {
        var first = first
        var second = second
        let ascii = first.withUTF8 { one in
            second.withUTF8 { other -> Bool? in
                guard one.allSatisfy({ $0 < 0x80 }), other.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard one.count == other.count else { return false }
                for index in 0..<one.count where lowered(one[index]) != lowered(other[index]) { return false }
                return true
            }
        }
        return ascii ?? (first.caseInsensitiveCompare(second) == .orderedSame)
    }

    private static func lowered(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte | 0x20 : byte }

    /// The method, the target and the header fields of a request head (the bytes before the blank
    /// line), or nil when its first line has no target. A header value loses the white space
    /// around it (`trimmingCharacters(in: .whitespaces)`); a line without a colon is ignored. Split
    /// at bytes, as the wire is: a space or colon followed by a combining mark splits here.
    static func parseHead(_ head: ArraySlice<UInt8>) -> (
        method: String, target: String, headers: [(name: String, value: String)]
    )? {
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        var index = head.startIndex
        while index + 1 < head.endIndex {
            if head[index] == 13, head[index + 1] == 10 {
                lines.append(head[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        lines.append(head[start...])
        let requestLine = lines[0].split(separator: 32)
        guard requestLine.count >= 2 else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: 58) else { continue }
            headers.append(
                (String(decoding: line[..<colon], as: UTF8.self), trimmedValue(line[(colon + 1)...])))
        }
        return (
            String(decoding: requestLine[0], as: UTF8.self), String(decoding: requestLine[1], as: UTF8.self), headers
        )
    }

    /// A header value without the white space around it: spaces and tabs cut byte by byte, and
    /// when a non-ASCII byte is left at either end (it may be Unicode white space), Foundation's
    /// trimming of what is left.
    static func trimmedValue(_ bytes: ArraySlice<UInt8>) -> String {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == 32 || bytes[start] == 9 { start += 1 }
        while end > start, bytes[end - 1] == 32 || bytes[end - 1] == 9 { end -= 1 }
        let value = String(decoding: bytes[start..<end], as: UTF8.self)
        guard start < end, bytes[start] >= 0x80 || bytes[end - 1] >= 0x80 else { return value }
        return value.trimmingCharacters(in: .whitespaces)
    }

    /// Form fields of an urlencoded body.
    public var form: [String: String] { SandboxRequest.parseQuery(String(decoding: body, as: UTF8.self)) }

    /// Cookies the client sent.
    public var cookies: [String: String] {
        var result: [String: String] = [:]
        for part in (header("Cookie") ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { SandboxRequest.trimmedValue(Array($0.utf8)[...]) }
            if pair.count == 2 { result[pair[0]] = pair[1] }
        }
        return result
    }

    static func parseQuery(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if let key = parts.first { result[key] = parts.count > 1 ? parts[1] : "" }
        }
        return result
    }
}

/// A misbehaviour the sandbox can produce at the byte level.
public enum SandboxFault: Sendable, Equatable {
    /// Declare the full length, send half the body, close.
    case truncateBody
    /// Send half the body, then reset the connection (RST).
    case resetMidBody
    /// Send the headers, then nothing for this long.
    case stall(seconds: Double)
    /// Answer with something that is not an HTTP status line.
    case malformedStatusLine
    /// Add a header line of this many bytes.
    case hugeHeader(bytes: Int)
    /// Close without answering.
    case closeWithoutResponse
}

/// A response to send.
public struct SandboxResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var fault: SandboxFault?
    public var chunked = false
    public var gzip = false

    public init(status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = [], fault: SandboxFault? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.fault = fault
    }

    public static func text(_ text: String, status: Int = 200, type: String = "text/plain; charset=utf-8")
        -> SandboxResponse
    {
        SandboxResponse(status: status, headers: [("Content-Type", type)], body: Array(text.utf8))
    }

    public static func html(_ html: String, status: Int = 200) -> SandboxResponse {
        text(html, status: status, type: "text/html; charset=utf-8")
    }
    public static func json(_ json: String, status: Int = 200) -> SandboxResponse {
        text(json, status: status, type: "application/json")
    }

    public static func redirect(_ location: String, status: Int = 302) -> SandboxResponse {
        SandboxResponse(status: status, headers: [("Location", location)])
    }
}

/// An HTTP/1.1 server on plain sockets, bound to 127.0.0.1 only, one thread per connection, so
/// it can misbehave at the byte level. For tests and the demo.
public final class SandboxServer: Sendable {
    public typealias Handler = @Sendable (SandboxRequest) -> SandboxResponse

    public let port: UInt16
    private let listener: Int32
    private let handler: Handler
    /// The TLS context when serving HTTPS (immutable after init; libssl contexts are thread-safe for SSL_new).
    private let tlsContext: TLSContext?
    private let state = Mutex<(requests: Int, stopped: Bool, latency: Double)>((0, false, 0))

    /// Listens on 127.0.0.1 at `port` (0 chooses a free one); serves HTTPS with `tls`.
    public init(
        port: UInt16 = 0, tls: TestCertificates? = nil, requireClientCertificate: Bool = false,
        handler: @escaping Handler
    ) throws {
        tlsContext = try tls.map {
            try TLSContext(
                certificate: $0.serverCertificate, key: $0.serverKey,
                clientCA: requireClientCertificate ? $0.caCertificate : nil)
        }
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw SandboxError("cannot create a socket") }
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(socket, 512) == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw SandboxError("cannot listen on 127.0.0.1:\(port) (\(reason))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        listener = socket
        self.handler = handler
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// `http://127.0.0.1:PORT` + path (`https://localhost:PORT` when serving TLS, to match the certificate).
    public func url(_ path: String = "/") -> String {
        tlsContext == nil ? "http://127.0.0.1:\(port)\(path)" : "https://localhost:\(port)\(path)"
    }

    /// Requests answered so far.
    public var requestCount: Int { state.withLock { $0.requests } }

    /// A fixed delay added before every answer.
    public func setLatency(seconds: Double) { state.withLock { $0.latency = seconds } }

    public func stop() {
        state.withLock { $0.stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func acceptLoop() {
        while !stopped {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if stopped { return }
                continue
            }
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            // Answers go out at once, as a real server's do: without this, a small second write waits
            // for the client's delayed acknowledgement (about 40 ms on Linux).
            var noDelay: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ socket: Int32) {
        defer { close(socket) }
        var ssl: OpaquePointer?
        if let tlsContext {
            ssl = SSL_new(tlsContext.pointer)
            guard let ssl, SSL_set_fd(ssl, socket) == 1, SSL_accept(ssl) == 1 else {
                if let ssl { SSL_free(ssl) }
                ERR_clear_error()
                return
            }
        }
        defer {
            if let ssl {
                SSL_shutdown(ssl)
                SSL_free(ssl)
            }
        }
        let connection = Connection(socket: socket, ssl: ssl)
        var buffer: [UInt8] = []
        while !stopped {
            guard let request = readRequest(connection, &buffer) else { return }
            state.withLock { $0.requests += 1 }
            let latency = state.withLock { $0.latency }
            if latency > 0 { usleep(UInt32(latency * 1_000_000)) }
            let response = handler(request)
            guard write(response, to: connection) else { return }
            if request.header("Connection")?.lowercased() == "close" { return }
        }
    }

    private func readRequest(_ connection: Connection, _ buffer: inout [UInt8]) -> SandboxRequest? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            if let index = find(separator, in: buffer) {
                headerEnd = index
                break
            }
            guard buffer.count < 1 << 20, receive(connection, &buffer) else { return nil }
        }
        let parsed = SandboxRequest.parseHead(buffer[0..<headerEnd!])
        buffer.removeFirst(headerEnd! + 4)
        guard let (method, target, headers) = parsed else { return nil }
        let header = { (name: String) in headers.first { SandboxRequest.sameName($0.name, name) }?.value }
        var body: [UInt8] = []
        if let length = header("Content-Length").flatMap(Int.init), length > 0 {
            while buffer.count < length { guard receive(connection, &buffer) else { return nil } }
            body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else if header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                var lineEnd = find([13, 10], in: buffer)
                while lineEnd == nil {
                    guard receive(connection, &buffer) else { return nil }
                    lineEnd = find([13, 10], in: buffer)
                }
                let size =
                    Int(String(decoding: buffer[0..<lineEnd!], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
                buffer.removeFirst(lineEnd! + 2)
                while buffer.count < size + 2 { guard receive(connection, &buffer) else { return nil } }
                body += buffer[0..<size]
                buffer.removeFirst(size + 2)
                if size == 0 { break }
            }
        }
        let parts = target.split(separator: "?", maxSplits: 1)
        return SandboxRequest(
            method: method, path: String(parts[0]),
            query: parts.count > 1 ? SandboxRequest.parseQuery(String(parts[1])) : [:],
            headers: headers, body: body)
    }

    private func receive(_ connection: Connection, _ buffer: inout [UInt8]) -> Bool {
        let count = connection.receive(into: &buffer, upTo: 16 * 1024)
        return count > 0
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        search: for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
            for offset in 1..<needle.count where haystack[index + offset] != needle[offset] { continue search }
            return index
        }
        return nil
    }

    private func send(_ bytes: [UInt8], to connection: Connection) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = connection.send(bytes[offset...])
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// Writes the response, or the fault it asks for. Returns false when the connection is done.
    private func write(_ response: SandboxResponse, to connection: Connection) -> Bool {
        if response.fault == .closeWithoutResponse { return false }
        if response.fault == .malformedStatusLine {
            _ = send(Array("HTXP/9 what\r\n\r\nhello".utf8), to: connection)
            return false
        }
        var body = response.body
        var headers = response.headers
        if response.gzip, let compressed = SandboxServer.gzip(body) {
            body = compressed
            headers.append(("Content-Encoding", "gzip"))
        }
        var head = "HTTP/1.1 \(response.status) \(SandboxServer.reason(response.status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if case .hugeHeader(let bytes) = response.fault {
            head += "X-Padding: " + String(repeating: "a", count: bytes) + "\r\n"
        }
        head += response.chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(body.count)\r\n"
        head += "\r\n"
        if response.fault == nil && !response.chunked {
            // Head and body in one write.
            return send(Array(head.utf8) + body, to: connection)
        }
        guard send(Array(head.utf8), to: connection) else { return false }
        switch response.fault {
        case .truncateBody:
            _ = send(Array(body.prefix(body.count / 2)), to: connection)
            return false
        case .resetMidBody:
            _ = send(Array(body.prefix(body.count / 2)), to: connection)
            var linger = Foundation.linger(l_onoff: 1, l_linger: 0)
            setsockopt(
                connection.socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Foundation.linger>.size))
            return false
        case .stall(let seconds):
            let end = Date().addingTimeInterval(seconds)
            while Date() < end && !stopped { usleep(50_000) }
            return false
        default:
            break
        }
        if response.chunked {
            var offset = 0
            while offset < body.count {
                let size = min(1000, body.count - offset)
                guard
                    send(
                        Array(String(size, radix: 16).utf8) + [13, 10] + body[offset..<(offset + size)] + [13, 10],
                        to: connection)
                else { return false }
                offset += size
            }
            return send(Array("0\r\n\r\n".utf8), to: connection)
        }
        return send(body, to: connection)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    /// gzip with zlib (window bits 31).
    static func gzip(_ data: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard czlib_deflate_init2(&stream, Z_DEFAULT_COMPRESSION, 31) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: data.count + 1024)
        var input = data
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(output[0..<Int(stream.total_out)])
    }
}

/// The sandbox could not start.
public struct SandboxError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A connection, plain or TLS.
struct Connection {
    let socket: Int32
    let ssl: OpaquePointer?

    /// Reads at most `limit` bytes onto the end of `buffer`; the count read (0 at the end, negative on an error).
    func receive(into buffer: inout [UInt8], upTo limit: Int) -> Int {
        let before = buffer.count
        var count = 0
        buffer.append(contentsOf: repeatElement(0, count: limit))
        buffer.withUnsafeMutableBytes { raw in
            let free = UnsafeMutableRawBufferPointer(rebasing: raw[before...])
            if let ssl {
                count = Int(SSL_read(ssl, free.baseAddress, Int32(free.count)))
            } else {
                count = recv(socket, free.baseAddress, free.count, 0)
            }
        }
        buffer.removeLast(limit - max(count, 0))
        return count
    }

    func send(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.withUnsafeBytes { raw in
            if let ssl { return Int(SSL_write(ssl, raw.baseAddress, Int32(raw.count))) }
            return Foundation.send(socket, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
        }
    }
}

/// A libssl server context with the sandbox's certificate.
final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer

    init(certificate: String, key: String, clientCA: String? = nil) throws {
        _ = copenssl_init()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw SandboxError("cannot create a TLS context") }
        _ = copenssl_set_min_tls12(context)
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1,
            SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1
        else {
            SSL_CTX_free(context)
            throw SandboxError("cannot load the sandbox certificate \(certificate)")
        }
        if let clientCA {
            // Mutual TLS: a client certificate signed by the test CA is required.
            guard SSL_CTX_load_verify_locations(context, clientCA, nil) == 1 else {
                SSL_CTX_free(context)
                throw SandboxError("cannot load the client CA \(clientCA)")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        pointer = context
    }

    deinit { SSL_CTX_free(pointer) }
}

/// A throw-away certificate authority and a server certificate for localhost and 127.0.0.1,
/// made with the `openssl` command, for the sandbox's HTTPS portals and the tests that trust them.
public struct TestCertificates: Sendable {
    public let caCertificate: String
    public let serverCertificate: String
    public let serverKey: String
    /// A client certificate and key signed by the same CA, for mutual TLS.
    public let clientCertificate: String
    public let clientKey: String

    /// Generates the files in `folder` (created 0700).
    public static func generate(in folder: String) throws -> TestCertificates {
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let ca = folder + "/ca.pem"
        let caKey = folder + "/ca.key"
        let key = folder + "/server.key"
        let request = folder + "/server.csr"
        let certificate = folder + "/server.pem"
        let extensions = folder + "/server.ext"
        let clientKey = folder + "/client.key"
        let clientRequest = folder + "/client.csr"
        let clientCertificate = folder + "/client.pem"
        try
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            .write(toFile: extensions, atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey,
                "-out", ca, "-days", "2",
                "-subj", "/CN=Nightjar Sandbox Test CA",
            ],
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                request, "-subj", "/CN=localhost",
            ],
            [
                "x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", certificate,
                "-days", "2", "-extfile", extensions,
            ],
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", clientKey, "-out",
                clientRequest,
                "-subj", "/CN=nightjar-client",
            ],
            [
                "x509", "-req", "-in", clientRequest, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out",
                clientCertificate, "-days", "2",
            ],
        ]
        for arguments in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw SandboxError("openssl \(arguments[0]) failed") }
        }
        return TestCertificates(
            caCertificate: ca, serverCertificate: certificate, serverKey: key, clientCertificate: clientCertificate,
            clientKey: clientKey)
    }
}
