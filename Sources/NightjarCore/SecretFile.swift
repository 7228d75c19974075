import Foundation

/// Files that hold a secret (automation key files, passphrase files), read only when nobody
/// else could have written or swapped them, as OpenSSH's StrictModes does: the file is a regular
/// file (not a link), mode 0600 or stricter, owned by this user or root, and every folder above
/// it is owned by this user or root and writable by neither group nor others.
///
/// One exception, for folders such as /tmp: a root-owned folder with the sticky bit set may be
/// writable by others, since there only an entry's owner can rename or remove it.
public enum SecretFile {
    /// Reads at most `maximumBytes` from `path` after the checks above; `what` names the file in errors.
    public static func read(_ path: String, what: String, maximumBytes: Int = 64 * 1024) throws(SecretFileError)
        -> SecretBytes
    {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw SecretFileError(
                what: what, path: path, problem: "cannot open it: \(reason)",
                exitStatus: errno == ENOENT ? .noInput : .noPermission)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw SecretFileError(what: what, path: path, problem: "it is not a regular file")
        }
        let user = geteuid()
        guard info.st_uid == user || info.st_uid == 0 else {
            throw SecretFileError(
                what: what, path: path,
                problem: "it is owned by uid \(info.st_uid), not by this user (uid \(user)) or root")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw SecretFileError(
                what: what, path: path,
                problem:
                    "it is readable or writable by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it"
            )
        }
        try checkFolders(above: path, what: what)
        guard Int(info.st_size) <= maximumBytes else {
            throw SecretFileError(
                what: what, path: path, problem: "it is \(info.st_size) bytes, more than \(maximumBytes)",
                exitStatus: .dataError)
        }
        var bytes = [UInt8](repeating: 0, count: maximumBytes + 1)
        defer { SecretBytes.wipe(&bytes) }
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                Foundation.read(descriptor, $0.baseAddress! + total, $0.count - total)
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw SecretFileError(what: what, path: path, problem: "it cannot be read", exitStatus: .ioError)
            }
            if count == 0 { break }
            total += count
        }
        guard total <= maximumBytes else {
            throw SecretFileError(
                what: what, path: path, problem: "it is more than \(maximumBytes) bytes", exitStatus: .dataError)
        }
        return SecretBytes(bytes[0..<total])
    }

    /// Checks every folder from the file's own up to `/`, after resolving links in the folder path.
    public static func checkFolders(above path: String, what: String) throws(SecretFileError) {
        let parent = (path as NSString).deletingLastPathComponent
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(parent.isEmpty ? "." : parent, &resolved) != nil else {
            throw SecretFileError(what: what, path: path, problem: "its folder cannot be resolved")
        }
        var folder = String(decoding: resolved.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let user = geteuid()
        while true {
            var info = stat()
            guard stat(folder, &info) == 0 else {
                throw SecretFileError(what: what, path: path, problem: "cannot inspect the folder \(folder)")
            }
            guard info.st_uid == user || info.st_uid == 0 else {
                throw SecretFileError(
                    what: what, path: path,
                    problem: "the folder \(folder) is owned by uid \(info.st_uid), not by this user or root")
            }
            let writableByOthers = info.st_mode & 0o022 != 0
            let rootSticky = info.st_uid == 0 && info.st_mode & S_ISVTX != 0
            if writableByOthers && !rootSticky {
                throw SecretFileError(
                    what: what, path: path,
                    problem:
                        "the folder \(folder) is writable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))), so the file could be swapped; chmod go-w \(folder)"
                )
            }
            if folder == "/" { break }
            folder = (folder as NSString).deletingLastPathComponent
            if folder.isEmpty { folder = "/" }
        }
    }
}

/// A secret file refused before it was read.
public struct SecretFileError: NightjarError, Equatable {
    public let what: String
    public let path: String
    public let problem: String
    public let exitStatus: ExitStatus

    public init(what: String, path: String, problem: String, exitStatus: ExitStatus = .noPermission) {
        self.what = what
        self.path = path
        self.problem = problem
        self.exitStatus = exitStatus
    }

    public var code: String { "file.unsafe_secret_file" }
    public var message: String { "\(what) \(path) refused: \(problem)" }
}
