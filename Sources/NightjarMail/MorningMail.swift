public import Foundation
public import NightjarCore
import NightjarCrypto
public import NightjarHTTP

/// The morning mail: after the night, each approved recipient gets one message with a short
/// summary of exactly the clients they are approved for and each client's morning report
/// attached; operators get the run's summary when the night failed. Sent over SMTP through
/// libcurl with TLS required (implicit `smtps://`, or `smtp://` upgraded with STARTTLS); plain
/// SMTP only to a loopback server when the settings allow it.
public enum MorningMail {
    /// Where and how mail is sent (`[mail]` in nightjar.conf, the sign-in from the vault).
    public struct Settings: Sendable {
        /// `smtps://host[:port]` or `smtp://host[:port]`.
        public var server: String
        /// The envelope sender and `From:`.
        public var from: String
        public var username: String?
        public var password: String?
        public var tls = TLSSettings()
        /// Plain SMTP to a server on 127.0.0.1/::1/localhost (a test sink); refused for any other host.
        public var allowPlaintextLoopback = false

        public init(server: String, from: String) {
            self.server = server
            self.from = from
        }
    }

    /// One message to one recipient.
    public struct Letter: Sendable {
        public let to: String
        public let subject: String
        public let text: String
        public let attachments: [(name: String, type: String, bytes: [UInt8])]

        public init(
            to: String, subject: String, text: String, attachments: [(name: String, type: String, bytes: [UInt8])]
        ) {
            self.to = to
            self.subject = subject
            self.text = text
            self.attachments = attachments
        }
    }

    /// RFC 5322 bytes: a text part and base64 attachments, CRLF line ends, the subject in RFC 2047
    /// when it is not ASCII.
    public static func compose(_ letter: Letter, from: String, date: Date = Date()) -> [UInt8] {
        let boundary = "nightjar-" + SecureRandom.bytes(12).map { String(format: "%02x", $0) }.joined()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let domain = from.split(separator: "@").last.map(String.init) ?? "nightjar.invalid"
        var text = """
            From: \(header(from))\r
            To: \(header(letter.to))\r
            Subject: \(encodedWord(letter.subject))\r
            Date: \(formatter.string(from: date))\r
            Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>\r
            MIME-Version: 1.0\r
            Auto-Submitted: auto-generated\r
            Content-Type: multipart/mixed; boundary="\(boundary)"\r
            \r
            --\(boundary)\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r
            \(base64Lines(Array(letter.text.utf8)))\r

            """
        for attachment in letter.attachments {
            let name = attachment.name.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && !$0.isNewline }
            text += """
                --\(boundary)\r
                Content-Type: \(attachment.type); name="\(name)"\r
                Content-Disposition: attachment; filename="\(name)"\r
                Content-Transfer-Encoding: base64\r
                \r
                \(base64Lines(attachment.bytes))\r

                """
        }
        text += "--\(boundary)--\r\n"
        return Array(text.utf8)
    }

    /// Sends one letter. Throws a `TransferError` (the caller records it as a warning).
    public static func send(_ letter: Letter, settings: Settings) async throws {
        let lower = settings.server.lowercased()
        guard lower.hasPrefix("smtps://") || lower.hasPrefix("smtp://") else {
            throw GeneralError(
                code: "mail.server", message: "the mail server \(settings.server) is not an smtps:// or smtp:// URL",
                exitStatus: .config)
        }
        var connection = CurlConnection.Settings(protocols: "smtps,smtp")
        connection.username = settings.username
        connection.password = settings.password
        connection.tls = settings.tls
        if settings.allowPlaintextLoopback {
            let host = SourceOriginHost.host(of: settings.server)
            guard ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host) else {
                throw GeneralError(
                    code: "mail.plaintext", message: "plain SMTP is only allowed to a loopback server, not \(host)",
                    exitStatus: .config)
            }
            connection.allowPlaintext = true
        }
        let client = try CurlConnection(connection)
        var request = CurlConnection.Request(url: settings.server)
        request.mailFrom = "<\(settings.from)>"
        request.mailRecipients = ["<\(letter.to)>"]
        request.upload = compose(letter, from: settings.from)
        _ = try await client.perform(request)
    }

    static func header(_ address: String) -> String { address.filter { !$0.isNewline } }

    static func encodedWord(_ text: String) -> String {
        let clean = text.filter { !$0.isNewline }
        if clean.allSatisfy(\.isASCII) { return clean }
        return "=?utf-8?B?" + Data(clean.utf8).base64EncodedString() + "?="
    }

    static func base64Lines(_ bytes: [UInt8]) -> String {
        let encoded = Data(bytes).base64EncodedString()
        var lines: [Substring] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(encoded[index..<end])
            index = end
        }
        return lines.joined(separator: "\r\n")
    }
}

/// The host of a URL (`smtp://127.0.0.1:2525` → `127.0.0.1`).
enum SourceOriginHost {
    static func host(of url: String) -> String {
        guard let start = url.range(of: "://") else { return url }
        var authority = url[start.upperBound...].prefix { $0 != "/" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") { return String(authority.prefix { $0 != "]" }) + "]" }
        return String(authority.prefix { $0 != ":" }).lowercased()
    }
}
