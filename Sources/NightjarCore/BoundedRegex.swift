public import Foundation

/// Regular expressions over untrusted text (a page, a cell), capped in input size and time: a
/// hostile input must not hang a definition's or a profile's pattern.
public enum BoundedRegex {
    /// Text longer than this is cut before matching.
    public static let maximumInput = 1024 * 1024
    /// Matching stops after this long.
    public static let timeLimit: TimeInterval = 1

    public enum Failure: Error { case invalid(String), timedOut }

    /// Every match: the first capture group when the pattern has one, else the whole match.
    public static func matches(_ pattern: String, in text: String) throws(Failure) -> [String] {
        let regex: NSRegularExpression
        do { regex = try NSRegularExpression(pattern: pattern) } catch { throw .invalid(pattern) }
        let input =
            text.utf16.count > maximumInput
            ? String(decoding: Array(text.utf8.prefix(maximumInput)), as: UTF8.self) : text
        let deadline = Date().addingTimeInterval(timeLimit)
        var results: [String] = []
        var timedOut = false
        let range = NSRange(input.startIndex..., in: input)
        regex.enumerateMatches(in: input, options: [.reportProgress], range: range) { match, _, stop in
            if Date() > deadline {
                timedOut = true
                stop.pointee = true
                return
            }
            guard let match else { return }
            let chosen =
                match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? match.range(at: 1) : match.range
            if let swiftRange = Range(chosen, in: input) { results.append(String(input[swiftRange])) }
            if results.count >= 10_000 { stop.pointee = true }
        }
        if timedOut { throw .timedOut }
        return results
    }
}

extension BoundedRegex {
    /// A pattern compiled once and applied to many short texts (cells of a file), with the same
    /// caps as `matches`.
    public struct Pattern: @unchecked Sendable {
        // NSRegularExpression is immutable after creation and documented as thread-safe.
        let regex: NSRegularExpression
        public let source: String

        public init(_ pattern: String) throws(Failure) {
            do { regex = try NSRegularExpression(pattern: pattern) } catch { throw .invalid(pattern) }
            source = pattern
        }

        /// How many capture groups the pattern has.
        public var groupCount: Int { regex.numberOfCaptureGroups }

        /// The first match's capture group `group` (0: the whole match), or nil when the pattern
        /// does not match or the group took no part in the match.
        public func firstMatch(in text: String, group: Int = 0) throws(Failure) -> String? {
            let input =
                text.utf16.count > BoundedRegex.maximumInput
                ? String(decoding: Array(text.utf8.prefix(BoundedRegex.maximumInput)), as: UTF8.self) : text
            let deadline = Date().addingTimeInterval(BoundedRegex.timeLimit)
            var result: String?
            var timedOut = false
            regex.enumerateMatches(
                in: input, options: [.reportProgress], range: NSRange(input.startIndex..., in: input)
            ) { match, _, stop in
                if Date() > deadline {
                    timedOut = true
                    stop.pointee = true
                    return
                }
                guard let match else { return }
                stop.pointee = true
                guard group < match.numberOfRanges, match.range(at: group).location != NSNotFound,
                    let range = Range(match.range(at: group), in: input)
                else { return }
                result = String(input[range])
            }
            if timedOut { throw .timedOut }
            return result
        }

        /// `text` with every match replaced by `template` (`$1` names a group).
        public func replacing(in text: String, with template: String) -> String {
            let mutable = NSMutableString(string: text)
            regex.replaceMatches(
                in: mutable, range: NSRange(location: 0, length: mutable.length), withTemplate: template)
            return mutable as String
        }
    }
}
