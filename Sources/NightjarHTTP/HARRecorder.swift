import Foundation
import NightjarCore
import Synchronization

/// Records a session's exchanges as a HAR 1.2 file (opens in any browser's developer tools), so a
/// maintainer can see what a portal answered: the request headers as sent (cookies from the jar
/// included), bodies, the answers. Written 0600 through the redactor, and through a
/// `RecordingMask`: credentials in headers masked (a cookie keeps its name, `Authorization` its
/// scheme), fields named like passwords, tokens or codes masked, and one-time and session values
/// (`code`, `state`, `ticket`, session ids, anti-forgery tokens) hidden wherever they appear.
public final class HARRecorder: Sendable {
    struct Entry: Sendable {
        let started: Date
        let milliseconds: Double
        let request: HTTPRequest
        let sentHeaders: [(String, String)]
        let response: HTTPResponse?
        let error: String?
    }

    private let entries = Mutex<[Entry]>([])
    /// Response bodies longer than this are cut in the recording.
    public let maximumBodyBytes: Int
    /// What the recording hides; `names` are the fields a definition declares sensitive.
    public let mask: RecordingMask

    public init(maximumBodyBytes: Int = 2 * 1024 * 1024, sensitiveNames: [String] = []) {
        self.maximumBodyBytes = maximumBodyBytes
        mask = RecordingMask(names: sensitiveNames)
    }

    public var count: Int { entries.withLock { $0.count } }

    func record(
        _ request: HTTPRequest, _ response: HTTPResponse?, _ error: (any Error)?, started: Date,
        sentHeaders: [(String, String)]
    ) {
        let entry = Entry(
            started: started, milliseconds: Date().timeIntervalSince(started) * 1000, request: request,
            sentHeaders: sentHeaders,
            response: response, error: error.map { "\($0)" })
        entries.withLock { $0.append(entry) }
    }

    /// The value, or the redaction marker when the field name looks like a secret or a one-time value.
    public static func mask(_ name: String, _ value: String) -> String {
        RecordingMask().isMasked(name) ? Redactor.marker : value
    }

    /// A JSON body with sensitive-looking keys masked, at any depth.
    public static func maskJSON(_ bytes: [UInt8]) -> String? { RecordingMask().json(bytes) }

    /// The HAR document as JSON text (values masked; the registered secrets and remembered
    /// one-time values are hidden when it is written). Written directly, one entry per line:
    /// the night writes one recording per credential, and a general JSON encoder costs more than
    /// the rest of the night's work together.
    public func json() -> [UInt8] {
        let mask = self.mask
        var out = JSONText()
        out.raw("{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"Nightjar\",\"version\":\"0.1.0\"},\"entries\":[")
        for (number, entry) in entries.withLock({ $0 }).enumerated() {
            out.raw(number == 0 ? "\n{" : ",\n{")
            let request = entry.request
            let (body, contentType) = request.body.encoded()
            out.key("startedDateTime")
            out.string(entry.started.iso8601Milliseconds)
            out.raw(",")
            out.key("time")
            out.number(entry.milliseconds)
            out.raw(",")
            out.key("request")
            out.raw("{")
            out.key("method")
            out.string(request.method.rawValue)
            out.raw(",")
            out.key("url")
            out.string(mask.url(request.fullURL))
            out.raw(",")
            out.key("httpVersion")
            out.string("HTTP/1.1")
            out.raw(",")
            out.key("headers")
            out.pairs(entry.sentHeaders.map { ($0.0, mask.header($0.0, $0.1)) })
            out.raw(",")
            out.key("queryString")
            out.pairs(request.query.map { ($0.0, mask.field($0.0, $0.1)) })
            out.raw(",")
            out.key("cookies")
            out.raw("[],")
            out.key("headersSize")
            out.raw("-1,")
            out.key("bodySize")
            out.number(Double(body.count))
            switch request.body {
            case .none: break
            case .form(let fields):
                out.raw(",")
                out.key("postData")
                out.raw("{")
                out.key("mimeType")
                out.string(contentType ?? "")
                out.raw(",")
                out.key("params")
                out.pairs(fields.map { ($0.0, mask.field($0.0, $0.1)) })
                out.raw(",")
                out.key("text")
                out.string(mask.formText(fields))
                out.raw("}")
            case .json(let bytes):
                out.raw(",")
                out.key("postData")
                out.raw("{")
                out.key("mimeType")
                out.string("application/json")
                out.raw(",")
                out.key("text")
                out.string(mask.json(bytes) ?? Redactor.marker)
                out.raw("}")
            case .raw, .multipart:
                out.raw(",")
                out.key("postData")
                out.raw("{")
                out.key("mimeType")
                out.string(contentType ?? "")
                out.raw(",")
                out.key("text")
                out.string("[\(body.count) bytes not recorded]")
                out.raw("}")
            }
            out.raw("},")
            out.key("response")
            out.raw("{")
            if let response = entry.response {
                let shown = response.body.prefix(maximumBodyBytes)
                let type = response.header("Content-Type") ?? ""
                out.key("status")
                out.number(Double(response.status))
                out.raw(",")
                out.key("statusText")
                out.string("")
                out.raw(",")
                out.key("httpVersion")
                out.string("HTTP/1.1")
                out.raw(",")
                out.key("headers")
                out.pairs(response.headers.map { ($0.name, mask.header($0.name, $0.value)) })
                out.raw(",")
                out.key("cookies")
                out.raw("[],")
                out.key("content")
                out.raw("{")
                out.key("size")
                out.number(Double(response.body.count))
                out.raw(",")
                out.key("mimeType")
                out.string(type)
                out.raw(",")
                out.key("text")
                let lowered = type.lowercased()
                if RecordingMask.has(lowered, "json"), let masked = mask.json(response.body) {
                    out.string(masked)
                } else {
                    if RecordingMask.has(lowered, "html") { mask.rememberInputs(ofPage: Array(shown)) }
                    out.string(bytes: shown)
                }
                out.raw("},")
                out.key("redirectURL")
                out.string(mask.url(response.header("Location") ?? ""))
                out.raw(",")
                out.key("headersSize")
                out.raw("-1,")
                out.key("bodySize")
                out.number(Double(response.body.count))
            } else {
                out.key("status")
                out.raw("0,")
                out.key("statusText")
                out.string(entry.error ?? "")
                out.raw(",")
                out.key("httpVersion")
                out.string("HTTP/1.1")
                out.raw(",")
                out.raw(
                    "\"headers\":[],\"cookies\":[],\"content\":{\"size\":0,\"mimeType\":\"\"},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":-1"
                )
            }
            out.raw("},")
            out.raw("\"cache\":{},")
            out.key("timings")
            out.raw("{\"send\":0,\"wait\":")
            out.number(entry.milliseconds)
            out.raw(",\"receive\":0}")
            out.raw("}")
        }
        out.raw("\n]}}\n")
        return out.bytes
    }

    /// Writes the recording, mode 0600, through the redactor and the mask.
    public func write(to path: String) throws {
        try SecureFile.writeAtomically(mask.redact(bytes: json()), to: path, mode: 0o600)
    }
}

/// JSON text written by hand: strings escaped as RFC 8259 asks (quote, backslash, control
/// characters), slashes left alone, invalid UTF-8 replaced.
struct JSONText {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(64 * 1024) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func key(_ name: StaticString) {
        bytes.append(34)
        raw(name)
        bytes.append(34)
        bytes.append(58)
    }

    mutating func number(_ value: Double) {
        if value == value.rounded(), abs(value) < 1e15 {
            bytes.append(contentsOf: String(Int64(value)).utf8)
        } else {
            bytes.append(contentsOf: "\(value)".utf8)
        }
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { append(escaping: $0) }
    }

    /// A body: its bytes as text (valid UTF-8 as is, anything else repaired).
    mutating func string<C: Collection>(bytes body: C) where C.Element == UInt8 {
        let array = Array(body)
        if let text = String(validating: array, as: UTF8.self) {
            string(text)
        } else {
            string(String(decoding: array, as: UTF8.self))
        }
    }

    mutating func pairs(_ items: [(String, String)]) {
        bytes.append(91)
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(44) }
            raw("{\"name\":")
            string(item.0)
            raw(",\"value\":")
            string(item.1)
            bytes.append(125)
        }
        bytes.append(93)
    }

    private mutating func append(escaping text: UnsafeBufferPointer<UInt8>) {
        bytes.append(34)
        var start = 0
        for index in 0..<text.count {
            let byte = text[index]
            guard byte < 0x20 || byte == 34 || byte == 92 else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<index]))
            switch byte {
            case 34: raw("\\\"")
            case 92: raw("\\\\")
            case 10: raw("\\n")
            case 13: raw("\\r")
            case 9: raw("\\t")
            default:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, 117, 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            }
            start = index + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<text.count]))
        bytes.append(34)
    }
}
