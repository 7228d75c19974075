import CSystem
import Foundation
import NightjarCore

/// Secrets like a night registers: passwords with awkward characters, session tokens, TOTP codes.
func benchmarkSecrets(_ count: Int, seed: UInt64) -> [String] {
    var random = SeededRandom(seed: seed)
    let awkward = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%&*+/=?-_.~ ")
    let hex = Array("0123456789abcdef")
    return (0..<count).map { index in
        switch index % 4 {
        case 0:
            return String(
                (0..<Int.random(in: 10...24, using: &random)).map { _ in awkward.randomElement(using: &random)! })
        case 1: return String((0..<32).map { _ in hex.randomElement(using: &random)! })
        case 2: return "user\(index)-" + String((0..<8).map { _ in awkward.randomElement(using: &random)! }) + "-Pw!"
        default: return String(format: "%06d", Int.random(in: 0..<1_000_000, using: &random)) + String(index)
        }
    }
}

/// A HAR-like text of about `megabytes` MB: JSON with escaped HTML pages, URLs with queries,
/// headers, base64 blobs and CSV files, with a few secrets planted in several encodings.
func benchmarkText(megabytes: Int, planted: [String], seed: UInt64) -> [UInt8] {
    var random = SeededRandom(seed: seed)
    var entries: [[String: Any]] = []
    var size = 0
    var number = 0
    let words = [
        "remittance", "invoice", "payment", "sandbox-html-portal", "supplier", "portal", "amount", "dashboard",
        "download", "search",
        "2026-11-24", "1,234.56", "USD", "Acme & Co", "<b>total</b>", "\"quoted\"", "path/to/file", "ref#42", "100%",
    ]
    while size < megabytes * 1_000_000 {
        number += 1
        var html =
            "<!DOCTYPE html><html><head><title>Remittances</title></head><body><div id=\"main\"><table id=\"remits\">\n"
        for row in 0..<20 {
            let line = (0..<6).map { _ in words.randomElement(using: &random)! }.joined(separator: " ")
            html +=
                "<tr><td>TRACE\(number)-\(row)</td><td>\(line)</td><td><a href=\"/payments/remittance/p\(number)x\(row)/download?from=08%2F01%2F2026&amp;to=08%2F31%2F2026\">Download</a></td></tr>\n"
        }
        if number % 25 == 0, let secret = planted.randomElement(using: &random) {
            html +=
                "<input type=\"hidden\" name=\"t\" value=\"\(secret.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;"))\">"
        }
        html += "</table></div></body></html>"
        let blob = Data((0..<600).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
        var query = "fromDate=08/01/2026&toDate=08/31/2026&page=\(number % 7)"
        if number % 40 == 0, let secret = planted.randomElement(using: &random) {
            query += "&p=" + (secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }
        let csv = (0..<30).map {
            "INV-\(number)-\($0),\(Int.random(in: 100...99999, using: &random)).\(Int.random(in: 10...99, using: &random)),2026-08-\(10 + $0 % 20)"
        }
        .joined(separator: "\n")
        let entry: [String: Any] = [
            "request": [
                "method": "GET", "url": "https://suppliers.sandbox-html-portal.example/payments/remittance?\(query)",
                "headers": [
                    ["name": "User-Agent", "value": "Mozilla/5.0 (X11; Linux x86_64) Nightjar/0.1"],
                    ["name": "Cookie", "value": "[REDACTED]"],
                ],
            ],
            "response": [
                "status": 200, "content": ["mimeType": "text/html", "text": html],
                "headers": [["name": "Content-Type", "value": "text/html"]],
            ],
            "attachment": ["base64": blob, "csv": csv],
        ]
        entries.append(entry)
        size += html.utf8.count + blob.utf8.count + csv.utf8.count + 400
    }
    let data = try! JSONSerialization.data(
        withJSONObject: ["log": ["entries": entries]], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return Array(data)
}

/// Redaction throughput with `count` secrets registered, beside memmem over the same bytes.
func redactionThroughput() throws -> [Figure] {
    var figures: [Figure] = []
    let text = benchmarkText(megabytes: 16, planted: benchmarkSecrets(20, seed: 7), seed: 11)
    let megabytes = Double(text.count) / 1e6
    // The floor: glibc's memmem looking for one 16-byte string that is not there.
    let needle = Array("nightjar-absent!".utf8)
    let memmemTime = timePerIteration(minimum: 1.5) {
        text.withUnsafeBytes { haystack in
            needle.withUnsafeBytes { needle in
                precondition(
                    csystem_memmem(haystack.baseAddress, haystack.count, needle.baseAddress, needle.count) == nil)
            }
        }
    }
    figures.append(
        Figure(
            benchmark: "redact: memmem of one absent 16-byte string over the same \(Int(megabytes)) MB (baseline)",
            value: megabytes / memmemTime, unit: "MB/s", goal: nil))
    for count in [10, 10_000] {
        let redactor = Redactor()
        let secrets = benchmarkSecrets(20, seed: 7) + benchmarkSecrets(count - 20 > 0 ? count - 20 : 0, seed: 13)
        for secret in secrets.prefix(count) { redactor.register(text: secret) }
        if count == 10_000 {
            // Registration builds the index the scan reads (filters, forms): what a night pays per secret.
            let registration = timePerIteration(minimum: 1) {
                let fresh = Redactor()
                for secret in secrets.prefix(count) { fresh.register(text: secret) }
            }
            figures.append(
                Figure(
                    benchmark: "redact: registering \(count) secrets", value: registration * 1000, unit: "ms", goal: nil
                ))
        }
        var redacted: [UInt8] = []
        let seconds = timePerIteration(minimum: 3) { redacted = redactor.redact(bytes: text) }
        let markers = String(decoding: redacted, as: UTF8.self).components(separatedBy: Redactor.marker).count - 1
        figures.append(
            Figure(
                benchmark:
                    "redact \(Int(megabytes)) MB HAR-like text, \(count) secrets (\(markers) redactions), one core",
                value: megabytes / seconds, unit: "MB/s", goal: count == 10_000 ? ">= 200 MB/s" : nil))
        figures.append(
            Figure(
                benchmark: "redact with \(count) secrets: time / memmem time", value: seconds / memmemTime, unit: "x",
                goal: nil))
    }
    return figures
}
