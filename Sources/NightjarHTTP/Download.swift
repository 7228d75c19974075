import Foundation
import NightjarCore
import NightjarCrypto

/// Where a download streams: a temporary file (0600) and a running SHA-256.
final class DownloadSink: @unchecked Sendable {
    let descriptor: Int32
    let path: String
    private(set) var hasher = SHA256()
    private(set) var count = 0

    init(directory: String) throws {
        var template = Array("\(directory)/.download-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw HTTPError.other("cannot create a temporary file in \(directory)") }
        fchmod(descriptor, 0o600)
        self.descriptor = descriptor
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Called on the loop thread only.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return false }
            offset += written
        }
        hasher.update(bytes)
        count += bytes.count
        return true
    }

    /// Starts over (after a redirect's own body).
    func reset() {
        ftruncate(descriptor, 0)
        lseek(descriptor, 0, SEEK_SET)
        hasher = SHA256()
        count = 0
    }

    func discard() {
        close(descriptor)
        unlink(path)
    }
}

/// A file fetched from a portal, complete and in place.
public struct DownloadedFile: Sendable, Equatable {
    public let path: String
    public let size: Int
    public let sha256: String
    /// What the server called it (Content-Disposition), if anything, before sanitising.
    public let serverFileName: String?
    public let contentType: String?
}

extension HTTPSession {
    /// Streams a response body to a temporary file, checks it is complete, hashes it, and moves it
    /// atomically to `directory/name` (sanitised). A truncated or failed download leaves nothing
    /// behind that looks complete.
    public func download(_ request: HTTPRequest, to directory: String, name: String? = nil) async throws
        -> DownloadedFile
    {
        let sink = try DownloadSink(directory: directory)
        var succeeded = false
        defer { if !succeeded { sink.discard() } }
        let response = try await send(request, sink: sink)
        guard (200..<300).contains(response.status) else {
            throw HTTPError.other("the download answered HTTP \(response.status)")
        }
        guard fsync(sink.descriptor) == 0, close(sink.descriptor) == 0 else {
            throw HTTPError.other("cannot write the download to disk")
        }
        let serverName = HTTPSession.fileName(fromContentDisposition: response.header("Content-Disposition"))
        let chosen = HTTPSession.sanitise(
            name ?? serverName ?? URL(string: response.url)?.lastPathComponent ?? "download")
        let target = directory + "/" + chosen
        guard rename(sink.path, target) == 0 else { throw HTTPError.other("cannot move the download into place") }
        try? SecureFile.syncDirectory(directory)
        succeeded = true
        return DownloadedFile(
            path: target, size: sink.count, sha256: sink.hasher.finalize().hexString, serverFileName: serverName,
            contentType: response.header("Content-Type"))
    }

    /// `attachment; filename="remit 2026-11.csv"` → `remit 2026-11.csv`.
    public static func fileName(fromContentDisposition value: String?) -> String? {
        guard let value, let range = value.range(of: "filename=", options: .caseInsensitive) else { return nil }
        var name = String(value[range.upperBound...]).split(separator: ";").first.map(String.init) ?? ""
        name = name.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        return name.isEmpty ? nil : name
    }

    /// A safe file name: no path separators, no `..`, no control characters, not hidden, bounded.
    public static func sanitise(_ name: String) -> String {
        isSafeASCIIName(name) ? name : cleaned(name)
    }

    /// `sanitise` the long way, for any name.
    static func cleaned(_ name: String) -> String {
        var cleaned = String(
            name.unicodeScalars.map { scalar -> Character in
                if scalar == "/" || scalar == "\\" || scalar.value < 0x20 || scalar.value == 0x7F { return "_" }
                return Character(scalar)
            })
        while cleaned.contains("..") { cleaned = cleaned.replacingOccurrences(of: "..", with: "_") }
        while cleaned.hasPrefix(".") { cleaned.removeFirst() }
        cleaned = String(cleaned.prefix(200)).trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? "download" : cleaned
    }

    /// Whether `sanitise` would give the name back as it is (printable ASCII, no separator, no
    /// `..`, not hidden, no blank at either end, at most 200 bytes): most names, seen in one pass.
    static func isSafeASCIIName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, let last = utf8.last, utf8.count <= 200, first != UInt8(ascii: "."),
            first != UInt8(ascii: " "), last != UInt8(ascii: " ")
        else { return false }
        var previous: UInt8 = 0
        for byte in utf8 {
            if byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\") { return false }
            if byte == UInt8(ascii: "."), previous == UInt8(ascii: ".") { return false }
            previous = byte
        }
        return true
    }
}
