import NightjarCore
import Foundation
import Synchronization

/// Records a session's exchanges as a HAR 1.2 file (opens in any browser's developer tools), so a
/// maintainer can see what a portal answered. Written 0600 through the redactor, with fields named
/// like passwords, tokens or codes and the `Authorization`, `Cookie` and `Set-Cookie` values masked.
public final class HARRecorder: Sendable {
    struct Entry: Sendable {
        let started: Date
        let milliseconds: Double
        let request: HTTPRequest
        let response: HTTPResponse?
        let error: String?
    }

    private let entries = Mutex<[Entry]>([])
    /// Response bodies longer than this are cut in the recording.
    public let maximumBodyBytes: Int

    public init(maximumBodyBytes: Int = 2 * 1024 * 1024) { self.maximumBodyBytes = maximumBodyBytes }

    public var count: Int { entries.withLock { $0.count } }

    func record(_ request: HTTPRequest, _ response: HTTPResponse?, _ error: (any Error)?, started: Date) {
        let entry = Entry(started: started, milliseconds: Date().timeIntervalSince(started) * 1000, request: request, response: response,
                          error: error.map { "\($0)" })
        entries.withLock { $0.append(entry) }
    }

    static let sensitiveName = try! NSRegularExpression(pattern: "pass|pwd|token|secret|otp|code|key|auth|session|csrf|pin|answer",
                                                        options: [.caseInsensitive])
    static let sensitiveHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie"]

    static func isSensitive(_ name: String) -> Bool {
        sensitiveName.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    /// The value, or the redaction marker when the field name looks like a secret.
    public static func mask(_ name: String, _ value: String) -> String { isSensitive(name) ? Redactor.marker : value }

    /// A JSON body with sensitive-looking keys masked, at any depth.
    public static func maskJSON(_ bytes: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else { return nil }
        func walk(_ value: Any) -> Any {
            if let dictionary = value as? [String: Any] {
                var result: [String: Any] = [:]
                for (key, inner) in dictionary { result[key] = isSensitive(key) ? Redactor.marker : walk(inner) }
                return result
            }
            if let array = value as? [Any] { return array.map(walk) }
            return value
        }
        guard let data = try? JSONSerialization.data(withJSONObject: walk(object), options: [.sortedKeys, .fragmentsAllowed]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The HAR document.
    public func document() -> [String: Any] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let list = entries.withLock { $0 }.map { entry -> [String: Any] in
            let request = entry.request
            let (body, contentType) = request.body.encoded()
            var postData: [String: Any]?
            switch request.body {
            case .none: postData = nil
            case .form(let fields):
                postData = ["mimeType": contentType ?? "", "params": fields.map { ["name": $0.0, "value": HARRecorder.mask($0.0, $0.1)] },
                            "text": fields.map { "\(FormEncoding.encode($0.0))=\(FormEncoding.encode(HARRecorder.mask($0.0, $0.1)))" }.joined(separator: "&")]
            case .json(let bytes):
                postData = ["mimeType": "application/json", "text": HARRecorder.maskJSON(bytes) ?? Redactor.marker]
            case .raw, .multipart:
                postData = ["mimeType": contentType ?? "", "text": "[\(body.count) bytes not recorded]"]
            }
            var requestObject: [String: Any] = [
                "method": request.method.rawValue, "url": request.fullURL, "httpVersion": "HTTP/1.1",
                "headers": request.headers.map { ["name": $0.0, "value": HARRecorder.sensitiveHeaders.contains($0.0.lowercased()) ? Redactor.marker : $0.1] },
                "queryString": request.query.map { ["name": $0.0, "value": HARRecorder.mask($0.0, $0.1)] },
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
                if type.contains("json"), let masked = HARRecorder.maskJSON(response.body) { text = masked }
                responseObject = [
                    "status": response.status, "statusText": "", "httpVersion": "HTTP/1.1",
                    "headers": response.headers.map { ["name": $0.name, "value": HARRecorder.sensitiveHeaders.contains($0.name.lowercased()) ? Redactor.marker : $0.value] },
                    "cookies": [], "content": ["size": response.body.count, "mimeType": type, "text": text],
                    "redirectURL": response.header("Location") ?? "", "headersSize": -1, "bodySize": response.body.count,
                ]
            }
            return ["startedDateTime": formatter.string(from: entry.started), "time": entry.milliseconds, "request": requestObject,
                    "response": responseObject, "cache": [:] as [String: Any],
                    "timings": ["send": 0, "wait": entry.milliseconds, "receive": 0]]
        }
        return ["log": ["version": "1.2", "creator": ["name": "Nightjar", "version": "0.1.0"], "entries": list]]
    }

    /// Writes the recording, mode 0600, through the redactor.
    public func write(to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: document(), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try RedactedFile.write(bytes: Array(data), to: path)
    }
}
