import Foundation
import NightjarCore
import Testing

@testable import NightjarHTTP

/// The recording mask's shortcuts (a byte search over the strings' storage, a JSON body with no
/// key to mask given back without being written again) against the general paths.
@Suite struct RecordingMaskTests {
    @Test func wordSearchAgreesWithStringContains() {
        let texts = [
            "", "a", "session", "x-session-id", "sessio", "passwordpass", "ppass", "café-token", "tok", "_token",
        ]
        let words = ["", "a", "pass", "session", "token", "é", "ok", "_token", "sessionx"]
        for text in texts {
            for word in words {
                // An empty word is found everywhere, as by the copying search this replaced.
                let expected = word.isEmpty || Array(text.utf8).firstRange(of: Array(word.utf8)) != nil
                #expect(RecordingMask.has(text, word) == expected, "\(text) / \(word)")
            }
        }
    }

    /// The JSON masking as it was written before the shortcut: every document walked and built again.
    static func referenceJSON(_ mask: RecordingMask, _ bytes: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return nil
        }
        var masked = false
        func walk(_ value: Any) -> Any {
            if let dictionary = value as? [String: Any] {
                var result: [String: Any] = [:]
                for (key, inner) in dictionary {
                    if mask.isMasked(key) {
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
        guard masked else { return String(decoding: bytes, as: UTF8.self) }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: walked, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func jsonBodiesAreMaskedAsTheFullWalkMasksThem() {
        let bodies = [
            #"{"payments":[{"id":"p1","amount":"10.00"},{"id":"p2","amount":"2.50"}],"next":null}"#,
            #"{ "b": 1,   "a": [1, 2, {"c": "d"}] }"#,
            #"{"access_token":"abc","token_type":"Bearer","expires_in":3600}"#,
            #"{"data":{"items":[{"name":"x","meta":{"session_state":"s1"}}]}}"#,
            #"[{"ok":true},{"list":[[{"password":"p"}]]}]"#,
            #"[1,2,3]"#, #""just a string""#, "42", "null", "{}", "[]",
            #"{"unicode":"caf\u00e9","slash":"a\/b"}"#,
            "not json", "{\"broken\":", "",
        ]
        for body in bodies {
            let bytes = Array(body.utf8)
            #expect(RecordingMask().json(bytes) == Self.referenceJSON(RecordingMask(), bytes), "\(body)")
        }
        let named = RecordingMask(names: ["customer_ref"])
        let body = Array(#"{"rows":[{"customer_ref":"C-1","amount":"1.00"}]}"#.utf8)
        #expect(named.json(body) == Self.referenceJSON(RecordingMask(names: ["customer_ref"]), body))
        #expect(named.json(body)?.contains("C-1") == false)
    }
}
