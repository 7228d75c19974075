import NightjarCore
import Foundation
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

    func record(_ request: HTTPRequest, _ response: HTTPResponse?, _ error: (any Error)?, started: Date, sentHeaders: [(String, String)]) {
        let entry = Entry(started: started, milliseconds: Date().timeIntervalSince(started) * 1000, request: request, sentHeaders: sentHeaders,
                          response: response, error: error.map { "\($0)" })
        entries.withLock { $0.append(entry) }
    }

    /// The value, or the redaction marker when the field name looks like a secret or a one-time value.
    public static func mask(_ name: String, _ value: String) -> String { RecordingMask().isMasked(name) ? Redactor.marker : value }

    /// A JSON body with sensitive-looking keys masked, at any depth.
    public static func maskJSON(_ bytes: [UInt8]) -> String? { RecordingMask().json(bytes) }

    /// The HAR document (values masked; the registered secrets and remembered one-time values are
    /// hidden when it is written).
    public func document() -> [String: Any] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let mask = self.mask
        let list = entries.withLock { $0 }.map { entry -> [String: Any] in
            let request = entry.request
            let (body, contentType) = request.body.encoded()
            var postData: [String: Any]?
            switch request.body {
            case .none: postData = nil
            case .form(let fields):
                postData = ["mimeType": contentType ?? "", "params": fields.map { ["name": $0.0, "value": mask.field($0.0, $0.1)] },
                            "text": mask.formText(fields)]
            case .json(let bytes):
                postData = ["mimeType": "application/json", "text": mask.json(bytes) ?? Redactor.marker]
            case .raw, .multipart:
                postData = ["mimeType": contentType ?? "", "text": "[\(body.count) bytes not recorded]"]
            }
            var requestObject: [String: Any] = [
                "method": request.method.rawValue, "url": mask.url(request.fullURL), "httpVersion": "HTTP/1.1",
                "headers": entry.sentHeaders.map { ["name": $0.0, "value": mask.header($0.0, $0.1)] },
                "queryString": request.query.map { ["name": $0.0, "value": mask.field($0.0, $0.1)] },
                "cookies": [], "headersSize": -1, "bodySize": body.count,
            ]
            if let postData { requestObject["postData"] = postData }
            var responseObject: [String: Any] = ["status": 0, "statusText": entry.error ?? "", "httpVersion": "HTTP/1.1", "headers": [],
                                                 "cookies": [], "content": ["size": 0, "mimeType": ""], "redirectURL": "", "headersSize": -1,
                                                 "bodySize": -1]
            if let response = entry.response {
                let shown = Array(response.body.prefix(maximumBodyBytes))
                let type = response.header("Content-Type") ?? ""
                var text = String(decoding: shown, as: UTF8.self)
                if type.contains("json"), let masked = mask.json(response.body) { text = masked }
                if type.contains("html") { mask.rememberInputs(ofPage: shown) }
                responseObject = [
                    "status": response.status, "statusText": "", "httpVersion": "HTTP/1.1",
                    "headers": response.headers.map { ["name": $0.name, "value": mask.header($0.name, $0.value)] },
                    "cookies": [], "content": ["size": response.body.count, "mimeType": type, "text": text],
                    "redirectURL": mask.url(response.header("Location") ?? ""), "headersSize": -1, "bodySize": response.body.count,
                ]
            }
            return ["startedDateTime": formatter.string(from: entry.started), "time": entry.milliseconds, "request": requestObject,
                    "response": responseObject, "cache": [:] as [String: Any],
                    "timings": ["send": 0, "wait": entry.milliseconds, "receive": 0]]
        }
        return ["log": ["version": "1.2", "creator": ["name": "Nightjar", "version": "0.1.0"], "entries": list]]
    }

    /// Writes the recording, mode 0600, through the redactor and the mask.
    public func write(to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: document(), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try SecureFile.writeAtomically(mask.redact(bytes: Array(data)), to: path, mode: 0o600)
    }
}
