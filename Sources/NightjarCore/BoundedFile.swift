import Foundation

/// Files a person writes for the program (scraper definitions, profiles, rules files, the
/// workspace config), read only when they are no larger than their language needs: the size is
/// checked before a byte is read, so a huge file costs no memory.
public enum BoundedFile {
    /// The cap of scraper definitions, profiles, rules files and `nightjar.conf`.
    public static let textFileLimit = 1024 * 1024

    /// Reads `path` whole, refusing it when it holds more than `maximumBytes`; `what` names the
    /// file in errors ("scraper definition").
    public static func read(_ path: String, what: String, maximumBytes: Int = textFileLimit) throws(BoundedFileError)
        -> [UInt8]
    {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let missing = errno == ENOENT
            throw BoundedFileError(
                what: what, path: path, problem: missing ? .missing : .unreadable(String(cString: strerror(errno))))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw BoundedFileError(what: what, path: path, problem: .unreadable(String(cString: strerror(errno))))
        }
        guard info.st_mode & S_IFMT != S_IFDIR else {
            throw BoundedFileError(what: what, path: path, problem: .unreadable("it is a folder"))
        }
        if info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) > maximumBytes {
            throw BoundedFileError(
                what: what, path: path, problem: .tooLarge(size: Int(info.st_size), limit: maximumBytes))
        }
        // Read one byte past the cap, so a file that grew (or a pipe) is still refused.
        var bytes = [UInt8](repeating: 0, count: maximumBytes + 1)
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                Foundation.read(descriptor, $0.baseAddress! + total, $0.count - total)
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw BoundedFileError(what: what, path: path, problem: .unreadable(String(cString: strerror(errno))))
            }
            if count == 0 { break }
            total += count
        }
        guard total <= maximumBytes else {
            throw BoundedFileError(what: what, path: path, problem: .tooLarge(size: nil, limit: maximumBytes))
        }
        bytes.removeSubrange(total...)
        return bytes
    }

    /// `readText`, or nil when there is no file at `path`.
    public static func readTextIfPresent(_ path: String, what: String, maximumBytes: Int = textFileLimit)
        throws(BoundedFileError) -> String?
    {
        do {
            return try readText(path, what: what, maximumBytes: maximumBytes)
        } catch {
            if error.problem == .missing { return nil }
            throw error
        }
    }

    /// Reads `path` as UTF-8 text under the same cap; text that is not UTF-8 is refused.
    public static func readText(_ path: String, what: String, maximumBytes: Int = textFileLimit)
        throws(BoundedFileError) -> String
    {
        let bytes = try read(path, what: what, maximumBytes: maximumBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BoundedFileError(what: what, path: path, problem: .notUTF8)
        }
        return text
    }
}

/// A file refused before (or instead of) being parsed.
public struct BoundedFileError: NightjarError, Equatable {
    public enum Problem: Sendable, Equatable {
        case missing
        case unreadable(String)
        /// Its size when known (a regular file), and the cap.
        case tooLarge(size: Int?, limit: Int)
        case notUTF8
    }

    public let what: String
    public let path: String
    public let problem: Problem

    public init(what: String, path: String, problem: Problem) {
        self.what = what
        self.path = path
        self.problem = problem
    }

    public var code: String {
        switch problem {
        case .missing: "file.missing"
        case .unreadable: "file.unreadable"
        case .tooLarge: "input.too_large"
        case .notUTF8: "input.not_utf8"
        }
    }

    public var message: String {
        switch problem {
        case .missing: "no \(what) at \(path)"
        case .unreadable(let reason): "cannot read the \(what) \(path): \(reason)"
        case .tooLarge(let size, let limit):
            "the \(what) \(path) is " + (size.map { "\($0) bytes" } ?? "larger than that")
                + ", more than the \(BoundedFileError.describe(limit)) a \(what) may be"
        case .notUTF8: "the \(what) \(path) is not UTF-8 text"
        }
    }

    public var exitStatus: ExitStatus {
        switch problem {
        case .missing: .noInput
        case .unreadable: .ioError
        case .tooLarge, .notUTF8: .dataError
        }
    }

    /// `1 MiB`, `50 MiB`, `4096 bytes`.
    static func describe(_ bytes: Int) -> String {
        bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 ? "\(bytes / (1024 * 1024)) MiB" : "\(bytes) bytes"
    }
}
