import CZlib
public import Foundation
import NightjarCore

/// A retailer that e-mails its remittances (Mailbox Retail, each client's customer C4, who buys through
/// no portal), and the awkward messages a real AR mailbox receives: every case the mailbox tests
/// and `make demo-mail` need, as RFC 5322 bytes.
public struct SandboxMail: Sendable {
    public let data: SandboxData
    /// Where the advice comes from.
    public static let sender = "remittance@sandbox-mailbox.example"

    public init(data: SandboxData) { self.data = data }

    /// One message and when it arrived.
    public struct Message: Sendable {
        public let name: String
        public let bytes: [UInt8]
        public let arrival: Date
        /// What a correct reading keeps from it (file names), and what it must report instead.
        public let documents: [String]
        public let refused: Bool
    }

    /// Mailbox Retail's payments to a client: C4's invoices, a few per month from August on.
    public func payments(client: String, count: Int = 8) -> [SandboxData.Payment] {
        var generator = SeededRandom(seed: data.seed &+ 4_040)
        let pool = (data.invoices[client] ?? []).filter { $0.customerID == "\(client.uppercased())-C4" }
        var result: [SandboxData.Payment] = []
        var used = Set<String>()
        for index in 0..<count {
            var lines: [SandboxData.PaymentLine] = []
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                guard let invoice = pool.randomElement(using: &generator), used.insert(invoice.number).inserted else {
                    continue
                }
                lines.append(
                    SandboxData.PaymentLine(
                        reference: invoice.number, invoiceCents: invoice.cents, paidCents: invoice.cents,
                        discountCents: 0,
                        deductionCents: 0, deductionCode: "", deductionText: "", deductionReference: ""))
            }
            if lines.isEmpty { continue }
            let day = 3 + index * 6
            let date = String(format: "2026-%02d-%02d", 8 + day / 28, 1 + day % 28)
            result.append(
                SandboxData.Payment(
                    id: "fa\(client.prefix(2))\(String(format: "%04d", index))", client: client,
                    portal: "sandbox-mailbox",
                    trace: "\(70_000_000 + index * 41 + client.count)", date: date, payer: "Mailbox Retail",
                    payerID: "FAB\(client.prefix(3).uppercased())", lines: lines, promotionCents: 0))
        }
        return result
    }

    /// The advice of one payment as an HTML table in a message body (read by docs/examples/sandbox-mailbox.profile).
    public func htmlAdvice(_ payment: SandboxData.Payment) -> String {
        var rows = ""
        for line in payment.lines {
            rows +=
                "<tr><td>\(line.reference)</td><td>\(SandboxData.decimal(line.invoiceCents))</td><td>\(SandboxData.decimal(line.paidCents))</td></tr>\n"
        }
        return """
            <html><head><meta charset="utf-8"><title>Remittance advice</title></head><body>
            <p>Dear supplier, our payment \(payment.trace) of \(payment.date) settles the invoices below. Café de la Poste, Zürich.</p>
            <table id="remittance" border="1">
            <tr><td>Payment number</td><td>\(payment.trace)</td></tr>
            <tr><td>Payment date</td><td>\(payment.date)</td></tr>
            <tr><th>Invoice</th><th>Invoice amount</th><th>Paid</th></tr>
            \(rows)<tr><td>Total</td><td></td><td>\(SandboxData.decimal(payment.totalCents))</td></tr>
            </table>
            <p>Mailbox Retail — Accounts Payable</p>
            </body></html>
            """
    }

    /// The same advice as sandbox-html-portal's CSV layout (docs/examples/sandbox-html-portal-remittance.profile).
    public func csvAdvice(_ payment: SandboxData.Payment) -> String { data.htmlPortalCSV(payment) }

    /// Every message of a client's mailbox, in arrival order: one document each in CSV, Excel and
    /// X12, a forward, an encoded file name, a body-only advice, a zip, a duplicate, and the hostile
    /// ones (malformed, a zip bomb, over the size cap, a `../` name, 1,000 parts), plus mail that
    /// is not advice at all.
    public func mailbox(client: String, to address: String) -> [Message] {
        let payments = self.payments(client: client)
        precondition(payments.count >= 8, "the sandbox needs eight Mailbox Retail payments")
        func arrival(_ payment: SandboxData.Payment, hour: Int = 9) -> Date {
            ISO8601DateFormatter().date(from: payment.date + String(format: "T%02d:15:00Z", hour))!
        }
        func name(_ payment: SandboxData.Payment, _ ext: String) -> String { "FAB-\(payment.trace).\(ext)" }
        var messages: [Message] = []
        func add(_ label: String, _ bytes: [UInt8], _ at: Date, _ documents: [String], refused: Bool = false) {
            messages.append(Message(name: label, bytes: bytes, arrival: at, documents: documents, refused: refused))
        }
        let csv = payments[0]
        let workbook = payments[1]
        let x12 = payments[2]
        let forwarded = payments[3]
        let encoded = payments[4]
        let body = payments[5]
        let zipped = payments[6]
        let last = payments[7]
        add(
            "csv",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice \(csv.trace)", date: arrival(csv),
                id: "fab-\(csv.id)@sandbox-mailbox.example",
                text: "Payment \(csv.trace) attached.",
                attachments: [.init(name: name(csv, "csv"), type: "text/csv", bytes: Array(csvAdvice(csv).utf8))]),
            arrival(csv), [name(csv, "csv")])
        add(
            "xlsx",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice \(workbook.trace)",
                date: arrival(workbook),
                id: "fab-\(workbook.id)@sandbox-mailbox.example", text: "Payment \(workbook.trace) attached.",
                attachments: [
                    .init(
                        name: name(workbook, "xlsx"),
                        type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        bytes: data.totpPortalWorkbook(workbook))
                ]),
            arrival(workbook), [name(workbook, "xlsx")])
        add(
            "x12",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice \(x12.trace)", date: arrival(x12),
                id: "fab-\(x12.id)@sandbox-mailbox.example",
                text: "EDI 820 attached.",
                attachments: [
                    .init(name: name(x12, "820"), type: "application/edi-x12", bytes: Array(data.x12(x12).utf8))
                ]),
            arrival(x12), [name(x12, "820")])
        // A clerk forwards an advice sent to her own address: the original inside message/rfc822.
        let original = SandboxMail.compose(
            from: SandboxMail.sender, to: "jane@\(client).example", subject: "Remittance advice \(forwarded.trace)",
            date: arrival(forwarded, hour: 8), id: "fab-\(forwarded.id)@sandbox-mailbox.example",
            text: "Payment attached.",
            attachments: [
                .init(name: name(forwarded, "csv"), type: "text/csv", bytes: Array(csvAdvice(forwarded).utf8))
            ])
        add(
            "forward",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Fwd: Remittance advice \(forwarded.trace)",
                date: arrival(forwarded),
                id: "fwd-\(forwarded.id)@\(client).example", text: "Forwarding, see below.\n-- Jane",
                attachments: [.init(name: nil, type: "message/rfc822", bytes: original, inline: true)]),
            arrival(forwarded), [name(forwarded, "csv")])
        // A file name in RFC 2231 (UTF-8, percent-encoded) and the subject in RFC 2047.
        let encodedName = "Zahlungsavis-\(encoded.trace)-Poste-Zürich.csv"
        add(
            "encoded-name",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Zahlungsavis für \(encoded.trace) — Mailbox Retail",
                date: arrival(encoded),
                id: "fab-\(encoded.id)@sandbox-mailbox.example", text: "Anbei das Zahlungsavis.",
                attachments: [
                    .init(name: encodedName, type: "text/csv", bytes: Array(csvAdvice(encoded).utf8), rfc2231: true)
                ]),
            arrival(encoded), [encodedName])
        // The advice in the message body, as HTML, quoted-printable in ISO-8859-1.
        add(
            "body",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance \(body.trace)", date: arrival(body),
                id: "fab-\(body.id)@sandbox-mailbox.example",
                text: nil, html: htmlAdvice(body), attachments: []),
            arrival(body), ["Remittance \(body.trace).html"])
        add(
            "zip",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice \(zipped.trace) (zipped)",
                date: arrival(zipped),
                id: "fab-\(zipped.id)@sandbox-mailbox.example", text: "Zipped.",
                attachments: [
                    .init(
                        name: "remittance-\(zipped.trace).zip", type: "application/zip",
                        bytes: SandboxMail.deflatedZip([(name(zipped, "csv"), Array(csvAdvice(zipped).utf8))]))
                ]),
            arrival(zipped), [name(zipped, "csv")])
        // The same message delivered twice (same Message-ID): read once.
        let again = SandboxMail.compose(
            from: SandboxMail.sender, to: address, subject: "Remittance advice \(last.trace)", date: arrival(last),
            id: "fab-\(last.id)@sandbox-mailbox.example", text: "Payment attached.",
            attachments: [.init(name: name(last, "csv"), type: "text/csv", bytes: Array(csvAdvice(last).utf8))])
        add("duplicate-1", again, arrival(last), [name(last, "csv")])
        add("duplicate-2", again, arrival(last).addingTimeInterval(60), [])
        // Hostile and unrelated mail, all in the range.
        let day = arrival(payments[2], hour: 11)
        add(
            "malformed",
            Array(
                """
                From: \(SandboxMail.sender)\r
                To: \(address)\r
                Subject: Remittance advice (broken)\r
                Message-ID: <broken-\(client)@sandbox-mailbox.example>\r
                Date: \(SandboxMail.rfc5322(day))\r
                MIME-Version: 1.0\r
                Content-Type: multipart/mixed\r
                \r
                --xyz\r
                Content-Type: text/csv; name="lost.csv"\r
                \r
                Line Type,Invoice Number\r
                --xyz--\r

                """.utf8), day, [], refused: true)
        add(
            "zip-bomb",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice (huge archive)", date: day,
                id: "bomb-\(client)@sandbox-mailbox.example",
                text: "See attached.",
                attachments: [.init(name: "remittances.zip", type: "application/zip", bytes: SandboxMail.zipBomb())]),
            day, [], refused: true)
        add(
            "over-cap",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice (scan)", date: day,
                id: "big-\(client)@sandbox-mailbox.example",
                text: "Scanned.", attachments: [.init(name: "scan.csv", type: "text/csv", bytes: SandboxMail.oversized)]
            ),
            day, [], refused: true)
        add(
            "dot-dot-name",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice \(csv.trace) (resent)", date: day,
                id: "dots-\(client)@sandbox-mailbox.example", text: "Resent.",
                attachments: [
                    .init(
                        name: "../../../etc/cron.d/remit-\(csv.trace).csv", type: "text/csv",
                        bytes: Array(csvAdvice(csv).utf8))
                ]),
            day, ["remit-\(csv.trace).csv"])
        var many: [SandboxMail.Attachment] = []
        for index in 0..<1_000 {
            many.append(.init(name: "part-\(index).txt", type: "text/plain", bytes: Array("part \(index)\n".utf8)))
        }
        add(
            "thousand-parts",
            SandboxMail.compose(
                from: SandboxMail.sender, to: address, subject: "Remittance advice (parts)", date: day,
                id: "parts-\(client)@sandbox-mailbox.example",
                text: "Many parts.", attachments: many),
            day, [], refused: true)
        add(
            "newsletter",
            SandboxMail.compose(
                from: "news@sandbox-mailbox.example", to: address, subject: "Mailbox Retail news", date: day,
                id: "news-\(client)@sandbox-mailbox.example",
                text: "Our autumn catalogue.",
                attachments: [.init(name: "catalogue.csv", type: "text/csv", bytes: Array("sku,price\n1,2\n".utf8))]),
            day, [])
        return messages.sorted { $0.arrival < $1.arrival }
    }

    /// A file too big to be a document for a definition with `size max 1 MB`: 1.5 MiB.
    static let oversized: [UInt8] = Array(repeating: UInt8(ascii: "9"), count: 3 * 512 * 1024)

    // MARK: Composing

    /// An attachment or an inline part.
    public struct Attachment: Sendable {
        public let name: String?
        public let type: String
        public let bytes: [UInt8]
        /// The name in RFC 2231 form (`filename*=UTF-8''...`) rather than RFC 2047.
        public let rfc2231: Bool
        public let inline: Bool

        public init(name: String?, type: String, bytes: [UInt8], rfc2231: Bool = false, inline: Bool = false) {
            self.name = name
            self.type = type
            self.bytes = bytes
            self.rfc2231 = rfc2231
            self.inline = inline
        }
    }

    /// A message with a text and/or HTML body and attachments (base64), as a mail program writes it.
    public static func compose(
        from: String, to: String, subject: String, date: Date, id: String, text: String?, html: String? = nil,
        attachments: [Attachment]
    ) -> [UInt8] {
        let boundary = "=_nightjar_\(abs(id.hashValue % 1_000_000))_mixed"
        var head =
            "From: Mailbox Retail AP <\(from)>\r\nTo: \(to)\r\nSubject: \(encodedWord(subject))\r\nDate: \(rfc5322(date))\r\nMessage-ID: <\(id)>\r\nMIME-Version: 1.0\r\n"
        var bodyPart = ""
        if let html {
            bodyPart =
                "Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + quotedPrintableLatin1(html) + "\r\n"
        } else {
            bodyPart =
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + (text ?? "")
                + "\r\n"
        }
        if attachments.isEmpty {
            head += bodyPart
            return Array(head.utf8)
        }
        head +=
            "Content-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n\r\nThis is a multi-part message in MIME format.\r\n"
        var bytes = Array(head.utf8) + Array("--\(boundary)\r\n\(bodyPart)".utf8)
        for attachment in attachments {
            var part = "--\(boundary)\r\nContent-Type: \(attachment.type)"
            if attachment.type == "message/rfc822" {
                part += "\r\nContent-Disposition: inline\r\n\r\n"
                bytes += Array(part.utf8) + attachment.bytes + Array("\r\n".utf8)
                continue
            }
            if let name = attachment.name {
                if attachment.rfc2231 {
                    let encoded =
                        name.addingPercentEncoding(
                            withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._")))
                        ?? name
                    part += "\r\nContent-Disposition: attachment; filename*=UTF-8''\(encoded)"
                } else {
                    part +=
                        "; name=\"\(encodedWord(name))\"\r\nContent-Disposition: attachment; filename=\"\(encodedWord(name))\""
                }
            }
            part += "\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            bytes +=
                Array(part.utf8)
                + Array(
                    Data(attachment.bytes).base64EncodedString(options: [
                        .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
                    ]).utf8)
                + Array("\r\n".utf8)
        }
        return bytes + Array("--\(boundary)--\r\n".utf8)
    }

    /// RFC 2047 (`=?UTF-8?B?...?=`) when the text is not plain ASCII.
    static func encodedWord(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value > 0x7E }) else { return text }
        return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    static func quotedPrintableLatin1(_ text: String) -> String {
        let bytes = text.data(using: .isoLatin1, allowLossyConversion: true).map(Array.init) ?? Array(text.utf8)
        var out = ""
        var column = 0
        for byte in bytes {
            if byte == 0x0A {
                out += "\r\n"
                column = 0
                continue
            }
            let piece =
                (byte >= 33 && byte <= 126 && byte != 61) || byte == 32
                ? String(UnicodeScalar(byte)) : String(format: "=%02X", byte)
            if column + piece.count > 73 {
                out += "=\r\n"
                column = 0
            }
            out += piece
            column += piece.count
        }
        return out
    }

    public static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    // MARK: Zips

    /// A zip whose entries are deflated (as archivers write them).
    public static func deflatedZip(_ parts: [(String, [UInt8])]) -> [UInt8] {
        func u16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        func u32(_ value: UInt32) -> [UInt8] {
            [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        }
        var body: [UInt8] = []
        var directory: [UInt8] = []
        for (name, data) in parts {
            let nameBytes = Array(name.utf8)
            let crc = SandboxZip.crc32(data)
            let compressed = deflate(data)
            let offset = UInt32(body.count)
            body +=
                u32(0x0403_4B50) + u16(20) + u16(0) + u16(8) + u16(0) + u16(0) + u32(crc)
                + u32(UInt32(compressed.count)) + u32(UInt32(data.count))
                + u16(nameBytes.count) + u16(0) + nameBytes + compressed
            directory +=
                u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(8) + u16(0) + u16(0) + u32(crc)
                + u32(UInt32(compressed.count))
                + u32(UInt32(data.count)) + u16(nameBytes.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0)
                + u32(offset) + nameBytes
        }
        return body + directory + u32(0x0605_4B50) + u16(0) + u16(0) + u16(parts.count) + u16(parts.count)
            + u32(UInt32(directory.count))
            + u32(UInt32(body.count)) + u16(0)
    }

    /// Ten entries of 20 MiB of zeros each, about 200 KiB in all.
    public static func zipBomb() -> [UInt8] {
        let block = deflate([UInt8](repeating: 0, count: 20 * 1024 * 1024))
        func u16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        func u32(_ value: UInt32) -> [UInt8] {
            [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        }
        var body: [UInt8] = []
        var directory: [UInt8] = []
        let crc = SandboxMail.zeroCRC
        for index in 0..<10 {
            let nameBytes = Array("remittance-\(index).csv".utf8)
            let offset = UInt32(body.count)
            body +=
                u32(0x0403_4B50) + u16(20) + u16(0) + u16(8) + u16(0) + u16(0) + u32(crc) + u32(UInt32(block.count))
                + u32(20 * 1024 * 1024)
                + u16(nameBytes.count) + u16(0) + nameBytes + block
            directory +=
                u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(8) + u16(0) + u16(0) + u32(crc)
                + u32(UInt32(block.count))
                + u32(20 * 1024 * 1024) + u16(nameBytes.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0)
                + u32(offset) + nameBytes
        }
        return body + directory + u32(0x0605_4B50) + u16(0) + u16(0) + u16(10) + u16(10) + u32(UInt32(directory.count))
            + u32(UInt32(body.count)) + u16(0)
    }

    /// CRC-32 of 20 MiB of zeros (computed once with zlib).
    static let zeroCRC: UInt32 = {
        let zeros = [UInt8](repeating: 0, count: 1024 * 1024)
        var crc: uLong = 0
        for _ in 0..<20 { crc = zeros.withUnsafeBufferPointer { CZlib.crc32(crc, $0.baseAddress, UInt32($0.count)) } }
        return UInt32(crc)
    }()

    /// Raw deflate (as in zip entries).
    static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflate_init2(&stream, 9, -15) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
        var input = bytes
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
                return Int(stream.total_out)
            }
        }
        return Array(output.prefix(produced))
    }
}
