import Foundation
import NightjarCore
import NightjarDocuments
import NightjarMail
import NightjarSandbox
import NightjarScript
import Testing

/// Malformed input for every parser a mailbox night runs: MIME (GMime), zip attachments, the
/// document selection over both. Each must give a result or a clear error, never crash, hang or
/// grow without bound.
@Suite("malformed mail")
struct MalformedMailTests {
    static let messages = SandboxMail(data: SandboxData()).mailbox(client: "acme", to: "ar@acme.example").filter {
        $0.name != "thousand-parts" && $0.name != "over-cap"
    }

    /// Mutations of real messages: bytes flipped, cut short, lines duplicated, boundaries broken.
    static func mutations(of bytes: [UInt8], seed: UInt64, count: Int) -> [[UInt8]] {
        var generator = SeededRandom(seed: seed)
        var result: [[UInt8]] = []
        for round in 0..<count {
            var copy = bytes
            switch round % 5 {
            case 0:
                for _ in 0..<Int.random(in: 1...20, using: &generator) where !copy.isEmpty {
                    copy[Int.random(in: 0..<copy.count, using: &generator)] = UInt8.random(
                        in: 0...255, using: &generator)
                }
            case 1:
                copy = Array(copy.prefix(Int.random(in: 0...copy.count, using: &generator)))
            case 2:
                let text = String(decoding: copy, as: UTF8.self).replacingOccurrences(
                    of: "boundary=\"", with: "boundary=\"x")
                copy = Array(text.utf8)
            case 3:
                let lines = String(decoding: copy, as: UTF8.self).components(separatedBy: "\r\n")
                let line = lines.randomElement(using: &generator) ?? ""
                copy = Array(
                    (lines + Array(repeating: line, count: 50)).shuffled(using: &generator).joined(separator: "\r\n")
                        .utf8)
            default:
                let text = String(decoding: copy, as: UTF8.self)
                    .replacingOccurrences(
                        of: "Content-Transfer-Encoding: base64", with: "Content-Transfer-Encoding: quoted-printable"
                    )
                    .replacingOccurrences(of: "multipart/mixed", with: "multipart/\u{0}mixed")
                copy = Array(text.utf8)
            }
            result.append(copy)
        }
        return result
    }

    static let rules: [Statement] = {
        let definition = try! ScraperChecker.load(
            """
            mailbox m "M"
            origin "imaps://imap.example.com"
            sign in password
            remittances {
              messages from "x" {
                attachments name "*.csv" expect type csv
                attachments name "*.xlsx" expect type xlsx
                attachments
                body html
                body text
              }
            }
            """, file: "m.scraper")
        guard case .messages(_, let block) = definition.block(for: .remittance)!.body.statements[0].kind else {
            return []
        }
        return block.statements
    }()

    @Test func mutatedMessagesAreReadOrRefusedWithAMessage() {
        var refused = 0
        var read = 0
        for (index, message) in MalformedMailTests.messages.enumerated() {
            for mutated in MalformedMailTests.mutations(of: message.bytes, seed: UInt64(index) &+ 77, count: 25) {
                do {
                    let parsed = try MailMessage.parse(mutated)
                    read += 1
                    #expect(parsed.parts.count <= MailMessage.Limits().maximumParts)
                    let selection = DocumentSelection.select(
                        parsed, rules: MalformedMailTests.rules, maximumBytes: 1024 * 1024, subjectFallback: "m")
                    for document in selection.documents {
                        #expect(!document.name.contains("/") && document.bytes.count <= 1024 * 1024)
                    }
                } catch {
                    refused += 1
                    #expect(!error.message.isEmpty)
                }
            }
        }
        #expect(read + refused == MalformedMailTests.messages.count * 25)
        #expect(read > 0)
    }

    @Test func nestingAndPartsAreBounded() throws {
        // A message forwarded inside itself twenty deep.
        var inner = Array("From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain\r\n\r\nhello\r\n".utf8)
        for depth in 0..<20 {
            inner =
                Array(
                    "From: a@b.example\r\nSubject: level \(depth)\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
                        .utf8) + inner
        }
        #expect(throws: MailError.self) { try MailMessage.parse(inner) }
        // Thousands of empty parts.
        var many = "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        for _ in 0..<5_000 { many += "--b\r\nContent-Type: text/plain\r\n\r\n\r\n" }
        many += "--b--\r\n"
        #expect(throws: MailError.self) { try MailMessage.parse(Array(many.utf8)) }
        #expect(throws: MailError.self) { try MailMessage.parse([]) }
    }

    @Test func zipAttachmentsThatLieAreRefused() throws {
        let good = SandboxMail.deflatedZip([("a.csv", Array("Line Type,Invoice Number\n".utf8))])
        #expect(try ZipAttachment.open(good, name: "good.zip").entries.count == 1)
        #expect(throws: LayoutError.self) { try ZipAttachment.open(SandboxMail.zipBomb(), name: "bomb.zip") }
        var generator = SeededRandom(seed: 2026)
        let bomb = SandboxMail.zipBomb()
        for round in 0..<120 {
            var copy = round % 10 == 0 ? bomb : good
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                copy[Int.random(in: 0..<copy.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if round % 3 == 0 { copy = Array(copy.prefix(Int.random(in: 0...copy.count, using: &generator))) }
            do {
                let contents = try ZipAttachment.open(copy, name: "mutated.zip")
                #expect(contents.entries.reduce(0) { $0 + $1.bytes.count } <= ZipAttachment.Limits().maximumTotalBytes)
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }
}
