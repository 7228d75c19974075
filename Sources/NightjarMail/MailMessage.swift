internal import CGMime
import Foundation
public import NightjarCore
import Synchronization

/// A mail message as GMime reads it: a few headers and its leaf parts in document order, with
/// multiparts flattened and forwarded messages (`message/rfc822`) opened. Content is decoded
/// (base64, quoted-printable, uuencode), file names are decoded (RFC 2047, RFC 2231), text is
/// converted to UTF-8 from its charset. Reading is bounded: a message with too many parts or
/// nested too deep is refused, never read without end.
public struct MailMessage: Sendable {
    public let messageID: String?
    public let subject: String?
    /// The bare addresses of the From header.
    public let from: [String]
    /// The To and Cc headers as written (decoded).
    public let recipients: String
    /// The Date header, seconds since 1970.
    public let date: Int64?
    public let parts: [MailPart]
    /// What the parser noticed without it stopping the read (an unencoded 8-bit header...).
    public let notes: [String]

    /// How much of a message is read.
    public struct Limits: Sendable {
        /// Leaf parts, counting those of forwarded messages.
        public var maximumParts = 200
        /// Multiparts and forwards inside one another.
        public var maximumDepth = 10
        public init() {}
    }

    /// Reads a message's headers only (for a search): its parts are left unread.
    public static func headers(_ bytes: [UInt8]) throws(MailError) -> MailMessage {
        var limits = Limits()
        limits.maximumParts = 0
        return try parse(bytes, limits: limits)
    }

    /// Reads a message (RFC 5322 bytes).
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(MailError) -> MailMessage {
        _ = MailMessage.initialised
        // GMime keeps global tables (charsets, iconv); one message at a time is read.
        return try MailMessage.lock.withLock { _ throws(MailError) -> MailMessage in
            let collector = WarningCollector()
            let context = Unmanaged.passUnretained(collector).toOpaque()
            let parsed = bytes.withUnsafeBufferPointer { buffer in
                cgmime_parse_message(
                    buffer.baseAddress, buffer.count,
                    { offset, code, item, context in
                        let collector = Unmanaged<WarningCollector>.fromOpaque(context!).takeUnretainedValue()
                        collector.add(offset: Int64(offset), code: code, item: item.map { String(cString: $0) })
                    }, context)
            }
            guard let message = parsed else { throw .malformed("GMime could not read it as a message at all") }
            defer { cgmime_release(UnsafeMutableRawPointer(message)) }
            if let fatal = collector.fatal { throw .malformed(fatal) }
            var walker = Walker(limits: limits)
            if limits.maximumParts > 0, let body = cgmime_message_body(message) {
                try walker.walk(body, depth: 0, forwarded: false)
            }
            if let fatal = collector.fatal { throw .malformed(fatal) }
            return MailMessage(
                messageID: MailMessage.string(cgmime_message_id(message)),
                subject: MailMessage.string(cgmime_subject(message)),
                from: MailMessage.addresses(message),
                recipients: [
                    MailMessage.string(cgmime_header(message, "To")), MailMessage.string(cgmime_header(message, "Cc")),
                ]
                .compactMap { $0 }.joined(separator: ", "),
                date: {
                    let value = cgmime_date(message)
                    return value == 0 ? nil : Int64(value)
                }(),
                parts: walker.parts, notes: collector.notes)
        }
    }

    static let initialised: Void = { cgmime_init() }()
    static let lock = Mutex(())

    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        let text = String(cString: pointer)
        return text.isEmpty ? nil : text
    }

    static func addresses(_ message: UnsafeMutablePointer<GMimeMessage>) -> [String] {
        var result: [String] = []
        var index: Int32 = 0
        while let address = cgmime_from_address(message, index), result.count < 50 {
            result.append(String(cString: address).lowercased())
            index += 1
        }
        return result
    }

    /// Walks the MIME tree depth first.
    struct Walker {
        let limits: Limits
        var parts: [MailPart] = []

        init(limits: Limits) { self.limits = limits }

        mutating func walk(_ object: UnsafeMutablePointer<GMimeObject>, depth: Int, forwarded: Bool) throws(MailError) {
            guard depth <= limits.maximumDepth else { throw .tooDeep(limits.maximumDepth) }
            switch Int(cgmime_kind(object)) {
            case Int(CGMIME_MULTIPART.rawValue):
                let count = Int(cgmime_multipart_count(object))
                if count > limits.maximumParts { throw .tooManyParts(limits.maximumParts) }
                for index in 0..<count {
                    guard let child = cgmime_multipart_part(object, Int32(index)) else { continue }
                    try walk(child, depth: depth + 1, forwarded: forwarded)
                }
            case Int(CGMIME_MESSAGE_PART.rawValue):
                if let inner = cgmime_message_part_message(object), let body = cgmime_message_body(inner) {
                    try walk(body, depth: depth + 1, forwarded: true)
                }
            case Int(CGMIME_PART.rawValue):
                guard parts.count < limits.maximumParts else { throw .tooManyParts(limits.maximumParts) }
                let type = (MailMessage.string(cgmime_media_type(object)) ?? "application").lowercased()
                let subtype = (MailMessage.string(cgmime_media_subtype(object)) ?? "octet-stream").lowercased()
                let disposition = MailMessage.string(cgmime_disposition(object))?.lowercased()
                let name = MailMessage.string(cgmime_filename(object))
                var content: [UInt8] = []
                if let decoded = cgmime_decoded_content(object) {
                    content = Array(
                        UnsafeBufferPointer(start: cgmime_bytes(decoded), count: cgmime_byte_count(decoded)))
                    cgmime_free_bytes(decoded)
                }
                var text: String?
                if type == "text", let converted = cgmime_text_utf8(object) {
                    text = String(cString: converted)
                    cgmime_free_text(converted)
                }
                parts.append(
                    MailPart(
                        mediaType: "\(type)/\(subtype)", fileName: name,
                        isAttachment: disposition == "attachment" || name != nil,
                        content: content, text: text, forwarded: forwarded))
            default:
                break
            }
        }
    }

    /// Collects the parser's warnings; the ones that mean parts of the message were lost end the read.
    final class WarningCollector: @unchecked Sendable {
        var notes: [String] = []
        var fatal: String?

        func add(offset: Int64, code: GMimeParserWarning, item: String?) {
            let detail = item.map { ": \($0.prefix(80))" } ?? ""
            let at = offset >= 0 ? " at byte \(offset)" : ""
            let problem: String? =
                switch code {
                case GMIME_CRIT_INVALID_HEADER_NAME: "a header with an invalid name\(at)\(detail)"
                case GMIME_CRIT_CONFLICTING_HEADER: "conflicting headers\(at)\(detail)"
                case GMIME_CRIT_CONFLICTING_PARAMETER: "conflicting header parameters\(at)\(detail)"
                case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: "a multipart without a boundary\(at)"
                case GMIME_CRIT_NESTING_OVERFLOW: "MIME parts nested too deep\(at)"
                case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: "a MIME part without headers or content\(at)"
                case GMIME_WARN_MALFORMED_MULTIPART: "a multipart with no parts\(at)"
                case GMIME_WARN_TRUNCATED_MESSAGE: "the message is cut short\(at)"
                case GMIME_WARN_MALFORMED_MESSAGE: "the message is malformed\(at)"
                default: nil
                }
            if let problem {
                if fatal == nil { fatal = problem }
            } else if notes.count < 20 {
                notes.append("warning \(code.rawValue)\(at)\(detail)")
            }
        }
    }
}

/// A leaf of a message: an attachment, or a body part.
public struct MailPart: Sendable {
    /// `text/csv`, `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`...
    public let mediaType: String
    /// The decoded file name, as the sender gave it (not yet sanitised).
    public let fileName: String?
    /// An attachment (by disposition, or because it has a file name) rather than a body.
    public let isAttachment: Bool
    /// The decoded bytes.
    public let content: [UInt8]
    /// For text parts: the text, converted to UTF-8.
    public let text: String?
    /// Inside a forwarded message.
    public let forwarded: Bool
}

/// Why a message could not be read. Codes are stable.
public enum MailError: NightjarError, Equatable {
    case malformed(String)
    case tooManyParts(Int)
    case tooDeep(Int)
    case tooLarge(Int)

    public var code: String {
        switch self {
        case .malformed: "mail.malformed"
        case .tooManyParts: "mail.too_many_parts"
        case .tooDeep: "mail.too_deep"
        case .tooLarge: "mail.too_large"
        }
    }

    public var message: String {
        switch self {
        case .malformed(let detail): "not a readable MIME message: \(detail)"
        case .tooManyParts(let limit): "the message has more than \(limit) MIME parts; not read"
        case .tooDeep(let limit): "the message nests parts more than \(limit) deep; not read"
        case .tooLarge(let limit): "the message is larger than \(limit) bytes; not read"
        }
    }
}
