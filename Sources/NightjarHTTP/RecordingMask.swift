import Foundation
public import NightjarCore

/// What a recording (a HAR file, a cassette) must not show, beyond the registered secrets:
/// values of fields named like passwords, tokens or keys, and one-time and session values —
/// OAuth/SSO `code` and `state`, CAS `ticket`, SAML responses, anti-forgery tokens, session ids —
/// wherever they travel (query strings, fragments, `;jsessionid=` path parameters, form and JSON
/// bodies, `Location`/`Referer` headers, cookies, hidden inputs of a page).
///
/// Each one-time value seen is also remembered, so the same value is hidden everywhere else in
/// the recording (the page that first carried it, a later redirect). A definition can name more
/// such fields with `sensitive "NAME", ...`.
public final class RecordingMask: @unchecked Sendable {
    /// Names (lower-cased) whose values are one-time or session values.
    public static let oneTimeNames: Set<String> = [
        "code", "state", "ticket", "nonce", "otp", "totp", "mfa_code", "one_time_code", "verification_code",
        "auth_code",
        "authorization_code", "sid", "session", "sessionid", "session_id", "session_state", "jsessionid", "phpsessid",
        "aspsessionid",
        "asp.net_sessionid", "oauth_token", "oauth_verifier", "access_token", "id_token", "refresh_token", "token",
        "samlresponse",
        "samlrequest", "samlart", "relaystate", "wresult", "wctx", "__requestverificationtoken", "authenticity_token",
        "_csrf",
    ]

    /// Words in a field's name that mark it sensitive (a password, a key): the value is hidden where it is shown.
    static let maskedWords = [
        "pass", "pwd", "token", "secret", "otp", "code", "key", "auth", "session", "csrf", "xsrf", "pin", "answer",
    ]
    /// Headers whose values are credentials.
    static let credentialHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrf-token",
        "x-xsrf-token", "x-auth-token", "x-api-key",
    ]
    /// Headers whose values are URLs that may carry one-time values.
    static let urlHeaders: Set<String> = ["location", "referer", "content-location", "refresh", "origin"]

    private let extraNames: Set<String>
    /// The one-time values seen, hidden wherever they appear in the recording.
    public let values = Redactor()

    /// `names`: more fields a definition declares sensitive.
    public init(names: [String] = []) {
        extraNames = Set(names.map { $0.lowercased() })
    }

    /// A one-time or session value: hidden wherever it appears.
    public func isOneTime(_ name: String) -> Bool { isOneTime(lowered: name.lowercased()) }

    private func isOneTime(lowered: String) -> Bool {
        RecordingMask.oneTimeNames.contains(lowered) || extraNames.contains(lowered)
            || RecordingMask.has(lowered, "session")
            || lowered.hasPrefix("csrf") || lowered.hasPrefix("xsrf") || lowered.hasSuffix("_token")
            || lowered.hasSuffix("sessid")
    }

    /// A value shown masked where it is shown (one-time, or named like a password, token or key).
    public func isMasked(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return isOneTime(lowered: lowered) || RecordingMask.maskedWords.contains { RecordingMask.has(lowered, $0) }
    }

    /// Whether `word` occurs in `text` (byte for byte, over the strings' own UTF-8 storage:
    /// Foundation's `contains`, or copying the bytes out, is slow here, per header).
    static func has(_ text: String, _ word: String) -> Bool {
        var text = text
        var word = word
        return text.withUTF8 { haystack in
            word.withUTF8 { needle in
                guard needle.count <= haystack.count else { return false }
                guard let first = needle.first else { return true }
                outer: for start in 0...(haystack.count - needle.count) where haystack[start] == first {
                    for offset in 1..<needle.count where haystack[start + offset] != needle[offset] { continue outer }
                    return true
                }
                return false
            }
        }
    }

    /// The value, or the marker when the field's name says it is sensitive (a one-time value is remembered).
    public func field(_ name: String, _ value: String) -> String {
        if isOneTime(name) { remember(value) }
        return isMasked(name) ? Redactor.marker : value
    }

    /// Remembers a one-time value (long enough to search for) to hide it everywhere.
    public func remember(_ value: String) {
        _ = values.register(text: value)
        if let decoded = value.removingPercentEncoding, decoded != value { _ = values.register(text: decoded) }
    }

    /// A cookie's value is always masked where shown; it is hidden everywhere else when it looks
    /// like a session id (a telling name, or long enough to be one), not a preference like `en-US`.
    private func rememberCookie(_ name: String, _ value: String) {
        if isMasked(name) || value.utf8.count >= 16 { remember(value) }
    }

    /// A URL with the values of sensitive query and fragment parameters, and `;jsessionid=`-style
    /// path parameters, replaced by the marker.
    public func url(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        // Path parameters (`;jsessionid=...`) up to the query.
        let pathEnd = rest.firstIndex { $0 == "?" || $0 == "#" } ?? rest.endIndex
        var path = String(rest[..<pathEnd])
        rest = rest[pathEnd...]
        if path.contains(";") {
            let parts = path.split(separator: ";", omittingEmptySubsequences: false)
            path = parts.enumerated().map { offset, part -> String in
                guard offset > 0, let equals = part.firstIndex(of: "=") else { return String(part) }
                let name = String(part[..<equals])
                return name + "=" + field(name, String(part[part.index(after: equals)...]))
            }.joined(separator: ";")
        }
        result = path
        while let separator = rest.first {
            rest = rest.dropFirst()
            let end = separator == "?" ? (rest.firstIndex(of: "#") ?? rest.endIndex) : rest.endIndex
            let pairs = rest[..<end].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
                guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
                let name = String(pair[..<equals])
                let decodedName = name.removingPercentEncoding ?? name
                return name + "=" + field(decodedName, String(pair[pair.index(after: equals)...]))
            }
            result += String(separator) + pairs.joined(separator: "&")
            rest = rest[end...]
        }
        return result
    }

    /// A header's value as a recording shows it: credentials masked (a cookie keeps its name,
    /// `Authorization` its scheme), URLs masked, one-time values remembered.
    public func header(_ name: String, _ value: String) -> String {
        let lowered = name.lowercased()
        switch lowered {
        case "cookie":
            return value.split(separator: ";").map { pair -> String in
                let trimmed = pair.trimmingSpaces()
                guard let equals = trimmed.firstIndex(of: "=") else { return String(trimmed) }
                let cookie = String(trimmed[..<equals])
                rememberCookie(cookie, String(trimmed[trimmed.index(after: equals)...]))
                return cookie + "=" + Redactor.marker
            }.joined(separator: "; ")
        case "set-cookie":
            let parts = value.split(separator: ";", maxSplits: 1)
            guard let first = parts.first, let equals = first.firstIndex(of: "=") else { return Redactor.marker }
            rememberCookie(String(first[..<equals].trimmingSpaces()), String(first[first.index(after: equals)...]))
            return String(first[..<equals]) + "=" + Redactor.marker + (parts.count > 1 ? ";" + parts[1] : "")
        case "authorization", "proxy-authorization":
            let scheme = value.split(separator: " ", maxSplits: 1)
            if scheme.count == 2 { remember(String(scheme[1])) }
            return scheme.count == 2 ? "\(scheme[0]) \(Redactor.marker)" : Redactor.marker
        default:
            if RecordingMask.credentialHeaders.contains(lowered) || isMasked(name) {
                remember(value)
                return Redactor.marker
            }
            if RecordingMask.urlHeaders.contains(lowered) { return url(value) }
            return value
        }
    }

    /// A form body (`a=1&b=2`, encoded) with sensitive fields masked.
    public func formText(_ fields: [(String, String)]) -> String {
        fields.map { "\(FormEncoding.encode($0.0))=\(FormEncoding.encode(field($0.0, $0.1)))" }.joined(separator: "&")
    }

    /// A JSON body with the values of sensitive keys masked at any depth (one-time ones
    /// remembered); nil when the bytes are not JSON.
    public func json(_ bytes: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return nil
        }
        // Most bodies have no key to mask: found without building the document again.
        func hasMaskedKey(_ value: Any) -> Bool {
            if let dictionary = value as? [String: Any] {
                return dictionary.contains { isMasked($0.key) || hasMaskedKey($0.value) }
            }
            if let array = value as? [Any] { return array.contains(where: hasMaskedKey) }
            return false
        }
        guard hasMaskedKey(object) else { return String(decoding: bytes, as: UTF8.self) }
        var masked = false
        func walk(_ value: Any) -> Any {
            if let dictionary = value as? [String: Any] {
                var result: [String: Any] = [:]
                for (key, inner) in dictionary {
                    if isMasked(key) {
                        if isOneTime(key), let text = inner as? String { remember(text) }
                        result[key] = Redactor.marker
                        masked = true
                    } else {
                        result[key] = walk(inner)
                    }
                }
                return result
            }
            if let array = value as? [Any] { return array.map(walk) }
            return value
        }
        let walked = walk(object)
        // Nothing to mask: the body as it came (cheaper than writing it again).
        guard masked else { return String(decoding: bytes, as: UTF8.self) }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: walked, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Remembers the values of hidden and other inputs of an HTML page whose names are one-time
    /// (`<input type="hidden" name="state" value="...">`), so the page shows none of them.
    public func rememberInputs(ofPage body: [UInt8]) {
        // `<input` in any case, found byte by byte; each tag is read as text.
        let count = min(body.count, 4 << 20)
        var index = 0
        while index + 6 < count {
            if body[index] == 60, body[index + 1] | 0x20 == 105, body[index + 2] | 0x20 == 110,
                body[index + 3] | 0x20 == 112,
                body[index + 4] | 0x20 == 117, body[index + 5] | 0x20 == 116
            {
                var close = index + 6
                while close < count, body[close] != 62 { close += 1 }
                let tag = Substring(String(decoding: body[(index + 6)..<close], as: UTF8.self))
                if let name = RecordingMask.attribute("name", in: tag), isOneTime(name),
                    let value = RecordingMask.attribute("value", in: tag)
                {
                    remember(value)
                }
                index = close
            }
            index += 1
        }
    }

    static func attribute(_ name: String, in tag: Substring) -> String? {
        var searchFrom = tag.startIndex
        while let found = tag.range(of: name + "=", options: [.caseInsensitive], range: searchFrom..<tag.endIndex) {
            searchFrom = found.upperBound
            if found.lowerBound > tag.startIndex, !tag[tag.index(before: found.lowerBound)].isWhitespace { continue }
            var rest = tag[found.upperBound...]
            if let quote = rest.first, quote == "\"" || quote == "'" {
                rest = rest.dropFirst()
                return String(rest.prefix { $0 != quote })
            }
            return String(rest.prefix { !$0.isWhitespace && $0 != ">" })
        }
        return nil
    }

    /// `bytes` with the registered secrets and every remembered one-time value hidden.
    public func redact(bytes: [UInt8]) -> [UInt8] {
        values.redact(bytes: Redactor.shared.redact(bytes: bytes))
    }

    /// `text` with the registered secrets and every remembered one-time value hidden.
    public func redact(_ text: String) -> String {
        values.redact(Redactor.shared.redact(text))
    }
}
