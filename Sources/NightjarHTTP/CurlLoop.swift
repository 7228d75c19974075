import CCurl
import Foundation
import NightjarCore
import Synchronization

/// What the loop hands back for one transfer.
struct RawResponse: Sendable {
    let status: Int
    let headers: [(name: String, value: String)]
    let url: String
    let body: [UInt8]
    /// The request headers as libcurl sent them (cookies from the jar included), when asked for.
    let sentHeaders: [(name: String, value: String)]?
}

/// One transfer: created by the caller, then owned by the loop thread from the moment it is
/// queued until its continuation is resumed (the hand-off goes through the inbox's lock).
final class Transfer: @unchecked Sendable {
    let id: UInt64
    let url: String
    let method: HTTPMethod
    let headerLines: [String]
    let body: [UInt8]
    let limits: TransferLimits
    let tls: TLSSettings
    let share: UnsafeMutableRawPointer?
    var continuation: CheckedContinuation<RawResponse, any Error>?

    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var resolveList: UnsafeMutablePointer<curl_slist>?
    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    var status = 0
    var headers: [(name: String, value: String)] = []
    var received: [UInt8] = []
    var tooLarge = false
    var malformedHeader = false
    /// When set, the body streams to this file instead of memory, hashed on the way.
    var sink: DownloadSink?
    /// On a connection of its own: libcurl silently sends a request again when a reused
    /// connection turns out dead, which must never happen to one that is not safe to repeat.
    var freshConnection = false
    /// Keep the request headers libcurl sends (for a HAR recording).
    var recordsSentHeaders = false
    var sentHeaders: [(name: String, value: String)] = []

    init(
        id: UInt64, url: String, method: HTTPMethod, headerLines: [String], body: [UInt8], limits: TransferLimits,
        tls: TLSSettings,
        share: UnsafeMutableRawPointer?
    ) {
        self.id = id
        self.url = url
        self.method = method
        self.headerLines = headerLines
        self.body = body
        self.limits = limits
        self.tls = tls
        self.share = share
    }
}

/// One thread that drives every transfer of the process through one curl multi handle:
/// no thread per request. Callers await; cancelling the awaiting task aborts the transfer.
/// The thread waits on the transfers' sockets in an epoll set and hands libcurl only those that
/// are ready (`curl_multi_socket_action`), so a wake-up costs the same with 2 or 2,000 transfers.
final class CurlLoop: @unchecked Sendable {
    static let shared = CurlLoop()

    struct Inbox {
        var pending: [Transfer] = []
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 1
    }

    /// Created once and used only on the loop thread (waking the loop from another writes to its
    /// wake-up descriptor, never touches libcurl).
    private let multi: UnsafeMutableRawPointer
    /// The epoll set, wake-up descriptor and timeout libcurl's callbacks keep (never freed: the
    /// loop lives as long as the process).
    private let events: UnsafeMutablePointer<ccurl_event_loop>
    private let inbox = Mutex(Inbox())
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]

    private init() {
        CurlLoop.raiseOpenFileLimit()
        _ = ccurl_global_init()
        multi = curl_multi_init()
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 512)
        events = UnsafeMutablePointer<ccurl_event_loop>.allocate(capacity: 1)
        if ccurl_event_loop_open(events, multi) != 0 {
            fatalError("cannot create the HTTP event loop: \(String(cString: strerror(errno)))")
        }
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "nightjar-http"
        thread.start()
    }

    /// Thousands of transfers need thousands of descriptors: the soft limit goes up to the hard one.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 65_536)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    func nextID() -> UInt64 {
        inbox.withLock { inbox in
            defer { inbox.nextID += 1 }
            return inbox.nextID
        }
    }

    /// Runs a transfer to completion.
    func perform(_ transfer: Transfer) async throws -> RawResponse {
        let id = transfer.id
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RawResponse, any Error>) in
                transfer.continuation = continuation
                inbox.withLock { $0.pending.append(transfer) }
                ccurl_event_loop_wake(events)
            }
        } onCancel: {
            inbox.withLock { _ = $0.cancelled.insert(id) }
            ccurl_event_loop_wake(events)
        }
    }

    private func run() {
        while true {
            let (pending, cancelled) = inbox.withLock { inbox -> ([Transfer], Set<UInt64>) in
                defer {
                    inbox.pending = []
                    inbox.cancelled = []
                }
                return (inbox.pending, inbox.cancelled)
            }
            for transfer in pending {
                if cancelled.contains(transfer.id) {
                    transfer.continuation?.resume(throwing: HTTPError.cancelled)
                    continue
                }
                start(transfer)
            }
            if !cancelled.isEmpty {
                for (easy, transfer) in active where cancelled.contains(transfer.id) {
                    finish(easy, transfer, error: HTTPError.cancelled)
                }
            }
            // Waits for a ready socket, libcurl's timeout or new work, and lets libcurl act on it.
            _ = ccurl_event_loop_step(events, multi, 1000)
            var easy: UnsafeMutableRawPointer?
            var result = CURLE_OK
            while ccurl_multi_next_done(multi, &easy, &result) == 1, let handle = easy, let transfer = active[handle] {
                complete(handle, transfer, result: result)
            }
        }
    }

    private func start(_ transfer: Transfer) {
        guard let easy = curl_easy_init() else {
            transfer.continuation?.resume(throwing: HTTPError.other("cannot create a transfer"))
            return
        }
        transfer.easy = easy
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_URL, transfer.url)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        if transfer.freshConnection { _ = ccurl_easy_setopt_long(easy, CURLOPT_FRESH_CONNECT, 1) }
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_ACCEPT_ENCODING, "")
        _ = ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        if let ca = transfer.tls.caBundle { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_CAINFO, ca) }
        if let certificate = transfer.tls.clientCertificate {
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_SSLCERT, certificate)
        }
        if let key = transfer.tls.clientKey { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_SSLKEY, key) }
        if !transfer.tls.resolve.isEmpty {
            for entry in transfer.tls.resolve { transfer.resolveList = curl_slist_append(transfer.resolveList, entry) }
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_RESOLVE, transfer.resolveList)
        }
        _ = ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, transfer.limits.connectTimeout.milliseconds)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, transfer.limits.totalTimeout.milliseconds)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, transfer.limits.lowSpeedBytesPerSecond)
        _ = ccurl_easy_setopt_long(
            easy, CURLOPT_LOW_SPEED_TIME, max(1, transfer.limits.lowSpeedTime.milliseconds / 1000))
        _ = ccurl_easy_setopt_ptr(
            easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer.withUnsafeMutableBufferPointer { $0.baseAddress })
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_COOKIEFILE, "")
        if let share = transfer.share { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_SHARE, share) }
        switch transfer.method {
        case .get: _ = ccurl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case .head: _ = ccurl_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        case .post, .put, .delete:
            if transfer.method != .post {
                _ = ccurl_easy_setopt_ptr(easy, CURLOPT_CUSTOMREQUEST, transfer.method.rawValue)
            }
            _ = ccurl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(transfer.body.count))
            transfer.body.withUnsafeBytes {
                _ = ccurl_easy_setopt_ptr(
                    easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1))
            }
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in transfer.headerLines + ["Expect:"] { list = curl_slist_append(list, line) }
        transfer.headerList = list
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, list)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, context)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, context)
        _ = ccurl_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            if (transfer.sink?.count ?? transfer.received.count) + length > transfer.limits.maximumResponseBytes {
                transfer.tooLarge = true
                return 0
            }
            guard let data, length > 0 else { return length }
            let bytes = UnsafeRawBufferPointer(start: data, count: length)
            if let sink = transfer.sink {
                return sink.write(bytes) ? length : 0
            }
            transfer.received.append(contentsOf: bytes)
            return length
        }
        _ = ccurl_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            guard let data else { return length }
            if length > 64 * 1024 {
                transfer.malformedHeader = true
                return 0
            }
            let line = CurlLoop.headerLine(UnsafeRawBufferPointer(start: data, count: length))
            if line.starts(with: "HTTP/".utf8) {
                // A new response (after 100 Continue): start over.
                transfer.headers = []
            } else if let colon = line.firstIndex(of: 58) {
                transfer.headers.append(
                    (
                        String(decoding: CurlLoop.trimmed(line[..<colon]), as: UTF8.self),
                        String(decoding: CurlLoop.trimmed(line[(colon + 1)...]), as: UTF8.self)
                    ))
            }
            return length
        }
        if transfer.recordsSentHeaders {
            // The only way libcurl tells what it sent; the other debug calls return at once.
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_DEBUGDATA, context)
            _ = ccurl_easy_setopt_debug_callback(easy) { _, type, data, size, context in
                guard type == CURLINFO_HEADER_OUT, let data, let context else { return 0 }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                let block = UnsafeRawBufferPointer(start: data, count: size)
                transfer.sentHeaders = []
                for line in block.split(separator: 10).dropFirst() {
                    guard let colon = line.firstIndex(of: 58) else { continue }
                    transfer.sentHeaders.append(
                        (
                            String(decoding: CurlLoop.trimmed(line[..<colon]), as: UTF8.self),
                            String(decoding: CurlLoop.trimmed(line[(colon + 1)...]), as: UTF8.self)
                        ))
                }
                return 0
            }
            _ = ccurl_easy_setopt_long(easy, CURLOPT_VERBOSE, 1)
        }
        active[easy] = transfer
        curl_multi_add_handle(multi, easy)
    }

    private func complete(_ easy: UnsafeMutableRawPointer, _ transfer: Transfer, result: CURLcode) {
        var status = 0
        ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        var urlPointer: UnsafeMutablePointer<CChar>?
        ccurl_easy_getinfo_ptr(easy, CURLINFO_EFFECTIVE_URL, &urlPointer)
        let finalURL = urlPointer.map { String(cString: $0) } ?? transfer.url
        if result == CURLE_OK, let sink = transfer.sink {
            var declared: curl_off_t = -1
            ccurl_easy_getinfo_off(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared)
            if declared >= 0 && Int(declared) != sink.count
                && transfer.headers.allSatisfy({ $0.name.lowercased() != "content-encoding" })
            {
                finish(easy, transfer, error: HTTPError.truncated)
                return
            }
        }
        if result == CURLE_OK {
            let response = RawResponse(
                status: status, headers: transfer.headers, url: finalURL, body: transfer.received,
                sentHeaders: transfer.recordsSentHeaders ? transfer.sentHeaders : nil)
            finish(easy, transfer, response: response)
        } else {
            finish(easy, transfer, error: error(for: result, transfer))
        }
    }

    private func error(for code: CURLcode, _ transfer: Transfer) -> HTTPError {
        let detail = String(cString: transfer.errorBuffer.withUnsafeBufferPointer { $0.baseAddress! })
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        switch code {
        case CURLE_URL_MALFORMAT: return .invalidURL(transfer.url)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT: return .connectFailed(message)
        case CURLE_OPERATION_TIMEDOUT:
            if message.lowercased().contains("connect") || message.contains("Connection timed out") {
                return .connectTimeout
            }
            if message.lowercased().contains("less than") { return .stalled }
            return .totalTimeout
        case CURLE_WRITE_ERROR where transfer.malformedHeader: return .malformedResponse("a header line is too long")
        case CURLE_WRITE_ERROR:
            return transfer.tooLarge ? .responseTooLarge(transfer.limits.maximumResponseBytes) : .other(message)
        case CURLE_PARTIAL_FILE: return .truncated
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING: return .connectionReset
        case CURLE_WEIRD_SERVER_REPLY, CURLE_UNSUPPORTED_PROTOCOL: return .malformedResponse(message)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            return .tls(message)
        case CURLE_BAD_CONTENT_ENCODING: return .malformedResponse(message)
        default:
            if transfer.malformedHeader { return .malformedResponse("a header line is too long") }
            return .other("\(message) (curl \(code.rawValue))")
        }
    }

    private func finish(
        _ easy: UnsafeMutableRawPointer, _ transfer: Transfer, response: RawResponse? = nil, error: (any Error)? = nil
    ) {
        curl_multi_remove_handle(multi, easy)
        active[easy] = nil
        curl_easy_cleanup(easy)
        curl_slist_free_all(transfer.headerList)
        transfer.headerList = nil
        curl_slist_free_all(transfer.resolveList)
        transfer.resolveList = nil
        let continuation = transfer.continuation
        transfer.continuation = nil
        if let response {
            continuation?.resume(returning: response)
        } else {
            continuation?.resume(throwing: error ?? HTTPError.cancelled)
        }
    }
}

extension CurlLoop {
    /// A header line without its line ending, as bytes.
    static func headerLine(_ bytes: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer> { trimmed(bytes[...]) }

    /// Bytes without leading and trailing spaces, tabs and line endings.
    static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }
}

extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
