public import Foundation

/// File operations for data that must never be half-written or readable by others:
/// vault files, the workspace config, keys, reports.
public enum SecureFile {
    /// Writes `bytes` to `path` atomically: a temporary file in the same folder, created with
    /// `mode`, written and fsynced, renamed over the target, then the folder fsynced. A crash at
    /// any moment leaves either the old file or the new one.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        let name = (path as NSString).lastPathComponent
        var template = Array("\(folder)/.\(name).tmp-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw failure("create a temporary file in", folder) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            guard fchmod(descriptor, mode) == 0 else { throw failure("set permissions on", temporary) }
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("write", temporary)
                    }
                    offset += written
                }
            }
            guard fsync(descriptor) == 0 else { throw failure("fsync", temporary) }
        }
        guard rename(temporary, path) == 0 else { throw failure("rename into place", path) }
        renamed = true
        try syncDirectory(folder)
    }

    /// fsyncs a folder so a rename in it survives a power cut.
    public static func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open folder", path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync folder", path) }
    }

    /// Creates a folder (and its parents) readable by the owner only.
    public static func createPrivateDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        chmod(path, 0o700)
    }

    /// The permission bits of `path`, or nil when it does not exist.
    public static func mode(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    private static func failure(_ action: String, _ path: String) -> GeneralError {
        GeneralError(code: "file.write_failed", message: "cannot \(action) \(path): \(String(cString: strerror(errno)))",
                     exitStatus: .cannotCreate)
    }
}

/// Files the program writes for people (reports, recordings, exports): redacted, then written atomically, owner-only.
public enum RedactedFile {
    /// Writes `text` to `path` after passing it through the redactor.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        try SecureFile.writeAtomically(Redactor.shared.redact(bytes: Array(text.utf8)), to: path, mode: mode)
    }

    /// Writes `bytes` to `path` after passing them through the redactor.
    public static func write(bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        try SecureFile.writeAtomically(Redactor.shared.redact(bytes: bytes), to: path, mode: mode)
    }
}
