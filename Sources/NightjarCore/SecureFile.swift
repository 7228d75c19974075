public import Foundation

/// File operations for data that must never be half-written or readable by others:
/// vault files, the workspace config, keys, reports.
public enum SecureFile {
    /// Writes `bytes` to `path` atomically: a temporary file in the same folder, created with
    /// `mode`, written and fsynced, renamed over the target, then the folder fsynced. A crash at
    /// any moment leaves either the old file or the new one. The writer holds an exclusive
    /// `flock` on its temporary file until it is renamed, so `removeAbandonedTemporaryFiles` can
    /// tell a killed writer's leftover from a live writer's file.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        try bytes.withUnsafeBufferPointer { try writeAtomically($0, to: path, mode: mode) }
    }

    /// `writeAtomically` of the bytes in `bytes`.
    public static func writeAtomically(_ bytes: UnsafeBufferPointer<UInt8>, to path: String, mode: mode_t = 0o600)
        throws
    {
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
        // Closed (and so unlocked) only after the rename.
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { throw failure("lock", temporary) }
        guard fchmod(descriptor, mode) == 0 else { throw failure("set permissions on", temporary) }
        try writeAll(bytes, to: descriptor, path: temporary)
        guard fsync(descriptor) == 0 else { throw failure("fsync", temporary) }
        guard rename(temporary, path) == 0 else { throw failure("rename into place", path) }
        renamed = true
        try syncDirectory(folder)
    }

    /// Writes `bytes` to a new file at `path` (one already there is an error), created with
    /// `mode`, written and fsynced: for a file its writer reads and moves into place itself (a
    /// download in staging, moved into the inbox). No temporary name and no folder sync: a
    /// crash can leave the file half-written, but only where nothing else reads it.
    public static func writeNew(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("create", path) }
        var written = false
        defer {
            close(descriptor)
            if !written { unlink(path) }
        }
        guard fchmod(descriptor, mode) == 0 else { throw failure("set permissions on", path) }
        try writeAll(bytes, to: descriptor, path: path)
        guard fsync(descriptor) == 0 else { throw failure("fsync", path) }
        written = true
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBufferPointer { try writeAll($0, to: descriptor, path: path) }
    }

    private static func writeAll(_ bytes: UnsafeBufferPointer<UInt8>, to descriptor: Int32, path: String) throws {
        let buffer = UnsafeRawBufferPointer(bytes)
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            offset += written
        }
    }

    /// The prefix of the temporary files `writeAtomically` makes for `path`.
    public static func temporaryPrefix(for path: String) -> String { ".\((path as NSString).lastPathComponent).tmp-" }

    /// Removes temporary files left beside `path` by writers that were killed before renaming
    /// them: only those nobody holds a lock on (a live writer holds one until its rename).
    /// Returns the names removed.
    @discardableResult
    public static func removeAbandonedTemporaryFiles(for path: String) -> [String] {
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        let prefix = temporaryPrefix(for: path)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let candidate = folder + "/" + name
            let descriptor = open(candidate, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            var info = stat()
            guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else {
                continue
            }
            // A live writer holds the lock; a killed one released it when it died.
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            // Still the same file under that name (not replaced between open and unlink)?
            var current = stat()
            guard lstat(candidate, &current) == 0, current.st_ino == info.st_ino, current.st_dev == info.st_dev else {
                continue
            }
            if unlink(candidate) == 0 { removed.append(name) }
        }
        return removed
    }

    /// fsyncs a folder so a rename in it survives a power cut.
    public static func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open folder", path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync folder", path) }
    }

    /// Creates a folder (and its parents) readable by the owner only; an existing folder is made
    /// owner-only. One `mkdir` when the parent exists (the night calls this for every file).
    public static func createPrivateDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 || errno == EEXIST {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                if info.st_mode & 0o7777 != 0o700 { chmod(path, 0o700) }
                return
            }
        }
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true,
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
        GeneralError(
            code: "file.write_failed", message: "cannot \(action) \(path): \(String(cString: strerror(errno)))",
            exitStatus: .cannotCreate)
    }
}

/// Files the program writes for people (reports, recordings, exports): redacted, then written atomically, owner-only.
public enum RedactedFile {
    /// Writes `text` to `path` after passing it through the redactor (read in place: a report
    /// of megabytes is not copied first).
    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        var text = text
        try text.withUTF8 { buffer in
            if let redacted = Redactor.shared.redactIfNeeded(buffer) {
                try SecureFile.writeAtomically(redacted, to: path, mode: mode)
            } else {
                try SecureFile.writeAtomically(buffer, to: path, mode: mode)
            }
        }
    }

    /// Writes `bytes` to `path` after passing them through the redactor.
    public static func write(bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        try SecureFile.writeAtomically(Redactor.shared.redact(bytes: bytes), to: path, mode: mode)
    }
}
