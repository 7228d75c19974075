public import NightjarCore

/// A plain zip archive that came as an attachment, opened with bounds so that a bomb is refused
/// before it inflates: a number of entries, a total and a per-entry inflated size, a largest
/// ratio of inflated to compressed size, and no archive inside it opened (one level only).
public enum ZipAttachment {
    public struct Limits: Sendable {
        public var maximumEntries = 100
        public var maximumTotalBytes = 50 * 1024 * 1024
        public var maximumEntryBytes = 25 * 1024 * 1024
        /// A document compresses perhaps 20:1; 100:1 and beyond is a bomb.
        public var maximumRatio = 100
        public init() {}
    }

    /// One file of the archive.
    public struct Entry: Sendable {
        /// The name as stored (folders included; not yet sanitised).
        public let name: String
        public let bytes: [UInt8]
    }

    /// What was inside, and what was left out (folders, an archive in the archive) and why.
    public struct Contents: Sendable {
        public let entries: [Entry]
        public let skipped: [String]
    }

    /// Opens `bytes`; throws when the archive is damaged, encrypted or a bomb.
    public static func open(_ bytes: [UInt8], name: String, limits: Limits = Limits()) throws(LayoutError) -> Contents {
        let archive = try ZipArchive(bytes, file: name, what: ("zip archive", "zip.malformed"))
        func refuse(_ message: String) -> LayoutError {
            LayoutError(
                code: "zip.refused", message: "\(name): \(message); the archive was not opened",
                location: SourceLocation(file: name))
        }
        let files = archive.names.filter { !$0.hasSuffix("/") }
        if files.count > limits.maximumEntries {
            throw refuse("it holds \(files.count) files, more than \(limits.maximumEntries)")
        }
        var total = 0
        for file in files {
            guard let entry = archive.entries[file] else { continue }
            if entry.size > 64 * 1024, entry.size / max(1, entry.compressedSize) > limits.maximumRatio {
                throw refuse(
                    "\(file) inflates \(entry.size / max(1, entry.compressedSize)) times its size (a zip bomb?)")
            }
            if entry.size > limits.maximumEntryBytes {
                throw refuse("\(file) would inflate to \(entry.size) bytes, more than \(limits.maximumEntryBytes)")
            }
            total += entry.size
            if total > limits.maximumTotalBytes {
                throw refuse("its files would inflate to more than \(limits.maximumTotalBytes) bytes")
            }
        }
        var entries: [Entry] = []
        var skipped = archive.names.filter { $0.hasSuffix("/") }.map { "\($0): a folder" }
        for file in files {
            guard let content = try archive.part(file, maximumSize: limits.maximumEntryBytes) else { continue }
            if case .zip = DocumentFormat.detect(content) {
                skipped.append("\(file): an archive inside the archive is not opened")
                continue
            }
            entries.append(Entry(name: file, bytes: content))
        }
        return Contents(entries: entries, skipped: skipped)
    }
}
