import CCurl
import Foundation
public import NightjarCore
import NightjarCrypto
import Synchronization

/// One libcurl connection to a mail or file server (IMAP, SMTP, SFTP), kept open across the
/// transfers of a run so that it signs in once. Each transfer runs on the connection's own
/// thread; callers await it. TLS peers are always verified; IMAP and SMTP without implicit TLS
/// must upgrade with STARTTLS (unless `allowPlaintext`, for a loopback test server).
public final class CurlConnection: @unchecked Sendable {
    /// How the connection signs in and what it trusts.
    public struct Settings: Sendable {
        /// The protocols this connection may use (`imaps,imap`, `sftp`, `smtps,smtp`).
        public var protocols: String
        public var username: String?
        public var password: String?
        /// An OAuth 2.0 access token (XOAUTH2 / OAUTHBEARER).
        public var bearerToken: String?
        /// SASL options (`AUTH=XOAUTH2`), when the mechanism must be forced.
        public var loginOptions: String?
        public var tls = TLSSettings()
        /// SMTP or IMAP without TLS: only ever for a server on the loopback interface.
        public var allowPlaintext = false
        /// SFTP: the server's pinned host key, one `known_hosts` line.
        public var knownHosts: String?
        /// SFTP: a private key (OpenSSH or PEM text) and its passphrase.
        public var privateKey: String?
        public var keyPassphrase: String?
        public var connectTimeout: Duration = .seconds(20)
        public var transferTimeout: Duration = .seconds(300)

        public init(protocols: String) { self.protocols = protocols }
    }

    /// One transfer on the connection.
    public struct Request: Sendable {
        public var url: String
        /// A protocol command to send instead of the URL's default action (`UID SEARCH ...`).
        public var command: String?
        /// Only the file's size and time (SFTP), no content.
        public var metadataOnly = false
        /// A directory listing of names only (SFTP, a URL ending in `/`).
        public var namesOnly = false
        /// Commands sent after the transfer (SFTP `rename A B`).
        public var afterCommands: [String] = []
        /// SMTP: the message to send, its envelope sender and recipients.
        public var upload: [UInt8]?
        public var mailFrom: String?
        public var mailRecipients: [String] = []
        /// A larger answer ends the transfer with `tooLarge`.
        public var maximumBytes = 64 * 1024 * 1024

        public init(url: String, command: String? = nil) {
            self.url = url
            self.command = command
        }
    }

    /// What a transfer gave.
    public struct Response: Sendable {
        public let body: [UInt8]
        /// Modification time (seconds since 1970), when asked for and known.
        public let fileTime: Int64?
        /// Declared size, when known.
        public let contentLength: Int64?
    }

    private let settings: Settings
    private let queue: DispatchQueue
    /// Used only on `queue`.
    private var easy: UnsafeMutableRawPointer?
    private var memoryFiles: [MemoryFile] = []
    private let traceLines = Mutex<[String]>([])
    private let cancelled = Atomic<Bool>(false)
    /// Every secret sent on this connection, masked in the trace even before the redactor would.
    private let secrets: [String]

    /// Opens nothing yet: the first transfer connects and signs in.
    public init(_ settings: Settings) throws {
        _ = CurlConnection.globalInit
        self.settings = settings
        queue = DispatchQueue(label: "nightjar-connection")
        secrets = [settings.password, settings.bearerToken, settings.keyPassphrase].compactMap { $0 }.filter {
            !$0.isEmpty
        }
        for secret in secrets { Redactor.shared.register(text: secret) }
        if let key = settings.privateKey {
            memoryFiles.append(try MemoryFile(Array(key.utf8), name: "nightjar-ssh-key"))
        }
        if let line = settings.knownHosts {
            memoryFiles.append(try MemoryFile(Array((line + "\n").utf8), name: "nightjar-known-hosts"))
        }
        easy = curl_easy_init()
        guard easy != nil else { throw TransferError.other("cannot create a libcurl handle") }
    }

    deinit {
        if let easy { curl_easy_cleanup(easy) }
        for file in memoryFiles { file.close() }
    }

    static let globalInit: Void = { _ = ccurl_global_init() }()

    /// The protocol conversation so far: commands and answers, secrets masked.
    public var trace: [String] { traceLines.withLock { $0 } }

    /// Adds a line of the caller's own to the trace.
    public func note(_ line: String) { traceLines.withLock { $0.append("* " + Redactor.shared.redact(line)) } }

    /// Ends the connection (also done when it is released).
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let easy = self.easy { curl_easy_cleanup(easy) }
                self.easy = nil
                for file in self.memoryFiles { file.close() }
                continuation.resume()
            }
        }
    }

    /// Runs one transfer; cancelling the awaiting task aborts it.
    public func perform(_ request: Request) async throws -> Response {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Response, any Error>) in
                queue.async {
                    do {
                        continuation.resume(returning: try self.performNow(request))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            cancelled.store(true, ordering: .relaxed)
        }
    }

    /// What one transfer's callbacks share (they run on the connection's thread).
    final class TransferState {
        var received: [UInt8] = []
        var maximumBytes: Int
        var tooLarge = false
        var upload: [UInt8]
        var uploaded = 0
        var hostKeyProblem: TransferError?
        unowned let connection: CurlConnection

        init(connection: CurlConnection, maximumBytes: Int, upload: [UInt8]) {
            self.connection = connection
            self.maximumBytes = maximumBytes
            self.upload = upload
        }
    }

    private func performNow(_ request: Request) throws -> Response {
        guard let easy else { throw TransferError.other("the connection is closed") }
        if cancelled.load(ordering: .relaxed) { throw TransferError.cancelled }
        // A reset keeps the live connection, its TLS session and its sign-in; every option is set again.
        curl_easy_reset(easy)
        let state = TransferState(connection: self, maximumBytes: request.maximumBytes, upload: request.upload ?? [])
        let context = Unmanaged.passUnretained(state).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var lists: [UnsafeMutablePointer<curl_slist>?] = []
        defer { for list in lists { curl_slist_free_all(list) } }
        func list(_ items: [String]) -> UnsafeMutablePointer<curl_slist>? {
            var head: UnsafeMutablePointer<curl_slist>?
            for item in items { head = curl_slist_append(head, item) }
            lists.append(head)
            return head
        }
        try errorBuffer.withUnsafeMutableBufferPointer { buffer in
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_URL, request.url)
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, settings.protocols)
            _ = ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            _ = ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
            _ = ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
            _ = ccurl_easy_setopt_long(
                easy, CURLOPT_USE_SSL, Int(settings.allowPlaintext ? CURLUSESSL_TRY.rawValue : CURLUSESSL_ALL.rawValue))
            if let ca = settings.tls.caBundle { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_CAINFO, ca) }
            _ = ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeout.milliseconds)
            _ = ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, settings.transferTimeout.milliseconds)
            _ = ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, 60)
            if let username = settings.username { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_USERNAME, username) }
            if let password = settings.password { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_PASSWORD, password) }
            if let token = settings.bearerToken { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_XOAUTH2_BEARER, token) }
            if let options = settings.loginOptions { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_LOGIN_OPTIONS, options) }
            if settings.protocols.contains("sftp") {
                var types = 0
                if settings.privateKey != nil {
                    types |= Int(CURLSSH_AUTH_PUBLICKEY)
                    _ = ccurl_easy_setopt_ptr(easy, CURLOPT_SSH_PRIVATE_KEYFILE, memoryFiles[0].path)
                    _ = ccurl_easy_setopt_ptr(easy, CURLOPT_SSH_PUBLIC_KEYFILE, "")
                    if let passphrase = settings.keyPassphrase {
                        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_KEYPASSWD, passphrase)
                    }
                }
                if settings.password != nil { types |= Int(CURLSSH_AUTH_PASSWORD) | Int(CURLSSH_AUTH_KEYBOARD) }
                _ = ccurl_easy_setopt_long(easy, CURLOPT_SSH_AUTH_TYPES, types)
                guard settings.knownHosts != nil, let hosts = memoryFiles.last else {
                    throw TransferError.hostKeyUnpinned
                }
                _ = ccurl_easy_setopt_ptr(easy, CURLOPT_SSH_KNOWNHOSTS, hosts.path)
                _ = ccurl_easy_setopt_ptr(easy, CURLOPT_SSH_KEYDATA, context)
                _ = ccurl_easy_setopt_ssh_key_callback(easy) { _, _, found, match, context in
                    let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                    if match == CURLKHMATCH_OK { return Int32(CURLKHSTAT_FINE.rawValue) }
                    var fingerprint = "an unknown key"
                    if let found, let key = found.pointee.key {
                        let raw =
                            found.pointee.len > 0
                            ? Array(UnsafeRawBufferPointer(start: key, count: found.pointee.len))
                            : Array(Data(base64Encoded: String(cString: key)) ?? Data())
                        fingerprint =
                            "SHA256:"
                            + Data(SHA256.hash(raw)).base64EncodedString().replacingOccurrences(of: "=", with: "")
                    }
                    state.hostKeyProblem =
                        match == CURLKHMATCH_MISMATCH
                        ? .hostKeyChanged(found: fingerprint) : .hostKeyUnknown(found: fingerprint)
                    return Int32(CURLKHSTAT_REJECT.rawValue)
                }
            }
            if let command = request.command { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_CUSTOMREQUEST, command) }
            if request.metadataOnly {
                _ = ccurl_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
                _ = ccurl_easy_setopt_long(easy, CURLOPT_FILETIME, 1)
            }
            if request.namesOnly { _ = ccurl_easy_setopt_long(easy, CURLOPT_DIRLISTONLY, 1) }
            if !request.afterCommands.isEmpty {
                _ = ccurl_easy_setopt_slist(easy, CURLOPT_POSTQUOTE, list(request.afterCommands))
            }
            if let from = request.mailFrom { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_MAIL_FROM, from) }
            if !request.mailRecipients.isEmpty {
                _ = ccurl_easy_setopt_slist(easy, CURLOPT_MAIL_RCPT, list(request.mailRecipients))
            }
            if request.upload != nil {
                _ = ccurl_easy_setopt_long(easy, CURLOPT_UPLOAD, 1)
                _ = ccurl_easy_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(state.upload.count))
                _ = ccurl_easy_setopt_ptr(easy, CURLOPT_READDATA, context)
                _ = ccurl_easy_setopt_data_callback(easy, CURLOPT_READFUNCTION) { data, size, count, context in
                    let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                    let room = size * count
                    let left = state.upload.count - state.uploaded
                    let chunk = min(room, left)
                    guard chunk > 0, let data else { return 0 }
                    state.upload.withUnsafeBytes {
                        UnsafeMutableRawPointer(data).copyMemory(
                            from: $0.baseAddress! + state.uploaded, byteCount: chunk)
                    }
                    state.uploaded += chunk
                    return chunk
                }
            }
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, context)
            _ = ccurl_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                let length = size * count
                if state.received.count + length > state.maximumBytes {
                    state.tooLarge = true
                    return 0
                }
                if let data, length > 0 {
                    state.received.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
                }
                return length
            }
            _ = ccurl_easy_setopt_long(easy, CURLOPT_NOPROGRESS, 0)
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_XFERINFODATA, context)
            _ = ccurl_easy_setopt_progress_callback(easy) { context, _, _, _, _ in
                let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                return state.connection.cancelled.load(ordering: .relaxed) ? 1 : 0
            }
            _ = ccurl_easy_setopt_long(easy, CURLOPT_VERBOSE, 1)
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_DEBUGDATA, context)
            _ = ccurl_easy_setopt_debug_callback(easy) { _, type, data, size, context in
                let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                guard let data, type == CURLINFO_TEXT || type == CURLINFO_HEADER_IN || type == CURLINFO_HEADER_OUT
                else { return 0 }
                let text = String(decoding: UnsafeRawBufferPointer(start: data, count: min(size, 4096)), as: UTF8.self)
                let mark = type == CURLINFO_HEADER_OUT ? "> " : type == CURLINFO_HEADER_IN ? "< " : "* "
                state.connection.recordTrace(text, mark: mark)
                return 0
            }
        }
        let result = curl_easy_perform(easy)
        if result == CURLE_OK {
            var time: Int = -1
            var length: curl_off_t = -1
            if request.metadataOnly {
                ccurl_easy_getinfo_long(easy, CURLINFO_FILETIME, &time)
                ccurl_easy_getinfo_off(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length)
            }
            return Response(
                body: state.received, fileTime: time >= 0 ? Int64(time) : nil,
                contentLength: length >= 0 ? Int64(length) : nil)
        }
        let detail = String(cString: errorBuffer.withUnsafeBufferPointer { $0.baseAddress! })
        let message = Redactor.shared.redact(detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail)
        if let problem = state.hostKeyProblem { throw problem }
        if state.tooLarge { throw TransferError.tooLarge(request.maximumBytes) }
        throw TransferError.from(result, message: message, cancelled: cancelled.load(ordering: .relaxed))
    }

    /// An outgoing protocol line with what a sign-in carries masked: `A1 LOGIN [REDACTED]`,
    /// `AUTHENTICATE PLAIN [REDACTED]`, `AUTH LOGIN [REDACTED]`, and a bare SASL answer line.
    static func maskSignIn(_ line: String) -> String {
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        for (index, word) in words.enumerated() {
            let upper = word.uppercased()
            if upper == "LOGIN", index <= 1, words.count > index + 1 {
                return words[...index].joined(separator: " ") + " " + Redactor.marker
            }
            if upper == "AUTHENTICATE" || upper == "AUTH", index <= 1 {
                return words.count > index + 2
                    ? words[...(index + 1)].joined(separator: " ") + " " + Redactor.marker : line
            }
        }
        let base64 = line.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || "+/=-_".unicodeScalars.contains($0)
        }
        return words.count == 1 && base64 && line.count >= 8 ? Redactor.marker : line
    }

    /// Trace lines, with sign-in arguments masked: whatever mechanism, the line that carries a
    /// credential never shows it (and the redactor then catches any other form).
    fileprivate func recordTrace(_ text: String, mark: String) {
        var lines: [String] = []
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            var line = String(raw)
            if mark == "> " { line = CurlConnection.maskSignIn(line) }
            for secret in secrets where line.contains(secret) {
                line = line.replacingOccurrences(of: secret, with: Redactor.marker)
            }
            lines.append(mark + Redactor.shared.redact(line))
        }
        traceLines.withLock { trace in
            if trace.count < 20_000 { trace.append(contentsOf: lines) }
        }
    }
}

/// Why a transfer failed. Codes are stable.
public enum TransferError: NightjarError, Equatable {
    /// The server refused the sign-in.
    case loginDenied(String)
    /// SFTP: the server's host key differs from the pinned one.
    case hostKeyChanged(found: String)
    /// SFTP: the pinned line does not name this host and port.
    case hostKeyUnknown(found: String)
    /// SFTP: no host key is pinned, so no connection is made.
    case hostKeyUnpinned
    case connectFailed(String)
    case tls(String)
    case timeout(String)
    /// The folder, message or file is not there (or, for IMAP, its UIDVALIDITY changed).
    case notFound(String)
    /// A command was refused (`UID MOVE`, `rename`).
    case commandFailed(String)
    case tooLarge(Int)
    case cancelled
    case other(String)

    public var code: String {
        switch self {
        case .loginDenied: "transfer.login_denied"
        case .hostKeyChanged: "transfer.host_key_changed"
        case .hostKeyUnknown: "transfer.host_key_unknown"
        case .hostKeyUnpinned: "transfer.host_key_unpinned"
        case .connectFailed: "transfer.connect_failed"
        case .tls: "transfer.tls"
        case .timeout: "transfer.timeout"
        case .notFound: "transfer.not_found"
        case .commandFailed: "transfer.command_failed"
        case .tooLarge: "transfer.too_large"
        case .cancelled: "transfer.cancelled"
        case .other: "transfer.error"
        }
    }

    public var message: String {
        switch self {
        case .loginDenied(let detail): "the server refused the sign-in: \(detail)"
        case .hostKeyChanged(let found): "the server presented host key \(found), not the one pinned in the credential"
        case .hostKeyUnknown(let found):
            "the pinned known_hosts line does not name this host and port (the server presented \(found))"
        case .hostKeyUnpinned:
            "no host key is pinned: the credential needs a known_hosts field (ssh-keyscan -p PORT HOST)"
        case .connectFailed(let detail): "could not connect: \(detail)"
        case .tls(let detail): "TLS failed: \(detail)"
        case .timeout(let detail): "the server did not answer in time: \(detail)"
        case .notFound(let detail): "not found: \(detail)"
        case .commandFailed(let detail): "the server refused a command: \(detail)"
        case .tooLarge(let limit): "the answer is larger than \(limit) bytes"
        case .cancelled: "the transfer was cancelled"
        case .other(let detail): detail
        }
    }

    public var exitStatus: ExitStatus { .failure }

    static func from(_ code: CURLcode, message: String, cancelled: Bool) -> TransferError {
        switch code {
        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR: return .loginDenied(message)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT: return .connectFailed(message)
        case CURLE_OPERATION_TIMEDOUT: return .timeout(message)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
            CURLE_USE_SSL_FAILED:
            return .tls(message)
        case CURLE_REMOTE_FILE_NOT_FOUND, CURLE_REMOTE_ACCESS_DENIED: return .notFound(message)
        case CURLE_QUOTE_ERROR: return .commandFailed(message)
        case CURLE_ABORTED_BY_CALLBACK where cancelled: return .cancelled
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING: return .connectFailed(message)
        case CURLE_SSH
        where message.lowercased().contains("auth") || message.lowercased().contains("username/password"):
            return .loginDenied(message)
        default: return .other("\(message) (curl \(code.rawValue))")
        }
    }
}
