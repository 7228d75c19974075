import Foundation

/// Why a file could not be read as input: missing, over the size limit, or a read that failed.
public struct InputError: NightjarError, Equatable {
    public let code: String
    public let message: String
    public let location: SourceLocation?
    public let exitStatus: ExitStatus

    public init(code: String, message: String, file: String?, exitStatus: ExitStatus) {
        self.code = code
        self.message = message
        self.location = file.map { SourceLocation(file: $0) }
        self.exitStatus = exitStatus
    }
}

/// Bytes read front to back in chunks, from the start again after `rewind()`: a file on disk, or
/// bytes already in memory. Readers take one of these so that no file is ever read whole.
public protocol ByteSource: AnyObject {
    /// The total size in bytes.
    var size: Int { get }
    /// A name for messages (the file's name).
    var name: String? { get }
    /// Copies the next bytes into `buffer`; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
    /// `count` bytes from `offset` (fewer at the end), without moving the read position.
    func bytes(at offset: Int, count: Int) throws(InputError) -> [UInt8]
    /// Reads from the start again.
    func rewind()
}

extension ByteSource {
    /// The first `count` bytes (what format detection and profile fitting look at).
    public func prefix(_ count: Int) throws(InputError) -> [UInt8] { try bytes(at: 0, count: min(count, size)) }

    /// Every byte, for the few formats that have no streaming reader (a JSON document, an HTML
    /// page), each under its own cap: a larger file is refused with its size named.
    public func allBytes(limit: Int, what: String) throws(InputError) -> [UInt8] {
        guard size <= limit else {
            throw InputError(
                code: "file.too_large",
                message:
                    "\(name ?? "the file") is \(ByteCount.describe(size)); \(what) is read whole, and at most \(ByteCount.describe(limit))",
                file: name, exitStatus: .dataError)
        }
        return try bytes(at: 0, count: size)
    }

    /// Calls `body` with each chunk of the whole source, from the start (hashing a file).
    public func forEachChunk(size chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws(InputError) {
        rewind()
        defer { rewind() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { return }
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}

/// Sizes for messages: `1.2 GB`, `350 MB`, `4 KB` (decimal units, as file managers show them).
public enum ByteCount {
    public static func describe(_ bytes: Int) -> String {
        if bytes >= 1_000_000_000 { return String(format: "%.1f GB (%d bytes)", Double(bytes) / 1e9, bytes) }
        if bytes >= 1_000_000 { return String(format: "%.0f MB (%d bytes)", Double(bytes) / 1e6, bytes) }
        if bytes >= 1_000 { return String(format: "%.0f KB (%d bytes)", Double(bytes) / 1e3, bytes) }
        return "\(bytes) bytes"
    }
}

/// Bytes already in memory, as a source.
public final class MemorySource: ByteSource {
    public let storage: [UInt8]
    public let name: String?
    var offset = 0

    public init(_ bytes: [UInt8], name: String? = nil) {
        storage = bytes
        self.name = name
    }

    public var size: Int { storage.count }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let count = min(buffer.count, storage.count - offset)
        guard count > 0 else { return 0 }
        storage.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
        offset += count
        return count
    }

    public func bytes(at offset: Int, count: Int) throws(InputError) -> [UInt8] {
        guard offset < storage.count, count > 0 else { return [] }
        return Array(storage[offset..<min(storage.count, offset + count)])
    }

    public func rewind() { offset = 0 }
}

/// A file read in chunks with `pread`: its size is known before anything is read, and a file
/// over `maximumBytes` is refused with its size named.
public final class InputFile: ByteSource {
    /// The default largest file any importer accepts (`max_file_size` in nightjar.conf changes it).
    public static let defaultMaximumBytes = 4 * 1024 * 1024 * 1024

    public let path: String
    public let name: String?
    public let size: Int
    let descriptor: Int32
    var offset = 0

    /// Opens `path` for reading; `name` is what messages call it (the file name by default).
    public init(path: String, name: String? = nil, maximumBytes: Int = InputFile.defaultMaximumBytes) throws(InputError)
    {
        self.path = path
        let display = name ?? (path as NSString).lastPathComponent
        self.name = display
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw InputError(
                code: "file.missing", message: "cannot read \(path): \(String(cString: strerror(errno)))",
                file: display, exitStatus: .noInput)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw InputError(
                code: "file.not_regular", message: "\(path) is not a regular file", file: display, exitStatus: .noInput)
        }
        let size = Int(info.st_size)
        guard size <= maximumBytes else {
            close(descriptor)
            throw InputError(
                code: "file.too_large",
                message:
                    "\(display) is \(ByteCount.describe(size)), over the largest file Nightjar imports (\(ByteCount.describe(maximumBytes)); max_file_size in nightjar.conf)",
                file: display, exitStatus: .dataError)
        }
        self.descriptor = descriptor
        self.size = size
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let count = try pread(into: buffer, at: offset)
        offset += count
        return count
    }

    func pread(into buffer: UnsafeMutableRawBufferPointer, at position: Int) throws(InputError) -> Int {
        while true {
            let count = Glibc.pread(descriptor, buffer.baseAddress, buffer.count, off_t(position))
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw InputError(
                code: "file.unreadable", message: "cannot read \(path): \(String(cString: strerror(errno)))",
                file: name, exitStatus: .ioError)
        }
    }

    public func bytes(at position: Int, count: Int) throws(InputError) -> [UInt8] {
        let wanted = max(0, min(count, size - position))
        guard wanted > 0 else { return [] }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: 1)
        defer { buffer.deallocate() }
        var filled = 0
        while filled < wanted {
            let got = try pread(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: position + filled)
            if got == 0 { break }
            filled += got
        }
        return Array(buffer[0..<filled])
    }

    public func rewind() { offset = 0 }
}
